"""JSON over HTTP for the OpenAI-compatible backend: bounded concurrency, retries, clear errors.

Retries (tenacity) cover what a busy, restarting or failing server does over a days-long run:
408/409/429/5xx answers, refused and dropped connections, an answer cut short (a body shorter than
announced, JSON that stops half-way, a stream without its end: openai_stream.py) and a stall (no
byte for the read timeout: `stall_timeout` between a stream's chunks, `timeout` for a whole
unstreamed answer). Waits grow exponentially with jitter, at least what `Retry-After` asks, and are
bounded by a count (`retries`) and by time (`retry_for`: no retry whose wait would end past it).
Each retry is one line through `on_retry` ("...: endpoint answered 503, retry 2/6 in 3.1 s").
A partial answer is never returned: the request is sent again whole, with the same seed.

Past the bound the failure says whose it is. When no request to this endpoint succeeded while this
one was retrying, the endpoint is down or failing (`EndpointUnreachable`, `EndpointFailing`) and the
sampling phase stops with what it kept; when others were answered meanwhile, only this request
fails (`SamplerError`), so one prompt the server always chokes on cannot stop a sweep.
Everything else is a request the server will never accept (a wrong model, a prompt longer than the
context) and fails at once with the server's own words.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from typing import Any, Callable, Optional

from swe_monkeys.sampling.openai_stream import IncompleteStream, NoStreamUsage, assemble_stream
from swe_monkeys.sampling.protocol import (
    ContextOverflow,
    EndpointFailing,
    EndpointUnreachable,
    ModelNotServed,
    SamplerError,
)

RETRY_STATUSES = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}
# vLLM, OpenAI, SGLang and llama.cpp phrase an over-long request differently; these catch them all.
CONTEXT_PATTERN = re.compile(r"context length|context_length|context window|maximum context|too long|"
                             r"exceeds? the (?:available )?context|max_tokens.*too large|too large.*max_tokens",
                             re.IGNORECASE)
log = logging.getLogger(__name__)


class TransientError(SamplerError):
    """A failure worth retrying; `reason` is its short form for the retry line, `retry_after` the
    server's hint in seconds, if it gave one."""

    retryable = True

    def __init__(self, message: str, retry_after: Optional[float] = None, reason: str = ""):
        super().__init__(message)
        self.retry_after = retry_after
        self.reason = reason or message


def _retry_after(headers: Any) -> Optional[float]:
    value = headers.get("retry-after")
    try:
        return min(float(value), 300.0) if value is not None else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


def _message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    error = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(error, dict):
        return str(error.get("message") or error.get("detail") or error)[:500]
    return str(error)[:500]


def _one_line(text: str) -> str:
    return " ".join(str(text).split())  # a server's message may hold newlines; an error is one line


class JsonClient:
    """A thread-safe JSON client for one base URL with at most `concurrency` requests in flight."""

    def __init__(self, base_url: str, api_key: Optional[str], *, timeout: float, concurrency: int,
                 retries: int, backoff: float, backoff_max: float, retry_for: float = 600.0,
                 stall_timeout: Optional[float] = None, on_retry: Optional[Callable[[str], None]] = None):
        import httpx

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = httpx.Client(headers=headers, limits=limits,
                                    timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0), pool=None))
        stall = stall_timeout or timeout
        self._stream_timeout = httpx.Timeout(stall, connect=min(stall, 10.0), pool=None)
        self._slots = threading.BoundedSemaphore(concurrency)
        self.retries, self.backoff, self.backoff_max, self.retry_for = retries, backoff, backoff_max, retry_for
        self.on_retry = on_retry or log.warning
        self._last_ok = float("-inf")  # time.monotonic() of the last request answered
        self._closed = threading.Event()

    def close(self) -> None:
        """Close the connections; a request waiting to retry ends at once (Ctrl-C must not wait out a backoff)."""
        self._closed.set()
        self._client.close()

    def get(self, path: str, *, retry: bool = False) -> Any:
        return self._call("GET", path, None, retry)

    def post(self, path: str, body: dict[str, Any], *, stream: bool = False) -> Any:
        """The answer to a POST; with `stream`, asked for as server-sent events (usage included)
        and put back together, so a stall shows within `stall_timeout` and a cut stream is retried."""
        if stream:
            body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        return self._call("POST", path, body, True, stream)

    def _call(self, method: str, path: str, body: Optional[dict], retry: bool, stream: bool = False) -> Any:
        import tenacity

        def wait(state: tenacity.RetryCallState) -> float:
            hint = getattr(state.outcome.exception(), "retry_after", None)
            backoff = min(self.backoff * 2 ** (state.attempt_number - 1), self.backoff_max)
            return max(hint or 0.0, backoff + random.uniform(0, self.backoff))  # jitter: no thundering herd

        def announce(state: tenacity.RetryCallState) -> None:
            reason = getattr(state.outcome.exception(), "reason", "failed")
            self.on_retry(f"{self.base_url}: {reason}, retry {state.attempt_number}/{self.retries} "
                          f"in {state.upcoming_sleep:.1f} s")

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientError), wait=wait, before_sleep=announce, sleep=self._nap,
            stop=tenacity.stop_after_attempt(self.retries + 1) | tenacity.stop_before_delay(self.retry_for),
            reraise=True)
        started = time.monotonic()
        try:
            if not retry:
                return self._once(method, path, body, stream)
            return retrying(self._once, method, path, body, stream)
        except TransientError as exc:
            if not retry:
                if isinstance(exc.__cause__, self._connect_errors()):
                    raise EndpointUnreachable(self._unreachable(exc)) from None
                raise
            raise self._gave_up(exc, retrying.statistics.get("attempt_number", 1), started) from None

    def _nap(self, seconds: float) -> None:
        if self._closed.wait(seconds):
            raise SamplerError(f"{self.base_url}: closed while a request waited to retry")

    def _gave_up(self, exc: TransientError, attempts: int, started: float) -> SamplerError:
        """Out of retries: whose failure it is (see the module docstring)."""
        spent = f"gave up after {attempts} attempt{'s' * (attempts != 1)} in {time.monotonic() - started:.1f} s"
        if isinstance(exc.__cause__, self._connect_errors()):
            return EndpointUnreachable(_one_line(f"{self._unreachable(exc)} ({spent})"))
        if self._last_ok > started:
            return SamplerError(_one_line(f"{exc} ({spent}; other requests were answered meanwhile)"))
        return EndpointFailing(_one_line(f"{self.base_url} kept failing: {exc} ({spent})"))

    def _unreachable(self, exc: TransientError) -> str:
        return (f"cannot reach {self.base_url} ({exc.__cause__ or 'refused'}); "
                "is the server running? (`swe-monkeys serve` starts one)")

    def _connect_errors(self) -> tuple:
        import httpx

        return (httpx.ConnectError, httpx.ConnectTimeout)

    def _once(self, method: str, path: str, body: Optional[dict], stream: bool) -> Any:
        import httpx

        url = f"{self.base_url}{path}"
        if self._closed.is_set():
            raise SamplerError(f"{url}: the client is closed")
        with self._slots:
            try:
                answer = self._streamed_answer(url, body) if stream else self._json_answer(method, url, body)
            except self._connect_errors() as exc:
                raise TransientError(f"cannot connect to {url}: {exc or type(exc).__name__}",
                                     reason="cannot connect") from exc
            except httpx.TimeoutException as exc:  # a stall: nothing for the read timeout
                seconds = (self._stream_timeout if stream else self._client.timeout).read
                raise TransientError(f"{method} {url}: nothing received for {seconds:g} s ({type(exc).__name__})",
                                     reason=f"no answer for {seconds:g} s (stalled)") from exc
            except httpx.TransportError as exc:  # reset, closed mid-answer, protocol error
                why = str(exc) or type(exc).__name__
                raise TransientError(f"{method} {url} failed: {why}", reason=f"connection dropped ({why:.80})") from exc
            except IncompleteStream as exc:
                raise TransientError(f"POST {url}: {exc}", reason=f"stream cut short ({exc})") from exc
            except NoStreamUsage as exc:  # so will every other answer: stop rather than fail each problem
                raise EndpointFailing(f"{url}: {exc}") from None
        self._last_ok = time.monotonic()
        return answer

    def _json_answer(self, method: str, url: str, body: Optional[dict]) -> Any:
        response = self._client.request(method, url, json=body)
        if response.status_code >= 400:
            raise self._error(url, response)
        try:
            return response.json()
        except ValueError:  # a body that stops half-way (a connection closed without a length)
            raise TransientError(f"{url} answered {response.status_code} with non-JSON: {response.text[:200]!r}",
                                 reason="answer cut short (not JSON)") from None

    def _streamed_answer(self, url: str, body: Optional[dict]) -> Any:
        with self._client.stream("POST", url, json=body, timeout=self._stream_timeout) as response:
            if response.status_code >= 400:
                response.read()
                raise self._error(url, response)
            return assemble_stream(response.iter_lines(), deadline=time.monotonic() + self.timeout)

    @staticmethod
    def _error(url: str, response: Any) -> SamplerError:
        status, message = response.status_code, _message(response)
        text = f"HTTP {status} from {url}: {message}"
        if status in RETRY_STATUSES:
            return TransientError(text, _retry_after(response.headers), reason=f"endpoint answered {status}")
        if status in (400, 413, 422) and CONTEXT_PATTERN.search(message):
            return ContextOverflow(f"prompt and max_tokens do not fit the model's context: {message}")
        if status == 404 and "model" in message.lower():
            return ModelNotServed(message)
        if status in (401, 403):
            return SamplerError(f"{text} (is the API key set in the environment variable the backend reads?)")
        return SamplerError(text)
