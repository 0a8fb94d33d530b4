"""The nouns every phase shares: instances, candidates, execution results and verdicts.

Protocols are small on purpose: a Sandbox runs a command and moves files, a Verifier
turns a problem's candidates into Verdicts. Failures of a *candidate* are values; failures of the
*infrastructure* are the separate `infra_error` status and never count as right or wrong.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Protocol, Sequence, runtime_checkable


class Status(str, Enum):
    """What a verifier concluded about one candidate patch."""

    RESOLVED = "resolved"  # every FAIL_TO_PASS and PASS_TO_PASS test passed
    UNRESOLVED = "unresolved"  # applied and ran, but the tests did not all pass (or ran too long)
    EMPTY = "empty"  # no change at all
    MALFORMED = "malformed"  # not a parseable unified diff
    TESTS_ONLY = "tests_only"  # touches only test files: cannot fix the code under test
    APPLY_FAILED = "apply_failed"  # no strategy of the apply chain could apply it
    INFRA_ERROR = "infra_error"  # image missing, docker error, harness crash: not a judgement

    @property
    def is_judgement(self) -> bool:
        """False for infra errors, which never count as right or wrong."""
        return self is not Status.INFRA_ERROR


@dataclass(frozen=True)
class ExecResult:
    """What one command in a sandbox did. A non-zero exit, a timeout or a cap are values here."""

    exit_code: int | None
    output: str
    seconds: float
    timed_out: bool = False
    truncated: bool = False


@dataclass(frozen=True)
class SWEInstance:
    """One SWE-bench task, in the fields of the Hugging Face dataset (lists already decoded)."""

    instance_id: str
    repo: str
    base_commit: str
    patch: str
    test_patch: str
    version: str
    fail_to_pass: tuple[str, ...]
    pass_to_pass: tuple[str, ...]
    problem_statement: str = ""
    hints_text: str = ""
    created_at: str = ""
    environment_setup_commit: str = ""

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "SWEInstance":
        """Build from a dataset row; FAIL_TO_PASS/PASS_TO_PASS may be JSON strings or lists."""
        missing = [k for k in ("instance_id", "repo", "base_commit", "test_patch", "version") if not row.get(k)]
        if missing:
            raise ValueError(f"instance row {row.get('instance_id', '?')!r} lacks {', '.join(missing)}")

        def tests(key: str) -> tuple[str, ...]:
            value = row.get(key) or []
            if isinstance(value, str):
                value = json.loads(value)
            if not isinstance(value, (list, tuple)) or not all(isinstance(t, str) for t in value):
                raise ValueError(f"instance {row['instance_id']!r}: {key} is not a list of test names")
            return tuple(value)

        return cls(
            instance_id=str(row["instance_id"]), repo=str(row["repo"]), base_commit=str(row["base_commit"]),
            patch=str(row.get("patch") or ""), test_patch=str(row["test_patch"]), version=str(row["version"]),
            fail_to_pass=tests("FAIL_TO_PASS"), pass_to_pass=tests("PASS_TO_PASS"),
            problem_statement=str(row.get("problem_statement") or ""), hints_text=str(row.get("hints_text") or ""),
            created_at=str(row.get("created_at") or ""),
            environment_setup_commit=str(row.get("environment_setup_commit") or ""),
        )

    def to_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["FAIL_TO_PASS"] = json.dumps(list(row.pop("fail_to_pass")))
        row["PASS_TO_PASS"] = json.dumps(list(row.pop("pass_to_pass")))
        return row


@dataclass(frozen=True)
class Candidate:
    """One candidate for one problem: a sample (a patch, a program, an answer's completion) or a
    line of a predictions file."""

    problem_id: str
    content: str
    model: str = ""
    index: int = 0  # position among the problem's candidates (sample i was drawn with seed + i)


@dataclass
class Verdict:
    """A verifier's decision on one candidate, with the evidence behind it."""

    status: Status
    reason: str = ""
    tests: dict[str, str] = field(default_factory=dict)  # test name -> PASSED/FAILED/SKIPPED/MISSING/...
    apply_method: str = ""
    seconds: float = 0.0
    runs: int = 1  # >1 when a flaky instance was decided by majority
    log: str = ""  # the (capped) test log; stored beside the run, not in the verdict table
    log_ref: str = ""  # where the log this verdict was reached with lies (a cached verdict has no log of its own)
    # SWE-bench: the harness's key of the applied tree (the only key a verdict is shared under), and
    # the candidate's paths it put back ({"path", "why"}): what was judged is the patch without them.
    tree_key: str = ""
    reverted: list[dict[str, str]] = field(default_factory=list)
    # SWE-bench --strict: a resolved candidate's re-check against gold on wider tests (swebench/strict):
    # {"status": strict_ok | strict_regression | strict_differs | strict_unchecked, the tests named, ...}
    strict: dict[str, Any] = field(default_factory=dict)

    @property
    def resolved(self) -> bool:
        return self.status is Status.RESOLVED

    def summary(self) -> dict[str, Any]:
        """The verdict without its log, as stored in the verdict table."""
        return {"status": self.status.value, "reason": self.reason, "tests": self.tests,
                "apply_method": self.apply_method, "seconds": round(self.seconds, 3), "runs": self.runs,
                **({"log_ref": self.log_ref} if self.log_ref else {}),
                **({"tree_key": self.tree_key} if self.tree_key else {}),
                **({"reverted": self.reverted} if self.reverted else {}),
                **({"strict": self.strict} if self.strict else {})}

    @classmethod
    def from_summary(cls, data: dict[str, Any]) -> "Verdict":
        return cls(status=Status(data["status"]), reason=data.get("reason", ""), tests=data.get("tests", {}),
                   apply_method=data.get("apply_method", ""), seconds=data.get("seconds", 0.0),
                   runs=data.get("runs", 1), log_ref=data.get("log_ref", ""), tree_key=data.get("tree_key", ""),
                   reverted=list(data.get("reverted") or []), strict=dict(data.get("strict") or {}))


@runtime_checkable
class Sandbox(Protocol):
    """Where untrusted code runs. A context manager; leaving it removes everything it made."""

    def exec(self, cmd: list[str], timeout: float) -> ExecResult: ...

    def put_file(self, path: str, data: bytes) -> None: ...

    def get_file(self, path: str) -> bytes: ...

    def __enter__(self) -> "Sandbox": ...

    def __exit__(self, *exc: object) -> None: ...


class Verifier(Protocol):
    """Judges candidates of one problem: one Verdict per candidate, in order. A failure of the
    infrastructure is a Verdict with status infra_error, never an exception per candidate.
    `problem` is the task's TaskProblem; a candidate is (content, meta)."""

    def judge(self, problem: Any, candidates: Sequence[tuple[str, dict[str, Any]]]) -> list[Verdict]: ...
