"""What a run's verdicts were judged under, kept in the run: settings that decide verdicts besides the
candidate itself (a program task's timeout: a program that needs 4 s passes at 10 s, fails at 3 s).

A task with such settings has `settle(recorded) -> settings` (tasks/code.py's ProgramTask): given
the run's record it says what it judges by now (what it was asked for, else the record, else the
dataset's convention). `settle_run(store, task)` records that in the run (meta "judging") before
candidates are judged; when it differs from the record, the verdicts whose share key is not the
one the task gives now (keys carry the settings) are dropped, so the next pass judges them again:
a verdict reached at 3 s is never served at 10 s. A run judged before settings were recorded (its
keys carry none) is judged again the same way.
"""

from __future__ import annotations

from typing import Any, Callable

from swe_monkeys.store.run_store import RunStore
from swe_monkeys.tasks import TaskProblem


def recorded(store: RunStore) -> dict[str, Any]:
    return dict(store.get_meta("judging") or {})


def settle_run(store: RunStore, task: Any, share_key: Callable[[Any, TaskProblem, str, dict], str]) -> int:
    """Record the task's settings in the run; returns how many verdicts were dropped for judging
    again. `share_key(task, problem, content, meta)`: the pipeline's key for a candidate now."""
    settle = getattr(task, "settle", None)
    if settle is None:  # a task whose verdicts depend on the candidate alone
        return 0
    before = recorded(store)
    now = settle(before)
    if now == before:
        return 0
    store.set_meta("judging", now)
    keys = store.dedup_keys()
    if not keys:
        return 0
    problems = {row["id"]: TaskProblem.from_json(row) for row in store.problems()}
    metas = store.candidate_metas(keys)
    stale = [cid for cid, cand in store.candidates() if cid in keys and cand.problem_id in problems
             and keys[cid] != share_key(task, problems[cand.problem_id], cand.content, metas.get(cid, {}))]
    return store.drop_verdicts(stale)


def settle_strict(store: RunStore, mode: str | None) -> int:
    """With a strict mode asked (SWE-bench `--strict`), the resolved verdicts that carry no strict
    record of that mode (or one to retry: the infrastructure failed it) are dropped, with every verdict
    shared under their keys, so that this pass judges them again (a verdict that did not resolve is the same with or without strict, and
    stays). Returns how many were dropped."""
    if not mode:
        return 0
    verdicts, keys = store.verdicts(), store.dedup_keys()
    candidates = dict(store.candidates())
    stale = {(candidates[cid].problem_id, keys.get(cid) or f"#{cid}") for cid, v in verdicts.items()
             if cid in candidates and v.resolved and (v.strict.get("mode") != mode or v.strict.get("retry"))}
    if not stale:
        return 0
    return store.drop_verdicts([cid for cid in verdicts if cid in candidates
                                and (candidates[cid].problem_id, keys.get(cid) or f"#{cid}") in stale])

