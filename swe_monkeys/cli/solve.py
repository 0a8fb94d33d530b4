"""`swe-monkeys solve` (one issue, live) and `swe-monkeys sweep` (a dataset, resumable): thin wrappers
over swe_monkeys.swebench.solve. Run as `python -m swe_monkeys.cli.solve` they form their own app."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from swe_monkeys.cli.common import fail as _fail
from swe_monkeys.cli.common import fail_now as _fail_now
from swe_monkeys.cli.common import verify_config

BaseUrl = Annotated[str, typer.Option(envvar="OPENAI_BASE_URL", help="OpenAI-compatible endpoint.")]
Serve = Annotated[str, typer.Option("--serve", help="Start vLLM for this model for the run.")]
Model = Annotated[str, typer.Option(help="Model name at the endpoint (blank: the only one served).")]
Fake = Annotated[Optional[Path], typer.Option("--fake", help="FAKE sampler: a JSON list of scripted completions.")]
Preset = Annotated[str, typer.Option(help="configs/presets/<name>.yaml: temperature, max tokens, prompt.")]
RepoCache = Annotated[Optional[Path], typer.Option(envvar="SWE_MONKEYS_REPO_CACHE", help="Bare clones owner__repo.git.")]
Seed = Annotated[int, typer.Option(help="Sample i uses seed + i.")]
Verify = Annotated[bool, typer.Option("--verify/--no-verify", help="Verify in Docker while sampling.")]
Workers = Annotated[Optional[int], typer.Option(help="Containers verifying at once.")]
Concurrency = Annotated[int, typer.Option(help="Sampling requests in flight.")]
Temperature = Annotated[Optional[float], typer.Option(help="Override the preset's temperature.")]
MaxTokens = Annotated[Optional[int], typer.Option(help="Budget: tokens (prompt + completion) for the whole run.")]
MaxDollars = Annotated[Optional[float], typer.Option(help="Budget: list-price dollars for the whole run.")]
PriceAs = Annotated[str, typer.Option(help="Price as this configs/pricing.yaml model (default: the served one).")]


def _sampler(base_url: str, serve: str, model: str, fake: Optional[Path], concurrency: int, max_n: int = 32):
    """A context manager yielding a Sampler: the fake one, an endpoint, or a server started for the run.

    `solve` asks for one sample per request (max_n=1): the server batches the requests in flight just
    the same, and samples arrive one by one, so verification starts on the first instead of the last."""
    if fake is not None:
        from swe_monkeys.swebench.fake import load_script

        return contextlib.nullcontext(load_script(fake))
    from swe_monkeys.sampling.server import ServeConfig
    from swe_monkeys.sampling.session import SamplerSpec, open_sampler

    if not base_url and not serve:
        raise ValueError("give a model: --base-url URL, --serve MODEL or --fake SCRIPT")
    spec = SamplerSpec(base_url=base_url, model=model, options={"concurrency": concurrency, "max_n": max_n},
                       serve=ServeConfig(model=serve, served_name=model) if serve else None)

    @contextlib.contextmanager
    def opened():
        with open_sampler(spec, lambda line: typer.echo(line, err=True)) as session:
            yield session.sampler

    return opened()


def _config(samples: int, preset: str, temperature: Optional[float], seed: int, repo_cache: Optional[Path],
            verify: bool, workers: Optional[int], concurrency: int, stop_on_success: bool, budget: tuple = (None, None),
            price_as: str = ""):
    from swe_monkeys.images.sources import default_repo_cache
    from swe_monkeys.sampling.accounting import Budget
    from swe_monkeys.sampling.protocol import SamplingParams
    from swe_monkeys.swebench.prompting import PromptConfig, load_preset
    from swe_monkeys.swebench.solve import RepairConfig

    p = load_preset(preset)
    params = SamplingParams(temperature=p.get("temperature", 1.6) if temperature is None else temperature,
                            top_p=p.get("top_p", 0.95), max_tokens=p.get("max_tokens", 2048), seed=seed)
    prompt = PromptConfig(template=p.get("template", "swebench_repair"),
                          context_tokens=p.get("context_tokens", 12000), pick_files=int(p.get("pick_files", 0)))
    vconfig = verify_config(workers, repo_cache, False, 11) if verify else None
    return RepairConfig(samples=samples, repo_cache=repo_cache or default_repo_cache(), params=params,
                        prompt=prompt, verify=vconfig, stop_on_success=stop_on_success, concurrency=concurrency,
                        budget=Budget(*budget), price_as=price_as)


class _Live:
    """Progress lines on stderr, one when something changed (at most every `every` seconds)."""

    def __init__(self, quiet: bool, every: float = 1.0):
        self.quiet, self.every, self.last, self.at = quiet, every, "", 0.0

    def __call__(self, progress: Any) -> None:
        line = progress.line()
        key = line.split("  tokens")[0]
        if not self.quiet and key != self.last and time.monotonic() - self.at >= self.every:
            typer.echo(line, err=True)
            self.last, self.at = key, time.monotonic()


def _one_instance(target: str, dataset: str, repo_cache: Optional[Path]):
    """(instance, repo cache): an embedded example ("example:calc"), an instance file, or an id in --dataset."""
    from swe_monkeys.swebench.dataset import DatasetError, load_instances
    from swe_monkeys.swebench.sweep import resolve_instances

    if target.startswith("example:"):
        from swe_monkeys import examples
        from swe_monkeys.paths import cache_dir

        cache = repo_cache or cache_dir() / "examples" / "repos"  # the examples' repositories are made here
        return examples.materialise(cache, [target.removeprefix("example:")])[0].instance, cache
    path = Path(target)
    if path.suffix in (".json", ".jsonl", ".gz", ".parquet") and path.exists():
        found = load_instances(path)
    elif dataset:
        found = resolve_instances(dataset, [target])
    else:
        raise DatasetError(f"{target}: not an instance file or example:NAME; to name an instance id give "
                           "--dataset lite|FILE")
    if len(found) != 1:
        raise DatasetError(f"{target}: {len(found)} instances match; solve takes one")
    return found[0], repo_cache


def _verdict_lines(run: Path) -> str:
    """Verdicts by status, and coverage: the chance that k of these samples hold a resolving patch."""
    from collections import Counter

    from swe_monkeys.metrics.passk import pass_at_k
    from swe_monkeys.store.run_store import RunStore

    with RunStore(run) as store:
        table = store.sample_table()
    edits = Counter((r["meta"] or {}).get("edit_status", "?") for r in table)
    rows = [r for r in table if r["status"] not in (None, "infra_error")]
    statuses = Counter(r["status"] for r in rows)
    n, c = len(rows), sum(bool(r["resolved"]) for r in rows)
    ks = sorted({k for k in (1, 2, 5, 10, 20, 50, 100, 250) if k < n} | {n})
    return ("edits: " + ", ".join(f"{s} {k}" for s, k in edits.most_common()) + "\nverdicts: " + ", ".join(f"{s} {k}" for s, k in statuses.most_common()) + "\ncoverage: "
            + "  ".join(f"pass@{k} {pass_at_k(n, c, k):.3f}" for k in ks))


def solve(
    target: Annotated[str, typer.Argument(help="An instance id (with --dataset), an instance JSON file, or an "
                                                "embedded example: example:calc|daterange|slugkit.")],
    dataset: Annotated[str, typer.Option("--dataset", "--instances-file", help="lite|verified|full or a file.")] = "",
    samples: Annotated[Optional[int], typer.Option("--samples", "-k", help="Samples to draw at most (default: "
                                                   "the preset's).")] = None,
    base_url: BaseUrl = "", serve: Serve = "", model: Model = "", fake: Fake = None,
    stop_on_success: Annotated[bool, typer.Option("--stop-on-success", help="Stop at the first resolved.")] = False,
    out: Annotated[Optional[Path], typer.Option(help="Write the winning patch here instead of stdout.")] = None,
    run: Annotated[Optional[Path], typer.Option(help="Run directory (default runs/<instance id>).")] = None,
    preset: Preset = "swebench", temperature: Temperature = None, seed: Seed = 0, repo_cache: RepoCache = None,
    verify: Verify = True, workers: Workers = None, concurrency: Concurrency = 8,
    max_tokens: MaxTokens = None, max_dollars: MaxDollars = None, price_as: PriceAs = "",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Sample k candidate patches for one issue, verify them in Docker while sampling, print the winner.

    Exit status: 0 with a resolved patch, 2 when none resolved (1 for errors)."""
    from swe_monkeys.cli.sample import _stop_on_signals
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.swebench.solve import run_repair

    _stop_on_signals()
    with _fail():
        inst, repo_cache = _one_instance(target, dataset, repo_cache)
        if samples is None:
            from swe_monkeys.swebench.prompting import load_preset

            samples = int(load_preset(preset).get("samples", 10))
        config = _config(samples, preset, temperature, seed, repo_cache, verify, workers, concurrency,
                         stop_on_success, (max_tokens, max_dollars), price_as)
        run = run or Path("runs") / inst.instance_id
        with _sampler(base_url, serve, model, fake, concurrency, max_n=1) as sampler, RunStore(run) as store:
            result = run_repair(store, [inst], sampler, config, on_progress=_Live(quiet))
    p, winner = result.progress, result.winners.get(inst.instance_id)
    typer.echo(f"{inst.instance_id}: {p.samples} samples ({p.valid} applied, {p.unique} unique), {p.verified} "
               f"verified, {p.resolved} resolved; {p.tokens} tokens, ${p.dollars:.4f}, {p.seconds:.1f} s"
               + ("; stopped at the first success" if result.stopped_early else "") + f"\nrun: {run}", err=True)
    if verify and p.verified:
        typer.echo(_verdict_lines(run), err=True)
    if winner is None:
        typer.echo("no candidate resolved the issue" if verify else "not verified (--no-verify)", err=True)
        raise typer.Exit(2 if verify else 0)
    typer.echo(f"winning patch: sample #{winner.index}" + (f" -> {out}" if out else ""), err=True)
    if out:
        out.write_text(winner.patch)
    else:
        typer.echo(winner.patch, nl=False)


def sweep(
    run: Annotated[Path, typer.Option(help="Run directory (resumed and grown when it exists).")],
    dataset: Annotated[str, typer.Option("--dataset", help="swebench: lite|verified|full or an instances file/folder; "
                                          "other tasks: a local file/folder (default: the Hugging Face hub).")] = "",
    task: Annotated[str, typer.Option(help="swebench, gsm8k, math, humaneval, mbpp or codecontests.")] = "swebench",
    instances: Annotated[Optional[list[str]], typer.Option("--instances", help="Ids, globs or a slice (0:10).")] = None,
    samples: Annotated[int, typer.Option("--samples", "-k", help="Samples per instance.")] = 250,
    base_url: BaseUrl = "", serve: Serve = "", model: Model = "", fake: Fake = None,
    export: Annotated[Optional[Path], typer.Option(help="Write SWE-bench predictions (selected patches).")] = None,
    preset: Annotated[str, typer.Option(help="configs/presets/<name>.yaml (default: the task's).")] = "",
    temperature: Temperature = None, seed: Seed = 0, repo_cache: RepoCache = None,
    verify: Verify = True, workers: Workers = None, concurrency: Concurrency = 8,
    max_tokens: MaxTokens = None, max_dollars: MaxDollars = None, price_as: PriceAs = "",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines.")] = False,
) -> None:
    """Sample and verify many problems into one resumable run; print coverage against selected accuracy."""
    args = SweepArgs(**{k: v for k, v in locals().items() if k in SweepArgs.__dataclass_fields__})
    from swe_monkeys.cli.sample import _stop_on_signals

    _stop_on_signals()
    if task != "swebench":
        from swe_monkeys.cli.tasks import task_sweep
        from swe_monkeys.tasks import TASKS

        if task not in TASKS.names():  # before any model server is started
            _fail_now(f"unknown task {task!r}; valid: swebench, {', '.join(TASKS.names())}")
        if export:
            _fail_now("--export writes SWE-bench predictions; it is for --task swebench")
        return task_sweep(args)
    _swebench_sweep(args)


@dataclass
class SweepArgs:
    """What `sweep` was given, for the task-specific halves."""

    run: Path
    dataset: str
    task: str
    instances: Optional[list[str]]
    samples: int
    base_url: str
    serve: str
    model: str
    fake: Optional[Path]
    export: Optional[Path]
    preset: str
    temperature: Optional[float]
    seed: int
    repo_cache: Optional[Path]
    verify: bool
    workers: Optional[int]
    concurrency: int
    max_tokens: Optional[int]
    max_dollars: Optional[float]
    price_as: str
    quiet: bool

    def sampler(self):
        return _sampler(self.base_url, self.serve, self.model, self.fake, self.concurrency)


def _swebench_sweep(a: SweepArgs) -> None:
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.swebench.selection import verification_gap
    from swe_monkeys.swebench.solve import run_repair
    from swe_monkeys.swebench.sweep import coverage_table, export_predictions, resolve_instances

    with _fail():
        if not a.dataset:
            raise ValueError("sweep --task swebench needs --dataset lite|verified|full or an instances file")
        chosen = resolve_instances(a.dataset, a.instances or ())
        config = _config(a.samples, a.preset or "swebench", a.temperature, a.seed, a.repo_cache, a.verify, a.workers,
                         a.concurrency, False, (a.max_tokens, a.max_dollars), a.price_as)
        with a.sampler() as sampler, RunStore(a.run) as store:
            result = run_repair(store, chosen, sampler, config, on_progress=_Live(a.quiet, every=5.0))
            table, gap = coverage_table(store), verification_gap(store)
            if a.export:
                export_predictions(store, a.export)
    typer.echo(f"{'instance':<32} {'samples':>7} {'valid':>5} {'unique':>6} {'resolved':>8}  covered  pick")
    for r in table:
        pick = "-" if r["picked"] is None else f"#{r['picked']} {'ok' if r['picked_resolved'] else 'wrong'}"
        typer.echo(f"{r['instance_id']:<32} {r['samples']:>7} {r['valid']:>5} {r['unique']:>6} {r['resolved']:>8}  "
                   f"{'yes' if r['covered'] else 'no':<7}  {pick}")
    p = result.progress
    typer.echo(f"coverage {gap['coverage']:.3f}  selected accuracy {gap['selected_accuracy']:.3f}  "
               f"gap {gap['gap']:.3f}  ({gap['instances']} issues; {p.tokens} tokens, ${p.dollars:.4f})")
    if a.export:
        typer.echo(f"predictions: {a.export}")


app = typer.Typer(no_args_is_help=True, add_completion=False)
app.command("solve")(solve)
app.command("sweep")(sweep)

if __name__ == "__main__":
    app()
