"""Model servers as Ray actors: `vllm serve` on the cluster's GPU nodes (or a CPU), one endpoint each.

`served_on_cluster(config, address)` starts `replicas` `ServerActor`s -- by default one per GPU of
the cluster (`num_gpus` = the config's tensor-parallel size), or one on a CPU when the cluster has
no GPU -- each running the same `vllm serve` the single-machine path runs (sampling/server.py),
bound to its node's address. It yields their endpoints; the driver's sampling phase spreads
requests across them with their seeds fixed (sampling/spread.py), so 1 or N replicas give the
same samples. The servers stop when the block ends; a server whose actor is killed stops too (a
guard process watches the actor), so a lost actor leaves no model server holding a GPU.
"""

from __future__ import annotations

import os
import signal
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator, Optional

from swe_monkeys.cluster import ClusterError, connected
from swe_monkeys.sampling.server import ServeConfig


@dataclass(frozen=True)
class Endpoint:
    base_url: str
    model: str
    gpus: int
    node: str
    pid: int  # the actor's process


class ServerActor:
    """On a node: one `vllm serve` process, started when the actor is and stopped with it."""

    def __init__(self, config: ServeConfig):
        import ray

        from swe_monkeys.sampling.server import start_server

        host = ray.util.get_node_ip_address()  # reachable from the driver's node, unlike 127.0.0.1
        # A Ray worker blocks SIGINT and its children inherit the mask: a server started with it
        # would ignore the SIGINT that stops it cleanly (and be killed 40 s later instead).
        blocked = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            self.served = start_server(replace(config, host=host, port=0))
            # The server has its own session (so Ctrl-C reaches the driver, not it): if this actor is
            # killed, the guard takes the server's process group down with it.
            group = self.served.process.pid
            self._guard = subprocess.Popen(
                ["sh", "-c", f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
                             f"kill -s INT -- -{group}; sleep 30; kill -s KILL -- -{group}"],
                start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        self.node = ray.get_runtime_context().get_node_id()

    def endpoint(self) -> Endpoint:
        return Endpoint(self.served.base_url, self.served.model, self.served.gpus, self.node, os.getpid())

    def stop(self) -> None:
        from swe_monkeys.sampling.server import stop_server

        stop_server(self.served)
        self._guard.kill()
        self._guard.wait()


def default_replicas(ray: Any, tensor_parallel: int) -> int:
    """One server per `tensor_parallel` GPUs of the cluster; one on a CPU when it has no GPU."""
    gpus = int(ray.cluster_resources().get("GPU", 0))
    return max(1, gpus // max(1, tensor_parallel)) if gpus else 1


@contextmanager
def served_on_cluster(config: ServeConfig, address: str, replicas: Optional[int] = None,
                      on_log: Optional[Callable[[str], None]] = None) -> Iterator[list[Endpoint]]:
    """Start the replicas, wait until each answers, yield their endpoints, stop them all at the end."""
    log = on_log or (lambda line: None)
    with connected(address) as ray:
        gpus = int(ray.cluster_resources().get("GPU", 0))
        count = replicas or default_replicas(ray, config.tensor_parallel_size)
        need = {"num_gpus": config.tensor_parallel_size} if gpus else {"num_cpus": 1}
        actor = ray.remote(ServerActor).options(max_restarts=0, scheduling_strategy="SPREAD", **need)
        handles = [actor.remote(config) for _ in range(count)]
        log(f"[cluster] starting {count} vLLM server(s) for {config.model} as Ray actors "
            f"({'%d GPU(s) each' % config.tensor_parallel_size if gpus else 'on a CPU'})")
        try:
            try:
                endpoints = ray.get([h.endpoint.remote() for h in handles], timeout=config.startup_timeout + 120)
            except (ray.exceptions.RayError, TimeoutError) as exc:
                raise ClusterError(f"a vLLM server actor did not start: {str(exc).strip()[-1500:]}") from exc
            for e in endpoints:
                log(f"[cluster] vLLM serving {e.model} at {e.base_url} (node {e.node[:8]}, actor pid {e.pid})")
            yield endpoints
        finally:
            stops = [h.stop.remote() for h in handles]
            ray.wait(stops, num_returns=len(stops), timeout=90)
            for h in handles:
                ray.kill(h)
