"""`swe-monkeys solve` (one issue, live) and `swe-monkeys sweep` (any task, a dataset, resumable).

Thin: both parse options, build a task and its run configuration from a typed preset, and call
`tasks.pipeline.run_task`, the one pipeline. Run as `python -m swe_monkeys.cli.solve` they form
their own app (the kill -9 test runs `sweep` that way).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from swe_monkeys.cli.common import (
    HELP_LAYOUT, IN_DOCKER, JSON_HELP, RAY_HELP, Strict, StrictFull, cluster_spec, engine_first, kept_line, need_model,
    print_table, program_timeout, sampling_figures, say_starting, strict_mode, verdict_echo,
)
from swe_monkeys.cli.lifecycle import NONE_RESOLVED, OneLineUsage, fail, fail_now, install, interrupted, usage_now
from swe_monkeys.examples import names as example_names

BaseUrl = Annotated[str, typer.Option(envvar="OPENAI_BASE_URL", metavar="URL", help="OpenAI-compatible endpoint.")]
Serve = Annotated[str, typer.Option("--serve", metavar="MODEL", help="Start vLLM for this model for the run.")]
Model = Annotated[str, typer.Option(metavar="NAME", help="Model name at the endpoint (blank: the only one served).")]
Fake = Annotated[Optional[Path], typer.Option("--fake", exists=True, dir_okay=False, metavar="FILE",
                                               help="FAKE sampler: a JSON list of scripted completions.")]
RepoCache = Annotated[Optional[Path], typer.Option(envvar="SWE_MONKEYS_REPO_CACHE", metavar="DIR",
                                                   help="Bare clones named owner__repo.git.")]
Seed = Annotated[int, typer.Option(metavar="N", help="Sample i uses seed + i.")]
Verify = Annotated[bool, typer.Option("--verify/--no-verify", help="Verify while sampling.")]
Workers = Annotated[Optional[int], typer.Option(min=1, metavar="N", help="Containers verifying at once.")]
Concurrency = Annotated[int, typer.Option(min=1, metavar="N", help="Sampling requests in flight.")]
Temperature = Annotated[Optional[float], typer.Option(min=0, metavar="T", help="Override the preset's temperature.")]
MaxTokens = Annotated[Optional[int], typer.Option(min=1, metavar="N", help="Budget: tokens (prompt + completion) "
                                                  "for the whole run.")]
MaxDollars = Annotated[Optional[float], typer.Option(min=0, metavar="USD", help="Budget: list-price dollars for "
                                                     "the whole run.")]
PriceAs = Annotated[str, typer.Option(metavar="MODEL", help="Price as this configs/pricing.yaml model (default: "
                                      "the served one).")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines and no line per verdict.")]
Ray = Annotated[str, typer.Option("--ray", metavar="ADDRESS", help=RAY_HELP)]
AsJson = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
NoRule = Annotated[Optional[list[str]], typer.Option("--no-rule", metavar="RULE", help="Switch an edit recovery "
                                                     "rule off (repeatable; `bench edits` shows what each saves).")]
Hardware = Annotated[str, typer.Option(metavar="NAME[:UNITS]", help="Serving hardware, for self-hosted dollars: a "
                                       "configs/pricing.yaml `hardware` entry (default: detected for --serve and "
                                       "endpoints on this machine).")]
Preset = Annotated[str, typer.Option(metavar="NAME", help="configs/presets/<NAME>.yaml: prompt and sampling "
                                     "(sweep's default: the task's).")]
Timeout = Annotated[Optional[float], typer.Option(min=0.01, metavar="S", help="Program tasks: seconds per program "
                                                  "run (default: the run's, else the preset's, else the dataset's: 3 "
                                                  "for HumanEval and MBPP, each CodeContests problem's limit x2).")]


class Allocate(str, Enum):
    """`sweep --allocate`: a choice typer checks where it parses it, before any dataset is read."""

    uniform = "uniform"
    adaptive = "adaptive"


def _run_config(preset: Any, samples: int, seed: int, temperature: Optional[float], verify: bool,
                workers: Optional[int], concurrency: int, budget: tuple, price_as: str, stop_on_success: bool = False,
                ray: str = "", strict: str = ""):
    from swe_monkeys.sampling.accounting import Budget
    from swe_monkeys.tasks.pipeline import TaskRunConfig

    return TaskRunConfig(samples=samples, params=preset.sampling_params(seed, temperature), verify=verify,
                         concurrency=concurrency, budget=Budget(*budget), price_as=price_as,
                         checker_options={"workers": workers, **({"strict": strict} if strict else {})},
                         stop_on_success=stop_on_success,
                         cluster=cluster_spec(ray, workers))


def _with_policies(config: Any, task: Any, allocate: str, hosting: Any) -> Any:
    """The run configuration with its serving hardware and, for `--allocate adaptive`, the allocation
    policy the pipeline consults (stopping rule: the task's `stop_rule`, else a resolved candidate)."""
    from swe_monkeys.tasks.allocation import AdaptiveAllocation

    config.hosting = hosting.to_json() if hosting else None
    if allocate == "adaptive":
        config.allocation = AdaptiveAllocation(k=config.samples, rule=getattr(task, "stop_rule", "resolved"))
    return config


def solve(
    target: Annotated[str, typer.Argument(metavar="TARGET", help="An instance id (with --dataset), an instance "
                                          f"JSON file, or an embedded example: example:{'|'.join(example_names())}.")],
    dataset: Annotated[str, typer.Option("--dataset", metavar="NAME|FILE", help="lite|verified|full or an "
                                         "instances file.")] = "",
    instances_file: Annotated[str, typer.Option("--instances-file", hidden=True, help="Old name of --dataset.")] = "",
    samples: Annotated[Optional[int], typer.Option("--samples", "-k", min=1, metavar="N", help="Samples to draw at "
                                                   "most (default: the preset's).")] = None,
    base_url: BaseUrl = "", serve: Serve = "", model: Model = "", fake: Fake = None,
    stop_on_success: Annotated[bool, typer.Option("--stop-on-success", help="Stop at the first resolved.")] = False,
    out: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Write the winning patch here instead of "
                                                "stdout.")] = None,
    hardware: Hardware = "",
    run: Annotated[Optional[Path], typer.Option(metavar="DIR", help="Run directory (default runs/<instance id>, "
                                                "runs/<instance id>-seed<N> with --seed N).")] = None,
    preset: Preset = "swebench",
    temperature: Temperature = None, seed: Seed = 0, repo_cache: RepoCache = None,
    verify: Verify = True, workers: Workers = None, concurrency: Concurrency = 8,
    max_tokens: MaxTokens = None, max_dollars: MaxDollars = None, price_as: PriceAs = "", quiet: Quiet = False,
    no_rule: NoRule = None, ray: Ray = "", as_json: AsJson = False, strict: Strict = False,
    strict_full: StrictFull = False,
) -> None:
    """Sample patches for one issue; print the one that resolves it.

    Up to k samples are drawn and verified in Docker as they arrive. Exit status: 0 with a resolved
    patch (or sampled, with --no-verify), 3 when candidates were verified and none resolved, 1 for
    errors, 2 for usage errors."""
    from swe_monkeys.presets import load_preset
    from swe_monkeys.sampling.progress import LiveLines
    from swe_monkeys.sampling.session import run_sampler
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks import get_task
    from swe_monkeys.sampling.hosting import hosting_for
    from swe_monkeys.tasks.pipeline import run_task
    from swe_monkeys.tasks.swebench import one_instance

    dataset = dataset or instances_file
    need_model(base_url, serve, fake)
    if not (dataset or target.startswith("example:") or Path(target).is_file()):
        usage_now(f"{target}: no such file, and not example:NAME; to name an instance id give --dataset lite|FILE",
                  "'TARGET'")
    install()
    at: dict = {}  # the run an interrupt reports on, once it is known
    with interrupted(lambda: kept_line(**at) if at else "nothing kept yet"), fail():
        inst, repo_cache = one_instance(target, dataset, repo_cache)
        p = load_preset(preset)
        task = get_task("swebench", p, repo_cache=repo_cache, disabled_rules=no_rule or ())
        hosting = hosting_for(hardware, base_url, serve, fake is not None)
        k = p.samples if samples is None else samples
        config = _run_config(p, k, seed, temperature, verify, workers, concurrency, (max_tokens, max_dollars),
                             price_as, stop_on_success, ray, strict_mode(strict, strict_full))
        run = run or Path("runs") / (inst.instance_id + (f"-seed{seed}" if seed else ""))  # --seed N: its own run
        at.update(run=run, problems=[inst.instance_id], samples=k)
        engine_first(verify and not ray)  # no engine: one line, before a sample is drawn or a run made
        with run_sampler(base_url, serve, model, fake, concurrency, max_n=1, on_log=_log, ray=ray) as sampler, \
                RunStore(run) as store:
            say_starting(quiet, f"solve {inst.instance_id}: up to {k} samples -> {run}", verify, IN_DOCKER)
            config = _with_policies(config, task, "uniform", hosting)
            result = run_task(store, task, [task.problem(inst)], sampler, config, source=dataset or target,
                              on_progress=LiveLines(quiet), on_verdict=verdict_echo(quiet))
    p, winner = result.progress, result.winners.get(inst.instance_id)
    if as_json:
        _solve_json(run, task, result, winner, out)
    typer.echo(f"{inst.instance_id}: {p.samples} samples ({p.valid} applied, {p.unique} unique), {p.verified} "
               f"verified, {p.resolved} resolved; {p.tokens} tokens, {p.money()}, {p.seconds:.1f} s"
               + ("; stopped at the first success" if result.stopped_early else "") + f"\nrun: {run}", err=True)
    if verify and p.verified:
        typer.echo(_verdict_lines(run), err=True)
    _fail_on_sampling_failures(result.failures)
    if winner is None:
        typer.echo("no candidate resolved the issue" if verify else "not verified (--no-verify)", err=True)
        raise typer.Exit(NONE_RESOLVED if verify else 0)
    patch, dropped = _delivered(run, inst.instance_id, winner)
    typer.echo(f"winning patch: sample #{winner.index}" + (f" -> {out}" if out else ""), err=True)
    if dropped:
        typer.echo(dropped, err=True)
    if out:
        out.write_text(patch)
    elif not as_json:  # with --json the patch is in the JSON
        typer.echo(patch, nl=False)


def _delivered(run: Path, problem_id: str, winner: Any) -> tuple[str, str]:
    """The winner as judged: without the paths the harness put back (and the note saying so)."""
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks.swebench import delivered

    with RunStore(run) as store:
        return delivered(store, {problem_id: winner})[problem_id]


def _solve_json(run: Path, task: Any, result: Any, winner: Any, out: Optional[Path]) -> None:
    """solve --json: the run's summary, its sampling figures and the winner with its patch."""
    import json

    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks.explain import run_summary

    won = None
    if winner is not None:
        patch, dropped = _delivered(run, winner.problem_id, winner)
        won = {"problem": winner.problem_id, "index": winner.index, "patch": patch, "dropped": dropped,
               "out": str(out) if out else None}
    with RunStore(run) as store:
        summary = run_summary(store, task, sampling=sampling_figures(result), winner=won)
    typer.echo(json.dumps(summary))


def _log(line: str) -> None:
    typer.echo(line, err=True)


def _verdict_lines(run: Path) -> str:
    """Extraction statuses, verdicts by status, and coverage: the chance that k samples hold a fix."""
    from collections import Counter

    from swe_monkeys.metrics.passk import pass_at_k
    from swe_monkeys.store.run_store import RunStore

    with RunStore(run) as store:
        table = store.sample_table()
    edits = Counter((r["meta"] or {}).get("extract_status", "?") for r in table)
    rows = [r for r in table if r["status"] not in (None, "infra_error")]
    statuses = Counter(r["status"] for r in rows)
    n, c = len(rows), sum(bool(r["resolved"]) for r in rows)
    ks = sorted({k for k in (1, 2, 5, 10, 20, 50, 100, 250) if k < n} | {n})
    return ("edits: " + ", ".join(f"{s} {k}" for s, k in edits.most_common())
            + "\nverdicts: " + ", ".join(f"{s} {k}" for s, k in statuses.most_common())
            + "\ncoverage: " + "  ".join(f"pass@{k} {100 * pass_at_k(n, c, k):.1f}%" for k in ks))


def sweep(
    run: Annotated[Path, typer.Option(metavar="DIR", help="Run directory (resumed and grown when it exists).")],
    dataset: Annotated[str, typer.Option("--dataset", metavar="NAME|PATH", help="swebench: lite|verified|full or an "
                                         "instances file/folder; other tasks: a local file/folder (default: the "
                                         "Hugging Face hub).")] = "",
    task: Annotated[str, typer.Option(metavar="NAME", help="swebench, gsm8k, math, humaneval, mbpp, codecontests, "
                                      "...")] = "swebench",
    ids: Annotated[Optional[list[str]], typer.Option("--id", metavar="ID|GLOB|SLICE", help="Only these problems: "
                                                     "ids, globs or a slice such as 0:10 (repeatable).")] = None,
    old_ids: Annotated[Optional[list[str]], typer.Option("--instances", hidden=True, help="Old name of --id.")]
    = None,
    samples: Annotated[Optional[int], typer.Option("--samples", "-k", min=1, metavar="N", help="Samples per problem "
                                                   "(default: the preset's).")] = None,
    base_url: BaseUrl = "", serve: Serve = "", model: Model = "", fake: Fake = None,
    export: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Write SWE-bench predictions (selected "
                                                   "patches).")] = None,
    allocate: Annotated[Allocate, typer.Option(help="uniform: k samples per problem; adaptive: the same budget in "
                                          "rounds, stopping a problem once it is settled (a resolved candidate; "
                                          "math: majority-vote confidence) and giving the rest to the others.")]
    = Allocate.uniform,
    hardware: Hardware = "",
    preset: Preset = "",
    temperature: Temperature = None, seed: Seed = 0, repo_cache: RepoCache = None,
    verify: Verify = True, workers: Workers = None, concurrency: Concurrency = 8,
    max_tokens: MaxTokens = None, max_dollars: MaxDollars = None, price_as: PriceAs = "", quiet: Quiet = False,
    no_rule: NoRule = None, ray: Ray = "", as_json: AsJson = False, timeout: Timeout = None, strict: Strict = False,
    strict_full: StrictFull = False,
) -> None:
    """Sample and verify many problems into one resumable run.

    Prints each problem's coverage against the oracle-free pick; the same command resumes a run."""
    from swe_monkeys.presets import load_preset
    from swe_monkeys.sampling.progress import LiveLines
    from swe_monkeys.sampling.session import run_sampler
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks import TASKS, get_task
    from swe_monkeys.sampling.hosting import hosting_for
    from swe_monkeys.tasks.allocation import allocation_line
    from swe_monkeys.tasks.pipeline import run_task
    from swe_monkeys.tasks.summary import coverage_rows, picked_candidates

    if export and task != "swebench":
        usage_now("--export writes SWE-bench predictions; it is for --task swebench")
    need_model(base_url, serve, fake)
    mode = strict_mode(strict, strict_full, task)
    instances = [*(ids or ()), *(old_ids or ())]
    install()
    at: dict = {"run": run}  # with the problems and samples per problem, once they are known
    with interrupted(lambda: kept_line(**at)), fail():
        cls = TASKS.get(task)  # an unknown task fails before any model server starts
        p = load_preset(preset or cls.preset)
        options = {"repo_cache": repo_cache, "disabled_rules": no_rule or ()} if task == "swebench" else {}
        if timeout is not None:
            options["timeout"] = program_timeout(cls, timeout)
        t = get_task(task, p, **options)
        problems = t.load(dataset or None, instances or ())  # so does a bad dataset
        hosting = hosting_for(hardware, base_url, serve, fake is not None)
        k = p.samples if samples is None else samples
        config = _run_config(p, k, seed, temperature, verify, workers, concurrency, (max_tokens, max_dollars),
                             price_as, ray=ray, strict=mode)
        at.update(problems=[problem.id for problem in problems], samples=k)
        engine_first(verify and not ray and task == "swebench")
        with run_sampler(base_url, serve, model, fake, concurrency, on_log=_log, ray=ray) as sampler, \
                RunStore(run) as store:
            say_starting(quiet, f"sweep: {len(problems)} {task} problems x {k} samples -> {run}", verify,
                         IN_DOCKER if task == "swebench" else "")
            result = run_task(store, t, problems, sampler, _with_policies(config, t, allocate, hosting),
                              source=dataset or None,
                              on_progress=LiveLines(quiet, every=5.0), on_verdict=verdict_echo(quiet))
            rows, totals = coverage_rows(store, t)
            saved = allocation_line(store, result.progress) if allocate == "adaptive" else ""
            dropped = []
            if export:
                from swe_monkeys.tasks.swebench import delivered, export_predictions

                patches = delivered(store, picked_candidates(store, t))
                export_predictions(patches, export, str(store.get_meta("model") or "swe-monkeys"))
                dropped = [f"{problem}: {note}" for problem, (_, note) in patches.items() if note]
            if as_json:
                from swe_monkeys.tasks.explain import run_summary

                summary = run_summary(store, t, sampling=sampling_figures(result), allocation=saved or None,
                                      export=str(export) if export else None, dropped=dropped)
    if as_json:
        import json

        typer.echo(json.dumps(summary))
        _fail_on_sampling_failures(result.failures)
        return
    print_table(rows, totals)
    if saved:
        typer.echo(saved)
    for line in dropped:
        typer.echo(line)
    progress = result.progress
    typer.echo(f"{progress.tokens} tokens, {progress.money()}, {progress.seconds:.0f} s; "
               f"`swe-monkeys report {run}` for curves and fits" + (f"\npredictions: {export}" if export else ""))
    _fail_on_sampling_failures(result.failures)


def _fail_on_sampling_failures(failures: dict[str, str]) -> None:
    """Samples that could not be drawn are an error, never "no fix": say why, exit 1 (the run keeps
    what was drawn; the same command retries the rest)."""
    if failures:
        first = next(iter(failures.items()))
        fail_now(f"samples could not be drawn for {len(failures)} problem(s), e.g. {first[0]}: {first[1]}")


app = typer.Typer(cls=OneLineUsage, no_args_is_help=True, add_completion=False, **HELP_LAYOUT)
app.command("solve")(solve)
app.command("sweep")(sweep)

if __name__ == "__main__":
    app()
