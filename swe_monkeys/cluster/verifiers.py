"""Verification on a Ray cluster: the task's own checker, open in one actor per Docker node.

`cluster_checker(task, options, spec)` yields a `ClusterChecker`, a Verifier like any other
(`judge(problem, candidates) -> verdicts`, `parallel`), so the pipeline's `verify_run` dispatches to
it from its thread pool exactly as to a local checker: no second pipeline, and the driver stays
the run store's one writer (a verdict is committed there the moment its call returns).

Placement: one `VerificationActor` per alive node that advertises the custom resource `docker: N`
(`ray start ... --resources '{"docker": N}'`), asking for all N (or `--workers`, if fewer): it opens
`task.checker` on its node with N workers, so images are built there from the recipes (tags are
content hashes: every node builds the same image) and its containers stay warm between calls.
The task travels whole, so the repository cache it names must be at that path on every node.

Faults: a call whose actor dies (its process killed, its node lost) is sent again to another actor;
only the verdict that comes back is recorded, so nothing is judged twice into the store. When the
node is still alive a replacement actor starts there, and removes, as every actor does when it
starts, the containers that dead processes left on that node (`reap_orphans`). With no actor left
a call's verdicts are `infra_error` (never right or wrong; the next run retries them).

Interrupts: the driver's lifecycle handler (cli/lifecycle.py) calls `interrupt_all()` on SIGINT or
SIGTERM, as it removes local containers: every actor removes its containers at once, so calls in
flight end (as infra errors) instead of holding the driver until their tests finish.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import weakref
from collections import Counter
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional, Sequence

from swe_monkeys.cluster import DOCKER, ClusterError, ClusterSpec, alive_nodes, connected, node_alive
from swe_monkeys.errors import SweMonkeysError
from swe_monkeys.types import Status, Verdict

MAX_REPLACEMENTS = 2  # per node: a node whose actors keep dying is left to the others
_OPEN: "weakref.WeakSet[ClusterChecker]" = weakref.WeakSet()  # what interrupt_all reaches


@dataclass(frozen=True)
class Placement:
    node: Optional[str]  # a NodeID, or None: wherever Ray finds `docker` free (spread)
    workers: int  # containers the actor runs at once (the `docker` units it asks for)


def plan_actors(nodes: Sequence[dict], workers: Optional[int] = None, actors: Optional[int] = None) -> list[Placement]:
    """One actor per alive node with `docker` (sized to it, capped by `workers`), or `actors` actors
    of `workers` (default 1) containers each, placed by Ray."""
    docker = [(n["NodeID"], int(n.get("Resources", {}).get(DOCKER, 0))) for n in nodes if n.get("Alive", True)]
    docker = [(node, units) for node, units in docker if units >= 1]
    if not docker:
        raise ClusterError(f"no node of the cluster advertises the `{DOCKER}` resource: start Docker nodes with "
                           f"`ray start --address HEAD:6379 --resources '{{\"{DOCKER}\": N}}'` (N containers at once)")
    if actors:
        return [Placement(None, max(1, workers or 1))] * actors
    return [Placement(node, min(workers or units, units)) for node, units in docker]


def reap_here() -> int:
    """Remove the containers that dead swe-monkeys processes left on this node (0 without Docker)."""
    try:
        from swe_monkeys.sandbox.docker_sandbox import docker_client, reap_orphans

        return reap_orphans(docker_client())
    except SweMonkeysError:  # no engine on this node: a task that needs none
        return 0


class VerificationActor:
    """On a Docker node: the task's checker, open for the actor's life (so its containers stay warm).
    Wrapped by `ray.remote` when used, so importing this module does not import Ray."""

    def __init__(self, task: Any, options: dict):
        reap_here()  # what an actor killed here before left behind
        self._stack = ExitStack()
        self.checker = self._stack.enter_context(task.checker(options))
        self.workers = int(getattr(self.checker, "parallel", 1) or 1)
        self._gate = threading.Semaphore(self.workers)  # a checker without `parallel` judges one call at a time

    def describe(self) -> dict[str, Any]:
        import ray

        return {"pid": os.getpid(), "node": ray.get_runtime_context().get_node_id(),
                "ip": ray.util.get_node_ip_address(), "workers": self.workers}

    def judge(self, problem: Any, candidates: list) -> list[Verdict]:
        with self._gate:
            return self.checker.judge(problem, candidates)

    def close(self) -> None:
        self._stack.close()
        self.abort()  # containers of calls still running too

    def abort(self) -> None:
        """Remove every container this actor started: calls in flight end as infra errors."""
        sandbox = sys.modules.get("swe_monkeys.sandbox.docker_sandbox")
        if sandbox is not None:
            sandbox.remove_all()


@dataclass
class _Slot:
    actor: Any
    node: str
    ip: str
    pid: int
    workers: int
    busy: int = 0
    alive: bool = True

    @property
    def where(self) -> str:
        return f"{self.ip} ({self.node[:8]})"


@dataclass
class _NodeCount:
    judged: int = 0
    lost: int = 0  # actors lost on the node
    first: float = field(default_factory=time.monotonic)


class ClusterChecker:
    """Judges on the cluster's verification actors; see the module docstring."""

    def __init__(self, ray: Any, task: Any, options: dict, spec: ClusterSpec):
        self._ray, self.spec, self._options = ray, spec, options
        self._task = ray.put(task)
        self._actor = ray.remote(VerificationActor)
        self._lock = threading.Condition()
        self._refs: dict[str, Any] = {}
        self._counts: dict[str, _NodeCount] = {}
        self._replaced: Counter = Counter()
        self._starting, self._reported = 0, time.monotonic()
        self._slots = self._start(plan_actors(alive_nodes(ray), spec.workers, spec.actors))
        if not self._slots:
            raise ClusterError("no verification actor could start on the cluster (see the lines above)")
        self.parallel = sum(s.workers for s in self._slots)
        _OPEN.add(self)

    # -- the Verifier protocol ----------------------------------------------------------------
    def judge(self, problem: Any, candidates: Sequence[tuple[str, dict[str, Any]]]) -> list[Verdict]:
        ref = self._problem_ref(problem)
        while True:
            slot = self._take()
            if slot is None:
                return [Verdict(Status.INFRA_ERROR, reason="no verification actor is left on the cluster")
                        for _ in candidates]
            try:
                verdicts = self._ray.get(slot.actor.judge.remote(ref, list(candidates)))
            except self._ray.exceptions.RayActorError as exc:  # died mid-call: the work goes elsewhere
                self._lose(slot, exc)
                continue
            finally:
                with self._lock:
                    slot.busy -= 1
                    self._lock.notify_all()
            self._count(slot, len(verdicts))
            return verdicts

    def interrupt(self) -> None:
        """Ask every actor to remove its containers now (not waited for: called from a signal handler)."""
        with self._lock:
            slots = [s for s in self._slots if s.alive]
        for slot in slots:
            slot.actor.abort.remote()

    def close(self) -> None:
        _OPEN.discard(self)
        with self._lock:
            slots = [s for s in self._slots if s.alive]
        refs = [s.actor.close.remote() for s in slots]  # each removes its containers
        if refs:
            self._ray.wait(refs, num_returns=len(refs), timeout=120)
        for slot in slots:
            self._ray.kill(slot.actor)
        self.spec.log(self.throughput_line(final=True))

    def throughput(self) -> list[dict[str, Any]]:
        """Per node: actors there now, verdicts returned, and candidates/s since its first actor started."""
        now = time.monotonic()
        with self._lock:
            alive = Counter(s.where for s in self._slots if s.alive)
            return [{"node": where, "actors": alive[where], "judged": c.judged, "lost": c.lost,
                     "per_s": round(c.judged / max(now - c.first, 1e-9), 3)} for where, c in self._counts.items()]

    def throughput_line(self, final: bool = False) -> str:
        parts = [f"{n['node']}: {n['judged']} judged, {n['per_s']:.2f}/s" + (f", {n['lost']} lost" if n["lost"] else "")
                 for n in self.throughput()]
        return "[cluster] " + ("done; " if final else "") + "; ".join(parts)

    # -- actors -------------------------------------------------------------------------------
    def _start(self, placements: list[Placement]) -> list[_Slot]:
        """Start the actors and wait until each has opened its checker; one that cannot start is
        reported and left out."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        handles = []
        for p in placements:
            strategy = NodeAffinitySchedulingStrategy(p.node, soft=False) if p.node else "SPREAD"
            handle = self._actor.options(resources={DOCKER: p.workers}, num_cpus=0, max_restarts=0,
                                         max_concurrency=p.workers + 2, scheduling_strategy=strategy)
            handles.append(handle.remote(self._task, {**self._options, "workers": p.workers}))
        slots = []
        for handle in handles:
            try:
                info = self._ray.get(handle.describe.remote(), timeout=self.spec.start_timeout)
            except (self._ray.exceptions.RayError, TimeoutError) as exc:
                self.spec.log(f"[cluster] a verification actor could not start: {str(exc).strip().splitlines()[-1][:300]}")
                self._ray.kill(handle)
                continue
            slot = _Slot(handle, info["node"], info["ip"], info["pid"], info["workers"])
            self._counts.setdefault(slot.where, _NodeCount())
            self.spec.log(f"[cluster] verification actor pid {slot.pid} on {slot.where}: {slot.workers} "
                          f"container{'s' if slot.workers != 1 else ''} at once")
            slots.append(slot)
        return slots

    def _take(self) -> Optional[_Slot]:
        """The alive actor with the most room; waits while a replacement is starting and none is alive."""
        with self._lock:
            while True:
                alive = [s for s in self._slots if s.alive]
                if alive:
                    slot = min(alive, key=lambda s: s.busy / s.workers)
                    slot.busy += 1
                    return slot
                if not self._starting:
                    return None
                self._lock.wait()

    def _lose(self, slot: _Slot, exc: BaseException) -> None:
        with self._lock:
            if not slot.alive:
                return
            slot.alive = False
            self._counts[slot.where].lost += 1
            replace = node_alive(self._ray, slot.node) and self._replaced[slot.node] < MAX_REPLACEMENTS
            if replace:
                self._replaced[slot.node] += 1
                self._starting += 1
        self.spec.log(f"[cluster] verification actor pid {slot.pid} on {slot.where} lost ({type(exc).__name__}); "
                      "its candidates go to the other actors" + ("; starting a replacement there" if replace else ""))
        if not replace:
            return
        fresh: list[_Slot] = []
        try:  # the replacement removes the lost actor's containers as it starts
            fresh = self._start([Placement(slot.node, slot.workers)])
        finally:
            with self._lock:
                self._starting -= 1
                self._slots += fresh
                self._lock.notify_all()

    def _problem_ref(self, problem: Any) -> Any:
        with self._lock:
            if problem.id not in self._refs:
                self._refs[problem.id] = self._ray.put(problem)  # sent to each node once, not per call
            return self._refs[problem.id]

    def _count(self, slot: _Slot, verdicts: int) -> None:
        with self._lock:
            self._counts[slot.where].judged += verdicts
            due = time.monotonic() - self._reported >= self.spec.report_every
            if due:
                self._reported = time.monotonic()
        if due:
            self.spec.log(self.throughput_line())


def interrupt_all() -> None:
    """SIGINT/SIGTERM on the driver: every open ClusterChecker's actors drop their containers."""
    for checker in list(_OPEN):
        try:
            checker.interrupt()
        except Exception:  # Ray already gone: its actors went with it
            pass


@contextmanager
def cluster_checker(task: Any, options: Optional[dict], spec: ClusterSpec) -> Iterator[ClusterChecker]:
    """A ClusterChecker for the block; closing it closes every actor's checker (their containers)."""
    options = {k: v for k, v in (options or {}).items() if k != "log"}  # lines go to spec.log, on the driver
    with connected(spec.address) as ray:
        checker = ClusterChecker(ray, task, options, spec)
        try:
            yield checker
        finally:
            checker.close()
