"""Any task through the run store: sample (resumable, growable), extract, judge, while sampling continues.

- `run_task(store, task, problems, sampler, config)`: records the task and its problems in the store,
  runs the sampling phase (sample i of a problem uses seed + i; see sampling/phase.py) through
  `ExtractingStore`, which turns each completion into the candidate the task judges, and verifies
  what is unverified while sampling goes on (sampling/overlap.py).
- `verify_run(store, task)`: judges every unverified candidate of a run (after `sample` or `import`);
  identical candidates of a problem are judged once, in this pass or any earlier one. Infra errors
  are kept and retried next time.

A completion that yields no answer or no program is still a sample: it is stored with its reason and
judged wrong (malformed), so it stays in the coverage denominator.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

from swe_monkeys.sampling.accounting import Budget
from swe_monkeys.sampling.overlap import overlap
from swe_monkeys.sampling.problems import Problem
from swe_monkeys.sampling.protocol import SamplingParams
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.tasks import Task, TaskError, TaskProblem
from swe_monkeys.types import Candidate, Status, Verdict

OnVerdict = Callable[[Candidate, Verdict], None]


def content_key(content: str) -> str:
    """Identical candidates (modulo trailing whitespace per line) share a key and a verdict."""
    text = "\n".join(line.rstrip() for line in content.strip().splitlines())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ExtractingStore:
    """The run store as the sampling phase sees it: completions become judged candidates on the way in."""

    def __init__(self, store: RunStore, task: Task, problems: dict[str, TaskProblem]):
        self._store, self._task, self._problems = store, task, problems

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def add_candidate(self, candidate: Candidate, *, meta: Optional[dict] = None, **usage: Any) -> int:
        extracted = extract_safely(self._task, self._problems[candidate.instance_id], candidate.patch)
        meta = {**(meta or {}), **extracted.meta}
        if extracted.content != candidate.patch:
            meta["completion"] = candidate.patch
        if extracted.content and meta.get("extract_status") == "ok":
            meta["content_key"] = content_key(extracted.content)
        return self._store.add_candidate(replace(candidate, patch=extracted.content), meta=meta, **usage)


def extract_safely(task: Task, problem: TaskProblem, completion: str):
    """task.extract, with a bug in an extractor recorded on the sample instead of killing the run."""
    from swe_monkeys.tasks import Extracted

    try:
        return task.extract(problem, completion)
    except Exception as exc:  # the sample is kept; the reason says what went wrong
        return Extracted(content=completion, meta={"extract_status": f"extract_error: {type(exc).__name__}: "
                                                                       f"{str(exc)[:200]}", "answer": None})


def problems_of(store: RunStore) -> dict[str, TaskProblem]:
    return {row["id"]: TaskProblem.from_json(row) for row in store.problems()}


def record_task(store: RunStore, task: Task, problems: list[TaskProblem], source: Optional[str]) -> None:
    """The run remembers its task and problems, so verify/report need nothing but the run directory."""
    known = store.get_meta("task")
    if known and known != task.name:
        raise TaskError(f"{store.dir} is a {known} run, not {task.name}")
    store.set_meta("task", task.name)
    if not store.get_meta("benchmark"):  # what the report looks up baselines by
        store.set_meta("benchmark", task.name)
    if source and not store.get_meta("dataset"):
        store.set_meta("dataset", str(source))
    store.add_problems([p.to_json() for p in problems])


def verify_run(store: RunStore, task: Task, checker: Any = None, on_verdict: OnVerdict = lambda c, v: None,
               options: Optional[dict] = None) -> int:
    """Judge the run's unverified candidates (one verdict per unique candidate of a problem); returns
    how many verdicts were written. `checker`: an open one to reuse, else one is opened here."""
    pending = store.candidates(unverified_only=True)
    if not pending:
        return 0
    if checker is None:
        with task.checker(options) as opened:
            return verify_run(store, task, opened, on_verdict)
    problems, metas = problems_of(store), store.candidate_metas(cid for cid, _ in pending)
    known = store.verdicts_by_key()  # identical candidates judged in earlier passes are not judged again
    groups: dict[str, dict[str, list[tuple[int, Candidate]]]] = defaultdict(lambda: defaultdict(list))
    for cid, cand in pending:
        if cand.instance_id not in problems:
            raise TaskError(f"{store.dir}: candidate for unknown problem {cand.instance_id!r}")
        groups[cand.instance_id][content_key(cand.patch)].append((cid, cand))
    written = 0
    for pid, by_key in groups.items():
        fresh = [key for key in by_key if (pid, key) not in known]
        uniques = [by_key[key][0] for key in fresh]
        verdicts = dict(zip(fresh, checker.judge(problems[pid], [(c.patch, metas.get(cid, {})) for cid, c in uniques])
                            if uniques else []))
        for key, members in by_key.items():
            verdict = verdicts.get(key) or known[(pid, key)]
            for cid, cand in members:
                store.add_verdict(cid, verdict, dedup_key=key)
                on_verdict(cand, verdict)
                written += 1
    return written


@dataclass
class TaskRunConfig:
    samples: int  # per problem (a run holding fewer gets the missing ones)
    params: SamplingParams = field(default_factory=lambda: SamplingParams(temperature=0.6, max_tokens=512))
    verify: bool = True
    concurrency: int = 8
    budget: Budget = field(default_factory=Budget)
    price_as: str = ""  # the configs/pricing.yaml model dollars are counted as (default: the sampler's)

    def sample_config(self):
        from swe_monkeys.sampling.phase import SampleConfig

        return SampleConfig(samples=self.samples, params=self.params, concurrency=self.concurrency,
                            budget=self.budget, price_as=self.price_as)
    checker_options: dict = field(default_factory=dict)
    poll_seconds: float = 0.5


def run_task(store: RunStore, task: Task, problems: list[TaskProblem], sampler: Any, config: TaskRunConfig,
             source: Optional[str] = None, on_progress: Callable[[Any], None] = lambda p: None) -> Any:
    """Sample up to `config.samples` per problem and judge them as they arrive; returns the final Progress."""
    from swe_monkeys.sampling.phase import sample_problems
    from swe_monkeys.sampling.progress import Snapshots, price_of

    model = sampler.identity().get("model", "")  # an unreachable endpoint fails here, before any thread
    record_task(store, task, problems, source)
    by_id = {p.id: p for p in problems}
    snapshot = Snapshots(store, len(problems), config.samples * len(problems), price_of(config.price_as or model),
                         on_progress)

    def sample(on_sample: Callable[..., None]) -> Any:
        wanted = [Problem(p.id, p.prompt) for p in problems]
        return sample_problems(ExtractingStore(store, task, by_id), wanted, sampler, config.sample_config(), on_sample)

    if not config.verify:
        overlap(sample, None, snapshot, threading.Event(), config.poll_seconds)
        return snapshot()
    with task.checker(config.checker_options) as checker:  # a missing Docker fails before any sampling
        overlap(sample, lambda: verify_run(store, task, checker), snapshot, threading.Event(), config.poll_seconds)
    return snapshot()


def malformed(reason: str) -> Verdict:
    """The verdict for a candidate with nothing to judge (no answer, no program)."""
    return Verdict(status=Status.MALFORMED, reason=reason)
