"""Request/reply over a Docker exec's attached stdin and multiplexed stdout (the harness's channel).

One line goes in; the reply is the first line of output starting with a marker. A harness that
answers many requests as they finish (the program runner) is fed by `send` from one thread and
read by `receive` from another. Docker frames an attached exec's output (8-byte headers); this
reads frames with a deadline and keeps the buffer bounded (an output cap: before a reply, nothing
but the marker matters).
"""

from __future__ import annotations

import time

SEND_S = 300.0  # a harness reads its requests as they come; one that takes longer is stuck


class ExecSession:
    """Request/reply over an exec's attached stdin and (multiplexed) stdout."""

    def __init__(self, sock, cap: int):
        self.sock, self.cap, self.buffer, self._out = sock, cap, bytearray(), None

    def request(self, line: bytes, marker: bytes, timeout: float) -> tuple[bytes | None, bool]:
        """Send one line; read until a line starting with marker. Returns (that line, timed_out).

        (None, False) means the session ended (the process died) before replying.
        """
        if not self.send(line):
            return None, False
        return self.receive(marker, timeout)

    def send(self, line: bytes) -> bool:
        """Send one line (a harness that answers many requests reads them as they come); False when
        the session has ended. Sends go through a socket object of their own: a timeout is an
        attribute of the object, and the reader's short ones must not cut a send short."""
        try:
            if self._out is None:
                self._out = self._sending_socket()
            self._out.sendall(line if line.endswith(b"\n") else line + b"\n")
            return True
        except OSError:
            return False

    def _sending_socket(self):
        try:
            out = self.sock.dup()  # a TLS socket cannot be duplicated: it then sends through its own
        except Exception:  # noqa: BLE001
            return self.sock
        out.settimeout(SEND_S)
        return out

    def receive(self, marker: bytes, timeout: float) -> tuple[bytes | None, bool]:
        """The next line starting with marker, as `request` reads it (one reader at a time)."""
        deadline = time.monotonic() + timeout
        while True:
            at = self.buffer.find(marker)
            end = self.buffer.find(b"\n", at) if at >= 0 else -1
            if end >= 0:
                reply = bytes(self.buffer[at:end])
                del self.buffer[: end + 1]
                return reply, False
            left = deadline - time.monotonic()
            if left <= 0:
                return None, True
            try:
                payload = self._frame(left)
            except TimeoutError:
                return None, True
            if payload is None:
                return None, False
            self.buffer += payload
            if len(self.buffer) > self.cap and self.buffer.find(marker) < 0:
                del self.buffer[: len(self.buffer) - len(marker)]  # output cap: nothing before a reply matters

    def _frame(self, timeout: float) -> bytes | None:
        header = self._read(8, timeout)
        if header is None or len(header) < 8:
            return None
        return self._read(int.from_bytes(header[4:8], "big"), timeout) or b""

    def _read(self, n: int, timeout: float) -> bytes | None:
        data = bytearray()
        self.sock.settimeout(max(timeout, 0.01))
        while len(data) < n:
            try:
                chunk = self.sock.recv(n - len(data))
            except TimeoutError:
                raise
            except OSError:
                return None
            if not chunk:
                return None
            data += chunk
        return bytes(data)

    def close(self) -> None:
        for sock in {id(s): s for s in (self._out, self.sock) if s is not None}.values():
            try:
                sock.close()
            except OSError:
                pass
