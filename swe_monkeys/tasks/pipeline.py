"""Every task through the run store: sample (resumable, growable), extract, judge while sampling goes on.

The one pipeline, for SWE-bench as for math and code:
- `run_task(store, task, problems, sampler, config)`: records the task and its problems in the
  store, lets the task finish its prompts once the model is known (`prepare`, optional), runs the
  sampling phase (sample i of a problem uses seed + i; sampling/phase.py) through
  `ExtractingStore`, which turns each completion into the candidate the task judges, and verifies
  what is unverified while sampling goes on (sampling/overlap.py); `stop_on_success` ends
  sampling once every problem has a resolved candidate, and an `allocation` policy
  (tasks/allocation.py, `sweep --allocate adaptive`) decides, round by round, which problems the
  sampling step still fills.
- `verify_run(store, task)`: judges every unverified candidate of a run (after sampling, `import`
  or a predictions file); candidates of a problem with one share key (`share_key`) are judged once, in this
  pass or any earlier one, `checker.parallel` at a time. Every verdict is written as it is
  reached. Infra errors are kept and retried next time.
- `open_checker(task, options, cluster)`: the task's checker here, or, given a cluster
  (cluster.ClusterSpec, `--ray`), a Verifier whose judge calls run in Ray actors that each hold the
  task's own checker on a Docker node (cluster/verifiers.py); both pipelines above judge through it.

A completion that yields no answer, program or patch is still a sample: it is stored with its
reason and judged, so it stays in the coverage denominator.
"""

from __future__ import annotations

import hashlib
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

from swe_monkeys.sampling.accounting import Budget
from swe_monkeys.sampling.overlap import overlap
from swe_monkeys.sampling.problems import Problem
from swe_monkeys.sampling.protocol import SamplingParams
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.tasks import Extracted, Task, TaskError, TaskProblem
from swe_monkeys.tasks.judging import settle_run, settle_strict
from swe_monkeys.types import Candidate, Status, Verdict

OnVerdict = Callable[[Candidate, Verdict], None]


def content_key(content: str) -> str:
    """Identical candidates (modulo trailing whitespace per line) share a key and a verdict."""
    text = "\n".join(line.rstrip() for line in content.strip().splitlines())
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def key_of(task: Task, problem: TaskProblem, content: str) -> str:
    """The task's own key (SWE-bench: the normalised patch), else `content_key`."""
    own = getattr(task, "content_key", None)
    return own(problem, content) if own is not None else content_key(content)


def share_key(task: Task, problem: TaskProblem, content: str, meta: dict) -> str:
    """The key under which candidates of a problem get one verdict without each being judged: the
    task's `share_key` where it has one (SWE-bench: the exact patch text; its content key is only a
    grouping hint, and its checker shares verdicts only by the tree the harness applied), else the
    content key."""
    own = getattr(task, "share_key", None)
    if own is not None:
        return own(problem, content)
    return meta.get("content_key") or key_of(task, problem, content)


class ExtractingStore:
    """The run store as the sampling phase sees it: completions become judged candidates on the way in."""

    def __init__(self, store: RunStore, task: Task, problems: dict[str, TaskProblem]):
        self._store, self._task, self._problems = store, task, problems

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def add_candidate(self, candidate: Candidate, *, meta: Optional[dict] = None, **usage: Any) -> int:
        problem = self._problems[candidate.problem_id]
        extracted = extract_safely(self._task, problem, candidate.content)
        meta = {**(meta or {}), **extracted.meta}
        if extracted.content != candidate.content:
            meta["completion"] = candidate.content
        if extracted.content and meta.get("extract_status") == "ok" and "content_key" not in meta:
            meta["content_key"] = key_of(self._task, problem, extracted.content)
        return self._store.add_candidate(replace(candidate, content=extracted.content), meta=meta, **usage)


def extract_safely(task: Task, problem: TaskProblem, completion: str) -> Extracted:
    """task.extract, with a bug in an extractor recorded on the sample instead of killing the run."""
    try:
        return task.extract(problem, completion)
    except Exception as exc:  # the sample is kept; the reason says what went wrong
        return Extracted(content=completion, meta={"extract_status": f"extract_error: {type(exc).__name__}: "
                                                             f"{str(exc)[:200]}", "answer": None})


def task_of(store: RunStore, **options: Any) -> Task:
    """The task a run was made with (registered by name, or by its module path)."""
    from swe_monkeys.tasks import TASKS, get_task

    name = store.get_meta("task")
    if not name:
        raise TaskError(f"{store.dir}: not a run (no task recorded); give predictions to verify SWE-bench patches")
    return get_task(name if name in TASKS.names() else store.get_meta("task_path") or name, **options)


def problems_of(store: RunStore) -> dict[str, TaskProblem]:
    return {row["id"]: TaskProblem.from_json(row) for row in store.problems()}


def record_task(store: RunStore, task: Task, problems: list[TaskProblem], source: Optional[str]) -> None:
    """The run remembers its task and problems, so verify/report need nothing but the run directory."""
    known = store.get_meta("task")
    if known and known != task.name:
        raise TaskError(f"{store.dir} is a {known} run, not {task.name}")
    store.set_meta("task", task.name)
    settle_run(store, task, share_key)  # the settings its verdicts are judged under (judging.py)
    # Where the task class lives: `verify --run` and `report` find a task that is not registered
    # (a benchmark in its own module, named `--task module:Class`) there.
    store.set_meta("task_path", f"{type(task).__module__}:{type(task).__qualname__}")
    if not store.get_meta("benchmark"):  # what the report looks up baselines by
        store.set_meta("benchmark", task.name)
    if source and not store.get_meta("dataset"):
        store.set_meta("dataset", str(source))
    store.add_problems([p.to_json() for p in problems])


def open_checker(task: Task, options: Optional[dict] = None, cluster: Any = None) -> Any:
    """The task's checker (a context manager): here, or on the Ray cluster `cluster` describes."""
    if cluster is None:
        return task.checker(options)
    from swe_monkeys.cluster.verifiers import cluster_checker

    return cluster_checker(task, options, cluster)


def verify_run(store: RunStore, task: Task, checker: Any = None, on_verdict: OnVerdict = lambda c, v: None,
               options: Optional[dict] = None, cluster: Any = None) -> int:
    """Judge the run's unverified candidates (one verdict per key of a problem); returns how many
    verdicts were written. `checker`: an open one to reuse, else one is opened here (on `cluster`)."""
    settle_run(store, task, share_key)  # a pass under other settings judges the run again (judging.py)
    settle_strict(store, (options or {}).get("strict"))  # resolved verdicts judged without --strict
    pending = store.candidates(unverified_only=True)
    if not pending:
        return 0
    if checker is None:
        with open_checker(task, options, cluster) as opened:
            return verify_run(store, task, opened, on_verdict)
    problems, metas = problems_of(store), store.candidate_metas(cid for cid, _ in pending)
    known = store.verdicts_by_key()  # candidates judged in earlier passes are not judged again
    groups: dict[tuple[str, str], list[tuple[int, Candidate]]] = defaultdict(list)
    for cid, cand in pending:
        if cand.problem_id not in problems:
            raise TaskError(f"{store.dir}: candidate for unknown problem {cand.problem_id!r}")
        key = share_key(task, problems[cand.problem_id], cand.content, metas.get(cid, {}))
        groups[(cand.problem_id, key)].append((cid, cand))
    lock, written = threading.Lock(), [0]

    def record(pid_key: tuple[str, str], verdict: Verdict) -> None:
        with lock:
            for n, (cid, cand) in enumerate(groups[pid_key]):
                log_path = store.add_verdict(cid, verdict, dedup_key=pid_key[1])
                if n == 0 and verdict.log:  # one copy of the log; the other members point to it
                    verdict = replace(verdict, log="", log_ref=log_path)
                on_verdict(cand, verdict)
                written[0] += 1

    fresh = []
    for pid_key, members in groups.items():
        if pid_key in known:
            record(pid_key, known[pid_key])
        else:
            fresh.append(pid_key)
    _judge_all(checker, problems, metas, groups, fresh, record)
    return written[0]


def _judge_all(checker: Any, problems, metas, groups, fresh, record) -> None:
    """One judge call per problem, or, for a checker that judges `parallel` candidates at once, one
    per candidate from that many threads (each verdict recorded the moment it is reached)."""
    parallel = int(getattr(checker, "parallel", 1) or 1)
    if parallel <= 1:
        by_problem: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for pid_key in fresh:
            by_problem[pid_key[0]].append(pid_key)
        for pid, keys in by_problem.items():
            batch = [(groups[k][0][1].content, metas.get(groups[k][0][0], {})) for k in keys]
            for k, verdict in zip(keys, checker.judge(problems[pid], batch)):
                record(k, verdict)
        return
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = {pool.submit(checker.judge, problems[k[0]], [(groups[k][0][1].content,
                                                                metas.get(groups[k][0][0], {}))]): k for k in fresh}
        for future in as_completed(futures):
            record(futures[future], future.result()[0])


@dataclass
class TaskRunConfig:
    samples: int  # per problem (a run holding fewer gets the missing ones)
    params: SamplingParams = field(default_factory=lambda: SamplingParams(temperature=0.6, max_tokens=512))
    verify: bool = True
    concurrency: int = 8
    budget: Budget = field(default_factory=Budget)
    price_as: str = ""  # the configs/pricing.yaml model dollars are counted as (default: the sampler's)
    checker_options: dict = field(default_factory=dict)
    stop_on_success: bool = False  # stop sampling once every problem has a resolved candidate
    poll_seconds: float = 0.5
    allocation: Any = None  # tasks.allocation.AdaptiveAllocation: samples in rounds where they help (None: k each)
    hosting: Optional[dict] = None  # sampling.hosting.Hosting.to_json(): the serving hardware, for its dollars
    cluster: Any = None  # a cluster.ClusterSpec: verify in Ray actors across a cluster (None: here)

    def sample_config(self):
        from swe_monkeys.sampling.phase import SampleConfig

        return SampleConfig(samples=self.samples, params=self.params, concurrency=self.concurrency,
                            budget=self.budget, price_as=self.price_as, hosting=self.hosting)


@dataclass
class TaskRunResult:
    progress: Any  # the final Progress
    stopped_early: bool
    winners: dict[str, Candidate]  # problem -> its first resolved candidate
    failures: dict[str, str] = field(default_factory=dict)  # problem -> why its samples could not be drawn


def run_task(store: RunStore, task: Task, problems: list[TaskProblem], sampler: Any, config: TaskRunConfig,
             source: Optional[str] = None, on_progress: Callable[[Any], None] = lambda p: None,
             on_verdict: OnVerdict = lambda c, v: None) -> TaskRunResult:
    """Sample up to `config.samples` per problem and judge them as they arrive (`on_verdict` hears
    each verdict as it is written)."""
    from swe_monkeys.sampling.phase import sample_problems
    from swe_monkeys.sampling.progress import Snapshots, price_of

    model = sampler.identity().get("model", "")  # an unreachable endpoint fails here, before any thread
    prepare = getattr(task, "prepare", None)
    if prepare is not None:
        problems = prepare(problems, sampler, store, config.params)
    record_task(store, task, problems, source)
    settle_strict(store, config.checker_options.get("strict"))  # resolved verdicts judged without --strict
    by_id = {p.id: p for p in problems}
    snapshot = Snapshots(store, len(problems), config.samples * len(problems), price_of(config.price_as or model),
                         on_progress, hosting=config.hosting)
    stop, stopper = _stopper(store, set(by_id), config.stop_on_success)

    def heard(cand: Candidate, verdict: Verdict) -> None:
        stopper(cand, verdict)
        on_verdict(cand, verdict)

    def sample(on_sample: Callable[..., None]) -> Any:
        wanted = [Problem(p.id, p.prompt) for p in problems]

        def draw(chosen: list[Problem], samples: int) -> Any:  # fill `chosen` up to `samples` each
            return sample_problems(ExtractingStore(store, task, by_id), chosen, sampler,
                                   replace(config.sample_config(), samples=samples), on_sample)

        if config.allocation is not None:
            return config.allocation.run(store, wanted, draw, verifying=config.verify)
        return draw(wanted, config.samples)

    if not config.verify:
        done = overlap(sample, None, snapshot, stop, config.poll_seconds)
    else:
        with open_checker(task, config.checker_options, config.cluster) as checker:  # no Docker: fails before sampling
            done = overlap(sample, lambda: verify_run(store, task, checker, heard), snapshot, stop,
                           config.poll_seconds)
    failures = {k: v for k, v in (store.get_meta("sampling_failures") or {}).items() if k in by_id}
    return TaskRunResult(progress=snapshot(), stopped_early=done.stopped_early, winners=winners(store),
                         failures=failures)


def _stopper(store: RunStore, wanted: set[str], enabled: bool) -> tuple[threading.Event, OnVerdict]:
    stop = threading.Event()
    solved: set[str] = set(winners(store)) & wanted if enabled else set()
    if enabled and wanted <= solved:
        stop.set()

    def on_verdict(cand: Candidate, verdict: Verdict) -> None:
        if enabled and verdict.resolved:
            solved.add(cand.problem_id)
            if wanted <= solved:
                stop.set()

    return stop, on_verdict


def winners(store: RunStore) -> dict[str, Candidate]:
    """Per problem, its resolved candidate with the lowest sample index."""
    verdicts = store.verdicts()
    out: dict[str, Candidate] = {}
    for cid, cand in store.candidates():
        if cand.problem_id not in out and cid in verdicts and verdicts[cid].resolved:
            out[cand.problem_id] = cand
    return out


def malformed(reason: str) -> Verdict:
    """The verdict for a candidate with nothing to judge (no answer, no program)."""
    return Verdict(status=Status.MALFORMED, reason=reason)
