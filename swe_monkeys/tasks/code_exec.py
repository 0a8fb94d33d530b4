"""Where model-written programs run: warm containers of the base image, many programs each, several at once.

`ProgramPool(client, workers, slots)` keeps `workers` hardened containers (sandbox/docker_sandbox.py:
network none, memory/CPU/pids limits, tmpfs /tmp, dropped capabilities) with harness/run_programs.py
serving in each, `slots` programs at a time (default: the cores, shared out over the containers).
`run(jobs)` queues the jobs and returns one reply per job, in order; it may be called from many
threads at once (the pipeline judges many problems at a time), and every container takes what is
queued: up to twice its slots in it at once, sent in batches without waiting for a reply, so a
container never waits on the host between programs. Inside, every program is its own process as a
uid of its own, forked from a warm parent, with its own rlimits and timeout (harness/run_programs.py:
nothing a program does survives into the next one's judgement). A container whose harness dies or
overruns is replaced and the jobs it held are queued again once; a second failure makes a job's
reply `error`, which the checker turns into an infra_error verdict, never a wrong answer. A
container in which something of a program survived its kill (`dirty`) gets no more jobs and is
replaced once the ones it holds are done.

`run_in_fresh_containers(jobs)` is the slow way (one container per program), kept for the benchmark.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

from swe_monkeys.paths import HARNESS
from swe_monkeys.sandbox.docker_sandbox import DockerSandbox, Limits, SandboxError

MARK = b"@@SWE_MONKEYS_PROGRAM@@ "
MARGIN_S = 30.0  # beyond a program's own timeout before the harness itself counts as stuck
IN_CONTAINER = "/opt/swe-monkeys"
HARNESS_FILES = ("run_programs.py", "warm_parent.py", "program_wrapper.py", "kill_user.py")


@dataclass(frozen=True)
class ProgramJob:
    """One run of an untrusted program: its source, its stdin and its limits."""

    program: str
    stdin: str = ""
    timeout: float = 10.0
    checked: bool = False  # pass = ran to its end (asserts included); see harness/run_programs.py
    # The dataset's tests, run by the harness's wrapper after the program from text the program never
    # sees (harness/program_wrapper.py); with an entry point, `check(<the program's entry point>)`.
    tests: str = ""
    entry_point: str = ""
    memory_mb: int = 1024
    output_cap: int = 1 << 20
    disk_mb: int = 256  # bytes it may keep in its working directory (a tmpfs in the container's memory)


def limits_for(slots: int) -> Limits:
    """A container for `slots` programs at once: a core each (as many as there are), 1 GiB of
    address space and 256 MiB of files each, 64 processes each, and room for the harness."""
    return Limits(cpus=float(min(slots, os.cpu_count() or 1)), memory=f"{slots * 1280 + 512}m",
                  pids=64 * slots + 96, tmpfs=f"{slots * 256 + 256}m", output_cap=8 << 20)


LIMITS = limits_for(1)


def base_image(client, log: Callable[[str], None] = lambda line: None) -> str:
    """The base image (built from Debian packages the first time, ~1 min; nothing is pulled)."""
    from swe_monkeys.images.builder import ImageBuilder
    from swe_monkeys.images.sources import default_repo_cache

    return ImageBuilder(client, default_repo_cache(), log=log).build_base()


class SessionBroken(Exception):
    """The program harness gave no reply: it died, overran, or answered gibberish."""


class ProgramSession:
    """One container with harness/run_programs.py serving `slots` programs at once: `send` a batch
    of jobs, `receive` replies as they finish (one thread each)."""

    def __init__(self, client, image: str, limits: Limits, slots: int):
        self.sandbox = DockerSandbox(client, image, limits).__enter__()
        try:
            self.sandbox.put_files({f"{IN_CONTAINER}/{name}": (HARNESS / name).read_bytes() for name in HARNESS_FILES})
            # The image's own Python, unbuffered; -B: the harness writes no bytecode.
            self.exec = self.sandbox.open_session(["/usr/bin/python3", "-u", "-B", f"{IN_CONTAINER}/run_programs.py",
                                                   "--serve", "--slots", str(slots)])
        except SandboxError:
            self.sandbox.close()
            raise

    def send(self, jobs: list[dict[str, Any]]) -> None:
        if not self.exec.send(json.dumps(jobs).encode()):
            raise SessionBroken("ended before it took its jobs")

    def receive(self, timeout: float) -> dict[str, Any]:
        line, timed_out = self.exec.receive(MARK, timeout)
        if line is None:
            raise SessionBroken("overran its time limit" if timed_out else "ended without a reply")
        try:
            return json.loads(line[len(MARK):])
        except ValueError as exc:
            raise SessionBroken("sent an unreadable reply") from exc

    def close(self) -> None:
        if self.sandbox is not None:
            self.exec.close()
            self.sandbox.close()
            self.sandbox = None


@dataclass
class _Ticket:
    job: ProgramJob
    id: str
    tries: int = 0
    reply: Optional[dict[str, Any]] = None
    done: threading.Event = field(default_factory=threading.Event)

    def answer(self, reply: dict[str, Any]) -> None:
        self.reply = reply
        self.done.set()


class _Container:
    """One warm container fed from the pool's queue (its own thread), its replies read by another."""

    def __init__(self, pool: "ProgramPool"):
        self.pool, self.session, self.retiring = pool, None, False
        self.held: dict[str, _Ticket] = {}
        self.cond = threading.Condition()
        threading.Thread(target=self._feed, daemon=True).start()

    def _feed(self) -> None:
        depth = 2 * self.pool.slots
        while True:
            with self.cond:
                self.cond.wait_for(lambda: len(self.held) < depth and not self.retiring)
            ticket = self.pool.queue.get()
            if ticket is None:
                return
            batch = [ticket]
            while len(self.held) + len(batch) < depth:
                try:
                    more = self.pool.queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self.pool.queue.put(None)  # the next thread's sentinel
                    break
                batch.append(more)
            self._send(batch)

    def _send(self, batch: list[_Ticket]) -> None:
        try:
            if self.session is None:
                self.session = ProgramSession(self.pool.client, self.pool.image, self.pool.limits, self.pool.slots)
                threading.Thread(target=self._read, args=(self.session,), daemon=True).start()
            with self.cond:
                self.held.update((t.id, t) for t in batch)
                self.cond.notify_all()
            self.session.send([{**asdict(t.job), "id": t.id} for t in batch])
        except (SandboxError, SessionBroken) as exc:
            self._lost(self.session, f"the program harness could not start: {exc}", batch)

    def _read(self, session: ProgramSession) -> None:
        while True:
            with self.cond:
                self.cond.wait_for(lambda: self.held or self.session is not session)
                if self.session is not session:
                    return
                wait = max(t.job.timeout for t in self.held.values()) + MARGIN_S
            try:
                reply = session.receive(wait)
            except SessionBroken as exc:
                self._lost(session, f"the program harness {exc}")
                return
            with self.cond:
                ticket = self.held.pop(str(reply.get("id")), None)
                self.retiring = self.retiring or bool(reply.get("dirty"))  # nothing more runs beside it
                finished = self.retiring and not self.held
                self.cond.notify_all()
            if ticket is not None:
                ticket.answer(reply)
            if finished:
                self._replace(session)
                return

    def _lost(self, session: Optional[ProgramSession], why: str, batch: list[_Ticket] = ()) -> None:
        """The session failed: its jobs are queued again once (then answered with the error)."""
        with self.cond:
            tickets = list(self.held.values()) + [t for t in batch if t.id not in self.held]
            self.held.clear()
        self._replace(session)
        for ticket in tickets:
            ticket.tries += 1
            if ticket.tries > 1 or self.pool.closed:
                ticket.answer({"error": why})
            else:
                self.pool.queue.put(ticket)

    def _replace(self, session: Optional[ProgramSession]) -> None:
        with self.cond:
            if self.session is session:
                self.session, self.retiring = None, False
            self.cond.notify_all()
        if session is not None:
            session.close()

    def close(self) -> None:
        self._replace(self.session)


class ProgramPool:
    """`workers` warm containers running `slots` programs each at once; `run` many jobs over them.
    A context manager."""

    def __init__(self, client=None, workers: int = 1, image: str = "", limits: Optional[Limits] = None,
                 log: Callable[[str], None] = lambda line: None, slots: Optional[int] = None):
        from swe_monkeys.sandbox.docker_sandbox import docker_client, reap_orphans

        self.client = client or docker_client()
        reap_orphans(self.client)
        self.image = image or base_image(self.client, log)
        self.workers = max(1, workers)
        self.slots = max(1, slots or (os.cpu_count() or 1) // self.workers)
        self.limits = limits or limits_for(self.slots)
        self.queue: "queue.Queue[Optional[_Ticket]]" = queue.Queue()
        self.closed = False
        self._ids = itertools.count()
        self._containers = [_Container(self) for _ in range(self.workers)]

    def __enter__(self) -> "ProgramPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.closed = True
        for _ in self._containers:
            self.queue.put(None)
        for container in self._containers:
            container.close()

    def run(self, jobs: list[ProgramJob]) -> list[dict[str, Any]]:
        tickets = [_Ticket(job, str(next(self._ids))) for job in jobs]
        for ticket in tickets:
            self.queue.put(ticket)
        for ticket in tickets:
            ticket.done.wait()
        return [t.reply or {"error": "no reply"} for t in tickets]


def run_in_fresh_containers(client, image: str, jobs: list[ProgramJob], limits: Limits = LIMITS) -> list[dict]:
    """Each job in a container of its own, started and removed around it (the benchmark's baseline)."""
    out = []
    for n, job in enumerate(jobs):
        try:
            session = ProgramSession(client, image, limits, 1)
        except SandboxError as exc:
            out.append({"error": str(exc)})
            continue
        try:
            session.send([{**asdict(job), "id": str(n)}])
            out.append(session.receive(job.timeout + MARGIN_S))
        except SessionBroken as exc:
            out.append({"error": f"the program harness {exc}"})
        finally:
            session.close()
    return out
