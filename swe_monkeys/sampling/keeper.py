"""A served model that dies on its own is started again, once; a second death is said plainly.

A days-long sweep meets a model server that dies under it (vLLM's engine killed by the kernel's
OOM killer, a CUDA fault, an engine step past its timeout). `Keeper` watches the server's process
from a thread of its own; when it exits while the block that started it still runs, the keeper
says so on the log line callback, starts the same command again on the same host and port (the
clients' base URL stays right; their retries, sampling/openai_http.py, carry the requests in
flight over the gap, and a cut answer is never a sample) and waits for /health. After `restarts`
restarts it does not try again: it says "not restarted", and the requests that follow fail with
the endpoint's own error once their retries run out, the samples drawn so far kept.

The restarted server is started from the keeper's thread, which lives until the server is stopped,
so the kernel still sends it SIGTERM if the owning process dies (sampling/server.py:
owned_by_this_thread). Stopping is ordered: `stop()` (no restart from now on, under the lock a
restart spawns under, so no server is started behind the stop), the caller stops the server, then
`release()` lets the thread end.
"""

from __future__ import annotations

import subprocess
import threading
from typing import Callable

POLL_S = 1.0


class Keeper:
    """Watches `process_of()`; on an exit of its own, `spawn()` (under the lock) then `wait()`."""

    def __init__(self, process_of: Callable[[], subprocess.Popen], spawn: Callable[[], None],
                 wait: Callable[[], None], on_log: Callable[[str], None], what: str, restarts: int = 1,
                 poll_s: float = POLL_S):
        self.process_of, self.spawn, self.wait, self.on_log, self.what = process_of, spawn, wait, on_log, what
        self.left, self.poll_s, self.restarted = restarts, poll_s, 0
        self.lock, self._stopping, self._released = threading.Lock(), threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._watch, name="model-server-keeper", daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        try:
            while not self._stopping.wait(self.poll_s):
                code = self.process_of().poll()
                if code is None:
                    continue
                if not self._restart(code):
                    break
        finally:
            self._released.wait()  # a server started from this thread dies with it: hold until stopped

    def _restart(self, code: int) -> bool:
        """Start the server again if a restart is left; False when the keeper is done."""
        with self.lock:
            if self._stopping.is_set():
                return False
            if self.left <= 0:
                self.on_log(f"{self.what} exited again (code {code}); not restarted: requests to it now fail")
                return False
            self.left -= 1
            self.on_log(f"{self.what} exited (code {code}); starting it again, once")
            self.spawn()
        try:
            self.wait()
        except Exception as exc:  # ServerError with the log's tail, or the stop killing it while it starts
            if not self._stopping.is_set():
                self.on_log(f"{self.what} did not come back: {str(exc).splitlines()[0]}")
            return False
        self.restarted += 1
        self.on_log(f"{self.what} is back")
        return True

    def stop(self) -> None:
        """No restart from now on (waits for a spawn in progress, so its process is the one to stop)."""
        with self.lock:
            self._stopping.set()

    def release(self) -> None:
        """The server is stopped: the watching thread may end."""
        self._released.set()
        self.thread.join(timeout=5)
