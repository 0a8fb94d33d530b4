"""Shared bits of the command modules: turning library errors into one-line messages."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer


@contextmanager
def fail() -> Iterator[None]:
    """Known errors become `error: ...` on stderr and exit code 1 (what is done stays recorded)."""
    from swe_monkeys.images.builder import ImageBuildError
    from swe_monkeys.images.sources import SourceError
    from swe_monkeys.registry import UnknownName
    from swe_monkeys.sandbox.docker_sandbox import SandboxError
    from swe_monkeys.swebench.dataset import DatasetError
    from swe_monkeys.swebench.spec import SpecError

    try:
        yield
    except (DatasetError, SpecError, SourceError, SandboxError, ImageBuildError, UnknownName, OSError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def verify_config(workers: Optional[int], repo_cache: Optional[Path], clone: bool, flaky_runs: int,
                  use_cache: bool = True):
    from swe_monkeys.swebench.verifier import VerifyConfig

    config = VerifyConfig(allow_clone=clone, flaky_runs=flaky_runs, use_cache=use_cache)
    if workers:
        config.workers = workers
    if repo_cache:
        config.repo_cache = repo_cache
    return config
