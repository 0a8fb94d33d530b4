"""Sampling and verifying at the same time: the sampling phase in a thread, verifier passes in the caller's.

Both phases talk only through the run store (samples committed as they arrive, verdicts as they are
reached), so this module only schedules them: `overlap` starts the sampling phase in a thread, runs
`verify_pass` again and again on whatever is unverified while it lives (and once more after it ends),
calls `snapshot` after every pass for live progress, and re-raises a sampling error in the caller's
thread. Setting `stop` ends sampling at its next sample (the phase raises `StopSampling` from its
callback); without a verifier the loop just waits. Interrupted (Ctrl-C, SIGTERM), it sets `stop`
and gives the requests in flight `INTERRUPT_GRACE` seconds to land in the store before the
interrupt goes on: they are paid for, and the command's "kept N samples" line counts them. The
task pipeline (tasks/pipeline.py) runs every task, SWE-bench included, through here.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional


INTERRUPT_GRACE = 5.0  # seconds the requests in flight get to be recorded after Ctrl-C / SIGTERM


class StopSampling(Exception):
    """Raised from the sampling callback to end the phase once the run has what it needs."""


@dataclass
class Overlapped:
    report: Any  # the sampling phase's report; None when it was stopped or never started
    stopped_early: bool


def overlap(sample: Callable[[Callable[..., None]], Any], verify_pass: Optional[Callable[[], None]],
            snapshot: Callable[[int], Any], stop: threading.Event, poll_seconds: float = 0.5) -> Overlapped:
    """Run `sample(on_sample)` in a thread while `verify_pass()` repeats; see the module docstring.

    `on_sample(problem_id, first_index, completion)` is the sampling phase's callback; `snapshot(drawn)`
    gets the number of samples this call drew so far (for an ETA)."""
    outcome: dict[str, Any] = {}
    drawn = [0]

    def on_sample(problem_id: str, first: int, completion: Any) -> None:
        drawn[0] += len(completion.samples)
        if stop.is_set():
            raise StopSampling()

    def run() -> None:
        try:
            outcome["report"] = sample(on_sample)
        except StopSampling:
            outcome["stopped"] = True
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="sampler", daemon=True)
    if not stop.is_set():
        thread.start()
    try:
        _alternate(thread, verify_pass, lambda: snapshot(drawn[0]), stop, poll_seconds)
    except KeyboardInterrupt:  # no new request; those in flight land (or not) within the grace
        stop.set()
        if thread.ident:
            thread.join(INTERRUPT_GRACE)
        raise
    if thread.ident:
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return Overlapped(report=outcome.get("report"),
                      stopped_early="stopped" in outcome or (stop.is_set() and not thread.ident))


def _alternate(thread: threading.Thread, verify_pass: Optional[Callable[[], None]], snapshot: Callable[[], Any],
               stop: threading.Event, poll_seconds: float) -> None:
    """Verify passes (or waits) and snapshots while the sampling thread lives, and once after it ends."""
    while True:
        finished = not thread.is_alive()
        if verify_pass is not None:
            verify_pass()
        snapshot()
        if finished or (stop.is_set() and verify_pass is None):
            return
        if verify_pass is None:
            stop.wait(poll_seconds)
        else:
            time.sleep(poll_seconds)
