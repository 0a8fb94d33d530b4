"""Library entry points behind `swe-monkeys verify PREDICTIONS` and `swe-monkeys validate`.

They take paths and a config, return data, and never print: the CLI layer does the talking.
"""

from __future__ import annotations

import fnmatch
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable

from swe_monkeys.store.run_store import RunStore
from swe_monkeys.swebench.dataset import DatasetError, load_instances, load_predictions
from swe_monkeys.swebench.checker import VerifyConfig
from swe_monkeys.tasks.pipeline import record_task, verify_run
from swe_monkeys.tasks.swebench import SWEBench
from swe_monkeys.types import Candidate, SWEInstance, Verdict
from swe_monkeys.swebench.validation import validate  # noqa: F401 (the CLI's entry point)


def verify_predictions(predictions: Path, instances: Path, run_dir: Path, config: VerifyConfig,
                       on_verdict: Callable[[Candidate, Verdict], None] = lambda c, v: None,
                       log: Callable[[str], None] = lambda line: None, ids: list[str] | None = None,
                       on_start: Callable[[int], None] = lambda pending: None, cluster: Any = None) -> RunStore:
    """Record predictions in the run store at run_dir and verify whatever is not verified yet
    (only the instances matching `ids`, ids or globs, when given): SWE-bench runs through the same
    task pipeline as every other task. `on_start` learns how many candidates are pending; `cluster`
    (a cluster.ClusterSpec) verifies on Ray actors."""
    store, task = import_predictions(predictions, instances, run_dir, config, ids)
    on_start(len(store.candidates(unverified_only=True)))
    verify_run(store, task, on_verdict=on_verdict, options=checker_options(config, log), cluster=cluster)
    return store


def verify_instances(store: RunStore, instances: list[SWEInstance], config: VerifyConfig,
                     on_verdict: Callable[[Candidate, Verdict], None] = lambda c, v: None) -> dict[str, int]:
    """Record `instances` as the run's problems and verify its unverified candidates; counts by status."""
    task = SWEBench(repo_cache=config.repo_cache, allow_clone=config.allow_clone)
    record_task(store, task, [task.problem(inst) for inst in instances], None)
    store.drop_infra_errors()
    verify_run(store, task, on_verdict=on_verdict, options=checker_options(config))
    return dict(Counter(v.status.value for v in store.verdicts().values()))


def checker_options(config: VerifyConfig, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    return {"workers": config.workers, "flaky_runs": config.flaky_runs, "use_cache": config.use_cache,
            "fail_fast": config.fail_fast, "limits": config.limits, "strict": config.strict, "log": log}


def import_predictions(predictions: Path, instances: Path, run_dir: Path, config: VerifyConfig,
                       ids: list[str] | None = None) -> tuple[RunStore, SWEBench]:
    """A run holding exactly the file's candidates (see `sync_candidates`), infra errors dropped."""
    candidates = load_predictions(predictions)
    if ids:
        candidates = [c for c in candidates if any(fnmatch.fnmatchcase(c.problem_id, p) for p in ids)]
        if not candidates:
            raise DatasetError(f"{predictions}: no prediction for an instance matching {', '.join(ids)}")
    wanted = sorted({c.problem_id for c in candidates})
    known = {i.instance_id: i for i in load_instances(instances)}
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise DatasetError(f"{predictions}: {len(unknown)} instance ids not in {instances}: "
                           f"{', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}")
    task = SWEBench(repo_cache=config.repo_cache, allow_clone=config.allow_clone)
    store = RunStore(run_dir)
    record_task(store, task, [task.problem(known[i]) for i in wanted], str(instances))
    chosen = (lambda pid: any(fnmatch.fnmatchcase(pid, p) for p in ids)) if ids else (lambda pid: True)
    sync_candidates(store, candidates, chosen)  # --id: the other instances' candidates stay
    store.drop_infra_errors()
    return store, task


def sync_candidates(store: RunStore, candidates: list[Candidate],
                    scope: Callable[[str], bool] = lambda instance_id: True) -> None:
    """Make the run's candidates of the instances in `scope` (all, or those `--id` chose) exactly
    the file's, identified by content (instance, model name, patch), not by line position: a line
    whose patch changed is a new candidate and its old patch leaves the run (its verdict stays in
    the cross-run cache). Candidates of instances outside `scope` are left as they are."""
    wanted: dict[tuple[str, str, str], int] = Counter((c.problem_id, c.model, c.content) for c in candidates)
    have: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for cid, cand in store.candidates():
        if scope(cand.problem_id):
            have[(cand.problem_id, cand.model, cand.content)].append(cid)
    stale = []
    for key, ids in have.items():
        stale += ids[wanted.get(key, 0):]
    store.remove_candidates(stale)
    for key, count in wanted.items():
        for _ in range(count - len(have.get(key, []))):
            store.add_candidate(Candidate(key[0], key[2], key[1], store.next_index(key[0])))
