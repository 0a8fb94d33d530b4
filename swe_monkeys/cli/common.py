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
    if workers:
        config.workers = workers
    if repo_cache:
        config.repo_cache = repo_cache
    return config
