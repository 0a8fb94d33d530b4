"""The `swe-monkeys` command line: one typer module per command group, assembled here.

The command modules only parse options and call one library function; they import heavy
libraries inside the command bodies so that `swe-monkeys --help` answers at once. The root
callback installs the one lifecycle handler (cli/lifecycle.py) for every command.
"""

from __future__ import annotations

import typer

from swe_monkeys.cli import bench, demo, images, plan, report, sample, show, solve, tasks, verify
from swe_monkeys.cli.common import HELP_LAYOUT
from swe_monkeys.cli.lifecycle import OneLineUsage

EXIT_CODES = ("Exit codes: 0 done; 1 an error, one 'error: ...' line on stderr (bad input, an unknown name, an "
              "unreachable endpoint, no Docker engine), or work not done (verify: candidates not judged; sample, "
              "solve, sweep: samples not drawn; validate: an instance not valid; images build: an image not built); "
              "2 a usage error, one 'error: ...' line, nothing started (an option out of range, options missing or "
              "in conflict, no model given, a file or run given that is not there, an unknown option); 3 solve: "
              "candidates verified, none resolved; 130 interrupted (Ctrl-C, SIGTERM), what was done is kept.")

app = typer.Typer(cls=OneLineUsage, no_args_is_help=True, add_completion=False, epilog=EXIT_CODES, **HELP_LAYOUT,
                  help="Repeated sampling with automatic verification (Large Language Monkeys).")
app.command("demo")(demo.demo)
app.command("solve")(solve.solve)
app.command("sweep")(solve.sweep)
app.command("verify")(verify.verify)
app.command("validate")(verify.validate)
app.command("specs")(verify.specs)
# report's and plan's first docstring lines run past the commands list's width (click cuts them with
# "..."): their one-line summaries are given here
app.command("report", short_help="Coverage, scaling fits and cost of a run; plots and HTML.")(report.report)
app.command("show")(show.show)
app.command("plan", short_help="Samples and dollars for a target coverage, or what a budget buys.")(plan.plan)
app.command("import")(tasks.import_samples)
app.command("score")(tasks.score)
app.command("sample")(sample.sample)
app.command("serve")(sample.serve)
app.add_typer(sample.model_app, name="model", help="Bundled CPU-sized models and the CPU vLLM engine.")
app.add_typer(images.app, name="images", help="Build, list and prune the offline-built Docker images.")
app.add_typer(bench.app, name="bench", help="Benchmarks that print figures and ratios measured in one run.")


def _version(value: bool) -> None:
    if value:
        from swe_monkeys import __version__

        typer.echo(f"swe-monkeys {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Repeated sampling with automatic verification (Large Language Monkeys)."""
    from swe_monkeys.cli.lifecycle import install

    install()  # one lifecycle for every command: Ctrl-C / SIGTERM stop it and remove its containers


def main() -> None:
    app()
