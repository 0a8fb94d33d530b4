"""The `openai` backend: any OpenAI-compatible server (vllm serve, SGLang, llama.cpp, hosted APIs).

One request asks for all `n` samples where the server honours `n` (the prompt is prefilled once);
a server that returns fewer choices (llama-cpp-python drops `n`) is detected on the first such
answer, the missing samples are fetched one request each, and later requests fan out from the
start. Each fanned-out request for sample j carries seed `seed + j`, which is what vLLM gives the
j-th child of an `n` request, so a vLLM run is reproducible whichever way it was chunked.

Faults of the endpoint (429, 5xx, dropped or cut answers, stalls) are retried with backoff within
`retries` and `retry_for` (openai_http.py), each retry a line through `on_log`; a request is sent
again whole with its seed, so a retried request gives the samples an undisturbed one would have.
With `stream`, answers come as server-sent events, so a stalled server shows within
`stall_timeout` instead of the whole answer's `timeout` (openai_stream.py).

Usage is taken from the server where it is exact: vLLM returns each choice's token ids when asked
(`return_token_ids`); for one-choice answers `usage.completion_tokens` is the sample's. Otherwise a
choice's share of the total is estimated from its length and marked `tokens_exact=False`.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from swe_monkeys.sampling.openai_http import JsonClient
from swe_monkeys.sampling.protocol import Completion, ModelNotServed, Request, Sample, SamplerError, TooFewChoices

N_MODES = ("auto", "n", "fanout")


@dataclass
class OpenAIConfig:
    """Where the server is and how to talk to it."""

    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = ""  # "" = the one model the server serves
    api_key_env: str = "OPENAI_API_KEY"  # the key is read from this variable, never stored
    n_mode: str = "auto"  # "n": trust `n`; "fanout": one request per sample; "auto": detect
    max_n: int = 32  # the most samples asked for in one request
    concurrency: int = 16  # requests in flight at once, across all threads
    timeout: float = 600.0  # seconds for a whole answer; unstreamed, also the stall timeout (nothing comes sooner)
    retries: int = 10  # retries of one request at most (429, 5xx, dropped, cut or stalled answers)
    retry_for: float = 600.0  # seconds of retrying one request at most: no retry whose wait ends later
    backoff: float = 1.0  # the first wait; it doubles per retry (plus up to `backoff` of jitter)
    backoff_max: float = 60.0
    stream: bool = False  # ask for server-sent events: stalls show within stall_timeout
    stall_timeout: float = 120.0  # with stream: seconds without a chunk (the first included) = a stall
    extra_body: dict[str, Any] = field(default_factory=dict)  # server-specific fields, sent as they are

    def __post_init__(self) -> None:
        if self.n_mode not in N_MODES:
            raise SamplerError(f"n_mode must be one of {', '.join(N_MODES)}, not {self.n_mode!r}")
        if self.max_n < 1 or self.concurrency < 1:
            raise SamplerError("max_n and concurrency must be at least 1")
        if self.retries < 0 or self.retry_for < 0 or self.timeout <= 0 or self.stall_timeout <= 0:
            raise SamplerError("retries and retry_for must be at least 0, timeout and stall_timeout above 0")


class OpenAISampler:
    """A Sampler over HTTP. The first request checks the endpoint and the model name."""

    def __init__(self, config: Optional[OpenAIConfig] = None, on_log: Optional[Callable[[str], None]] = None,
                 **options: Any):
        self.config = config or OpenAIConfig(**options)
        c = self.config
        self.http = JsonClient(c.base_url, os.environ.get(c.api_key_env) or None, timeout=c.timeout,
                               concurrency=c.concurrency, retries=c.retries, backoff=c.backoff,
                               backoff_max=c.backoff_max, retry_for=c.retry_for,
                               stall_timeout=c.stall_timeout if c.stream else None, on_retry=on_log)
        self.model = c.model
        self.server = ""  # "vllm", "llamacpp", ... from /models owned_by
        self.server_version = ""
        self.context_tokens: Optional[int] = None  # the served context length, where /models says
        self._use_n = c.n_mode != "fanout"
        self._probe_lock = threading.Lock()
        self._probed = False

    # -- the Sampler protocol -----------------------------------------------------------------
    def max_n(self) -> int:
        self._probe()
        return self.config.max_n if self._use_n else 1

    def identity(self) -> dict[str, Any]:
        self._probe()
        return {"backend": "openai", "base_url": self.config.base_url, "model": self.model,
                "server": self.server, "server_version": self.server_version,
                "n_mode": "n" if self._use_n else "fanout", "context_tokens": self.context_tokens}

    def close(self) -> None:
        self.http.close()

    def complete(self, request: Request) -> Completion:
        self._probe()
        start = time.monotonic()
        if request.n == 1 or not self._use_n:
            parts = [self._ask(request, 1, request.seed + j) for j in range(request.n)]
        else:
            first = self._ask(request, request.n, request.seed)
            parts = [first]
            got = len(first.samples)
            if got < request.n:
                if self.config.n_mode == "n":
                    raise TooFewChoices(f"{self.config.base_url} returned {got} of {request.n} choices; "
                                        "use n_mode 'fanout' or 'auto' for this server")
                self._use_n = False  # the server ignores n: fan out from now on
                parts += [self._ask(request, 1, request.seed + j) for j in range(got, request.n)]
        samples = [s for part in parts for s in part.samples]
        if len(samples) != request.n:
            raise TooFewChoices(f"{self.config.base_url} returned {len(samples)} samples for {request.n} asked")
        return Completion(samples=samples, prompt_tokens=sum(p.prompt_tokens for p in parts),
                          seconds=time.monotonic() - start, cached_tokens=sum(p.cached_tokens for p in parts),
                          extra={"requests": len(parts)})

    # -- one HTTP request ---------------------------------------------------------------------
    def _ask(self, request: Request, n: int, seed: int) -> Completion:
        prompt, params = request.prompt, request.params
        body: dict[str, Any] = {"model": self.model, "n": n, "temperature": params.temperature,
                                "top_p": params.top_p, "max_tokens": params.max_tokens, "seed": seed}
        if params.stop:
            body["stop"] = list(params.stop)
        if self.server == "vllm":
            body["return_token_ids"] = True  # exact per-sample token counts
            if request.salt:
                body["cache_salt"] = request.salt
        body.update(self.config.extra_body)
        if prompt.is_chat:
            body["messages"] = list(prompt.messages)
            path = "/chat/completions"
        else:
            body["prompt"] = prompt.text
            path = "/completions"
        start = time.monotonic()
        answer = self.http.post(path, body, stream=self.config.stream)
        return self._parse(answer, seed, prompt.is_chat, time.monotonic() - start)

    @staticmethod
    def _parse(answer: Any, seed: int, chat: bool, seconds: float) -> Completion:
        if not isinstance(answer, dict) or not isinstance(answer.get("choices"), list):
            raise SamplerError(f"not a completion response: {str(answer)[:200]!r}")
        choices = sorted(answer["choices"], key=lambda c: c.get("index", 0))
        usage = answer.get("usage") or {}
        texts = [((c.get("message") or {}).get("content") if chat else c.get("text")) or "" for c in choices]
        total = int(usage.get("completion_tokens") or 0)
        exact = [c.get("token_ids") is not None for c in choices]
        samples = []
        for j, (choice, text) in enumerate(zip(choices, texts, strict=True)):
            if exact[j]:
                tokens = len(choice["token_ids"])
            elif len(choices) == 1:
                tokens, exact[j] = total, True
            else:  # a share of the total in proportion to length (llama.cpp counts only one choice)
                tokens = round(total * len(text) / max(1, sum(map(len, texts))))
            samples.append(Sample(text=text, completion_tokens=tokens, finish_reason=str(choice.get("finish_reason")),
                                  seed=seed + j, tokens_exact=exact[j]))
        details = usage.get("prompt_tokens_details") or {}
        return Completion(samples=samples, prompt_tokens=int(usage.get("prompt_tokens") or 0), seconds=seconds,
                          cached_tokens=int(details.get("cached_tokens") or 0))

    # -- the endpoint check -------------------------------------------------------------------
    def _probe(self) -> None:
        """Check once that the server answers and serves the model (fills in the model if blank)."""
        with self._probe_lock:
            if self._probed:
                return
            try:
                listing = self.http.get("/models")
            except ModelNotServed:
                listing = None
            except SamplerError as exc:
                if "HTTP 404" not in str(exc) and "HTTP 405" not in str(exc):
                    raise
                listing = None  # some servers have no /models; the first request will tell
            models = [m for m in (listing or {}).get("data", []) if isinstance(m, dict)]
            ids = [str(m.get("id")) for m in models]
            if not self.model:
                if len(ids) != 1:
                    raise ModelNotServed(f"{self.config.base_url} serves {ids or 'no listed models'}: name one")
                self.model = ids[0]
            if ids and self.model not in ids:
                raise ModelNotServed(f"{self.config.base_url} does not serve {self.model!r}; it serves: "
                                     f"{', '.join(ids)}")
            mine = next((m for m in models if m.get("id") == self.model), {})
            self.server = str(mine.get("owned_by") or "")
            # vLLM (and SGLang) list each model's context length; a prompt budget must fit in it.
            length = mine.get("max_model_len") or mine.get("context_length")
            self.context_tokens = int(length) if isinstance(length, (int, float)) and length > 0 else None
            if self.server == "vllm":
                self.server_version = self._vllm_version()
            self._probed = True

    def _vllm_version(self) -> str:
        root = self.config.base_url.rstrip("/").removesuffix("/v1")
        try:
            http = JsonClient(root, None, timeout=10, concurrency=1, retries=0, backoff=0, backoff_max=0)
            try:
                return str(http.get("/version").get("version", ""))
            finally:
                http.close()
        except SamplerError:
            return ""
