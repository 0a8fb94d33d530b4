"""Sweeps that outgrow one machine: the same pipeline, with its verification and model servers on Ray.

Ray (`pip install -e '.[ray]'`) is optional and imported only here, only when `--ray` is given;
without it every command runs on one machine exactly as before. The driver -- the process that
runs `sweep`, `solve` or `verify` -- keeps the run store (its one writer) and the sampling phase;
the cluster only does work and hands results back, which the driver commits as they arrive, so a
driver killed with -9 resumes exactly like a single-machine run.

- verifiers.py  `ClusterChecker`: a Verifier whose judge calls run in one actor per Docker node
                (custom resource `docker: N`), each holding the task's own checker and its warm
                containers; an actor lost mid-sweep has its work re-run on the others
- serving.py    vLLM servers started as Ray actors (a GPU each, or a CPU), one endpoint per replica
- bench.py      `swe-monkeys bench cluster`: candidates/s locally and with 1 and 2 actors

`ClusterSpec` says which cluster and how to size it; `connected(address)` joins it for a block.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

from swe_monkeys.errors import SweMonkeysError

DOCKER = "docker"  # the custom resource a node advertises: containers it verifies at once


class ClusterError(SweMonkeysError, RuntimeError):
    """The cluster cannot do what was asked (ray missing, no Docker node, no actor could start)."""


@dataclass
class ClusterSpec:
    """Where to run and how big: `address` is "auto" (the cluster `ray start` made here), "local"
    (a one-node cluster in this process) or HOST:PORT / ray://HOST:PORT."""

    address: str = "auto"
    workers: Optional[int] = None  # containers per verification actor (default: its node's `docker`)
    actors: Optional[int] = None  # verification actors in all (default: one per node with `docker`)
    start_timeout: float = 600.0  # seconds an actor may take to be placed and open its checker
    report_every: float = 30.0  # seconds between per-node throughput lines
    log: Callable[[str], None] = field(default=lambda line: None, repr=False)


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ClusterError("--ray needs Ray: pip install -e '.[ray]' (on the driver and on every node)") from None
    return ray


def forwarded_env() -> dict[str, str]:
    """The driver's SWE_MONKEYS_* settings (cache, repo cache, vLLM interpreter) for every actor."""
    return {k: v for k, v in os.environ.items() if k.startswith("SWE_MONKEYS_")}


@contextmanager
def connected(address: str, docker: Optional[int] = None) -> Iterator[Any]:
    """The `ray` module, joined to the cluster for the block (left again at its end). Nested blocks
    share the outer connection. "local" starts a one-node cluster with `docker` units (default: one
    container per core, as a single machine runs)."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    options: dict[str, Any] = {"runtime_env": {"env_vars": forwarded_env()}, "log_to_driver": False,
                               "logging_level": logging.WARNING}
    handlers = _signal_handlers()
    try:
        if address == "local":
            from swe_monkeys.swebench.checker import default_workers

            ray.init(resources={DOCKER: docker or default_workers()}, include_dashboard=False, **options)
        else:
            ray.init(address=address, **options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ClusterError(f"cannot join the Ray cluster at {address!r}: {exc} (start one with "
                           "`ray start --head --resources '{\"docker\": 4}'`, or use --ray local)") from exc
    finally:
        # ray.init installs its own SIGTERM handler, which aborts the driver on the spot: the
        # command's own (cli/lifecycle.py) must stay, so that SIGTERM closes the actors and
        # their containers like Ctrl-C does.
        _restore(handlers)
    try:
        yield ray
    finally:
        ray.shutdown()


def _signal_handlers() -> dict[int, Any]:
    return {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore(handlers: dict[int, Any]) -> None:
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread sets handlers (an embedding application keeps Ray's)
    for sig, handler in handlers.items():
        if handler is not None and signal.getsignal(sig) is not handler:
            signal.signal(sig, handler)


def alive_nodes(ray: Any) -> list[dict[str, Any]]:
    return [n for n in ray.nodes() if n.get("Alive")]


def node_alive(ray: Any, node_id: str) -> bool:
    return any(n.get("NodeID") == node_id for n in alive_nodes(ray))
