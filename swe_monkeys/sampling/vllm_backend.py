"""The `vllm` backend: vLLM in this process (`vllm.LLM`), for GPU users who installed vllm here.

One `SamplingParams(n=...)` per request with prefix caching on, so the prompt is prefilled once
for all n samples; vLLM gives the j-th sample seed `seed + j`, as the openai backend does. The
sampling phase calls `complete` from several threads; a batcher thread gathers whatever requests
are waiting into one `LLM.chat`/`LLM.generate` call, so concurrent problems share the GPU the way
they would in a server. vLLM is imported on first use only.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Optional

from swe_monkeys.sampling.protocol import Completion, Request, Sample


@dataclass
class VLLMConfig:
    model: str  # bundled name, model directory or hub name
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: Optional[int] = None
    dtype: str = "auto"
    prefix_caching: bool = True
    max_batch: int = 256  # requests gathered into one generate call
    engine_args: dict[str, Any] = field(default_factory=dict)  # any other vllm.LLM argument


class VLLMSampler:
    """A Sampler over an in-process vllm.LLM, loaded on first use."""

    def __init__(self, config: Optional[VLLMConfig] = None, **options: Any):
        self.config = config or VLLMConfig(**options)
        self._llm: Any = None
        self._name = ""
        self._queue: "queue.Queue[tuple[Request, Future]]" = queue.Queue()
        self._load_lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self.gpus = 0

    def _engine(self) -> Any:
        with self._load_lock:
            if self._llm is None:
                from vllm import LLM

                from swe_monkeys.sampling.models import resolve_model

                resolved = resolve_model(self.config.model)
                c = self.config
                max_len = c.max_model_len or resolved.max_model_len
                args = {"dtype": resolved.dtype if c.dtype == "auto" else c.dtype, "max_model_len": max_len}
                if not _cuda():  # the same CPU workarounds as server.py, for the same reasons
                    args.update(enforce_eager=True, enable_chunked_prefill=False,
                                max_num_batched_tokens=max(max_len or 8192, 8192))
                args.update(c.engine_args)
                self._llm = LLM(model=resolved.path, served_model_name=resolved.name,
                                tensor_parallel_size=c.tensor_parallel_size,
                                gpu_memory_utilization=c.gpu_memory_utilization,
                                enable_prefix_caching=c.prefix_caching, **args)
                self._name = resolved.name
                self.gpus = c.tensor_parallel_size if _cuda() else 0
                self._thread = threading.Thread(target=self._serve_batches, name="vllm-batcher", daemon=True)
                self._thread.start()
            return self._llm

    def max_n(self) -> int:
        return 1 << 12

    def identity(self) -> dict[str, Any]:
        import vllm

        llm = self._engine()
        length = getattr(getattr(getattr(llm, "llm_engine", None), "model_config", None), "max_model_len", None)
        return {"backend": "vllm", "model": self._name, "server": "in-process", "server_version": vllm.__version__,
                "context_tokens": length}

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put((None, None))  # type: ignore[arg-type]
            self._thread.join(timeout=60)
            self._thread = None

    def complete(self, request: Request) -> Completion:
        self._engine()
        future: Future = Future()
        self._queue.put((request, future))
        return future.result()

    # -- the batcher thread -------------------------------------------------------------------
    def _serve_batches(self) -> None:
        while True:
            first = self._queue.get()
            if first[0] is None:
                return
            batch = [first]
            while len(batch) < self.config.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item[0] is None:
                    self._queue.put(item)  # stop after this batch
                    break
                batch.append(item)
            for chat in (True, False):
                part = [item for item in batch if item[0].prompt.is_chat is chat]
                if part:
                    self._run(part, chat)

    def _run(self, part: list[tuple[Request, Future]], chat: bool) -> None:
        from vllm import SamplingParams

        params = [SamplingParams(n=r.n, temperature=r.params.temperature, top_p=r.params.top_p,
                                 max_tokens=r.params.max_tokens, stop=list(r.params.stop) or None, seed=r.seed)
                  for r, _ in part]
        start = time.monotonic()
        try:
            if chat:
                outputs = self._llm.chat([list(r.prompt.messages) for r, _ in part], sampling_params=params,
                                         use_tqdm=False)
            else:
                outputs = self._llm.generate([r.prompt.text for r, _ in part], sampling_params=params, use_tqdm=False)
        except Exception as exc:  # noqa: BLE001 - handed to every waiting caller
            for _, future in part:
                future.set_exception(exc)
            return
        seconds = time.monotonic() - start
        for (request, future), out in zip(part, outputs, strict=True):
            samples = [Sample(text=o.text, completion_tokens=len(o.token_ids), finish_reason=str(o.finish_reason),
                              seed=request.seed + j) for j, o in enumerate(out.outputs)]
            future.set_result(Completion(samples=samples, prompt_tokens=len(out.prompt_token_ids or ()),
                                         seconds=seconds, cached_tokens=int(out.num_cached_tokens or 0)))


def _cuda() -> bool:
    try:
        import torch

        return bool(torch.cuda.is_available())
    except ImportError:
        return False
