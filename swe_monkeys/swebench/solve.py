"""Repeated sampling for SWE-bench issues, with verification overlapping generation.

`run_repair(store, instances, sampler, config)` is the engine behind `solve` (one issue) and `sweep`
(many): a sampler thread runs the sampling phase (sampling/phase.py: sample i uses seed + i, every
sample committed as it arrives, resumable and growable) through `PatchingStore`, which turns each
completion into a unified diff (edits.py) before it is written; meanwhile this thread runs the
SWE verifier again and again on whatever is unverified. A completion that does not parse or apply
is still a sample: it is stored with an empty patch (the verifier records `empty`) and its raw
text and reason in the candidate meta, so it stays in the coverage denominator.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional

from swe_monkeys.images import sources
from swe_monkeys.sampling.accounting import Budget
from swe_monkeys.sampling.overlap import overlap
from swe_monkeys.sampling.progress import Progress, Snapshots, price_of
from swe_monkeys.sampling.problems import Problem
from swe_monkeys.sampling.protocol import Prompt, SamplingParams
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.swebench.edits import completion_to_patch
from swe_monkeys.swebench.patches import normalised_key
from swe_monkeys.swebench.prompting import PromptConfig, build_prompt, localised_files
from swe_monkeys.types import Candidate, SWEInstance, Verdict

ReadFile = Callable[[str], Optional[str]]


@dataclass
class RepairConfig:
    samples: int  # samples per instance (a run holding fewer gets the missing ones)
    repo_cache: Path = field(default_factory=sources.default_repo_cache)
    params: SamplingParams = field(default_factory=lambda: SamplingParams(temperature=1.6, max_tokens=2048))
    prompt: PromptConfig = field(default_factory=PromptConfig)
    verify: Any = None  # a VerifyConfig; None samples only
    stop_on_success: bool = False  # stop sampling once every instance has a resolved candidate
    concurrency: int = 4  # sampling requests in flight
    budget: Budget = field(default_factory=Budget)
    price_as: str = ""  # the configs/pricing.yaml model dollars are counted as (default: the sampler's)

    def sample_config(self):
        from swe_monkeys.sampling.phase import SampleConfig

        return SampleConfig(samples=self.samples, params=self.params, concurrency=self.concurrency,
                            budget=self.budget, price_as=self.price_as)
    poll_seconds: float = 0.5  # how often the verifier looks for new candidates


class PatchingStore:
    """The run store as the sampling phase sees it: completions become patches on the way in."""

    def __init__(self, store: RunStore, readers: dict[str, ReadFile]):
        self._store, self._readers = store, readers

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def add_candidate(self, candidate: Candidate, *, meta: Optional[dict] = None, **usage: Any) -> int:
        read = self._readers[candidate.instance_id]
        outcome = completion_to_patch(candidate.patch, read)
        meta = {**(meta or {}), "completion": candidate.patch, "edit_status": outcome.status}
        if outcome.reason:
            meta["edit_reason"] = outcome.reason
        if outcome.ok:
            meta["patch_key"] = normalised_key(outcome.patch, read)
        return self._store.add_candidate(replace(candidate, patch=outcome.patch), meta=meta, **usage)


def instance_reader(inst: SWEInstance, repo_cache: Path, prompt: PromptConfig) -> ReadFile:
    """Base-commit file contents: the files already read for localisation, else `git show`."""
    _, files = localised_files(inst, repo_cache, prompt)
    git_dir = sources.find_repo(inst.repo, repo_cache)
    return lambda path: files[path] if path in files else sources.read_file_at(git_dir, inst.base_commit, path)


def prepare(instances: list[SWEInstance], config: RepairConfig, picks: Optional[dict[str, list[str]]] = None
            ) -> tuple[list[Problem], dict[str, ReadFile]]:
    """One prompt per instance (shared by all its samples) and a base-file reader per instance."""
    problems, readers = [], {}
    for inst in instances:
        prompt = build_prompt(inst, config.repo_cache, config.prompt, tuple((picks or {}).get(inst.instance_id, ())))
        problems.append(Problem(inst.instance_id, Prompt.chat(prompt.text)))
        readers[inst.instance_id] = instance_reader(inst, config.repo_cache, config.prompt)
    return problems, readers


@dataclass
class RepairResult:
    progress: Progress
    report: Any  # the sampling phase's SampleReport (None when it was stopped early)
    stopped_early: bool
    winners: dict[str, Candidate]  # instance -> its first resolved candidate


def run_repair(store: RunStore, instances: list[SWEInstance], sampler: Any, config: RepairConfig,
               on_progress: Callable[[Progress], None] = lambda p: None,
               log: Callable[[str], None] = lambda line: None) -> RepairResult:
    """Sample up to `config.samples` per instance and verify them as they arrive; returns the outcome."""
    from swe_monkeys.sampling.phase import sample_problems

    model = sampler.identity().get("model", "")  # an unreachable endpoint fails here, before any thread
    picks = None
    if config.prompt.pick_files > 0:
        from swe_monkeys.swebench.file_picking import picked_files

        picks = picked_files(store, instances, config.repo_cache, config.prompt, sampler, config.params.seed)
    problems, readers = prepare(instances, config, picks)
    verifier = None
    if config.verify is not None:  # the engine first: a missing Docker fails before any sampling
        from swe_monkeys.swebench.verifier import SWEVerifier

        verifier = SWEVerifier(store, config.verify, log=log)
    store.add_instances(instances)
    wanted = {i.instance_id for i in instances}
    solved: set[str] = set(winners(store)) & wanted if config.stop_on_success else set()
    stop = threading.Event()

    def on_verdict(cand: Candidate, verdict: Verdict) -> None:
        if verdict.resolved and config.stop_on_success:
            solved.add(cand.instance_id)
            if wanted <= solved:
                stop.set()

    if verifier is not None:
        verifier.on_verdict = on_verdict
    def sample(on_sample: Callable[..., None]) -> Any:
        return sample_problems(PatchingStore(store, readers), problems, sampler, config.sample_config(), on_sample)

    if config.stop_on_success and wanted <= solved:
        stop.set()
    price = price_of(config.price_as or model)
    target = config.samples * len(instances)

    snapshot = Snapshots(store, len(instances), target, price, on_progress)
    done = overlap(sample, verifier.run if verifier is not None else None, snapshot, stop, config.poll_seconds)
    return RepairResult(progress=snapshot(), report=done.report, stopped_early=done.stopped_early,
                        winners=winners(store))


def winners(store: RunStore) -> dict[str, Candidate]:
    """Per instance, its resolved candidate with the lowest sample index."""
    verdicts = store.verdicts()
    out: dict[str, Candidate] = {}
    for cid, cand in store.candidates():
        if cand.instance_id not in out and cid in verdicts and verdicts[cid].resolved:
            out[cand.instance_id] = cand
    return out
