"""Shared bits of the command modules: turning library errors into one-line messages."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer


@contextmanager
def fail() -> Iterator[None]:
    """Known errors become `error: ...` on stderr and exit code 1 (what is done stays recorded)."""
    from swe_monkeys.images.builder import ImageBuildError
    from swe_monkeys.images.sources import SourceError
    from swe_monkeys.metrics.pricing import PricingError
    from swe_monkeys.registry import UnknownName
    from swe_monkeys.sampling.accounting import BudgetError
    from swe_monkeys.sampling.models import ModelInstallError
    from swe_monkeys.sampling.phase import SamplingMismatch
    from swe_monkeys.sampling.protocol import SamplerError
    from swe_monkeys.sampling.server import ServerError
    from swe_monkeys.sandbox.docker_sandbox import SandboxError

    known = (SourceError, SandboxError, ImageBuildError, UnknownName, SamplerError, ServerError, ModelInstallError,
             SamplingMismatch, BudgetError, PricingError, ValueError, OSError)  # dataset/spec errors are ValueErrors
    try:
        yield
    except known as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def fail_now(message: str) -> None:
    """Bad usage: `error: ...` on stderr, exit code 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


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
    from swe_monkeys.swebench.verifier import VerifyConfig

    config = VerifyConfig(allow_clone=clone, flaky_runs=flaky_runs, use_cache=use_cache)
    if workers:
        config.workers = workers
    if repo_cache:
        config.repo_cache = repo_cache
    return config
