"""Live progress of a run (`solve`, `sweep`, `verify`, any task), counted from the run store.

The store is the only truth: counts include what earlier processes of a resumed run did; the ETA
uses only the samples this process drew, over the time it has run. `LiveLines` prints a line on
stderr whenever the counts changed (at most every few seconds); `verdict_line` is the line each
verdict gets as it lands (`VerifyLines` prints it with its count; solve and sweep print it too).
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
    valid: int = 0  # samples whose answer, program or patch could be extracted
    unique: int = 0  # distinct answers / programs / normalised patches among them
    verified: int = 0
    resolved: int = 0  # resolved candidates
    covered: int = 0  # instances with at least one resolved candidate
    tokens: int = 0
    dollars: float = 0.0
    seconds: float = 0.0
    drawn_now: int = 0  # samples drawn by this process (for the ETA)
    priced: str = ""  # what the dollars are: "" (list prices), "self-hosted", or "unpriced"
    pricing: str = ""  # the price and its source, for a self-hosted run

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
                f"tokens {self.tokens}  {self.money()}  {self.seconds:.0f} s"
                + (f"  eta {eta:.0f} s" if eta else ""))


    def money(self) -> str:
        """Dollars as the lines show them: list-price dollars, self-hosted dollars (hardware time), or "$?"
        for a model nothing prices (never a made-up $0)."""
        if self.priced == "unpriced":
            return "$? (unpriced)"
        return _dollars(self.dollars) + (" self-hosted" if self.priced == "self-hosted" else "")


def _dollars(x: float) -> str:
    """Four decimals, or three significant digits below a cent (a CPU minute costs $0.0000248)."""
    import math

    if x <= 0 or x >= 0.01:
        return f"${x:.4f}"
    return f"${x:.{2 - math.floor(math.log10(x))}f}"


class LiveLines:
    """`on_progress` for the command line: a progress line on stderr whenever the counts changed,
    at most every `every` seconds (never, when quiet)."""

    def __init__(self, quiet: bool = False, every: float = 1.0, echo: Any = None):
        import sys
        import time

        self.quiet, self.every, self.last, self.at, self._clock = quiet, every, "", 0.0, time.monotonic
        self.echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))

    def __call__(self, progress: Any) -> None:
        line = progress.line()
        key = line.split("  tokens")[0]
        if not self.quiet and progress.pricing and not self.last:
            self.echo(f"dollars: {progress.pricing}")  # the price and its source, once
        if not self.quiet and key != self.last and self._clock() - self.at >= self.every:
            self.echo(line)
            self.last, self.at = key, self._clock()


def price_of(model: str):
    from swe_monkeys.pricing import PricingError, load_pricing

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
        p.valid += meta.get("extract_status", "ok") == "ok"
        key = meta.get("answer") if meta.get("answer") is not None else meta.get("content_key")
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
                 interval: float = 1.0, hosting: Optional[dict] = None):
        import time

        from swe_monkeys.sampling.hosting import hourly_dollars

        self._clock = time.monotonic
        self.store, self.problems, self.target, self.price, self.on_progress = store, problems, target, price, on_progress
        # A model without list prices on hardware we know is priced by the time its server is held.
        listed = price is not None and price.has_api_price
        self.hourly, self.pricing = (0.0, "") if listed else hourly_dollars(hosting)
        self.held_before = float(store.get_meta("sampling_seconds") or 0.0)
        self.priced = "" if listed else "self-hosted" if self.hourly else "unpriced"
        self.start, self.drawn, self.interval = self._clock(), 0, interval
        self._last: Optional[Progress] = None
        self._at = -interval

    def __call__(self, drawn: Optional[int] = None) -> Progress:
        self.drawn = self.drawn if drawn is None else drawn
        if drawn is not None and self._last is not None and self._clock() - self._at < self.interval:
            return self._last
        p = progress_of(self.store, self.problems, self.target, self.price)
        p.seconds, p.drawn_now = self._clock() - self.start, self.drawn
        p.priced, p.pricing = self.priced, self.pricing
        if self.hourly:
            p.dollars = self.hourly * (self.held_before + p.seconds) / 3600.0
        self._last, self._at = p, self._clock()
        self.on_progress(p)
        return p


REASON_CHARS = 200  # a verdict line's reason is cut here; `swe-monkeys show RUN ID` prints the whole


def verdict_line(candidate: Any, verdict: Any) -> str:
    """One verdict as it lands: its status, the candidate as `show` takes it (PROBLEM#INDEX) and,
    when it is not resolved, why."""
    import textwrap

    line = f"{verdict.status.value:<12} {candidate.problem_id}#{candidate.index}"
    if verdict.reason and not verdict.resolved:
        line += "  " + textwrap.shorten(verdict.reason, REASON_CHARS, placeholder=" ...")
    if verdict.resolved and verdict.strict:  # SWE-bench --strict: the re-check against gold, in its words
        said = verdict.strict.get("line") or verdict.strict.get("status", "")
        line += "  " + textwrap.shorten(said, REASON_CHARS, placeholder=" ...")
    return line


class VerifyLines:
    """`on_verdict` for `verify`: a line per verdict as it lands (`[done/total] verdict_line`), a bar
    with resolved and an ETA every `every` seconds and at the end, and a line every `heartbeat`
    seconds while a long test run gives no verdict; nothing when quiet."""

    def __init__(self, total: int, model: str = "", quiet: bool = False, heartbeat: float = 30.0, echo: Any = None,
                 every: float = 10.0, first: str = ""):
        import sys
        import threading
        import time

        self.total, self.model, self.quiet, self._clock = 0, model, quiet, time.monotonic
        self.echo = echo or (lambda line: print(line, file=sys.stderr, flush=True))
        self.done_n, self.resolved, self.start, self.changed = 0, 0, self._clock(), self._clock()
        self.every, self.at, self.first = every, self._clock(), first
        self._stop, self._heartbeat = threading.Event(), heartbeat
        if total:
            self.start_at(total)

    def start_at(self, total: int) -> None:
        """Set the total (when it is known only later), say so at once -- with what comes before the
        first verdict (`first`: SWE-bench builds images and starts containers) -- and start the heartbeat."""
        import threading

        self.total, self.start = total, self._clock()
        if not self.quiet:
            self.echo((f"verifying {total} candidates" + (f"; {self.first} ..." if self.first else " ...")) if total
                      else "nothing to verify: every candidate has its verdict")
        if not self.quiet and total:
            threading.Thread(target=self._beat, args=(self._heartbeat,), daemon=True).start()

    def __call__(self, candidate: Any, verdict: Any) -> None:
        self.done_n += 1
        self.resolved += bool(verdict.resolved)
        self.changed = self._clock()
        if self.quiet:
            return
        self.echo(f"[{self.done_n}/{self.total}] {verdict_line(candidate, verdict)}")
        if self._clock() - self.at >= self.every or self.done_n == self.total:
            self.echo(self.line())
            self.at = self._clock()

    def line(self) -> str:
        elapsed = self._clock() - self.start
        eta = elapsed / self.done_n * (self.total - self.done_n) if self.done_n else None
        width, done = 20, min(self.done_n, self.total) * 20 // max(self.total, 1)
        return (f"[{'#' * done}{'.' * (width - done)}] {self.model + ' ' if self.model else ''}verified "
                f"{self.done_n}/{self.total}  resolved {self.resolved}  {elapsed:.0f} s"
                + (f"  eta {eta:.0f} s" if eta is not None and self.done_n < self.total else ""))

    def _beat(self, every: float) -> None:
        while not self._stop.wait(every):
            quiet_for = self._clock() - self.changed
            if quiet_for >= every and self.done_n < self.total:
                self.echo(f"... still judging ({self.done_n}/{self.total} done; no verdict for {quiet_for:.0f} s)")

    def done(self) -> None:
        self._stop.set()
