"""JSON over HTTP for the OpenAI-compatible backend: bounded concurrency, retries, clear errors.

Retries (tenacity) cover what a busy or restarting server does: 408/409/429/5xx answers,
connection resets and timeouts, with exponential backoff and jitter, honouring `Retry-After`.
Everything else is a request the server will never accept (a wrong model, a prompt longer than
the context) and fails at once with the server's own words.
"""

from __future__ import annotations

import random
import re
import threading
from typing import Any, Optional

from swe_monkeys.sampling.protocol import ContextOverflow, EndpointUnreachable, ModelNotServed, SamplerError

RETRY_STATUSES = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}
# vLLM, OpenAI, SGLang and llama.cpp phrase an over-long request differently; these catch them all.
CONTEXT_PATTERN = re.compile(r"context length|context_length|context window|maximum context|too long|"
                             r"exceeds? the (?:available )?context|max_tokens.*too large|too large.*max_tokens",
                             re.IGNORECASE)


class TransientError(SamplerError):
    """A failure worth retrying; `retry_after` is the server's hint in seconds, if it gave one."""

    retryable = True

    def __init__(self, message: str, retry_after: Optional[float] = None):
        super().__init__(message)
        self.retry_after = retry_after


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


class JsonClient:
    """A thread-safe JSON client for one base URL with at most `concurrency` requests in flight."""

    def __init__(self, base_url: str, api_key: Optional[str], *, timeout: float, concurrency: int,
                 retries: int, backoff: float, backoff_max: float):
        import httpx

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.base_url = base_url.rstrip("/")
        self._client = httpx.Client(headers=headers, limits=limits,
                                    timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0), pool=None))
        self._slots = threading.BoundedSemaphore(concurrency)
        self.retries, self.backoff, self.backoff_max = retries, backoff, backoff_max

    def close(self) -> None:
        self._client.close()

    def get(self, path: str, *, retry: bool = False) -> Any:
        return self._call("GET", path, None, retry)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, body, True)

    def _call(self, method: str, path: str, body: Optional[dict], retry: bool) -> Any:
        import tenacity

        def wait(state: tenacity.RetryCallState) -> float:
            hint = getattr(state.outcome.exception(), "retry_after", None)
            backoff = min(self.backoff * 2 ** (state.attempt_number - 1), self.backoff_max)
            return max(hint or 0.0, backoff + random.uniform(0, self.backoff))  # jitter: no thundering herd

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientError), wait=wait,
            stop=tenacity.stop_after_attempt(self.retries + 1), reraise=True)
        try:
            return retrying(self._once, method, path, body) if retry else self._once(method, path, body)
        except TransientError as exc:
            # Out of retries: a connection that never opened means nobody is there.
            if isinstance(exc.__cause__, self._connect_errors()):
                raise EndpointUnreachable(f"cannot reach {self.base_url} ({exc.__cause__ or 'refused'}); "
                                          "is the server running? (`swe-monkeys serve` starts one)") from None
            if not retry:
                raise
            raise SamplerError(f"{exc} (gave up after {self.retries + 1} attempts)") from None

    def _connect_errors(self) -> tuple:
        import httpx

        return (httpx.ConnectError, httpx.ConnectTimeout)

    def _once(self, method: str, path: str, body: Optional[dict]) -> Any:
        import httpx

        url = f"{self.base_url}{path}"
        with self._slots:
            try:
                response = self._client.request(method, url, json=body)
            except self._connect_errors() as exc:
                raise TransientError(f"cannot connect to {url}: {exc or type(exc).__name__}") from exc
            except httpx.TimeoutException as exc:
                raise TransientError(f"{method} {url} timed out ({type(exc).__name__})") from exc
            except httpx.TransportError as exc:  # reset, closed mid-answer, protocol error
                raise TransientError(f"{method} {url} failed: {exc or type(exc).__name__}") from exc
        if response.status_code < 400:
            try:
                return response.json()
            except ValueError:
                raise TransientError(f"{url} answered {response.status_code} with non-JSON: "
                                     f"{response.text[:200]!r}") from None
        raise self._error(url, response)

    @staticmethod
    def _error(url: str, response: Any) -> SamplerError:
        status, message = response.status_code, _message(response)
        text = f"HTTP {status} from {url}: {message}"
        if status in RETRY_STATUSES:
            return TransientError(text, _retry_after(response.headers))
        if status in (400, 413, 422) and CONTEXT_PATTERN.search(message):
            return ContextOverflow(f"prompt and max_tokens do not fit the model's context: {message}")
        if status == 404 and "model" in message.lower():
            return ModelNotServed(message)
        if status in (401, 403):
            return SamplerError(f"{text} (is the API key set in the environment variable the backend reads?)")
        return SamplerError(text)
