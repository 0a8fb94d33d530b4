"""The strict comparison: a resolved candidate's statuses on its wider tests against gold's, per test.

Pure functions. A test that PASSED under gold and has any other status under the candidate
(failed, errored, skipped, missing) is a regression; any other difference of status (a test only
one side ran included) is a behavioural difference. A flag stands only when a second run of each
side gives the same two statuses (`confirmed`): a test whose status changes between two runs of
the same tree is flaky, and is named as unstable instead of flagged. Statuses:

  strict_ok          no test differs (or the applied tree is gold's own: by construction);
  strict_regression  a test that passes under gold does not under the candidate, or the
                     candidate's strict run could not be believed (the guard, a canary, its time);
  strict_differs     tests differ, none of them a regression;
  strict_unchecked   gold's own strict run could not be believed, or the infrastructure failed:
                     nothing to compare with (judged again by the next run, never cached).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from swe_monkeys.swebench.parsers import PASSED

OK, REGRESSION, DIFFERS, UNCHECKED = "strict_ok", "strict_regression", "strict_differs", "strict_unchecked"
STRICT_STATUSES = (OK, REGRESSION, DIFFERS, UNCHECKED)
MISSING = "MISSING"
NAMED_AT_MOST = 20  # tests named per kind in a verdict (the counts are whole)


@dataclass
class StrictRun:
    """One strict run of one tree: every test's status, or why the run cannot be believed."""

    files: list[str]
    statuses: dict[str, str] = field(default_factory=dict)
    problem: str = ""
    seconds: float = 0.0
    infra: bool = False  # the problem is the infrastructure's (a container that failed): nobody's verdict
    tree_key: str = ""  # the harness's key of the tree it ran (a run in a freshly prepared container)


def differing(gold: dict[str, str], candidate: dict[str, str]) -> dict[str, tuple[str, str]]:
    """test -> (gold's status, the candidate's) for every test whose status differs."""
    out = {}
    for test in sorted(set(gold) | set(candidate)):
        pair = (gold.get(test, MISSING), candidate.get(test, MISSING))
        if pair[0] != pair[1]:
            out[test] = pair
    return out


def is_regression(pair: tuple[str, str]) -> bool:
    return pair[0] == PASSED and pair[1] != PASSED


def confirmed(first: dict[str, tuple[str, str]], gold_again: dict[str, str], candidate_again: dict[str, str]
              ) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """(the flags a second run of each side repeats, the flagged tests whose status changed)."""
    kept, unstable = {}, []
    for test, pair in first.items():
        if (gold_again.get(test, MISSING), candidate_again.get(test, MISSING)) == pair:
            kept[test] = pair
        else:
            unstable.append(test)
    return kept, unstable


def outcome(flags: dict[str, tuple[str, str]], unstable: list[str] = (), compared: int = 0,
            confirmed_by_rerun: bool = False) -> dict[str, Any]:
    """The strict record of a compared candidate (what Verdict.strict holds, less the run's facts)."""
    regressions = [t for t, pair in flags.items() if is_regression(pair)]
    others = [t for t in flags if t not in regressions]
    status = REGRESSION if regressions else DIFFERS if others else OK
    return {"status": status, "compared": compared, "confirmed": confirmed_by_rerun,
            "counts": {"regressions": len(regressions), "differences": len(others), "unstable": len(unstable)},
            "regressions": [_shown(t, flags[t]) for t in regressions[:NAMED_AT_MOST]],
            "differences": [_shown(t, flags[t]) for t in others[:NAMED_AT_MOST]],
            "unstable": [_name(t) for t in list(unstable)[:NAMED_AT_MOST]]}


def unbelievable(problem: str, side: str) -> dict[str, Any]:
    """The record when a strict run cannot be believed: the candidate's is a regression (gold ran
    those tests and was believed), gold's leaves the candidate unchecked."""
    record = {"status": REGRESSION if side == "candidate" else UNCHECKED, "reason": f"{side}'s strict run: {problem}",
              "counts": {"regressions": 0, "differences": 0, "unstable": 0}, "regressions": [], "differences": [],
              "unstable": []}
    return record if side == "candidate" else {**record, "retry": True}


def unchecked_infra(problem: str) -> dict[str, Any]:
    """The record when the infrastructure failed a strict run (a container that died): judged again
    next time, like an infra_error (the checker does not cache a verdict whose record says retry)."""
    return {**unbelievable(problem, "infrastructure"), "status": UNCHECKED, "retry": True}


def _name(test: str) -> str:
    return test[3:] if test.startswith("id:") else test  # unittest's id (Django), as runtests.py names it


def _shown(test: str, pair: tuple[str, str]) -> dict[str, str]:
    return {"test": _name(test), "gold": pair[0], "candidate": pair[1]}


def strict_line(strict: dict[str, Any]) -> str:
    """One line for people: 'strict_regression: 2 regressions (t1, t2), 1 difference'."""
    counts = strict.get("counts") or {}
    parts = []
    for kind, noun in (("regressions", "regression"), ("differences", "difference")):
        n = counts.get(kind, 0)
        if n:
            named = ", ".join(x["test"] for x in strict.get(kind, [])[:3])
            parts.append(f"{n} {noun}{'s' * (n != 1)} ({named}{', ...' if n > 3 else ''})")
    if strict.get("reason"):
        parts.append(strict["reason"])
    return strict["status"] + (": " + "; ".join(parts) if parts else "")
