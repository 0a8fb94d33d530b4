"""`swe-monkeys bench sample`: what sharing the prompt is worth, measured in one run on one server.

32 samples of one long prompt are drawn twice from the same vLLM server: as one request with
`n=32` (the prompt is prefilled once and its KV blocks are shared by all samples), and as 32
concurrent requests that each pay for the prompt (each gets its own `cache_salt`, so vLLM's prefix
cache cannot share anything between them). Every sample is forced to exactly `max_tokens` tokens
(`ignore_eos`), so both sides generate the same work. The server is started by the command when no
endpoint is given (bundled model smollm2-135m by default) and stopped at the end.
"""

from __future__ import annotations

import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Optional

from swe_monkeys.sampling.openai_backend import OpenAIConfig, OpenAISampler
from swe_monkeys.sampling.protocol import Completion, Prompt, Request, SamplingParams
from swe_monkeys.sampling.server import ServeConfig, describe, served_model

PROMPT_SOURCE = Path(__file__).with_name("phase.py")  # real code as the problem's context


def bench_prompt(chars: int) -> Prompt:
    """A SWE-style prompt: a task, then about `chars` characters of real source code."""
    code = PROMPT_SOURCE.read_text()
    while len(code) < chars:
        code += code
    return Prompt.chat("Here is a module of our code base.\n\n```python\n" + code[:chars] + "\n```\n\n"
                       "Write a unit test for its plan() function.")


def _prefix_hits(sampler: OpenAISampler) -> Optional[float]:
    """vLLM's counter of prompt tokens served from the prefix cache (None where not exported)."""
    root = sampler.config.base_url.rstrip("/").removesuffix("/v1")
    try:
        import httpx

        text = httpx.get(root + "/metrics", timeout=10).text
    except Exception:  # noqa: BLE001 - metrics are a nicety; the bench stands without them
        return None
    found = re.findall(r"^vllm:prefix_cache_hits(?:_total)?(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.MULTILINE)
    return sum(float(x) for x in found) if found else None


def _timed(sampler: OpenAISampler, requests: list[Request]) -> tuple[float, list[Completion], Optional[float]]:
    """All requests at once; wall-clock from the first sent to the last answered."""
    hits = _prefix_hits(sampler)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        results = list(pool.map(sampler.complete, requests))
    seconds = time.monotonic() - start
    after = _prefix_hits(sampler)
    return seconds, results, (after - hits) if hits is not None and after is not None else None


def measure(sampler: OpenAISampler, samples: int, prompt: Prompt, max_tokens: int) -> dict[str, Any]:
    """Both ways on one server: one n=samples request, and samples separate uncacheable requests."""
    params = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=max_tokens, seed=1234)
    run_id = uuid.uuid4().hex[:12]
    sampler.complete(Request(Prompt.chat("Say hello."), SamplingParams(max_tokens=4), n=1, seed=0))  # warm-up
    batched_s, (batched,), batched_hits = _timed(
        sampler, [Request(prompt, params, n=samples, seed=params.seed, salt=f"{run_id}-batched")])
    separate_s, separate, separate_hits = _timed(
        sampler, [Request(prompt, params, n=1, seed=params.seed + i, salt=f"{run_id}-{i}") for i in range(samples)])
    batched_tokens = batched.completion_tokens
    separate_tokens = sum(c.completion_tokens for c in separate)
    out = {"samples": samples, "max_tokens": max_tokens, "prompt_tokens": batched.prompt_tokens,
           "tokens_per_s_batched": round(batched_tokens / batched_s, 2),
           "tokens_per_s_separate": round(separate_tokens / separate_s, 2),
           "ratio": round((batched_tokens / batched_s) / (separate_tokens / separate_s), 3),
           "seconds_batched": round(batched_s, 2), "seconds_separate": round(separate_s, 2),
           "completion_tokens_batched": batched_tokens, "completion_tokens_separate": separate_tokens,
           "prompt_tokens_billed_batched": batched.prompt_tokens,
           "prompt_tokens_billed_separate": sum(c.prompt_tokens for c in separate),
           "distinct_samples_batched": len({s.text for s in batched.samples})}
    if batched_hits is not None:
        out["prefix_cache_hit_tokens_batched"] = int(batched_hits)
        out["prefix_cache_hit_tokens_separate"] = int(separate_hits or 0)
    return out


def run_sample_bench(base_url: str = "", model: str = "", samples: int = 32, max_tokens: int = 64,
                     prompt_chars: int = 6000, python: str = "",
                     on_log: Optional[Callable[[str], None]] = None) -> dict[str, Any]:
    """Measure against `base_url`, or start the model's vLLM server for the run and stop it after."""
    prompt = bench_prompt(prompt_chars)
    options = dict(max_n=samples, concurrency=samples, timeout=1800, extra_body={"ignore_eos": True})
    if base_url:
        sampler = OpenAISampler(OpenAIConfig(base_url=base_url, model=model, **options))
        try:
            return {"endpoint": base_url, **sampler.identity(), **measure(sampler, samples, prompt, max_tokens)}
        finally:
            sampler.close()
    with served_model(ServeConfig(model=model or "smollm2-135m", python=python), on_log) as served:
        sampler = OpenAISampler(OpenAIConfig(base_url=served.base_url, model=served.model, **options))
        try:
            identity = sampler.identity()
            result = measure(sampler, samples, prompt, max_tokens)
        finally:
            sampler.close()
        server = describe(served)
    return {"endpoint": "started by the bench", "server_start_s": server["started_in_s"], **identity, **result}
