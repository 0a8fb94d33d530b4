"""`swe-monkeys bench ...`: benchmark commands. Each prints figures measured in one run."""

from __future__ import annotations

import json

import typer

app = typer.Typer(no_args_is_help=True)


def _emit(result: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result))
    else:
        width = max(len(k) for k in result)
        for key, value in result.items():
            typer.echo(f"{key:<{width}}  {value}")


@app.command("metrics")
def metrics(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """pass@k at 40 values of k plus both scaling fits on 300 problems x 10,000 samples."""
    from swe_monkeys.metrics.bench import run_metrics_bench

    _emit(run_metrics_bench(), as_json)
