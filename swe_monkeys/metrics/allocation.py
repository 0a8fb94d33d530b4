"""What adaptive allocation saved: samples and dollars against uniform k at equal coverage.

Pure functions over a run's sample table (RunStore.sample_table rows) and the allocation it
recorded (run meta "allocation", tasks/allocation.py).

Why the comparison is exact for the `resolved` rule: sample i of a problem always has seed + i,
so uniform k would have drawn exactly samples 0..k-1 of every problem -- the very samples the
adaptive run drew for those indices. A problem is solved by uniform k iff its first resolved
sample has index < k; an unsolved problem drew every sample it was given, all failing, so
uniform k solves it neither as long as k is within what it drew (`exact` says whether that held).

With the `majority` rule (math, no oracle) the samples uniform k would add to a settled problem
were never drawn, so equal accuracy cannot be measured on the run itself: it says what was not
spent, and `replay` runs the same policy on a uniform run to measure both sides.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Optional, Sequence

__all__ = ["Savings", "adaptive_savings", "majority_accuracy", "replay", "savings_line"]


@dataclass(frozen=True)
class Savings:
    rule: str
    k: int  # the uniform budget per problem
    problems: int
    spent: int  # samples the adaptive run drew
    budget: int  # k x problems
    solved: int  # problems with a resolved sample (coverage x problems)
    majority_correct: int  # problems whose plurality answer/candidate is resolved
    k_equal: Optional[int]  # the uniform k with the same coverage (resolved rule)
    uniform_equal: Optional[int]  # its samples, k_equal x problems
    saved: int  # samples: uniform at equal coverage (resolved) or the budget (majority) minus spent
    exact: bool  # the counterfactual is measured on the run's own samples

    @property
    def coverage(self) -> float:
        return self.solved / self.problems if self.problems else 0.0

    @property
    def saved_fraction(self) -> float:
        base = self.uniform_equal if self.uniform_equal is not None else self.budget
        return self.saved / base if base else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "coverage": self.coverage, "saved_fraction": self.saved_fraction}


def _per_problem(rows: Sequence[dict]) -> dict[str, list[dict]]:
    per: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        per[row["problem_id"]].append(row)
    return {pid: sorted(items, key=lambda r: r["sample_idx"]) for pid, items in per.items()}


def majority_accuracy(rows: Sequence[dict]) -> int:
    """Problems whose pick without the oracle (metrics.selection.plurality_pick over meta "answer",
    else "content_key") is resolved."""
    from swe_monkeys.metrics.selection import plurality_pick

    correct = 0
    for items in _per_problem(rows).values():
        votes = []
        for r in items:
            meta = r.get("meta") or {}
            key = meta.get("answer") if meta.get("answer") is not None else meta.get("content_key")
            if key is not None:
                votes.append((key, r["sample_idx"], bool(r["resolved"])))
        pick = plurality_pick(votes)
        correct += bool(pick and pick[1])
    return correct


def adaptive_savings(rows: Sequence[dict], k: int, rule: str = "resolved") -> Savings:
    """Samples spent against uniform k at equal coverage (see the module docstring)."""
    per = _per_problem(rows)
    drawn = {pid: len(items) for pid, items in per.items()}
    firsts = {pid: next((r["sample_idx"] for r in items if r["resolved"]), None) for pid, items in per.items()}
    solved_firsts = sorted(f for f in firsts.values() if f is not None)
    spent, budget = sum(drawn.values()), k * len(per)
    k_equal = uniform_equal = None
    exact = False
    if rule == "resolved":
        k_equal = solved_firsts[-1] + 1 if solved_firsts else 1
        uniform_equal = k_equal * len(per)
        exact = all(drawn[pid] >= k_equal for pid, f in firsts.items() if f is None)
        saved = uniform_equal - spent
    else:
        saved = budget - spent
    return Savings(rule, k, len(per), spent, budget, len(solved_firsts), majority_accuracy(rows), k_equal,
                   uniform_equal, saved, exact)


def savings_line(s: Savings, dollars_per_sample: Optional[float] = None) -> str:
    """The report's and sweep's one line on it."""
    money = (lambda n: f" (${n * dollars_per_sample:.4g})") if dollars_per_sample else (lambda n: "")
    head = f"adaptive allocation: {s.spent} samples for {s.problems} problems (budget k = {s.k}: {s.budget})"
    if s.rule == "resolved":
        return (f"{head}; coverage {100 * s.coverage:.1f}%, which uniform sampling reaches at k = {s.k_equal} "
                f"({s.uniform_equal} samples{money(s.uniform_equal)}): {s.saved} samples saved{money(s.saved)}, "
                f"{100 * s.saved_fraction:.0f}%" + ("" if s.exact else " (an estimate: some unsolved problem "
                                                         f"drew fewer than {s.k_equal} samples)"))
    return (f"{head}; stopping rule: majority-vote confidence (no oracle), not correctness; majority vote "
            f"{100 * s.majority_correct / max(s.problems, 1):.1f}%, coverage {100 * s.coverage:.1f}%; "
            f"{s.saved} samples of the budget not spent{money(s.saved)} (uniform k's accuracy is not measured "
            "here: the samples it would add were not drawn; `replay` on a uniform run measures it)")


def replay(rows: Sequence[dict], k: int, rule: str, step: int, cap: int, lead: int = 3) -> list[dict]:
    """The rows an adaptive run with this policy would have drawn, replayed on a run that drew at
    least `cap` samples of every problem (sample i has the same seed either way). Raises
    ValueError when a round asks for a sample the run does not have."""
    from swe_monkeys.tasks.allocation import round_targets, settled

    per = _per_problem(rows)
    have = {pid: len(items) for pid, items in per.items()}
    taken = {pid: 0 for pid in per}
    while True:
        shown = [r for pid, items in per.items() for r in items[:taken[pid]]]
        drawn, open_ids = settled(shown, set(per), rule, lead)
        targets = round_targets(drawn, open_ids, k * len(per), step, cap)
        if not targets:
            return shown
        for pid, n in targets.items():
            if n > have[pid]:
                raise ValueError(f"replay needs {n} samples of {pid}; the run has {have[pid]}")
            taken[pid] = n
