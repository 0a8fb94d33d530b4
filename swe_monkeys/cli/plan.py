"""`swe-monkeys plan RUN --target 0.5 | --budget-dollars 100 [--problems 300]`: what a full sweep
needs and costs, forecast from a pilot run, beside the published baselines.

Thin: swe_monkeys.metrics.plan_run builds the plan and its text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


def plan(
    run: Annotated[Path, typer.Argument(help="A pilot run directory (holds run.sqlite).")],
    target: Annotated[Optional[float], typer.Option(help="Coverage to reach, a fraction (0.5 = 50%).")] = None,
    budget_dollars: Annotated[Optional[float], typer.Option(help="Dollars to spend: the k they buy (needs a price: "
                                                            "the run's, --model or --hardware).")] = None,
    problems: Annotated[Optional[int], typer.Option(min=1, help="Problems to plan for (default: the baselines' "
                                                    "benchmark size, else the run's).")] = None,
    model: Annotated[Optional[str], typer.Option(help="Price the run as this configs/pricing.yaml model.")] = None,
    hardware: Annotated[Optional[str], typer.Option(help="Price by this serving hardware, NAME or NAME:UNITS "
                                                    "(default: what the run recorded).")] = None,
    benchmark: Annotated[Optional[str], typer.Option(help="Whose baselines apply (default: the run's).")] = None,
    pricing: Annotated[Optional[Path], typer.Option(help="Pricing YAML (default configs/pricing.yaml).")] = None,
    baselines: Annotated[Optional[Path], typer.Option(help="Baselines YAML (default configs/baselines.yaml).")]
    = None,
    bootstrap: Annotated[int, typer.Option(min=10, help="Bootstrap resamples for the intervals.")] = 200,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Samples per problem and dollars for a target coverage (or what a budget buys), with intervals,
    for the run's model and every baseline, and the k from which the model beats each baseline.
    Without a price the k still comes, with dollars unknown. Each k is said as a multiple of the
    samples measured: flagged past 100 x, not forecast past 10,000 x."""
    from swe_monkeys.cli.common import existing_run
    from swe_monkeys.cli.lifecycle import fail
    from swe_monkeys.metrics.plan_run import PlanOptions, build_plan, plan_text

    existing_run(run)

    options = PlanOptions(target=target, budget=budget_dollars, problems=problems, model=model, hardware=hardware,
                          benchmark=benchmark, pricing_path=pricing, baselines_path=baselines, n_boot=bootstrap,
                          seed=seed)
    with fail():
        result = build_plan(run, options)
    typer.echo(json.dumps(result.to_dict()) if as_json else plan_text(result))
