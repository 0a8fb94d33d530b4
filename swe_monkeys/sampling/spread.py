"""One Sampler over several endpoints of the same model: requests spread across them, seeds unchanged.

A run sampled from N servers (vLLM replicas on a cluster's GPU nodes, or any list the user gives
as `--base-url URL1,URL2`) holds the samples one server would have given: the sampling phase
fixes every request's seed (sample i = seed + i) before a request is sent, and the request goes
whole to one endpoint, so only *where* it is answered changes. Each request goes to the endpoint
with the fewest in flight; an endpoint that stops answering is dropped and its request sent to
another one (the same seed: the same samples), and only when none answers does the phase stop.
Budget caps hold as before: the phase reserves every request's worst case before sending it.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Callable, Sequence

from swe_monkeys.sampling.protocol import Completion, EndpointUnreachable, ModelNotServed, Request


class SpreadSampler:
    """A Sampler that sends each request to the least busy of `samplers` (one per endpoint)."""

    def __init__(self, samplers: Sequence[Any], names: Sequence[str] = (),
                 on_log: Callable[[str], None] = lambda line: None):
        if not samplers:
            raise ValueError("a spread sampler needs at least one endpoint")
        self.samplers = list(samplers)
        self.names = list(names) or [str(i) for i in range(len(self.samplers))]
        self.on_log = on_log
        self.requests: Counter = Counter()  # endpoint name -> requests it answered
        self._busy = [0] * len(self.samplers)
        self._down: set[int] = set()
        self._lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        """The first answering endpoint's identity, after checking that every one serves the same
        model; one that does not answer is left out from the start."""
        identities = []
        for index, sampler in enumerate(self.samplers):
            try:
                identities.append(sampler.identity())
            except EndpointUnreachable as exc:
                if not self._drop(index, exc):
                    raise
        models = {i.get("model") for i in identities}
        if len(models) != 1:
            raise ModelNotServed(f"the endpoints serve different models ({', '.join(map(str, sorted(models)))}); "
                                 "a run is sampled from one model")
        contexts = [i["context_tokens"] for i in identities if i.get("context_tokens")]
        return {**identities[0], "base_url": ",".join(i.get("base_url", "") for i in identities),
                "endpoints": len(identities), "context_tokens": min(contexts) if contexts else None}

    def max_n(self) -> int:
        return min(s.max_n() for i, s in enumerate(self.samplers) if i not in self._down)

    def complete(self, request: Request) -> Completion:
        while True:
            index = self._take()
            try:
                completion = self.samplers[index].complete(request)
            except EndpointUnreachable as exc:
                if not self._drop(index, exc):
                    raise
                continue
            finally:
                with self._lock:
                    self._busy[index] -= 1
            with self._lock:
                self.requests[self.names[index]] += 1
            return completion

    def close(self) -> None:
        for sampler in self.samplers:
            sampler.close()

    def _take(self) -> int:
        with self._lock:
            alive = [i for i in range(len(self.samplers)) if i not in self._down] or list(range(len(self.samplers)))
            index = min(alive, key=lambda i: (self._busy[i], self.requests[self.names[i]]))
            self._busy[index] += 1
            return index

    def _drop(self, index: int, exc: Exception) -> bool:
        """Mark an endpoint down; False when it was the last one (the error then ends the phase)."""
        with self._lock:
            self._down.add(index)
            left = len(self.samplers) - len(self._down)
        if left:
            self.on_log(f"endpoint {self.names[index]} stopped answering ({exc}); {left} left")
        return left > 0
