"""Shared bits of the command modules: printing a benchmark's figures, the verifier's configuration.

Failing and the lifecycle of a command live in cli/lifecycle.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def emit(result: dict, as_json: bool) -> None:
    """A benchmark's figures: one JSON object, or one aligned `key  value` line each."""
    if as_json:
        typer.echo(json.dumps(result))
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        typer.echo(f"{key:<{width}}  {value}")


def verify_config(workers: Optional[int], repo_cache: Optional[Path], clone: bool, flaky_runs: int,
                  use_cache: bool = True):
    from swe_monkeys.swebench.checker import VerifyConfig

    config = VerifyConfig(allow_clone=clone, flaky_runs=flaky_runs, use_cache=use_cache)
    if workers is not None:
        config.workers = workers
    if repo_cache:
        config.repo_cache = repo_cache
    return config


RAY_HELP = ("Run on a Ray cluster: auto (the one `ray start` made), local (a one-node cluster in this process) or "
            "HOST:PORT. Verification runs in an actor per node with the `docker` resource (--workers caps its "
            "containers), --serve starts vLLM as actors (one per GPU); the run store stays here.")


def cluster_spec(ray: str, workers: Optional[int]):
    """The cluster to verify on for `--ray ADDRESS` (None without it), printing its lines on stderr."""
    if not ray:
        return None
    from swe_monkeys.cluster import ClusterSpec

    return ClusterSpec(address=ray, workers=workers, log=lambda line: typer.echo(line, err=True))
