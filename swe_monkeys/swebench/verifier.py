"""The SWE-bench verifier: many candidates per instance, each unique one judged once, in parallel.

Flow per run: intake every unverified candidate (empty / malformed / tests-only are verdicts of
their own), group the rest by normalised patch, serve groups from the verdict cache, and judge
the remaining unique patches, `workers` at a time, each in a fresh container (runner.py). Before
an instance's first candidate is judged its gold patch is, once per image and harness version
(cached): a candidate's test counts only with the status it has under gold. Every verdict is
written to the run store as soon as it exists, so a killed run resumes with what is left.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

from swe_monkeys.images import sources
from swe_monkeys.images.builder import ImageBuildError, ImageBuilder
from swe_monkeys.sandbox.docker_sandbox import Limits, docker_client, reap_orphans
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.store.verdict_cache import VerdictCache, verdict_key
from swe_monkeys.swebench.grading import GoldStatuses
from swe_monkeys.swebench.patches import intake, normalised_key
from swe_monkeys.swebench.runner import CandidateRunner, harness_version
from swe_monkeys.swebench.spec import EnvSpec, SpecError, load_spec
from swe_monkeys.types import Candidate, Status, SWEInstance, Verdict


def default_workers() -> int:
    """One container per core, capped by memory at ~4 GiB per container, at least one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return max(1, min(cores, int(mem_gib // 4)))


@dataclass
class VerifyConfig:
    repo_cache: Path = field(default_factory=sources.default_repo_cache)
    workers: int = field(default_factory=default_workers)
    allow_clone: bool = False
    flaky_runs: int = 11  # runs per candidate on an instance validate found flaky (the paper used 11)
    limits: Limits = field(default_factory=Limits)
    use_cache: bool = True
    # Run the FAIL_TO_PASS tests first, and the rest only for candidates that pass them (same
    # verdicts; a selection method that needs PASS_TO_PASS results for every candidate turns it off).
    fail_fast: bool = True


@dataclass
class _Job:
    inst: SWEInstance
    spec: EnvSpec
    image: str
    patch: str
    runs: int
    members: list[tuple[int, Candidate, str]]  # (candidate id, candidate, dedup key) sharing this verdict
    cache_key: str
    image_id: str = ""


def open_engine(config: VerifyConfig, log: Callable[[str], None]) -> tuple[object, ImageBuilder]:
    """A Docker client (after removing containers that dead runs left behind) and an image builder."""
    client = docker_client()
    reap_orphans(client)
    return client, ImageBuilder(client, config.repo_cache, config.allow_clone, log=log)


def majority(verdicts: list[Verdict]) -> Verdict:
    """Resolved iff more than half the runs resolved; otherwise the first non-resolved verdict."""
    judged = [v for v in verdicts if v.status.is_judgement] or verdicts
    wins = sum(v.resolved for v in judged)
    pick = next((v for v in judged if v.resolved == (wins * 2 > len(judged))), judged[0])
    pick.runs, pick.reason = len(verdicts), f"{wins}/{len(judged)} runs resolved; {pick.reason}"
    return pick


class SWEVerifier:
    """Verifies the unverified candidates of a run store. `on_verdict` sees each verdict."""

    def __init__(self, store: RunStore, config: VerifyConfig,
                 on_verdict: Callable[[Candidate, Verdict], None] = lambda c, v: None,
                 log: Callable[[str], None] = lambda line: None):
        self.store, self.config, self.on_verdict, self.log = store, config, on_verdict, log
        self.client, self.builder = open_engine(config, log)
        self.cache = VerdictCache() if config.use_cache else None
        self._lock = threading.Lock()
        self._golds: dict[str, GoldStatuses | Verdict | None] = {}
        self._gold_locks: dict[str, threading.Lock] = defaultdict(threading.Lock)

    def run(self) -> dict[str, int]:
        """Verify everything pending; returns counts by status."""
        self.store.drop_infra_errors()
        pending: dict[str, list[tuple[int, Candidate]]] = defaultdict(list)
        for cid, cand in self.store.candidates(unverified_only=True):
            pending[cand.instance_id].append((cid, cand))
        instances = {i.instance_id: i for i in self.store.instances()}
        jobs: list[_Job] = []
        for instance_id, cands in pending.items():
            jobs.extend(self._plan(instances[instance_id], cands))
        self._execute(jobs)
        counts: dict[str, int] = defaultdict(int)
        for verdict in self.store.verdicts().values():
            counts[verdict.status.value] += 1
        return dict(counts)

    def _record(self, cid: int, cand: Candidate, verdict: Verdict, key: str = "") -> str:
        log_path = self.store.add_verdict(cid, verdict, dedup_key=key)
        with self._lock:
            self.on_verdict(cand, verdict)
        return log_path

    def _plan(self, inst: SWEInstance, cands: list[tuple[int, Candidate]]) -> list[_Job]:
        """Intake and dedup one instance's candidates; returns the jobs left to run."""
        try:
            spec = load_spec(inst.repo, inst.version)
            image = self.builder.ensure(inst)
            image_id = self.client.images.get(image).id
        except (SpecError, sources.SourceError, ImageBuildError) as exc:
            for cid, cand in cands:
                self._record(cid, cand, Verdict(Status.INFRA_ERROR, reason=f"environment: {exc}"))
            return []
        read_file = self._reader(inst)
        flaky = self.cache is not None and self.cache.is_flaky(inst.instance_id, image_id)
        groups: dict[str, _Job] = {}
        for cid, cand in cands:
            taken = intake(cand.patch)
            if taken.status is not None:
                self._record(cid, cand, Verdict(taken.status, reason=taken.reason))
                continue
            key = normalised_key(taken.patch, read_file)
            job = groups.get(key)
            if job is None:
                cache_key = verdict_key(inst.instance_id, key, image_id, harness_version())
                job = groups[key] = _Job(inst, spec, image, taken.patch, self.config.flaky_runs if flaky else 1,
                                         [], cache_key, image_id)
            job.members.append((cid, cand, key))
        jobs = []
        for job in groups.values():
            cached = self.cache.get(job.cache_key) if self.cache else None
            if cached is None:
                jobs.append(job)
                continue
            cached.reason = f"cached: {cached.reason}"
            for cid, cand, key in job.members:
                self._record(cid, cand, cached, key)
        return jobs

    def _gold(self, job: _Job, runner: CandidateRunner) -> GoldStatuses | Verdict | None:
        """Gold's per-test statuses for the job's instance and image (None: it ships no gold patch;
        a Verdict: gold does not resolve it here, so no candidate can be judged)."""
        inst = job.inst
        if not inst.patch:
            return None
        with self._gold_locks[inst.instance_id]:
            if inst.instance_id not in self._golds:
                self._golds[inst.instance_id] = gold_record(runner, inst, job.spec, job.image_id, self.cache)
            return self._golds[inst.instance_id]

    def _reader(self, inst: SWEInstance):
        """Reads base files for AST-normalised dedup, or None when the repository is not at hand."""
        try:
            repo = sources.find_repo(inst.repo, self.config.repo_cache)
        except sources.SourceError:
            return None
        return lru_cache(maxsize=256)(lambda path: sources.read_file_at(repo, inst.base_commit, path))

    def _execute(self, jobs: list[_Job]) -> None:
        work: queue.Queue[_Job | None] = queue.Queue()
        for job in sorted(jobs, key=lambda j: j.image):
            work.put(job)
        threads = [threading.Thread(target=self._worker, args=(work,), daemon=True)
                   for _ in range(max(1, min(self.config.workers, len(jobs))))]
        for t in threads:
            work.put(None)
            t.start()
        for t in threads:
            t.join()

    def _worker(self, work: "queue.Queue[_Job | None]") -> None:
        runner: CandidateRunner | None = None
        try:
            while (job := work.get()) is not None:
                if runner is None or runner.image != job.image:
                    if runner is not None:
                        runner.close()
                    runner = CandidateRunner(self.client, job.image, self.config.limits)
                gold = self._gold(job, runner)
                if isinstance(gold, Verdict):
                    verdict = gold  # the instance cannot be judged in this image
                else:
                    verdicts = [runner.judge(job.inst, job.spec, job.patch, gold, self.config.fail_fast)
                                for _ in range(job.runs)]
                    verdict = verdicts[0] if job.runs == 1 else majority(verdicts)
                for n, (cid, cand, key) in enumerate(job.members):
                    log_path = self._record(cid, cand, verdict, key)
                    if n == 0:  # one copy of the log; the other members and the cache point to it
                        verdict.log, verdict.log_ref = "", log_path
                if self.cache is not None:
                    self.cache.put(job.cache_key, verdict)
        finally:
            if runner is not None:
                runner.close()


def gold_key(inst: SWEInstance, image_id: str) -> str:
    return verdict_key(inst.instance_id, "gold-statuses", image_id, harness_version())


def gold_record(runner: CandidateRunner, inst: SWEInstance, spec: EnvSpec, image_id: str,
                cache: VerdictCache | None) -> GoldStatuses | Verdict:
    """Gold's statuses from the cache, or judged now (and cached: `validate` records them too)."""
    record = cache.get_gold(gold_key(inst, image_id)) if cache is not None else None
    if record is None:
        verdict, gold = runner.judge_gold(inst, spec)
        if not verdict.status.is_judgement:
            return verdict  # an infrastructure fault: tried again next time
        record = {"resolved": gold is not None, "reason": verdict.reason,
                  "statuses": gold.statuses if gold else {}, "first": gold.first if gold else None}
        if cache is not None:
            cache.put_gold(gold_key(inst, image_id), record)
    if not record["resolved"]:
        return Verdict(Status.INFRA_ERROR, reason="the gold patch does not resolve this instance in its image, "
                       f"so no candidate can be judged: {record['reason']} (swe-monkeys validate re-checks it)")
    return GoldStatuses(statuses=record["statuses"], first=record.get("first"))
