"""`swe-monkeys report RUN`: coverage, scaling fits and cost of a run, as text, PNG and HTML.

Thin: swe_monkeys.metrics.report builds the data, swe_monkeys.metrics.render writes it out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def report(
    run: Annotated[Path, typer.Argument(help="Run directory (holds run.sqlite).")],
    out: Annotated[Optional[Path], typer.Option(help="Where to write PNG/HTML/JSON (default RUN/report).")] = None,
    model: Annotated[Optional[str], typer.Option(help="Price the run as this model (configs/pricing.yaml); "
                                                 "the run keeps its own name.")] = None,
    gpu: Annotated[Optional[str], typer.Option(help="GPU price entry for recorded GPU-seconds.")] = None,
    benchmark: Annotated[Optional[str], typer.Option(help="Benchmark whose baselines apply, e.g. swe-bench-lite.")]
    = None,
    attempts: Annotated[Optional[int], typer.Option(min=1, help="k of this run's Table 1 row "
                                                    "(default: fewest samples beating every baseline).")] = None,
    prompt_cache: Annotated[bool, typer.Option("--prompt-cache", help="Assume repeated prompts are served "
                                               "from the provider's prompt cache.")] = False,
    pricing: Annotated[Optional[Path], typer.Option(help="Pricing YAML (default configs/pricing.yaml).")] = None,
    baselines: Annotated[Optional[Path], typer.Option(help="Baselines YAML (default configs/baselines.yaml).")]
    = None,
    bootstrap: Annotated[int, typer.Option(min=10, help="Bootstrap resamples for the intervals.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap, subsampling and majority-vote draws.")] = 0,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNG plots.")] = False,
    backtest: Annotated[Optional[int], typer.Option(min=1, help="Fit on the first N samples per problem and "
                                                    "print predicted vs observed coverage at larger k.")] = None,
    hardware: Annotated[Optional[str], typer.Option(help="Price self-hosted sampling by this hardware entry of "
                                                    "configs/pricing.yaml, NAME or NAME:UNITS (default: the run's)."
                                                    )] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (coverage, cost, backtest) "
                                          "instead of the text.")] = False,
) -> None:
    """Print coverage (pass@k), scaling fits and cost; write plots and a self-contained HTML report."""
    from swe_monkeys.metrics.render import render_json, render_text, write_report_files
    from swe_monkeys.cli.common import existing_run
    from swe_monkeys.cli.lifecycle import fail
    from swe_monkeys.metrics.report import ReportOptions, build_report

    existing_run(run)

    options = ReportOptions(model=model, gpu=gpu, benchmark=benchmark, attempts=attempts, prompt_cache=prompt_cache,
                            pricing_path=pricing, baselines_path=baselines, n_boot=bootstrap, seed=seed,
                            backtest=backtest, hardware=hardware)
    with fail():
        data = build_report(run, options)
    typer.echo(render_json(data) if as_json else render_text(data))
    for path in write_report_files(data, out or run / "report", plots=not no_plots):
        typer.echo(f"wrote {path}", err=as_json)
