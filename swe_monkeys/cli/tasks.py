"""Runs of any task on the command line: `import`, `score`, and `verify --run` (via cli/verify.py).

Thin: each command parses options and calls one library function in swe_monkeys.tasks.
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from swe_monkeys.cli.common import existing_path, existing_run, need_model
from swe_monkeys.cli.lifecycle import fail, interrupted


def import_samples(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="JSONL: task_id + completion (appended to the "
                                                              "prompt) or + solution.")],
    task: Annotated[str, typer.Option(help="humaneval, mbpp, gsm8k, math or codecontests.")],
    run: Annotated[Path, typer.Option(help="Run directory to load the samples into.")],
    dataset: Annotated[Optional[str], typer.Option(metavar="PATH", help="The task's data: a local file/folder "
                                                   "(default: the hub).")] = None,
    model: Annotated[str, typer.Option(help="Model name recorded with the samples.")] = "imported",
) -> None:
    """Load samples made elsewhere into a run.

    Then `verify --run` and `report` give pass@k on them. A failed import leaves no new run folder."""
    from swe_monkeys.errors import SweMonkeysError
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks import get_task
    from swe_monkeys.tasks.importer import import_file

    existing_path(file, "'FILE'")
    new_run = not run.exists()
    with fail():
        t = get_task(task)
        problems = t.load(dataset, ())
        try:
            with RunStore(run) as store:
                result = import_file(store, t, problems, file, model=model, source=dataset)
        except SweMonkeysError:
            if new_run:  # this command made it, and a bad line imports nothing: a mistyped path stays clean
                shutil.rmtree(run, ignore_errors=True)
            raise
    typer.echo(f"imported {result['added']} samples for {result['problems']} problems into {run}"
               + (f" ({result['skipped']} already there)" if result["skipped"] else ""))


def verify_task_run(run: Path, workers: Optional[int], quiet: bool, options: Optional[dict] = None,
                    cluster: Any = None, as_json: bool = False, timeout: Optional[float] = None) -> None:
    """`verify --run DIR` on a run of any task: judge what is unverified (infra errors again), with a
    line per verdict, then the run's coverage table (with `as_json`, the run's JSON summary). A
    program task's `timeout` other than the run's makes its verdicts judged again."""
    import json

    from swe_monkeys.cli.common import IN_DOCKER, kept_line, print_table, program_timeout, strict_mode
    from swe_monkeys.sampling.progress import VerifyLines
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks.explain import run_summary
    from swe_monkeys.tasks.pipeline import task_of, verify_run
    from swe_monkeys.tasks.summary import coverage_rows

    existing_run(run, "'--run'", then="give PREDICTIONS to verify SWE-bench patches")
    with interrupted(lambda: kept_line(run)), fail(), RunStore(run) as store:
        swebench = store.get_meta("task") == "swebench"
        strict_mode(bool((options or {}).get("strict")), False, store.get_meta("task") or "?")
        task = task_of(store, **({"repo_cache": (options or {}).get("repo_cache")} if swebench else {}))
        if timeout is not None:
            task = task_of(store, timeout=program_timeout(type(task), timeout))
        store.drop_infra_errors()
        lines = VerifyLines(0, str(store.get_meta("model") or ""), quiet, first=IN_DOCKER if swebench else "")
        lines.start_at(len(store.candidates(unverified_only=True)))
        echo = lambda line: typer.echo(f"[image] {line}", err=True)  # noqa: E731 (first builds take a minute)
        try:
            written = verify_run(store, task, on_verdict=lines, cluster=cluster,
                                 options={"workers": workers, "log": echo, **_checker(options)})
        finally:
            lines.done()
        rows, totals = coverage_rows(store, task)
        summary = run_summary(store, task, written=written) if as_json else None
    if summary is not None:
        typer.echo(json.dumps(summary))
        return
    typer.echo(f"{written} verdicts written")
    print_table(rows, totals)


def _checker(options: Optional[dict]) -> dict:
    return {k: v for k, v in (options or {}).items() if k != "repo_cache" and v is not None}


def score(
    run: Annotated[Path, typer.Option(help="Run directory whose samples get scores.")],
    base_url: Annotated[str, typer.Option(envvar="OPENAI_BASE_URL", help="OpenAI-compatible endpoint.")] = "",
    serve: Annotated[str, typer.Option("--serve", help="Start vLLM for this model for the scoring.")] = "",
    model: Annotated[str, typer.Option(help="Model at the endpoint (blank: the only one served).")] = "",
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight.")] = 8,
) -> None:
    """Score every sample with a reward model.

    The model is an LLM judge at an OpenAI-compatible endpoint; the report then shows best-of-k and
    score-weighted vote beside majority vote and coverage."""
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks.scoring import JudgeScorer, score_run

    need_model(base_url, serve, choices="--base-url URL or --serve MODEL")
    existing_run(run, "'--run'")
    with fail(), _endpoint(base_url, serve, model) as (url, served), RunStore(run) as store:
        scorer = JudgeScorer(base_url=url, model=served)
        result = score_run(store, scorer, concurrency=concurrency)
    typer.echo(f"scored {result['scored']} samples ({result['already']} had a score, {result['failed']} failed)")


@contextlib.contextmanager
def _endpoint(base_url: str, serve: str, model: str):
    if not serve:
        yield base_url, model
        return
    from swe_monkeys.sampling.server import ServeConfig, served_model

    with served_model(ServeConfig(model=serve, served_name=model), lambda line: typer.echo(line, err=True)) as srv:
        yield srv.base_url, srv.model
