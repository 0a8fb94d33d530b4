"""A harness serving requests inside a container, and a supply of fresh ones.

`HarnessSession` is the one way the host talks to in-container code (harness/): it starts a
hardened container (docker_sandbox.py), copies the harness files in, starts the harness as a
long-lived exec, and exchanges one JSON request line for one marked JSON reply line. Both the
SWE-bench candidate runner and the program runner use it.

`FreshSessions` hands out sessions that have never served a job, starting the next one in the
background while the current one works and removing used ones in the background, so that a
container per candidate costs little more than a warm container -- and nothing one candidate
does can survive into another's judgement.
"""

from __future__ import annotations

import json
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable

from swe_monkeys.paths import HARNESS
from swe_monkeys.sandbox.docker_sandbox import DockerSandbox, Limits, SandboxError

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


class HarnessSession:
    """One container of `image` with `spec`'s harness serving in it. A context manager."""

    def __init__(self, client, image: str, limits: Limits, spec: HarnessSpec):
        self.client, self.image, self.limits, self.spec = client, image, limits, spec
        self.sandbox: DockerSandbox | None = None
        self._session = None
        self.used = False

    def start(self) -> "HarnessSession":
        sandbox = DockerSandbox(self.client, self.image, self.limits).__enter__()
        try:
            for name in self.spec.files:
                sandbox.put_file(f"{IN_CONTAINER}/{name}", (HARNESS / name).read_bytes())
            # The image's own Python (Debian's 3.11), never the env's venv first on PATH: the harness
            # needs its standard library (tomllib), whatever Python the repository is tested with.
            self._session = sandbox.open_session(["/usr/bin/python3", "-u", f"{IN_CONTAINER}/{self.spec.script}",
                                                  "--serve"])
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
        self.used = True
        reply, timed_out = self._session.request(json.dumps(payload).encode(), self.spec.marker, timeout)
        if reply is None:
            raise SessionBroken("overran its time limit" if timed_out else "ended without a reply", timed_out)
        try:
            return json.loads(reply[len(self.spec.marker):])
        except ValueError as exc:
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


class FreshSessions:
    """Sessions that have served nothing yet, `ahead` of them started in the background."""

    def __init__(self, factory: Callable[[], HarnessSession], ahead: int = 1):
        self.factory = factory
        self._ready: "queue.Queue[HarnessSession | SandboxError]" = queue.Queue()
        self._wanted = threading.Semaphore(0)
        self._closed = threading.Event()
        self._removals: "queue.Queue[HarnessSession | None]" = queue.Queue()
        self._threads = [threading.Thread(target=self._starter, daemon=True) for _ in range(max(1, ahead))]
        self._threads.append(threading.Thread(target=self._remover, daemon=True))
        for thread in self._threads:
            thread.start()
        for _ in range(max(1, ahead)):
            self._wanted.release()

    def _starter(self) -> None:
        while True:
            self._wanted.acquire()
            if self._closed.is_set():
                return
            try:
                session = self.factory().start()
            except SandboxError as exc:
                self._ready.put(exc)
                continue
            except Exception as exc:  # noqa: BLE001 -- surfaced to the caller of take()
                self._ready.put(SandboxError(f"could not start a session: {exc}"))
                continue
            if self._closed.is_set():
                session.close()
                return
            self._ready.put(session)

    def _remover(self) -> None:
        while (session := self._removals.get()) is not None:
            session.close()

    def take(self) -> HarnessSession:
        """A fresh session (waits for the one being started). Raises SandboxError."""
        if self._closed.is_set():
            raise SandboxError("closed")
        got = self._ready.get()
        self._wanted.release()  # start the next one while this one works
        if isinstance(got, SandboxError):
            raise got
        return got

    def discard(self, session: HarnessSession) -> None:
        """Remove a used session in the background."""
        self._removals.put(session)

    def close(self) -> None:
        self._closed.set()
        for _ in self._threads:
            self._wanted.release()
        self._close_ready()
        self._removals.put(None)
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
