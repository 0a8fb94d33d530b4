"""Math and code tasks on the command line: `sweep --task X` (via cli/solve.py), `import`, `score`.

Thin: each command parses options and calls one library function in swe_monkeys.tasks.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from swe_monkeys.cli.common import fail


def _params(task: Any, preset: Optional[str], temperature: Optional[float], seed: int):
    from swe_monkeys.sampling.protocol import SamplingParams
    from swe_monkeys.swebench.prompting import load_preset

    p = load_preset(preset or task.preset)
    return SamplingParams(temperature=p.get("temperature", 0.6) if temperature is None else temperature,
                          top_p=p.get("top_p", 0.95), max_tokens=p.get("max_tokens", 512), seed=seed)


def task_sweep(a: Any) -> None:
    """`sweep --task gsm8k|math|humaneval|mbpp|codecontests` (a: cli.solve.SweepArgs): sample, judge, print
    the coverage table. The problems are loaded before any model server is started."""
    from swe_monkeys.cli.solve import _Live
    from swe_monkeys.sampling.accounting import Budget
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks import get_task
    from swe_monkeys.tasks.pipeline import TaskRunConfig, run_task
    from swe_monkeys.tasks.summary import coverage_rows

    with fail():
        task = get_task(a.task)
        problems = task.load(a.dataset or None, a.instances or ())
        config = TaskRunConfig(samples=a.samples, params=_params(task, a.preset or None, a.temperature, a.seed),
                               verify=a.verify, concurrency=a.concurrency, budget=Budget(a.max_tokens, a.max_dollars),
                               price_as=a.price_as, checker_options={"workers": a.workers} if a.workers else {})
        with a.sampler() as sampler, RunStore(a.run) as store:
            progress = run_task(store, task, problems, sampler, config, source=a.dataset or None,
                                on_progress=_Live(a.quiet, every=5.0))
            rows, totals = coverage_rows(store)
    _print_table(rows, totals)
    typer.echo(f"{progress.tokens} tokens, ${progress.dollars:.4f}, {progress.seconds:.0f} s; "
               f"`swe-monkeys report {a.run}` for curves and fits")


def _print_table(rows: list[dict], totals: dict) -> None:
    typer.echo(f"{'problem':<36} {'samples':>7} {'judged':>6} {'correct':>7} {'distinct':>8}  majority")
    for r in rows:
        vote = "-" if r["majority_correct"] is None else ("ok" if r["majority_correct"] else "wrong")
        typer.echo(f"{r['problem_id'][:36]:<36} {r['samples']:>7} {r['judged']:>6} {r['correct']:>7} "
                   f"{r['distinct']:>8}  {vote}")
    typer.echo(f"coverage {totals['coverage']:.3f}  pass@1 {totals['pass_at_1']:.3f}"
               + (f"  majority vote {totals['majority']:.3f}" if totals["majority"] is not None else "")
               + f"  ({totals['problems']} problems)")


def import_samples(
    file: Annotated[Path, typer.Argument(help="JSONL: task_id + completion (appended to the prompt) or + solution.")],
    task: Annotated[str, typer.Option(help="humaneval, mbpp, gsm8k, math or codecontests.")],
    run: Annotated[Path, typer.Option(help="Run directory to load the samples into.")],
    dataset: Annotated[Optional[str], typer.Option(help="The task's data: a local file/folder (default: the hub).")] = None,
    model: Annotated[str, typer.Option(help="Model name recorded with the samples.")] = "imported",
) -> None:
    """Load samples made elsewhere into a run; then `verify --run` and `report` give pass@k on them."""
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks import get_task
    from swe_monkeys.tasks.importer import import_file

    with fail():
        t = get_task(task)
        problems = t.load(dataset, ())
        with RunStore(run) as store:
            result = import_file(store, t, problems, file, model=model, source=dataset)
    typer.echo(f"imported {result['added']} samples for {result['problems']} problems into {run}"
               + (f" ({result['skipped']} already there)" if result["skipped"] else ""))


def verify_task_run(run: Path, workers: Optional[int], quiet: bool) -> None:
    """`verify --run DIR` on a math/code run: judge what is unverified (infra errors again)."""
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks import get_task
    from swe_monkeys.tasks.pipeline import verify_run
    from swe_monkeys.tasks.summary import coverage_rows

    def show(cand, verdict) -> None:
        if not quiet:
            typer.echo(f"{cand.instance_id} #{cand.index}: {verdict.status.value} - {verdict.reason[:120]}")

    with fail(), RunStore(run) as store:
        task = get_task(store.get_meta("task"))
        store.drop_infra_errors()
        written = verify_run(store, task, on_verdict=show, options={"workers": workers} if workers else {})
        rows, totals = coverage_rows(store)
    typer.echo(f"{written} verdicts written")
    _print_table(rows, totals)


def score(
    run: Annotated[Path, typer.Option(help="Run directory whose samples get scores.")],
    base_url: Annotated[str, typer.Option(envvar="OPENAI_BASE_URL", help="OpenAI-compatible endpoint.")] = "",
    serve: Annotated[str, typer.Option("--serve", help="Start vLLM for this model for the scoring.")] = "",
    model: Annotated[str, typer.Option(help="Model at the endpoint (blank: the only one served).")] = "",
    concurrency: Annotated[int, typer.Option(help="Requests in flight.")] = 8,
) -> None:
    """Score every sample with a reward model (an LLM judge at an OpenAI-compatible endpoint); the
    report then shows best-of-k and score-weighted vote beside majority vote and coverage."""
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks.scoring import JudgeScorer, score_run

    with fail(), _endpoint(base_url, serve, model) as (url, served), RunStore(run) as store:
        scorer = JudgeScorer(base_url=url, model=served)
        result = score_run(store, scorer, concurrency=concurrency)
    typer.echo(f"scored {result['scored']} samples ({result['already']} had a score, {result['failed']} failed)")


@contextlib.contextmanager
def _endpoint(base_url: str, serve: str, model: str):
    if not base_url and not serve:
        raise ValueError("give a scoring model: --base-url URL or --serve MODEL")
    if not serve:
        yield base_url, model
        return
    from swe_monkeys.sampling.server import ServeConfig, served_model

    with served_model(ServeConfig(model=serve, served_name=model), lambda line: typer.echo(line, err=True)) as srv:
        yield srv.base_url, srv.model
