"""One context manager that yields a ready Sampler, for `sample`, `solve`, `sweep` and the bench.

Either it connects to an endpoint that is already up (`base_url`; several, comma-separated, are
one SpreadSampler: sampling/spread.py), or it starts `vllm serve` for `serve_model` and stops it
when the block ends (on a Ray cluster with `ray=ADDRESS`: one server per GPU, cluster/serving.py),
or it loads vLLM in-process (`backend="vllm"`).
`run_sampler` is what the run commands take (an endpoint, a model to serve, or a FAKE script);
`sample_into_run` is the whole `swe-monkeys sample` command as one library call.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from swe_monkeys.sampling import make_sampler
from swe_monkeys.sampling.protocol import SamplerError
from swe_monkeys.sampling.server import ServeConfig, served_model


@dataclass
class SamplerSpec:
    """Where samples come from: an endpoint, a model to serve for the duration, or in-process vLLM."""

    backend: str = "openai"  # "openai" or "vllm" (in-process)
    base_url: str = ""  # an endpoint that is already up
    model: str = ""  # the model name at the endpoint, or what to serve / load
    serve: Optional[ServeConfig] = None  # start vLLM for the session (openai backend only)
    options: dict[str, Any] = field(default_factory=dict)  # OpenAIConfig / VLLMConfig fields


@dataclass
class SamplerSession:
    sampler: Any
    gpus: int  # GPUs that serve the model (0 on CPU or unknown), for GPU-second accounting
    served: Any = None  # the ServedModel when this session started the server


@contextmanager
def open_sampler(spec: SamplerSpec, on_log: Optional[Callable[[str], None]] = None) -> Iterator[SamplerSession]:
    """A Sampler ready for requests; everything it started is stopped on exit (Ctrl-C included)."""
    with ExitStack() as stack:
        if spec.backend == "vllm":
            sampler = make_sampler("vllm", model=spec.model, **spec.options)
            stack.callback(sampler.close)
            yield SamplerSession(sampler, int(getattr(sampler, "gpus", 0)))
            return
        served, base_url, model, gpus = None, spec.base_url, spec.model, 0
        if spec.serve is not None:
            served = stack.enter_context(served_model(spec.serve, on_log))
            base_url, model, gpus = served.base_url, served.model, served.gpus  # the name it serves under
        if not base_url:
            raise SamplerError("give an endpoint (--base-url) or a model to serve (--serve)")
        urls = [u.strip() for u in base_url.split(",") if u.strip()]
        # the openai backend says each retry through on_log (stderr on the command line)
        options = {**spec.options, **({"on_log": on_log} if spec.backend == "openai" and on_log else {})}
        if len(urls) > 1:  # the same model at several endpoints: requests spread, seeds unchanged
            from swe_monkeys.sampling.spread import SpreadSampler

            sampler = SpreadSampler([make_sampler(spec.backend, base_url=u, model=model, **options)
                                     for u in urls], urls, on_log or (lambda line: None))
        else:
            sampler = make_sampler(spec.backend, base_url=base_url, model=model, **options)
        stack.callback(sampler.close)
        yield SamplerSession(sampler, gpus, served)


@contextmanager
def run_sampler(base_url: str = "", serve: str = "", model: str = "", fake: Optional[Path] = None,
                concurrency: int = 8, max_n: int = 32, on_log: Optional[Callable[[str], None]] = None,
                ray: str = "") -> Iterator[Any]:
    """The Sampler of a run: a FAKE scripted one, endpoints, or servers started for the run (here,
    or as actors on the Ray cluster at `ray`).

    `solve` asks for one sample per request (max_n=1): the server batches the requests in flight
    just the same, and samples arrive one by one, so verification starts on the first."""
    if fake is not None:
        from swe_monkeys.sampling.fake import load_script

        yield load_script(fake)
        return
    if not base_url and not serve:
        raise SamplerError("give a model: --base-url URL, --serve MODEL or --fake SCRIPT")
    serve_config = ServeConfig(model=serve, served_name=model) if serve else None
    with ExitStack() as stack:
        if serve_config is not None and ray:
            from swe_monkeys.cluster.serving import served_on_cluster

            endpoints = stack.enter_context(served_on_cluster(serve_config, ray, on_log=on_log))
            base_url, model, serve_config = ",".join(e.base_url for e in endpoints), endpoints[0].model, None
        spec = SamplerSpec(base_url=base_url, model=model, options={"concurrency": concurrency, "max_n": max_n},
                           serve=serve_config)
        yield stack.enter_context(open_sampler(spec, on_log)).sampler


def sample_into_run(spec: SamplerSpec, run_dir: Path, problems: list, config: Any, on_sample: Any = None,
                    on_log: Optional[Callable[[str], None]] = None) -> Any:
    """Open the sampler (starting a server if asked), fill the run, stop what was started."""
    from swe_monkeys.sampling.phase import sample_problems
    from swe_monkeys.store.run_store import RunStore

    with open_sampler(spec, on_log) as session, RunStore(run_dir) as store:
        if session.gpus and not config.gpus:
            config = replace(config, gpus=session.gpus)
        return sample_problems(store, problems, session.sampler, config, on_sample=on_sample)
