"""What adaptive allocation saved: samples and dollars against uniform k at equal coverage.

Pure functions over a run's sample table (RunStore.sample_table rows) and the policy it recorded
(run meta "allocation": k, rule, round_size, cap, lead; tasks/allocation.py).

The comparison, for the `resolved` rule: a user with budget k would otherwise draw k samples of
every problem. Sample i of a problem always has seed + i, so uniform k draws exactly samples
0..k-1 -- the very samples the adaptive run drew for those indices -- and solves a problem iff
its first resolved sample has index < k (an unsolved problem drew every sample it was given, all
failing; `exact` says whether each drew at least k). The adaptive rounds are replayed on the run's
own samples (the policy is a function of them), and `reached_at` is what they had spent when they
first matched uniform k's coverage: `saved` = k x problems - reached_at. What the rest of the
budget bought beyond that shows as the final coverage.

With the `majority` rule (math, no oracle) the samples uniform k would add to a settled problem
were never drawn, so equal accuracy cannot be measured on the run itself: it says what was not
spent, and `replay` runs the same policy on a uniform run to measure both sides.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Optional, Sequence

__all__ = ["Savings", "adaptive_savings", "majority_accuracy", "replay", "replay_rounds", "savings_line"]


@dataclass(frozen=True)
class Savings:
    rule: str
    k: int  # the uniform budget per problem
    problems: int
    spent: int  # samples the adaptive run drew
    budget: int  # k x problems: what uniform k draws
    solved: int  # problems with a resolved sample at the end
    majority_correct: int  # problems whose oracle-free pick is resolved
    uniform_solved: Optional[int]  # problems uniform k solves (resolved rule)
    reached_at: Optional[int]  # samples the rounds had spent when they first solved as many
    saved: int  # budget - reached_at (resolved rule), or budget - spent (majority rule)
    exact: bool  # uniform k's coverage is measured on the run's own samples

    @property
    def coverage(self) -> float:
        return self.solved / self.problems if self.problems else 0.0

    @property
    def saved_fraction(self) -> float:
        return self.saved / self.budget if self.budget else 0.0

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


def replay_rounds(rows: Sequence[dict], policy: dict[str, Any]) -> tuple[list[dict], list[tuple[int, int]], bool]:
    """Replay the policy's rounds on `rows` (sample i has seed + i, so the rounds take exactly the
    samples the policy would draw): (the rows held at the end, (samples, problems solved) after
    each round, whether it stopped for want of a sample `rows` lacks rather than by its own end)."""
    from swe_monkeys.tasks.allocation import round_targets, settled

    per = _per_problem(rows)
    k, rule = int(policy["k"]), str(policy.get("rule", "resolved"))
    step, cap = int(policy.get("round_size") or max(1, k // 8)), int(policy.get("cap") or 4 * k)
    taken = {pid: 0 for pid in per}
    trace: list[tuple[int, int]] = []
    while True:
        shown = [r for pid, items in per.items() for r in items[:taken[pid]]]
        drawn, open_ids = settled(shown, set(per), rule, int(policy.get("lead", 3)))
        targets = round_targets(drawn, open_ids, k * len(per), step, cap)
        if not targets:
            return shown, trace, False
        cut = any(n > len(per[pid]) for pid, n in targets.items())  # a killed run's last round, or too few
        for pid, n in targets.items():
            taken[pid] = min(n, len(per[pid]))
        held = [r for pid, items in per.items() for r in items[:taken[pid]]]
        if len(held) > len(shown):
            trace.append((len(held), len({r["problem_id"] for r in held if r["resolved"]})))
        if cut:
            return held, trace, True


def replay(rows: Sequence[dict], k: int, rule: str, step: int, cap: int, lead: int = 3) -> list[dict]:
    """The rows an adaptive run with this policy would have drawn, replayed on a run that drew at
    least `cap` samples of every problem. Raises ValueError when it drew too few."""
    shown, _, cut = replay_rounds(rows, {"k": k, "rule": rule, "round_size": step, "cap": cap, "lead": lead})
    if cut:
        raise ValueError(f"replay needs up to {cap} samples of every problem; the run has fewer")
    return shown


def _first_resolved(rows: Sequence[dict]) -> dict[str, Optional[int]]:
    return {pid: next((r["sample_idx"] for r in items if r["resolved"]), None)
            for pid, items in _per_problem(rows).items()}


def adaptive_savings(rows: Sequence[dict], policy: dict[str, Any]) -> Savings:
    """Samples spent against uniform k at equal coverage (see the module docstring)."""
    k, rule = int(policy["k"]), str(policy.get("rule", "resolved"))
    per = _per_problem(rows)
    firsts = _first_resolved(rows)
    spent, budget = len(rows), k * len(per)
    solved = sum(f is not None for f in firsts.values())
    uniform_solved = reached_at = None
    exact = False
    if rule == "resolved":
        uniform_solved = sum(f is not None and f < k for f in firsts.values())
        exact = all(len(per[pid]) >= k for pid, f in firsts.items() if f is None or f >= k)
        _, trace, _ = replay_rounds(rows, policy)
        reached_at = next((held for held, done in [(0, 0)] + trace if done >= uniform_solved), None)
        saved = budget - reached_at if reached_at is not None else 0
    else:
        saved = budget - spent
    return Savings(rule, k, len(per), spent, budget, solved, majority_accuracy(rows), uniform_solved, reached_at,
                   saved, exact)


def savings_line(s: Savings, dollars_per_sample: Optional[float] = None) -> str:
    """The report's and sweep's one line on it."""
    money = (lambda n: f" (${n * dollars_per_sample:.3g})") if dollars_per_sample else (lambda n: "")
    head = f"adaptive allocation: {s.spent} samples for {s.problems} problems, coverage {100 * s.coverage:.1f}%"
    if s.rule == "resolved":
        uniform = (f"uniform k = {s.k} ({s.budget} samples{money(s.budget)}) solves {s.uniform_solved}/{s.problems}"
                   + ("" if s.exact else " or more (some problem drew fewer than k samples)"))
        if s.reached_at is None:
            return f"{head}; {uniform}, which the adaptive rounds did not reach"
        more = (f"; the rest of the budget took it to {s.solved}/{s.problems}" if s.solved > s.uniform_solved
                else "")
        return (f"{head}; {uniform}, which the adaptive rounds reached after {s.reached_at} samples: {s.saved} "
                f"samples saved{money(s.saved)}, {100 * s.saved_fraction:.0f}% at equal coverage{more}")
    return (f"{head}; stopping rule: majority-vote confidence (no oracle), not correctness; majority vote "
            f"{100 * s.majority_correct / max(s.problems, 1):.1f}%; {s.saved} samples of the budget (k = {s.k}: "
            f"{s.budget}) not spent{money(s.saved)} (uniform k's accuracy is not measured here: the samples it "
            "would add were not drawn; `replay` on a uniform run measures it)")
