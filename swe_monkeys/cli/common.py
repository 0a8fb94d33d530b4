"""Shared bits of the command modules: how help is laid out, the checks of paths and models that
typer cannot make where it parses, printing a benchmark's figures and a run's coverage table, the
sampling figures of `--json`, the verifier's configuration.

Failing and the lifecycle of a command live in cli/lifecycle.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from swe_monkeys.cli.lifecycle import usage_now

# Help that reads at 80 columns and at 200: click's plain layout, which never cuts an option's name
# (a long one puts its description on the next line) and re-wraps each docstring paragraph to the
# width, capped at 100 columns. Rich's option table cut "--dataset,--instance…" and squeezed the
# descriptions to ~22 columns at 80, and kept the docstrings' own line breaks at 200.
HELP_LAYOUT: dict[str, Any] = {"rich_markup_mode": None, "context_settings": {"max_content_width": 100}}


def existing_path(path: Path, option: str) -> Path:
    """`path` as given when it exists; otherwise a usage error naming `option` (exit 2). Checked in the
    command body, after typer's own checks, so that `-k 0` is still the one error it reports."""
    if not path.exists():
        usage_now(f"{path}: no such file or folder", option)
    return path


def existing_run(run: Path, option: str = "'RUN'", then: str = "") -> Path:
    """A run directory given to read (it holds run.sqlite), else a usage error (exit 2); never opened
    here, since opening one would leave an empty run behind."""
    if not (run / "run.sqlite").is_file():
        usage_now(f"{run}: not a run (no run.sqlite)" + (f"; {then}" if then else ""), option)
    return run


def need_model(*given: Any, choices: str = "--base-url URL, --serve MODEL or --fake SCRIPT") -> None:
    """Sampling needs a model (an endpoint, one to serve, a FAKE script): none of `given` is a usage error."""
    if not any(given):
        usage_now(f"give a model: {choices}")


def program_timeout(task_class: Any, timeout: float) -> float:
    """--timeout is a program task's setting: on another task it is a usage error (exit 2)."""
    from swe_monkeys.tasks.code import ProgramTask

    if not (isinstance(task_class, type) and issubclass(task_class, ProgramTask)):
        usage_now(f"--timeout is for program tasks (humaneval, mbpp, codecontests), not {task_class.name}",
                  "'--timeout'")
    return timeout


def emit(result: dict, as_json: bool) -> None:
    """A benchmark's figures: one JSON object, or one aligned `key  value` line each."""
    if as_json:
        typer.echo(json.dumps(result))
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        typer.echo(f"{key:<{width}}  {value}")


# What comes before the first verdict of a SWE-bench candidate, said at once (a first build takes minutes).
IN_DOCKER = "images are built and containers started before the first verdict"


def engine_first(needed: bool) -> None:
    """When verification here needs Docker, the engine must answer before anything is sampled or a
    run folder made (SandboxError, one line through fail(), saying how to start one)."""
    if needed:
        from swe_monkeys.sandbox.engine import docker_client  # the docker SDK loads only when needed

        docker_client()

JSON_HELP = ("Print one JSON object on stdout (per candidate: id, problem, index, status, reason; the coverage "
             "table; totals) instead of the text; progress and verdict lines stay on stderr.")


# typer has no option whose value may be left out, so the two strict modes are two flags.
Strict = Annotated[bool, typer.Option("--strict", help="SWE-bench: re-check each resolved candidate against gold "
                                      "on the repository's tests of the modules it changed (strict_ok, "
                                      "strict_regression, strict_differs); the verdict stays resolved.")]
StrictFull = Annotated[bool, typer.Option("--strict-full", help="As --strict, on every test file of the "
                                          "repository (slow).")]


def strict_mode(strict: bool, full: bool, task: str = "swebench") -> str:
    """The checker's strict mode: "" (off), "changed" or "full"; a usage error on another task."""
    if (strict or full) and task != "swebench":
        usage_now(f"--strict re-checks SWE-bench candidates against gold; it is not for {task}", "'--strict'")
    return "full" if full else "changed" if strict else ""


def verify_config(workers: Optional[int], repo_cache: Optional[Path], clone: bool, flaky_runs: int,
                  use_cache: bool = True, strict: str = ""):
    from swe_monkeys.swebench.checker import VerifyConfig

    config = VerifyConfig(allow_clone=clone, flaky_runs=flaky_runs, use_cache=use_cache, strict=strict)
    if workers is not None:
        config.workers = workers
    if repo_cache:
        config.repo_cache = repo_cache
    return config


RAY_HELP = ("Run on a Ray cluster: auto (the one `ray start` made), local (a one-node cluster in this process) or "
            "HOST:PORT. Verification runs in an actor per node with the `docker` resource (--workers caps its "
            "containers), --serve starts vLLM as actors (one per GPU); the run store stays here.")


def cluster_spec(ray: str, workers: Optional[int]):
    """The cluster to verify on for `--ray ADDRESS` (None without it), printing its lines on stderr."""
    if not ray:
        return None
    from swe_monkeys.cluster import ClusterSpec

    return ClusterSpec(address=ray, workers=workers, log=lambda line: typer.echo(line, err=True))


NO_SELECTION = "no selection: no candidate carries an answer or a patch key to vote with"


def print_table(rows: list[dict], totals: dict, no_selection: str = NO_SELECTION) -> None:
    """The coverage table of any task: per problem, then coverage against the oracle-free pick, or,
    for a run with nothing to pick from (totals' `selected` None), coverage and `no_selection`."""
    typer.echo(f"{'problem':<36} {'samples':>7} {'valid':>5} {'judged':>6} {'correct':>7} {'distinct':>8}  pick")
    for r in rows:
        pick = "-" if r["pick"] is None else f"#{r['pick']} {'ok' if r['pick_correct'] else 'wrong'}"
        typer.echo(f"{r['problem_id'][:36]:<36} {r['samples']:>7} {r['valid']:>5} {r['judged']:>6} {r['correct']:>7} "
                   f"{r['distinct']:>8}  {pick}")
    picked = (f"selected {_pct(totals['selected'])} (majority vote)  gap {_pct(totals['gap'])}"
              if totals["selected"] is not None or not totals["problems"] else no_selection)
    typer.echo(f"coverage {_pct(totals['coverage'])}  pass@1 {_pct(totals['pass_at_1'])}  {picked}  "
               f"({totals['problems']} problems)")


def _pct(x: Optional[float]) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def sampling_figures(result: Any) -> dict:
    """The sampling figures of a run for --json (dollars None where nothing prices the model)."""
    from dataclasses import asdict

    figures = asdict(result.progress)
    if figures["priced"] == "unpriced":
        figures["dollars"] = None
    return {**figures, "stopped_early": result.stopped_early, "failures": result.failures}


def kept_line(run: Path, problems: Optional[list[str]] = None, samples: Optional[int] = None) -> str:
    """What an interrupted command kept: 'kept V of C verdicts' (verify), '... and C of T samples'
    for a sampling command whose problems and samples per problem are known."""
    from swe_monkeys.tasks.explain import kept

    counts = kept(run, problems)
    if counts is None:
        return f"nothing kept yet (no run at {run})"
    line = f"kept {counts['verdicts']} of {counts['candidates']} verdicts"
    if problems is not None and samples is not None:
        line += f" and {counts['candidates']} of {len(problems) * samples} samples"
    return line + f" in {run}"


def say_starting(quiet: bool, what: str, verifying: bool, before_first_verdict: str = "") -> None:
    """The first line, at once: what the command is about to do (a model server, prompts, image
    builds and containers may all come before the first sample or verdict)."""
    if quiet:
        return
    if verifying:
        what += "; verifying as they arrive" + (f", {before_first_verdict}" if before_first_verdict else "")
    typer.echo(what + " ...", err=True)


def verdict_echo(quiet: bool):
    """A line on stderr per verdict as it lands, with its reason when not resolved (none when quiet)."""
    from swe_monkeys.sampling.progress import verdict_line

    return (lambda c, v: None) if quiet else (lambda c, v: typer.echo(verdict_line(c, v), err=True))
