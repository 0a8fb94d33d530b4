"""The end-of-run table of every task: per problem what was sampled and judged, whether any sample is
correct (coverage, an oracle's view) and whether the pick made without the oracle is (selection).

The pick is one rule for every task (metrics/selection.py `plurality_pick`): the candidates that
are real candidates (a judgement, not empty or malformed) and that the task's optional
`vote_ok(problem, verdict)` keeps (SWE-bench drops those that break a PASS_TO_PASS test) vote with
their answer (math) or their content key (code, SWE-bench: equal programs, equal normalised
patches); the largest cluster wins and a tie goes to the cluster sampled first. For math that is
majority vote. Pure over the store's tables; `report` gives the curves over k.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Optional

from swe_monkeys.metrics.selection import plurality_pick
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.types import Candidate, Status

NOT_A_CANDIDATE = {Status.EMPTY.value, Status.MALFORMED.value, Status.TESTS_ONLY.value, Status.APPLY_FAILED.value,
                   Status.INFRA_ERROR.value, None}


def coverage_rows(store: RunStore, task: Any = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-problem rows (in the run's problem order) and totals (see `summarize`)."""
    from swe_monkeys.tasks.pipeline import problems_of

    problems = problems_of(store)
    verdicts = store.verdicts()
    table = store.sample_table()
    vote_ok = getattr(task, "vote_ok", None)
    keep = {}
    if vote_ok is not None:
        ids = {(c.problem_id, c.index): cid for cid, c in store.candidates()}
        for row in table:
            verdict = verdicts.get(ids.get((row["problem_id"], row["sample_idx"])))
            keep[(row["problem_id"], row["sample_idx"])] = verdict is None or vote_ok(problems[row["problem_id"]],
                                                                                      verdict)
    return summarize(table, list(problems), keep)


def summarize(rows: list[dict[str, Any]], order: list[str], keep: Optional[dict] = None
              ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows: samples, valid (extracted), judged, correct, distinct (answers or content keys), covered,
    filtered (dropped by the task's filter), pick (its sample index) and pick_correct. Totals:
    problems, coverage, pass@1, selected accuracy (and its old name `majority`) and the gap.

    A run none of whose judged candidates carries a key to vote with (an answer, a program, a
    normalised patch) has no selection: a predictions file is judged line by line as given, and
    nothing picks among its lines. Its `selected`, `majority` and `gap` are None -- never "selected
    0%, gap = coverage", which would blame a selection that never ran."""
    per: dict[str, dict[str, Any]] = {pid: _empty(pid) for pid in order}
    votes: dict[str, list[tuple[Any, int, bool]]] = defaultdict(list)
    votable = False
    for row in rows:
        s = per.setdefault(row["problem_id"], _empty(row["problem_id"]))
        meta = row["meta"] or {}
        s["samples"] += 1
        s["valid"] += meta.get("extract_status", "ok") == "ok"
        if row["status"] in (None, "infra_error"):
            continue
        s["judged"] += 1
        s["correct"] += bool(row["resolved"])
        key = meta.get("answer") if meta.get("answer") is not None else meta.get("content_key")
        s["_distinct"].add(key)
        votable = votable or key is not None
        if row["status"] in NOT_A_CANDIDATE or key is None:
            continue
        if keep is not None and not keep.get((row["problem_id"], row["sample_idx"]), True):
            s["filtered"] += 1
            continue
        votes[row["problem_id"]].append((key, row["sample_idx"], bool(row["resolved"])))
    out = []
    for pid, s in per.items():
        s["distinct"] = len(s.pop("_distinct") - {None})
        s["covered"] = s["correct"] > 0
        pick = plurality_pick(votes.get(pid, []))
        s["pick"], s["pick_correct"] = (pick[0], pick[1]) if pick else (None, None)
        out.append(s)
    return out, _totals(out, votable)


def _totals(out: list[dict[str, Any]], votable: bool = True) -> dict[str, Any]:
    judged = [s for s in out if s["judged"]]
    n = len(judged)
    voted = [s for s in judged if s["pick"] is not None]
    coverage = sum(s["covered"] for s in judged) / n if n else 0.0
    if not votable:  # nothing to vote with: no selection at all (see `summarize`)
        selected = None
    else:  # a selection that found nothing to pick (every candidate filtered out) picked wrong
        selected = sum(bool(s["pick_correct"]) for s in judged) / n if n and voted else (0.0 if n else None)
    return {"problems": n, "coverage": coverage,
            "pass_at_1": sum(s["correct"] / s["judged"] for s in judged) / n if n else 0.0,
            "selected": selected, "majority": selected if voted else None,
            "gap": None if selected is None else coverage - selected}


def _empty(pid: str) -> dict[str, Any]:
    return {"problem_id": pid, "samples": 0, "valid": 0, "judged": 0, "correct": 0, "filtered": 0,
            "_distinct": set()}


def picked_candidates(store: RunStore, task: Any = None) -> dict[str, Optional[Candidate]]:
    """Problem -> the candidate selection picked (None when none survived), for an export."""
    rows, _ = coverage_rows(store, task)
    by_index = {(c.problem_id, c.index): c for _, c in store.candidates()}
    return {r["problem_id"]: by_index.get((r["problem_id"], r["pick"])) if r["pick"] is not None else None
            for r in rows}
