"""Tasks: what a benchmark provides so that sample / verify / report work alike on every one of them.

A `Task` turns its dataset into `TaskProblem`s (an id, the prompt every sample shares, and the
reference data its checker needs), turns a raw completion into the candidate that gets judged
(`extract`), and judges candidates (a `types.Verifier`, opened by `checker()`, a context manager:
SWE-bench and code tasks open containers there, math tasks need nothing). Optional hooks:
`prepare(problems, sampler, store, params)` finishes prompts once the model is known (SWE-bench),
`content_key(problem, content)` says which candidates are alike (default: the text modulo
trailing whitespace), `share_key(problem, content)` which of them the pipeline may give one
verdict without judging each (default: the content key; SWE-bench: the exact patch text),
`vote_ok(problem, verdict)` filters candidates before the oracle-free vote.
The pipeline (pipeline.py) drives every task, SWE-bench included, through the sampling phase and
the run store; `report` only reads the store. A new benchmark is one module registered here.

Registered lazily ("module:attr"): `import swe_monkeys.tasks` imports no task module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ContextManager, Iterable, Optional, Protocol, Sequence

from swe_monkeys.errors import SweMonkeysError
from swe_monkeys.registry import Registry
from swe_monkeys.sampling.protocol import Prompt
from swe_monkeys.types import Verifier

__all__ = ["TASKS", "Task", "TaskProblem", "Extracted", "TaskError", "get_task", "select_problems"]


class TaskError(SweMonkeysError, ValueError):
    """Bad task input (unknown dataset file, broken row, unknown problem id): one clear line."""


@dataclass(frozen=True)
class TaskProblem:
    """One problem: its id, the prompt all its samples share, and what the checker needs (JSON-able)."""

    id: str
    prompt: Prompt
    data: dict[str, Any] = field(default_factory=dict)  # gold answer, tests, entry point, time limit ...

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "prompt": self.prompt.to_json(), "data": self.data}

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> "TaskProblem":
        return cls(id=str(row["id"]), prompt=Prompt.from_json(row["prompt"]), data=dict(row.get("data") or {}))


@dataclass(frozen=True)
class Extracted:
    """What a completion becomes before it is stored.

    `content` is the candidate that gets judged (a program, the completion itself for math);
    `meta` goes to the candidate's meta in the store: `extract_status` ("ok" or why not), and for
    tasks with answers `answer` (the normalised final answer that majority vote counts; None when
    there is none). A completion that yields nothing is still a sample: it is stored and judged wrong.
    """

    content: str
    meta: dict[str, Any] = field(default_factory=dict)


class Task(Protocol):
    name: str  # the registry name: swebench, gsm8k, math, humaneval, mbpp, codecontests
    preset: str  # configs/presets/<preset>.yaml: sampling parameters as data

    def load(self, source: Optional[str], select: Sequence[str] = ()) -> list[TaskProblem]:
        """Problems from a local file/folder (`source`), or the task's default source; `select`: ids,
        globs or a slice "a:b" of the dataset order. Raises TaskError with one clear line."""
        ...

    def extract(self, problem: TaskProblem, completion: str) -> Extracted: ...

    def checker(self, options: Optional[dict[str, Any]] = None) -> ContextManager[Verifier]: ...


TASKS = Registry("task", {
    "swebench": "swe_monkeys.tasks.swebench:SWEBench",
    "gsm8k": "swe_monkeys.tasks.math:GSM8K",
    "math": "swe_monkeys.tasks.math:MATH",
    "humaneval": "swe_monkeys.tasks.code:HumanEval",
    "mbpp": "swe_monkeys.tasks.code:MBPP",
    "codecontests": "swe_monkeys.tasks.code:CodeContests",
})


def get_task(name: str, preset: Any = None, **options: Any) -> Task:
    """An instance of the registered task class (UnknownName lists the valid names), configured by a
    typed preset (presets.Preset) where the task takes one (`from_preset`)."""
    cls = TASKS.get(name)
    if preset is not None and hasattr(cls, "from_preset"):
        return cls.from_preset(preset, **options)
    return cls(**options)


def select_problems(problems: list[TaskProblem], select: Iterable[str], where: str) -> list[TaskProblem]:
    """Ids, globs and slices ("0:10") of a dataset, in dataset order (the union of what they pick)."""
    import fnmatch
    import re

    patterns = [p for p in select if p]
    if not patterns:
        return problems
    is_slice = re.compile(r"^(-?\d*):(-?\d*)$")
    globs = [p for p in patterns if not is_slice.match(p)]
    unknown = [g for g in globs if not any(fnmatch.fnmatchcase(p.id, g) for p in problems)]
    if unknown:
        raise TaskError(f"{where}: no problem matches {', '.join(unknown)}")
    chosen = {p.id for p in problems if any(fnmatch.fnmatchcase(p.id, g) for g in globs)}
    for s in patterns:
        m = is_slice.match(s)
        if m:
            a, b = m.groups()
            chosen |= {p.id for p in problems[slice(int(a) if a else None, int(b) if b else None)]}
    out = [p for p in problems if p.id in chosen]
    if not out:
        raise TaskError(f"{where}: no problems selected")
    return out
