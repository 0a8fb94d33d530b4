"""Where the samples go: `sweep --allocate adaptive` spends a uniform budget (k samples x problems)
in rounds, stops sampling a problem once it is settled, and gives what it did not spend to the
problems that are not.

The pipeline consults the policy; there is no second loop. `run_task` (pipeline.py) hands its
sampling step to `AdaptiveAllocation.run(store, problems, draw)`, which, round after round, asks
the store which problems are still open, calls `draw(problems, n)` (the ordinary sampling phase:
"fill these problems up to n samples", seeds seed + i as always) and waits until the verifier,
running beside it as always, has judged what it drew. A killed run resumes the same way: the
store says what was drawn, judged and settled.

When is a problem settled? Two rules, stated in the run meta ("allocation") and the report:
- `resolved` (tasks with a verifier, SWE-bench and code): a candidate was judged resolved. This is
  the oracle the paper's coverage counts, so more samples cannot help that problem.
- `majority` (math: at deployment there is no oracle): the leading answer is `lead` votes ahead of
  the next one. A sequential test of "which answer is the plurality" (Wald's first-to-lead-by-d),
  so it settles the majority-vote answer, not correctness: it is a confidence rule, said as such.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional, Sequence

from swe_monkeys.errors import SweMonkeysError
from swe_monkeys.sampling.problems import Problem

__all__ = ["AllocationError", "AdaptiveAllocation", "RULES", "settled", "round_targets", "allocation_line"]

RULES = ("resolved", "majority")


class AllocationError(SweMonkeysError, ValueError):
    """An allocation that cannot run as asked (an unknown rule, verdicts wanted without verifying)."""


@dataclass(frozen=True)
class AdaptiveAllocation:
    """Spend k x problems samples in rounds of `round_size` per open problem, at most `cap` per problem."""

    k: int  # the uniform budget: k samples per problem
    rule: str = "resolved"
    round_size: int = 0  # 0: max(1, k // 8)
    cap: int = 0  # 0: 4 k
    lead: int = 3  # the majority rule: votes ahead of the next answer
    wait_seconds: float = 0.5

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise AllocationError(f"unknown stopping rule {self.rule!r}; known: {', '.join(RULES)}")
        if self.k < 1 or self.round_size < 0 or self.cap < 0 or self.lead < 1:
            raise AllocationError("adaptive allocation needs k >= 1, round_size >= 0, cap >= 0 and lead >= 1")

    @property
    def step(self) -> int:
        return self.round_size or max(1, self.k // 8)

    @property
    def per_problem_cap(self) -> int:
        return self.cap or 4 * self.k

    def describe(self) -> dict[str, Any]:
        return {"policy": "adaptive", **asdict(self), "round_size": self.step, "cap": self.per_problem_cap}

    def run(self, store: Any, problems: Sequence[Problem], draw: Callable[[list[Problem], int], Any],
            verifying: bool = True) -> Optional[Any]:
        """Rounds until the budget is spent or every problem is settled or capped; returns the last
        sampling report (None when nothing was drawn)."""
        if self.rule == "resolved" and not verifying:
            raise AllocationError("stopping on a resolved candidate needs verification (drop --no-verify)")
        store.set_meta("allocation", self.describe())
        by_id, last, before = {p.id: p for p in problems}, None, -1
        while True:
            if self.rule == "resolved":
                self._wait_for_verdicts(store, set(by_id))
            drawn, open_ids = settled(store.sample_table(), set(by_id), self.rule, self.lead)
            targets = round_targets(drawn, open_ids, self.k * len(by_id), self.step, self.per_problem_cap)
            if not targets or sum(drawn.values()) == before:  # done, or a round that drew nothing (failures)
                return last
            before = sum(drawn.values())
            groups: dict[int, list[Problem]] = defaultdict(list)
            for pid, n in targets.items():
                groups[n].append(by_id[pid])
            for n, group in sorted(groups.items()):
                last = draw(group, n)

    def _wait_for_verdicts(self, store: Any, ids: set[str]) -> None:
        """The verifier runs beside the sampler (overlap.py); a round is decided on judged samples only.
        The model server idles meanwhile and is paid for all the same: the wait counts as sampling time."""
        start = time.monotonic()
        while any(c.problem_id in ids for _, c in store.candidates(unverified_only=True)):
            time.sleep(self.wait_seconds)
        waited = time.monotonic() - start
        if waited > 0.01:
            store.set_meta("sampling_seconds", float(store.get_meta("sampling_seconds") or 0.0) + waited)


def settled(rows: Sequence[dict], ids: set[str], rule: str, lead: int = 3) -> tuple[dict[str, int], set[str]]:
    """(samples drawn per problem, the problems still open) from the run's sample table."""
    drawn: Counter = Counter()
    solved: set[str] = set()
    votes: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        pid = row["problem_id"]
        if pid not in ids:
            continue
        drawn[pid] += 1
        if row["resolved"]:
            solved.add(pid)
        answer = (row.get("meta") or {}).get("answer")
        if answer is not None:
            votes[pid][answer] += 1
    if rule == "resolved":
        return {pid: drawn[pid] for pid in ids}, ids - solved
    decided = set()
    for pid, counts in votes.items():
        top = counts.most_common(2) + [(None, 0)]
        if top[0][1] - top[1][1] >= lead:
            decided.add(pid)
    return {pid: drawn[pid] for pid in ids}, ids - decided


def round_targets(drawn: dict[str, int], open_ids: set[str], budget: int, step: int, cap: int) -> dict[str, int]:
    """The next round: each open problem below `cap` is filled up to drawn + step, while the
    budget (total samples over all problems) lasts; what is left for a short last round goes to the
    problems with the fewest samples first (ties: by id, so a resumed run decides alike)."""
    left = budget - sum(drawn.values())
    growing = sorted((pid for pid in open_ids if drawn[pid] < cap), key=lambda pid: (drawn[pid], pid))
    targets = {}
    for pid in growing:
        extra = min(step, cap - drawn[pid], left)
        if extra <= 0:
            break
        targets[pid] = drawn[pid] + extra
        left -= extra
    return targets


def allocation_line(store: Any, progress: Any = None) -> str:
    """What an adaptive run saved, as sweep prints it ("" for a uniform run); dollars from the run's
    live count (`progress`, sampling.progress.Progress) when it has one."""
    from swe_monkeys.metrics.allocation import adaptive_savings, savings_line

    policy = store.get_meta("allocation")
    if not policy:
        return ""
    savings = adaptive_savings(store.sample_table(), policy)
    per_sample = None
    if progress is not None and progress.samples and progress.dollars and progress.priced != "unpriced":
        per_sample = progress.dollars / progress.samples
    return savings_line(savings, per_sample)
