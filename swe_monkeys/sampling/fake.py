"""A FAKE scripted sampler, for tests and dry runs of any task (`--fake script.json`).

`FakeSampler(script)` implements the Sampler protocol: sample j of a request with seed s is
`script[(s + j) % len(script)]`, so a run is a pure function of its seeds (resume and kill tests
compare runs exactly). `load_script(path)` reads a script file (a JSON list of completions, or
{"completions": [...], "latency": s, "max_n": n}).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from swe_monkeys.sampling.protocol import Completion, Request, Sample, SamplerError


class FakeSampler:
    """A FAKE model: scripted completions chosen by seed; thread-safe; counts requests."""

    def __init__(self, script: list[str], *, model: str = "fake-edit", max_n: int = 4, latency: float = 0.0,
                 fail_with: SamplerError | None = None):
        if not script:
            raise SamplerError("a fake sampler needs at least one scripted completion")
        self.script, self.model, self._max_n, self.latency, self.fail_with = list(script), model, max_n, latency, \
            fail_with
        self.requests = 0
        self._lock = threading.Lock()

    def complete(self, request: Request) -> Completion:
        with self._lock:
            self.requests += 1
        if self.fail_with is not None:
            raise self.fail_with
        if self.latency:
            time.sleep(self.latency)
        samples = []
        for j in range(request.n):
            text = self.script[(request.seed + j) % len(self.script)]
            samples.append(Sample(text=text, completion_tokens=max(1, len(text) // 4), finish_reason="stop",
                                  seed=request.seed + j))
        prompt = sum(len(m["content"]) for m in request.prompt.messages) if request.prompt.is_chat else len(
            request.prompt.text or "")
        return Completion(samples=samples, prompt_tokens=max(1, prompt // 4), seconds=self.latency)

    def max_n(self) -> int:
        return self._max_n

    def identity(self) -> dict[str, Any]:
        if self.fail_with is not None:
            raise self.fail_with
        return {"backend": "fake", "model": self.model}

    def close(self) -> None:
        pass


def load_script(path: Path) -> FakeSampler:
    """A fake sampler from a script file: a JSON list of completions, or an object with `completions`
    and optionally `latency` (seconds per request) and `max_n`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # a missing file, not UTF-8, not JSON: the user's to fix
        raise SamplerError(f"{path}: cannot read a fake script ({exc})") from None
    options = data if isinstance(data, dict) else {"completions": data}
    items = options.get("completions")
    if not isinstance(items, list) or not items or not all(isinstance(t, str) for t in items):
        raise SamplerError(f"{path}: a fake script is a non-empty JSON list of completion strings")
    return FakeSampler(items, latency=float(options.get("latency", 0.0)), max_n=int(options.get("max_n", 4)))
