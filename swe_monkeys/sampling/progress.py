"""Live progress of a sampling run (`solve`, `sweep`, any task), counted from the run store.

The store is the only truth: counts include what earlier processes of a resumed run did; the ETA
uses only the samples this process drew, over the time it has run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from swe_monkeys.sampling.accounting import Budget, Ledger
from swe_monkeys.store.run_store import RunStore


@dataclass
class Progress:
    """A snapshot of a run, for live lines and the final summary."""

    instances: int
    target: int
    samples: int = 0
    valid: int = 0  # samples whose edits applied
    unique: int = 0  # distinct normalised patches among them
    verified: int = 0
    resolved: int = 0  # resolved candidates
    covered: int = 0  # instances with at least one resolved candidate
    tokens: int = 0
    dollars: float = 0.0
    seconds: float = 0.0
    drawn_now: int = 0  # samples drawn by this process (for the ETA)

    @property
    def eta_seconds(self) -> Optional[float]:
        left = self.target - self.samples
        if left <= 0:
            return 0.0
        return left * self.seconds / self.drawn_now if self.drawn_now else None

    def bar(self, width: int = 20) -> str:
        done = min(self.samples, self.target) * width // max(self.target, 1)
        return "[" + "#" * done + "." * (width - done) + "]"

    def line(self) -> str:
        eta = self.eta_seconds
        return (f"{self.bar()} samples {self.samples}/{self.target}  valid {self.valid}  unique {self.unique}  "
                f"verified {self.verified}  resolved {self.resolved} ({self.covered}/{self.instances} solved)  "
                f"tokens {self.tokens}  ${self.dollars:.4f}  {self.seconds:.0f} s"
                + (f"  eta {eta:.0f} s" if eta else ""))


def price_of(model: str):
    from swe_monkeys.metrics.pricing import PricingError, load_pricing

    try:
        return load_pricing().model(model)
    except PricingError:
        return None


def progress_of(store: RunStore, instances: int, target: int, price: Any = None) -> Progress:
    """Counts from the store (the only truth: it includes what earlier processes did)."""
    ledger = Ledger(Budget(), price)
    p = Progress(instances=instances, target=target)
    keys, covered = set(), set()
    for row in store.sample_table():
        meta = row["meta"] or {}
        p.samples += 1
        p.valid += (meta.get("edit_status") or meta.get("extract_status")) == "ok"
        key = meta.get("patch_key") or meta.get("answer") or meta.get("content_key")  # repair / math / code
        if key:
            keys.add((row["problem_id"], key))
        p.verified += row["status"] is not None
        if row["resolved"]:
            p.resolved += 1
            covered.add(row["problem_id"])
        p.tokens += (row["prompt_tokens"] or 0) + (row["completion_tokens"] or 0)
        p.dollars += ledger.cost(row["prompt_tokens"] or 0, row["completion_tokens"] or 0).dollars
    p.unique, p.covered = len(keys), len(covered)
    return p




class Snapshots:
    """`snapshot(drawn)`: the run's Progress (time since this object was made), handed to `on_progress`.

    Counting reads the whole sample table, so calls from the live loop (with `drawn`) recount at most
    every `interval` seconds; a call without `drawn` (the final one) always recounts."""

    def __init__(self, store: RunStore, problems: int, target: int, price: Any, on_progress: Any,
                 interval: float = 1.0):
        import time

        self._clock = time.monotonic
        self.store, self.problems, self.target, self.price, self.on_progress = store, problems, target, price, on_progress
        self.start, self.drawn, self.interval = self._clock(), 0, interval
        self._last: Optional[Progress] = None
        self._at = -interval

    def __call__(self, drawn: Optional[int] = None) -> Progress:
        self.drawn = self.drawn if drawn is None else drawn
        if drawn is not None and self._last is not None and self._clock() - self._at < self.interval:
            return self._last
        p = progress_of(self.store, self.problems, self.target, self.price)
        p.seconds, p.drawn_now = self._clock() - self.start, self.drawn
        self._last, self._at = p, self._clock()
        self.on_progress(p)
        return p
