"""`swe-monkeys verify` and `swe-monkeys validate`: thin wrappers over swe_monkeys.swebench.api."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from swe_monkeys.cli.common import (
    IN_DOCKER, JSON_HELP, RAY_HELP, Strict, StrictFull, cluster_spec, existing_path, kept_line, strict_mode,
    verify_config,
)
from swe_monkeys.cli.lifecycle import fail, interrupted, usage_now
from swe_monkeys.swebench.validation_table import TABLE

Workers = Annotated[Optional[int], typer.Option(min=1, metavar="N", help="Parallel containers (default: one per "
                                                "core, ~4 GiB each).")]
RepoCache = Annotated[Optional[Path], typer.Option("--repo-cache", envvar="SWE_MONKEYS_REPO_CACHE", metavar="DIR",
                                                   help="Folder of bare clones named owner__repo.git.")]
Instances = Annotated[Path, typer.Argument(metavar="INSTANCES", help="The dataset: JSON/JSONL/parquet (gz ok) or a "
                                           "folder.")]
Ids = Annotated[Optional[list[str]], typer.Option("--id", metavar="ID|GLOB", help="Only these instance ids or globs "
                                                  "(repeatable).")]
Clone = Annotated[bool, typer.Option("--clone", help="Clone missing repositories from GitHub (needs network).")]


def verify(
    predictions: Annotated[Optional[Path], typer.Argument(
        metavar="PREDICTIONS", help="SWE-bench predictions JSONL (any number of lines per instance); omit to verify "
                                    "a math/code --run.")] = None,
    instances: Annotated[Optional[Path], typer.Option("--instances", metavar="FILE|DIR", help="The instances of "
                                                      "PREDICTIONS: JSON/JSONL/parquet (gz ok) or a folder.")] = None,
    run: Annotated[Optional[Path], typer.Option(metavar="DIR", help="Run directory (default runs/<predictions "
                                                "name>).")] = None,
    ids: Ids = None,
    workers: Workers = None,
    repo_cache: RepoCache = None,
    clone: Clone = False,
    flaky_runs: Annotated[int, typer.Option(min=1, metavar="N", help="Runs per candidate on instances validate "
                                            "found flaky.")] = 11,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ignore the cross-run verdict cache.")] = False,
    no_fail_fast: Annotated[bool, typer.Option(
        "--no-fail-fast", help="Run every candidate's whole test command, even after its FAIL_TO_PASS tests failed "
                               "(for selection methods that need PASS_TO_PASS results of every candidate).")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No line per verdict and no progress lines.")] = False,
    ray: Annotated[str, typer.Option("--ray", metavar="ADDRESS", help=RAY_HELP)] = "",
    as_json: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    timeout: Annotated[Optional[float], typer.Option(min=0.01, metavar="S", help="A --run of a program task: seconds "
                                                     "per program run (default: the run's; verdicts judged under "
                                                     "another are judged again).")] = None,
    strict: Strict = False,
    strict_full: StrictFull = False,
) -> None:
    """Verify candidate patches in hardened Docker containers.

    An interrupted run resumes where it stopped. Without PREDICTIONS, verify what is unverified in
    a --run of any task (sampled or imported)."""
    from swe_monkeys.cli.common import print_table
    from swe_monkeys.sampling.progress import VerifyLines

    if predictions is None:
        from swe_monkeys.cli.tasks import verify_task_run

        if run is None:
            usage_now("give SWE-bench PREDICTIONS with --instances, or --run DIR of a sampled or imported run")
        return verify_task_run(run, workers, quiet, {"repo_cache": repo_cache, "flaky_runs": flaky_runs,
                                                     "use_cache": not no_cache, "fail_fast": not no_fail_fast,
                                                     "strict": strict_mode(strict, strict_full) or None},
                               cluster=cluster_spec(ray, workers), as_json=as_json, timeout=timeout)
    if timeout is not None:
        usage_now("--timeout is for a --run of a program task (humaneval, mbpp, codecontests), not SWE-bench "
                  "predictions", "'--timeout'")
    existing_path(predictions, "'PREDICTIONS'")
    if instances is None:
        usage_now("SWE-bench predictions need --instances FILE|DIR")
    existing_path(instances, "'--instances'")
    run_dir = run or Path("runs") / predictions.name.split(".")[0]
    config = verify_config(workers, repo_cache, clone, flaky_runs, use_cache=not no_cache,
                           strict=strict_mode(strict, strict_full))
    config.fail_fast = not no_fail_fast

    lines = VerifyLines(0, "", quiet, first=IN_DOCKER)
    with interrupted(lambda: kept_line(run_dir)), fail():
        from collections import Counter

        from swe_monkeys.swebench import api
        from swe_monkeys.tasks.explain import run_summary
        from swe_monkeys.tasks.summary import coverage_rows

        try:
            store = api.verify_predictions(predictions, instances, run_dir, config, on_verdict=lines, ids=ids,
                                           log=lambda line: typer.echo(f"[image] {line}", err=True),
                                           on_start=lines.start_at, cluster=cluster_spec(ray, workers))
        finally:
            lines.done()
        task = api.SWEBench(repo_cache=config.repo_cache)
        with store:
            rows, totals = coverage_rows(store, task)
            statuses = Counter(v.status.value for v in store.verdicts().values())
            strict_counts = _strict_counts(store) if config.strict else None
            summary = run_summary(store, task) if as_json else None
    if summary is not None:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(f"\nrun: {run_dir}")
        print_table(rows, totals, no_selection="no selection: a predictions file is judged line by line, "
                                               "nothing picks among its lines")
        typer.echo("verdicts: " + ", ".join(f"{k} {v}" for k, v in statuses.most_common()))
        if strict_counts:
            from swe_monkeys.metrics.strict import strict_share_line

            typer.echo(strict_share_line(strict_counts))
    infra = statuses.get("infra_error", 0)
    if infra:  # not a judgement: the same command retries them
        typer.echo(f"{infra} candidates could not be judged (infra_error); run the same command again to retry them",
                   err=True)
        raise typer.Exit(1)


def _strict_counts(store):
    from swe_monkeys.metrics.strict import strict_counts

    return strict_counts(store.sample_table())


def validate(
    instances: Instances,
    ids: Ids = None,
    repeats: Annotated[int, typer.Option("--repeats", "-r", min=1, metavar="R", help="Gold runs per instance (the "
                                         "empty patch runs once).")] = 3,
    run: Annotated[Path, typer.Option(metavar="DIR", help="Where the logs of every gold and empty run are kept.")]
    = Path("runs/validate"),
    table: Annotated[Path, typer.Option(metavar="FILE", help="The validation table rows are merged into as instances "
                                        "finish.")] = TABLE,
    again: Annotated[bool, typer.Option("--again", help="Validate instances the table already has for this spec; "
                                                           "the new rows replace the old.")] = False,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, metavar="N", help="Instances judged at once "
                                         "(image builds still go one at a time).")] = 1,
    repo_cache: RepoCache = None,
    clone: Clone = False,
) -> None:
    """Check that gold resolves each instance and empty does not.

    Runs the gold patch R times and the empty patch once per instance, and records the outcome in
    the validation table (instance, spec hash, gold R of R, empty, flaky tests, time, logs)."""
    import time

    from swe_monkeys.swebench import api
    from swe_monkeys.swebench.dataset import load_instances
    from swe_monkeys.swebench.validation_table import done, read_rows, record_row, spec_hash
    from swe_monkeys.swebench.spec import SpecError, load_spec

    existing_path(instances, "'INSTANCES'")
    config = verify_config(None, repo_cache, clone, 11)
    start, bad, counted = time.monotonic(), 0, 0
    with fail():
        chosen = load_instances(instances, ids)
        rows = read_rows(table)
        todo = []
        for inst in chosen:
            try:
                current = spec_hash(load_spec(inst.repo, inst.version, inst.instance_id))
            except SpecError:
                current = ""
            if again or not current or not done(rows, inst.instance_id, current, repeats):
                todo.append(inst)
        if len(todo) < len(chosen):
            typer.echo(f"{len(chosen) - len(todo)} of {len(chosen)} instances already validated with their current "
                       f"spec in {table} (--again to run them again)", err=True)
        for n, row in enumerate(api.validate(todo, repeats, config, log=lambda line: typer.echo(
                f"[image] {line}", err=True), log_dir=run / "logs", workers=workers), 1):
            # each instance kept as soon as it is done; with --again a new judgement of this spec
            # (the harness changed) replaces the old row
            record_row(row, table, replace=again)
            state = "ok" if row["valid"] else ("FLAKY" if row["flaky"] else "INVALID")
            bad += state != "ok"
            counted += 1
            typer.echo(f"[{n}/{len(todo)}] {row['instance']:<40} gold {row['gold_resolved']}/{row['runs']}  "
                       f"empty {row['empty_resolved']}/{row['empty_runs']}  {row['seconds']:>6.0f}s  {state} "
                       f"{row['reason'][:100]}")
    typer.echo(f"{counted - bad} of {counted} validated in {time.monotonic() - start:.0f}s; table: {table}; "
               f"logs: {run / 'logs'}")
    if bad:
        raise typer.Exit(1)


def specs(
    instances: Instances,
    table: Annotated[Path, typer.Option(metavar="FILE", help="The validation table.")] = TABLE,
    readme: Annotated[Optional[Path], typer.Option(
        help="Write the table into this file between <!-- coverage-table --> markers.")] = None,
) -> None:
    """Coverage of a dataset by specs and validations.

    Per repository: the dataset's instances, how many have a spec, how many were validated here
    with their current spec (the README's coverage table, generated from the validation table), the
    validation time, and each instance not validated with why (configs/swebench/notes/validation.yaml)."""
    from swe_monkeys.swebench.dataset import load_instances
    from swe_monkeys.swebench.spec import current_specs, instance_overrides
    from swe_monkeys.swebench.validation_table import coverage_block, load_notes, read_rows, replace_block

    existing_path(instances, "'INSTANCES'")
    with fail():
        rows = [i.to_row() for i in load_instances(instances)]
        text = coverage_block(read_rows(table), rows, current_specs(), load_notes(), instance_overrides())
        if readme is not None:
            readme.write_text(replace_block(readme.read_text(), text))
    typer.echo(text, nl=False)
