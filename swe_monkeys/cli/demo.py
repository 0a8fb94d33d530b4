"""`swe-monkeys demo`: verify the embedded example candidates end to end (the README's main job)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from swe_monkeys.cli.lifecycle import fail, fail_now


def demo(
    workdir: Annotated[Path, typer.Option(metavar="DIR", help="Where the example repositories, inputs and run go.")]
    = Path("runs/demo"),
    workers: Annotated[int, typer.Option(min=1, metavar="N", help="Parallel containers.")] = 2,
) -> None:
    """Verify the example candidates end to end in Docker.

    Builds the images first (the first time takes about 2 minutes)."""
    from swe_monkeys.cli.verify import verify
    from swe_monkeys.swebench.demo import prepare_demo

    with fail():
        try:
            predictions, instances, repo_cache = prepare_demo(workdir)
        except OSError as exc:  # a --workdir that cannot be written: the user's to fix, not a traceback
            fail_now(f"--workdir {workdir}: cannot write the examples there ({exc.strerror}: {exc.filename})")
    typer.echo(f"examples: {instances}\ncandidates: {predictions}")
    verify(predictions, instances, run=workdir / "run", workers=workers, repo_cache=repo_cache, clone=False,
           flaky_runs=11, no_cache=False, quiet=False)
