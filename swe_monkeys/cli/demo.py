"""`swe-monkeys demo`: verify the embedded example candidates end to end (the README's main job)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from swe_monkeys.cli.lifecycle import fail


def demo(
    workdir: Annotated[Path, typer.Option(help="Where the example repositories, inputs and run go.")] = Path("runs/demo"),
    workers: Annotated[int, typer.Option(min=1, help="Parallel containers.")] = 2,
) -> None:
    """Build the images (first time: ~2 min) and verify the example candidates in Docker."""
    from swe_monkeys.cli.verify import verify
    from swe_monkeys.swebench.demo import prepare_demo

    with fail():
        predictions, instances, repo_cache = prepare_demo(workdir)
    typer.echo(f"examples: {instances}\ncandidates: {predictions}")
    verify(predictions, instances, run=workdir / "run", workers=workers, repo_cache=repo_cache, clone=False,
           flaky_runs=11, no_cache=False, quiet=False)
