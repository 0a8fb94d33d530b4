"""A harness serving requests inside a container, and a supply of fresh ones.

`HarnessSession` is the one way the host talks to in-container code (harness/): it starts a
hardened container (docker_sandbox.py), copies the harness files in, starts the harness as a
long-lived exec, and exchanges one JSON request line for one marked JSON reply line. Both the
SWE-bench candidate runner and the program runner use it.

`CleanSessions` hands out sessions no job has touched: new ones, or used ones whose harness reset
the container and proved it clean. While one works, the next is started or reset in the background,
so a container that nothing of an earlier candidate survives in costs little more than a warm one.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable

from swe_monkeys.paths import HARNESS
from swe_monkeys.sandbox.docker_sandbox import DockerSandbox, Limits, SandboxError
from swe_monkeys.sandbox.engine import StorageFull

IN_CONTAINER = "/opt/swe-monkeys"


class SessionBroken(Exception):
    """The harness gave no reply: it died, overran `timeout`, or answered gibberish."""

    def __init__(self, reason: str, timed_out: bool = False):
        super().__init__(reason)
        self.timed_out = timed_out


@dataclass(frozen=True)
class HarnessSpec:
    """Which harness to serve: files copied from harness/ and the script that serves."""

    files: tuple[str, ...]
    script: str
    marker: bytes
    ready: dict[str, Any] | None = None  # a request the harness answers once it is set up
    reset: dict[str, Any] | None = None  # a request that makes the container as new: {"clean": true}


class HarnessSession:
    """One container of `image` with `spec`'s harness serving in it. A context manager."""

    def __init__(self, client, image: str, limits: Limits, spec: HarnessSpec):
        self.client, self.image, self.limits, self.spec = client, image, limits, spec
        self.sandbox: DockerSandbox | None = None
        self._session = None
        self.broken = False  # a request got no reply: the harness's state is unknown

    def start(self) -> "HarnessSession":
        sandbox = DockerSandbox(self.client, self.image, self.limits).__enter__()
        try:
            sandbox.put_files({f"{IN_CONTAINER}/{name}": (HARNESS / name).read_bytes() for name in self.spec.files})
            # The image's own Python (Debian's 3.11), never the env's venv first on PATH: the harness
            # needs its standard library (tomllib), whatever Python the repository is tested with.
            # -B: the harness writes no bytecode, so root changes no directory outside its home.
            self._session = sandbox.open_session(
                ["/usr/bin/python3", "-u", "-B", f"{IN_CONTAINER}/{self.spec.script}", "--serve"])
        except SandboxError:
            sandbox.close()
            raise
        self.sandbox = sandbox
        return self

    def __enter__(self) -> "HarnessSession":
        return self.start() if self.sandbox is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request; the harness's reply as a dict. Raises SessionBroken, SandboxError."""
        if self._session is None:
            raise SandboxError("the session is not running")
        reply, timed_out = self._session.request(json.dumps(payload).encode(), self.spec.marker, timeout)
        if reply is None:
            self.broken = True
            raise SessionBroken("overran its time limit" if timed_out else "ended without a reply", timed_out)
        try:
            return json.loads(reply[len(self.spec.marker):])
        except ValueError as exc:
            self.broken = True
            raise SessionBroken("sent an unreadable reply") from exc

    def state(self) -> dict[str, Any]:
        """The container's state as Docker reports it ({} when it is gone)."""
        try:
            self.sandbox.container.reload()
            return dict(self.sandbox.container.attrs.get("State") or {})
        except Exception:
            return {}

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None


class CleanSessions:
    """Sessions no job has touched: new ones, or used ones whose harness reset the container and
    proved it clean (`HarnessSpec.reset`).

    One job at a time uses a session while `ahead` more are made ready in the background: started,
    or reset after their last job. So with `ahead` = 1 two containers take turns, each reset while
    the other works. A session whose reset fails, or whose harness finds something it cannot undo,
    is removed and a new one is started instead."""

    def __init__(self, factory: Callable[[], HarnessSession], ahead: int = 1):
        self.factory = factory
        self._ready: "queue.Queue[HarnessSession | SandboxError]" = queue.Queue()
        self._wanted = threading.Semaphore(0)
        self._closed = threading.Event()
        self._returns: "queue.Queue[HarnessSession | None]" = queue.Queue()
        self.started = self.reused = 0
        self.dirty: list[str] = []  # why the last few sessions were thrown away rather than reused
        self._threads = [threading.Thread(target=self._starter, daemon=True) for _ in range(max(1, ahead))]
        self._threads.append(threading.Thread(target=self._returner, daemon=True))
        for thread in self._threads:
            thread.start()
        for _ in range(max(1, ahead) + 1):
            self._wanted.release()

    def _starter(self) -> None:
        while True:
            self._wanted.acquire()
            if self._closed.is_set():
                return
            try:
                session = self._ready_session()
            except (SandboxError, StorageFull) as exc:
                self._ready.put(exc)
                continue
            except Exception as exc:  # noqa: BLE001 -- surfaced to the caller of take()
                self._ready.put(SandboxError(f"could not start a session: {exc}"))
                continue
            if self._closed.is_set():
                session.close()
                return
            self.started += 1
            self._ready.put(session)

    def _ready_session(self) -> HarnessSession:
        """A started session whose harness has done its setup (the time that takes is the
        container's wait for its job, not the job's)."""
        session = self.factory().start()
        if session.spec.ready is not None:
            try:
                session.request(session.spec.ready, 300)
            except SessionBroken as exc:
                session.close()
                raise SandboxError(f"the harness {exc} while it set up") from exc
            except BaseException:
                session.close()
                raise
        return session

    def _returner(self) -> None:
        while (session := self._returns.get()) is not None:
            if not self._closed.is_set() and self._reset(session):
                self.reused += 1
                self._ready.put(session)
                continue
            session.close()
            if not self._closed.is_set():
                self._wanted.release()  # a new one instead

    def _reset(self, session: HarnessSession) -> bool:
        """True when the harness put everything back and found nothing it could not undo."""
        if session.spec.reset is None or session.broken or session.sandbox is None:
            return False
        try:
            reply = session.request(session.spec.reset, 300)
        except (SessionBroken, SandboxError) as exc:
            reply = {"dirty": [f"reset: {exc}"]}
        if reply.get("ok") and reply.get("clean") is True:
            return True
        self.dirty = (self.dirty + [", ".join(reply.get("dirty") or [reply.get("error", "no reason")])])[-20:]
        return False

    def take(self) -> HarnessSession:
        """A session no job has touched (waits for one being started or reset). Raises SandboxError."""
        if self._closed.is_set():
            raise SandboxError("closed")
        got = self._ready.get()
        if isinstance(got, StorageFull):  # not a container's fault: the run stops (engine.check_storage)
            self._ready.put(got)  # and so does every other taker
            raise got
        if isinstance(got, SandboxError):
            self._wanted.release()  # the next take tries again
            raise got
        return got

    def give_back(self, session: HarnessSession) -> None:
        """A used session: reset for another job, or removed, in the background."""
        self._returns.put(session)

    def close(self) -> None:
        self._closed.set()
        for _ in self._threads:
            self._wanted.release()
        self._close_ready()
        self._returns.put(None)
        for thread in self._threads:  # a start under way finishes, and its session is closed
            thread.join(timeout=60)
        self._close_ready()

    def _close_ready(self) -> None:
        while True:
            try:
                got = self._ready.get_nowait()
            except queue.Empty:
                return
            if isinstance(got, HarnessSession):
                got.close()
