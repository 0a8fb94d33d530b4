"""The end-of-sweep table for math and code runs: per problem what was sampled and judged, whether any
sample is correct (coverage) and whether the plurality answer is (majority vote, the verifier-free pick).

Pure over the run store's sample table; `report` gives the curves over k.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Optional

from swe_monkeys.store.run_store import RunStore


def coverage_rows(store: RunStore) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    return summarize_samples(store.sample_table(), [p["id"] for p in store.problems()])


def summarize_samples(rows: list[dict[str, Any]], order: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-problem rows (in `order`, then any others) and totals: coverage, mean pass@1, majority vote."""
    per: dict[str, dict[str, Any]] = {pid: _empty(pid) for pid in order}
    for row in rows:
        s = per.setdefault(row["problem_id"], _empty(row["problem_id"]))
        s["samples"] += 1
        if row["status"] in (None, "infra_error"):
            continue
        s["judged"] += 1
        s["correct"] += bool(row["resolved"])
        meta = row["meta"] or {}
        answer = meta.get("answer")
        s["_distinct"].add(answer if answer is not None else meta.get("content_key"))
        if answer is not None:
            s["_votes"][answer] += 1
            s["_right"][answer] = s["_right"].get(answer, False) or bool(row["resolved"])
    out = []
    for s in per.values():
        votes, right, distinct = s.pop("_votes"), s.pop("_right"), s.pop("_distinct")
        s["distinct"] = len(distinct - {None})  # distinct answers (math) or programs (code)
        s["majority_correct"] = _plurality_correct(votes, right)
        out.append(s)
    judged = [s for s in out if s["judged"]]
    voted = [s for s in judged if s["majority_correct"] is not None]
    totals = {"problems": len(judged),
              "coverage": sum(s["correct"] > 0 for s in judged) / len(judged) if judged else 0.0,
              "pass_at_1": sum(s["correct"] / s["judged"] for s in judged) / len(judged) if judged else 0.0,
              "majority": (sum(bool(s["majority_correct"]) for s in judged) / len(judged)) if voted else None}
    return out, totals


def _empty(pid: str) -> dict[str, Any]:
    return {"problem_id": pid, "samples": 0, "judged": 0, "correct": 0, "_votes": Counter(), "_right": {},
            "_distinct": set()}


def _plurality_correct(votes: Counter, right: dict) -> Optional[bool]:
    """Whether the most common answer is correct; a tie counts as correct only if all tied ones are."""
    if not votes:
        return None
    top = max(votes.values())
    return all(right[a] for a, n in votes.items() if n == top)
