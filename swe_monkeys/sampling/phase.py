"""The sampling phase: draw the samples a run is missing and append each one to the store as it arrives.

Sample i of a problem always uses seed `params.seed + i`, so a run asked for 250 samples that
holds 100 draws only the missing 150 (gaps left by failed requests included) and a rerun draws the
same samples. Requests (one per chunk of up to `max_n` consecutive indices) go out from a bounded
thread pool; every sample is committed the moment its request returns, so a killed process loses
only the requests in flight, and the next run draws exactly the indices that are not in the store.
The budget is checked before every request (accounting.py).

A problem whose request fails for good (context overflow, a request the server keeps refusing
while it answers others) is reported with its missing indices and recorded in the run meta
(`sampling_failures`); the endpoint being gone or failing past its retries stops the phase with one
error that says how many samples the run kept and that the same command continues. Nothing is ever
skipped silently.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator, Optional

from swe_monkeys.sampling.accounting import Budget, Cost, GpuClock, Ledger
from swe_monkeys.sampling.problems import Problem, load_problems  # noqa: F401 - re-exported for callers
from swe_monkeys.sampling.protocol import (
    Completion,
    EndpointUnreachable,
    ModelNotServed,
    Prompt,
    Request,
    Sampler,
    SamplerError,
    SamplingParams,
)
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.types import Candidate
from swe_monkeys.errors import SweMonkeysError

FATAL = (EndpointUnreachable, ModelNotServed)
OnSample = Optional[Callable[[str, int, Completion], None]]


class SamplingMismatch(SweMonkeysError, ValueError):
    """The run was sampled with other parameters, model or prompts: mixing them would corrupt it."""


@dataclass
class SampleConfig:
    samples: int  # target number of samples per problem
    params: SamplingParams = field(default_factory=SamplingParams)
    concurrency: int = 8  # requests in flight
    budget: Budget = field(default_factory=Budget)
    price_as: str = ""  # the pricing.yaml model to price with (default: the sampler's model)
    gpus: int = 0  # GPUs serving the model, for GPU-seconds (0 on a CPU)
    gpu: str = ""  # a pricing.yaml `gpus` name, recorded for the report
    hosting: Optional[dict] = None  # the serving hardware (sampling/hosting.py), recorded for self-hosted dollars


@dataclass
class SampleReport:
    problems: int
    target: int  # samples wanted in all
    existing: int  # already in the run before this call
    added: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # problem -> why its samples are missing
    budget_stop: str = ""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    dollars: float = 0.0
    seconds: float = 0.0
    gpu_seconds: float = 0.0

    @property
    def missing(self) -> int:
        return self.target - self.existing - self.added

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "missing": self.missing}


@dataclass(frozen=True)
class _Job:
    problem: Problem
    first: int  # the first sample index of the request
    n: int


def plan(problems: Iterable[Problem], existing: dict[str, set[int]], samples: int, max_n: int) -> Iterator[_Job]:
    """Requests for every missing index: runs of consecutive indices, cut to at most max_n each."""
    for problem in problems:
        missing = [i for i in range(samples) if i not in existing.get(problem.id, ())]
        while missing:
            run = [missing[0]]
            while len(run) < max_n and len(run) < len(missing) and missing[len(run)] == run[-1] + 1:
                run.append(missing[len(run)])
            yield _Job(problem, run[0], len(run))
            missing = missing[len(run):]


def _prompt_key(prompt: Prompt) -> str:
    return hashlib.sha256(json.dumps(prompt.to_json(), sort_keys=True).encode()).hexdigest()[:16]


def _check_run(store: RunStore, problems: list[Problem], config: SampleConfig, identity: dict) -> None:
    """Record what the run is sampled with; refuse to add samples drawn some other way."""
    wanted = {"params": config.params.to_json(), "model": identity.get("model", "")}
    recorded = store.get_meta("sampling")
    if recorded is None:
        store.set_meta("sampling", {**wanted, "backend": identity})
    elif {k: recorded.get(k) for k in wanted} != wanted:
        raise SamplingMismatch(f"{store.dir} was sampled with {json.dumps({k: recorded.get(k) for k in wanted})}; "
                               f"asked for {json.dumps(wanted)}: use another run directory")
    prompts = store.get_meta("prompts", {})
    changed = [p.id for p in problems if prompts.get(p.id, _prompt_key(p.prompt)) != _prompt_key(p.prompt)]
    if changed:
        raise SamplingMismatch(f"the prompts of {', '.join(changed[:5])} differ from those this run was sampled with")
    store.set_meta("prompts", {**prompts, **{p.id: _prompt_key(p.prompt) for p in problems}})
    if not store.get_meta("model"):
        store.set_meta("model", identity.get("model", ""))
    if config.gpu:
        store.set_meta("gpu", config.gpu)
    if config.hosting:  # with "sampling_seconds" below, what a self-hosted run costs
        store.set_meta("hardware", config.hosting)


def sample_problems(store: RunStore, problems: list[Problem], sampler: Sampler, config: SampleConfig,
                    on_sample: OnSample = None) -> SampleReport:
    """Fill the run up to `config.samples` samples per problem; returns what was done and what is missing."""
    identity = sampler.identity()  # checks the endpoint and the model before anything is written
    _check_run(store, problems, config, identity)
    rows = store.sample_table()
    existing: dict[str, set[int]] = {}
    prompt_seen: dict[str, int] = {}
    for row in rows:
        existing.setdefault(row["problem_id"], set()).add(row["sample_idx"])
        prompt_seen[row["problem_id"]] = max(prompt_seen.get(row["problem_id"], 0), row["prompt_tokens"] or 0)
    ledger = _ledger(config, identity, rows)
    ids = {p.id for p in problems}
    report = SampleReport(len(problems), config.samples * len(problems),
                          sum(len([i for i in existing.get(p.id, ()) if i < config.samples]) for p in problems))
    runner = _Runner(store, sampler, config, ledger, identity, report, prompt_seen, on_sample)
    try:
        runner.run(plan(problems, existing, config.samples, sampler.max_n()))
    finally:
        report.seconds = runner.held.stop()
        failures = {k: v for k, v in (store.get_meta("sampling_failures") or {}).items() if k not in ids}
        store.set_meta("sampling_failures", {**failures, **report.failed})
    if runner.fatal is not None:
        raise _stopped(runner.fatal, report, store)
    return report


def _stopped(error: BaseException, report: SampleReport, store: RunStore) -> BaseException:
    """The error that stopped the phase, saying what the run kept and how it continues."""
    kept = report.existing + report.added
    return type(error)(f"{error}; {kept} of {report.target} samples kept in {store.dir}; "
                       "run the same command to continue")


def _ledger(config: SampleConfig, identity: dict, rows: list[dict]) -> Ledger:
    from swe_monkeys.pricing import PricingError, load_pricing

    try:  # priced models get a dollar figure in the report even without a dollar cap
        price = load_pricing().model(config.price_as or identity.get("model", ""))
    except PricingError:
        if config.budget.max_dollars is not None:
            raise
        price = None
    ledger = Ledger(config.budget, price)
    spent = Cost()
    for row in rows:  # caps cover the whole run, so a resumed run cannot exceed them
        spent = spent + ledger.cost(row["prompt_tokens"] or 0, row["completion_tokens"] or 0,
                                    int((row.get("meta") or {}).get("cached_tokens") or 0))
    ledger.spent = spent
    return ledger


class _HeldTime:
    """The run meta "sampling_seconds": wall time its sampling held the model server (what a
    self-hosted run is priced by). Written as samples arrive (at most every `every` seconds), not
    only at the end, so that a killed process leaves its time behind with its samples."""

    def __init__(self, store: RunStore, every: float = 5.0):
        self.store, self.every = store, every
        self.base = float(store.get_meta("sampling_seconds") or 0.0)
        self.start = self.at = time.monotonic()

    def note(self) -> None:
        if time.monotonic() - self.at >= self.every:
            self.at = time.monotonic()
            self.store.set_meta("sampling_seconds", self.base + self.at - self.start)

    def stop(self) -> float:
        seconds = time.monotonic() - self.start
        self.store.set_meta("sampling_seconds", self.base + seconds)
        return seconds


class _Runner:
    """Sends the planned requests through a bounded pool, under the budget, and records results."""

    def __init__(self, store: RunStore, sampler: Sampler, config: SampleConfig, ledger: Ledger, identity: dict,
                 report: SampleReport, prompt_seen: dict[str, int], on_sample: OnSample):
        self.store, self.sampler, self.config, self.ledger = store, sampler, config, ledger
        self.report, self.prompt_seen, self.on_sample = report, prompt_seen, on_sample
        self.model = identity.get("model", "")
        self.tag = " ".join(str(identity.get(k) or "") for k in ("backend", "server", "server_version")).strip()
        self.clock = GpuClock(config.gpus)
        self.held = _HeldTime(store)
        self.fatal: Optional[BaseException] = None
        self._lock = threading.Lock()  # the report is updated from the worker threads

    def run(self, jobs: Iterable[_Job]) -> None:
        pending: dict[Future, _Job] = {}
        with ThreadPoolExecutor(max_workers=self.config.concurrency, thread_name_prefix="sample") as pool:
            try:
                self._send(jobs, pool, pending)
                while pending:
                    self._collect(pending)
            except KeyboardInterrupt:  # Ctrl-C, SIGTERM: the pool's join must not wait out retries' backoff
                self.sampler.close()
                raise

    def _send(self, jobs: Iterable[_Job], pool: ThreadPoolExecutor, pending: dict) -> None:
        for job in jobs:
            if self.fatal is not None or self.report.budget_stop:
                break
            if job.problem.id in self.report.failed:
                continue
            admitted = self._admit(job, pending)
            if admitted is None:
                break
            job, worst = admitted
            pending[pool.submit(self._request, job, worst)] = job

    def _worst(self, job: _Job, n: int) -> Cost:
        # Before the server has counted this prompt: UTF-8 bytes plus room for the chat template bound
        # the token count (a token is at least one byte). Each sample is assumed to pay its own prompt.
        prompt = self.prompt_seen.get(job.problem.id) or job.problem.prompt.byte_length() + 64 + 16 * len(
            job.problem.prompt.messages)
        return self.ledger.cost(prompt * n, self.config.params.max_tokens * n)

    def _admit(self, job: _Job, pending: dict) -> Optional[tuple[_Job, Cost]]:
        """Reserve the job's worst case; wait for in-flight requests, then shrink it, before giving up."""
        while True:
            if len(pending) >= self.config.concurrency:
                self._collect(pending)
                continue
            worst = self._worst(job, job.n)
            if self.ledger.try_reserve(worst):
                return job, worst
            if pending:
                self._collect(pending)
                continue
            for n in range(job.n - 1, 0, -1):  # nothing in flight: send what still fits, then stop
                worst = self._worst(job, n)
                if self.ledger.try_reserve(worst):
                    self.report.budget_stop = self.ledger.exhausted_reason()
                    return replace(job, n=n), worst
            self.report.budget_stop = self.ledger.exhausted_reason()
            return None

    def _collect(self, pending: dict) -> None:
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for future in done:
            job = pending.pop(future)
            error = future.exception()
            if isinstance(error, FATAL):
                self.fatal = self.fatal or error
            elif isinstance(error, SamplerError):
                self.report.failed[job.problem.id] = (f"samples {job.first}..{job.first + job.n - 1} "
                                                      f"not drawn: {error}")
            elif error is not None:
                raise error

    def _request(self, job: _Job, worst: Cost) -> None:
        key = id(job)
        request = Request(job.problem.prompt, self.config.params, job.n, self.config.params.seed + job.first)
        self.clock.start(key)
        try:
            completion = self.sampler.complete(request)
        except BaseException:
            self.clock.stop(key)
            self.ledger.settle(worst, Cost())
            raise
        gpu_seconds = self.clock.stop(key)
        if len(completion.samples) != job.n:  # a backend bug; never record a partial request as whole
            self.ledger.settle(worst, Cost())
            raise SamplerError(f"backend returned {len(completion.samples)} samples for {job.n} asked")
        self.ledger.settle(worst, self.ledger.cost(completion.prompt_tokens, completion.completion_tokens,
                                                   completion.cached_tokens))
        self._record(job, completion, gpu_seconds)

    def _record(self, job: _Job, completion: Completion, gpu_seconds: float) -> None:
        pid = job.problem.id
        self.prompt_seen[pid] = max(self.prompt_seen.get(pid, 0), completion.prompt_tokens)
        for j, sample in enumerate(completion.samples):
            meta: dict[str, Any] = {"seed": sample.seed, "finish_reason": sample.finish_reason,
                                    "request": f"{pid}:{job.first}", "request_n": job.n, "backend": self.tag}
            if j == 0 and completion.cached_tokens:
                meta["cached_tokens"] = completion.cached_tokens
            if not sample.tokens_exact:
                meta["tokens_exact"] = False
            if gpu_seconds:
                meta["gpu_seconds"] = gpu_seconds / job.n
            # The prompt is billed once per request: its tokens go on the request's first sample.
            self.store.add_candidate(Candidate(pid, sample.text, self.model, job.first + j),
                                     prompt_tokens=completion.prompt_tokens if j == 0 else 0,
                                     completion_tokens=sample.completion_tokens, seconds=completion.seconds, meta=meta)
        cost = self.ledger.cost(completion.prompt_tokens, completion.completion_tokens, completion.cached_tokens)
        with self._lock:
            r = self.report
            r.added += job.n
            r.prompt_tokens += completion.prompt_tokens
            r.completion_tokens += completion.completion_tokens
            r.cached_tokens += completion.cached_tokens
            r.dollars += cost.dollars
            r.gpu_seconds += gpu_seconds
            self.held.note()
        if self.on_sample:
            self.on_sample(pid, job.first, completion)
