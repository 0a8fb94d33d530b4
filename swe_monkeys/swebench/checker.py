"""The SWE-bench verifier: a problem's candidate patches -> verdicts, judged in Docker.

`SWEChecker.judge(problem, candidates)` is what the task pipeline (tasks/pipeline.py) calls for
SWE-bench, as it calls the math and code checkers. Per candidate: intake (empty / malformed /
tests-only are verdicts of their own); candidates with one exact patch text are judged once
(identical text applies identically); each text is prepared in a clean container (runner.py), and
only then, by the key of the tree the harness actually applied (tree.applied_key), is the
cross-run verdict cache asked: a hit is the verdict and the tests do not run. That tree key is
the only key under which *different* patch texts share a verdict; the cache key adds the image
digest and judging_files.judgement_key (judging code, spec, the dataset row's judging fields,
limits). Before an instance's first candidate is judged its gold patch is, once per image and
judgement key (cached): a candidate's test counts only with the status it has under gold. On an
instance that `validate` found flaky each candidate runs `flaky_runs` times and the majority decides. Up to
`workers` candidates are judged at once (`parallel`): the pipeline calls `judge` from that many
threads, and this class keeps a few runners (each starting its next container ahead) per image.
With `strict` ("changed" or "full"), each resolved candidate is re-checked against gold on wider
tests (strict/): its verdict carries the strict record, and is cached under a key with the mode.
"""

from __future__ import annotations

import os
import threading
from contextlib import closing
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from swe_monkeys.images import sources
from swe_monkeys.images.builder import ImageBuildError, ImageBuilder
from swe_monkeys.paths import cache_dir
from swe_monkeys.sandbox.docker_sandbox import Limits, docker_client, reap_orphans
from swe_monkeys.sandbox.engine import EngineInterrupted, EngineOutage
from swe_monkeys.store.verdict_cache import VerdictCache, verdict_key
from swe_monkeys.swebench.grading import GoldStatuses
from swe_monkeys.swebench.judging_files import judgement_key
from swe_monkeys.swebench.patches import intake
from swe_monkeys.swebench.runner import CandidateRunner, canary_job, kept_test_files, spec_limits
from swe_monkeys.swebench.spec import EnvSpec, SpecError, load_spec
from swe_monkeys.swebench.strict.runs import StrictJudge, strict_judge
from swe_monkeys.types import Status, SWEInstance, Verdict


CACHED = "cached: "  # how a verdict served from the cache begins its reason
ENGINE_COMEBACKS = 3  # engine restarts survived while one instance's candidates are judged


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
    # Re-check resolved candidates against gold on wider tests: "" (off), "changed" or "full" (strict/).
    strict: str = ""


def instance_of(problem: Any) -> SWEInstance:
    """The SWE-bench instance a TaskProblem carries (its data holds the instance row)."""
    return SWEInstance.from_row(problem.data["instance"])


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


@dataclass
class _Instance:
    """What judging one instance needs, looked up once per checker."""

    inst: SWEInstance
    spec: EnvSpec | None = None
    image: str = ""
    image_id: str = ""
    problem: str = ""  # why the instance cannot be judged ("" when it can)
    gold: GoldStatuses | Verdict | None = None
    gold_done: bool = False
    judged_by: str = ""  # judging_files.judgement_key of the instance under this checker's limits
    strict: StrictJudge | None = None  # made with gold's statuses, when the checker is strict


class SWEChecker:
    """Judges SWE-bench candidates; a context manager (closing removes its containers)."""

    def __init__(self, config: VerifyConfig, log: Callable[[str], None] = lambda line: None):
        self.config, self.parallel = config, max(1, config.workers)
        self.client, self.builder = open_engine(config, log)
        self.cache = VerdictCache() if config.use_cache else None
        self._instances: dict[str, _Instance] = {}
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._idle: "OrderedDict[int, tuple[str, CandidateRunner]]" = OrderedDict()
        self._runners_lock = threading.Lock()
        (cache_dir() / "logs").mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> "SWEChecker":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._drop_idle()

    def _drop_idle(self) -> None:
        with self._runners_lock:
            runners, self._idle = [r for _, r in self._idle.values()], OrderedDict()
        for runner in runners:
            runner.close()

    def judge(self, problem: Any, candidates: Sequence[tuple[str, dict[str, Any]]]) -> list[Verdict]:
        info = self._instance(instance_of(problem))
        if info.problem:
            return [Verdict(Status.INFRA_ERROR, reason=f"environment: {info.problem}") for _ in candidates]
        verdicts: list[Verdict | None] = []
        texts: dict[str, list[int]] = {}  # exact patch as taken in -> the candidates that are it
        for patch, _ in candidates:
            taken = intake(patch)
            if taken.status is None:
                texts.setdefault(taken.patch, []).append(len(verdicts))
            verdicts.append(None if taken.status is None else Verdict(taken.status, reason=taken.reason))
        pending = list(texts)
        for _ in range(ENGINE_COMEBACKS):
            try:
                with closing(self._in_containers(info, list(pending))) as judged:
                    for patch in list(pending):
                        verdict = self._keep(info, next(judged))
                        for n in texts[patch]:
                            verdicts[n] = replace(verdict)
                        pending.remove(patch)
                break
            except EngineInterrupted:  # the engine restarted under these judgements: their containers
                self._drop_idle()      # are gone; what was cut is judged again, never recorded
        else:
            if pending:
                raise EngineOutage(f"the Docker engine stopped answering {ENGINE_COMEBACKS} times while "
                                   f"{info.inst.instance_id} was judged; what was judged is kept: run the "
                                   "same command again to continue")
        return verdicts

    # -- one instance ---------------------------------------------------------------------------
    def _instance(self, inst: SWEInstance) -> _Instance:
        with self._locks[inst.instance_id]:
            info = self._instances.get(inst.instance_id)
            if info is None:
                info = self._instances[inst.instance_id] = self._look_up(inst)
            return info

    def _look_up(self, inst: SWEInstance) -> _Instance:
        info = _Instance(inst)
        try:
            info.spec = load_spec(inst.repo, inst.version, inst.instance_id)
            info.judged_by = judgement_key(inst, info.spec, self._limits(info.spec), self.config.strict)
            info.image = self.builder.ensure(inst, info.spec)
            info.image_id = self.client.images.get(info.image).id
        except (SpecError, sources.SourceError, ImageBuildError) as exc:
            info.problem = str(exc)
        return info

    def _cache_key(self, info: _Instance, tree_key: str) -> str:
        return verdict_key(info.inst.instance_id, tree_key, info.image_id, info.judged_by)

    def _known(self, info: _Instance, prep: dict) -> Verdict | None:
        """The cached verdict of the tree the harness applied (prepare's reply), or None."""
        cached = self.cache.get(self._cache_key(info, prep["tree_key"])) if self.cache is not None else None
        if cached is None and self.config.strict and self.cache is not None:
            # Strict only adds to resolved verdicts: one that did not resolve without it stands.
            plain = judgement_key(info.inst, info.spec, self._limits(info.spec))
            cached = self.cache.get(verdict_key(info.inst.instance_id, prep["tree_key"], info.image_id, plain))
            cached = cached if cached is not None and not cached.resolved else None
        if cached is not None:
            cached.reason = f"{CACHED}{cached.reason}"
        return cached

    def _in_containers(self, info: _Instance, patches: list[str]):
        """Each patch's verdict, in order, as it is reached (the runner applies the next candidate
        while one is tested); on an instance `validate` found flaky, the majority of `flaky_runs`."""
        runner = self._take_runner(info.image, info.spec)
        interrupted = False
        try:
            gold = self._gold(info, runner)
            if isinstance(gold, Verdict):  # the instance cannot be judged in this image
                yield from (replace(gold) for _ in patches)
                return
            flaky = self.cache is not None and self.cache.is_flaky(info.inst.instance_id, info.image_id)
            runs = self.config.flaky_runs if flaky else 1
            strict = self._strict(info, gold)
            with closing(runner.judge_many(info.inst, info.spec, [p for p in patches for _ in range(runs)], gold,
                                           self.config.fail_fast, known=lambda prep: self._known(info, prep),
                                           strict=strict if runs == 1 else None)) as verdicts:
                for patch in patches:
                    judged = [next(verdicts) for _ in range(runs)]
                    cached = [v for v in judged if v.reason.startswith(CACHED)]  # already a majority if flaky
                    verdict = cached[0] if cached else judged[0] if runs == 1 else majority(judged)
                    if strict is not None and verdict.resolved and not verdict.strict:  # by majority
                        verdict.strict = strict.check(runner.run_fresh, patch, verdict, None)
                    yield verdict
        except EngineInterrupted:
            interrupted = True
            raise
        finally:
            if interrupted:  # its containers went with the engine
                runner.close()
            else:
                self._give_back(info.image, runner)

    def _keep(self, info: _Instance, verdict: Verdict) -> Verdict:
        """A verdict reached for an applied tree: its log beside the cache (so a verdict served
        from it points to its log), and the verdict cached under the tree's key. A cached one, or
        one with no applied tree (the patch did not apply), is left as it is."""
        if not verdict.tree_key or verdict.reason.startswith(CACHED) or verdict.strict.get("retry"):
            return verdict
        cache_key = self._cache_key(info, verdict.tree_key)
        if verdict.log:
            path = cache_dir() / "logs" / f"{cache_key}.log"
            path.write_text(verdict.log, errors="replace")
            verdict.log_ref = str(path)
        if self.cache is not None:
            self.cache.put(cache_key, replace(verdict, log=""))
        return verdict

    def _gold(self, info: _Instance, runner: CandidateRunner) -> GoldStatuses | Verdict | None:
        if not info.inst.patch:
            return None
        with self._locks["gold:" + info.inst.instance_id]:
            if not info.gold_done:
                info.gold = gold_record(runner, info.inst, info.spec, info.image_id, self.cache)
                info.gold_done = not isinstance(info.gold, Verdict) or info.gold.status.is_judgement
            return info.gold

    def _strict(self, info: _Instance, gold: GoldStatuses | None) -> StrictJudge | None:
        """The instance's strict judge (made once), or None when the checker is not strict."""
        if not self.config.strict or gold is None:
            return None
        with self._locks["strict:" + info.inst.instance_id]:
            if info.strict is None:
                git_dir = sources.find_repo(info.inst.repo, self.config.repo_cache, allow_clone=self.config.allow_clone)
                own = kept_test_files(info.inst) + list(canary_job(info.inst, info.spec)["targets"])
                key = verdict_key(info.inst.instance_id, "gold-strict", info.image_id, info.judged_by)
                info.strict = strict_judge(info.inst, info.spec, self.config.strict, git_dir, own, gold.tree_key,
                                           self.cache, key)
            return info.strict

    # -- runners: a few per image, each starting its next container ahead -------------------------
    def _take_runner(self, image: str, spec: EnvSpec) -> CandidateRunner:
        with self._runners_lock:
            for key, (img, runner) in list(self._idle.items()):
                if img == image:
                    del self._idle[key]
                    return runner
        return CandidateRunner(self.client, image, self._limits(spec))

    def _limits(self, spec: EnvSpec) -> Limits:
        """The spec's memory limit and stand-ins are the container's (runner.spec_limits)."""
        return spec_limits(self.config.limits, spec)

    def _give_back(self, image: str, runner: CandidateRunner) -> None:
        with self._runners_lock:
            self._idle[id(runner)] = (image, runner)
            spare = list(self._idle.values())[:-self.parallel] if len(self._idle) > self.parallel else []
            for _, old in spare:
                del self._idle[id(old)]
        for _, old in spare:  # the least recently used go: each holds a started container
            old.close()


def gold_key(inst: SWEInstance, spec: EnvSpec, image_id: str, limits: Limits) -> str:
    """Where gold's statuses are cached: the same judgement key as every verdict of the instance."""
    return verdict_key(inst.instance_id, "gold-statuses", image_id, judgement_key(inst, spec, limits))


def gold_record(runner: CandidateRunner, inst: SWEInstance, spec: EnvSpec, image_id: str,
                cache: VerdictCache | None) -> GoldStatuses | Verdict:
    """Gold's statuses from the cache, or judged now (and cached: `validate` records them too)."""
    key = gold_key(inst, spec, image_id, runner.limits)
    record = cache.get_gold(key) if cache is not None else None
    if record is None:
        verdict, gold = runner.judge_gold(inst, spec)
        if not verdict.status.is_judgement:
            return verdict  # an infrastructure fault: tried again next time
        record = gold.record() if gold is not None else {"resolved": False, "reason": verdict.reason, "statuses": {}}
        if cache is not None:
            cache.put_gold(key, record)
    if not record["resolved"]:
        return Verdict(Status.INFRA_ERROR, reason="the gold patch does not resolve this instance in its image, "
                       f"so no candidate can be judged: {record['reason']} (swe-monkeys validate re-checks it)")
    return GoldStatuses.from_record(record)
