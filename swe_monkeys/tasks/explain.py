"""Why each candidate of a run got its verdict, read from the run store alone (no engine).

- `candidate_rows(store)`: one row per candidate, in the run's order: its id (the store's, what
  `logs/<id>.log` is named by), problem, index (`PROBLEM#INDEX` names it too), model, status
  (None: not judged yet), the verdict's reason (or, unjudged, why extraction failed), the
  extraction status, the tamper flags of a resolved one and its strict status (SWE-bench
  `--strict`, None without). The list of `swe-monkeys show RUN` and the `candidates` of `--json`.
- `candidate_detail(store, ref)`: one candidate in full: the verdict with its whole reason, every
  test's status, how the patch was applied, runs, what the harness put back, flags, the log's path.
- `run_summary(store, task)`: the JSON object of `verify/sweep/solve --json`: every candidate (as
  above), the coverage table and its totals, with counts by status.
- `kept(run_dir, problems)`: how many candidates and verdicts a run holds (what an interrupt kept).

Pure reads: nothing here writes the store or prints.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Optional

from swe_monkeys.store.run_store import RunStore
from swe_monkeys.tasks import TaskError
from swe_monkeys.tasks.summary import coverage_rows

PASSED = "PASSED"


def candidate_rows(store: RunStore) -> list[dict[str, Any]]:
    """One row per candidate (see the module docstring), ordered by problem and index."""
    verdicts, metas = store.verdicts(), store.candidate_metas()
    flags = {(r["problem_id"], r["sample_idx"]): r["flags"] for r in store.sample_table()}
    out = []
    for cid, cand in store.candidates():
        verdict, meta = verdicts.get(cid), metas.get(cid, {})
        extract = meta.get("extract_status")
        reason = verdict.reason if verdict is not None else (meta.get("extract_reason") or
                                                             (extract if extract not in (None, "ok") else ""))
        out.append({"id": cid, "problem": cand.problem_id, "index": cand.index, "model": cand.model,
                    "status": verdict.status.value if verdict is not None else None, "reason": reason,
                    "extract": extract, "flags": flags.get((cand.problem_id, cand.index)) or [],
                    "strict": (verdict.strict or {}).get("status") if verdict is not None else None})
    return out


def candidate_detail(store: RunStore, ref: str) -> dict[str, Any]:
    """The candidate `ref` names (its id, or PROBLEM#INDEX) with everything its verdict holds."""
    rows = candidate_rows(store)
    row = next((r for r in rows if ref in (str(r["id"]), f"{r['problem']}#{r['index']}")), None)
    if row is None:
        span = f"ids {rows[0]['id']}..{rows[-1]['id']}" if rows else "it has no candidates"
        raise TaskError(f"{store.dir}: no candidate {ref!r} ({span}; or PROBLEM#INDEX)")
    verdict = store.verdicts().get(row["id"])
    meta = store.candidate_metas([row["id"]]).get(row["id"], {})
    detail = {**row, "extract_reason": meta.get("extract_reason", ""), "edit_rules": meta.get("edit_rules", []),
              "verdict": None, "log": None}
    if verdict is None:
        return detail
    summary = verdict.summary()
    summary.pop("log_ref", None)
    # not-passed tests first: they are the why; then the rest, each group in the verdict's order
    summary["tests"] = dict(sorted(verdict.tests.items(), key=lambda item: item[1] == PASSED))
    detail["verdict"] = summary
    if verdict.log_ref:
        detail["log"] = {"path": verdict.log_ref, "exists": Path(verdict.log_ref).is_file()}
    return detail


def run_summary(store: RunStore, task: Any = None, **extra: Any) -> dict[str, Any]:
    """The run, `extra` keys, its candidates, the coverage table and totals: coverage, pass@1, the
    pick's accuracy and the gap (None for a run without selection), candidates, counts by status."""
    rows, totals = coverage_rows(store, task)
    candidates = candidate_rows(store)
    statuses = Counter(c["status"] or "not_judged" for c in candidates)
    strict = Counter(c["strict"] for c in candidates if c["strict"])
    return {"run": str(store.dir), "task": store.get_meta("task"), **extra, "candidates": candidates,
            "problems": rows, "totals": {**totals, "candidates": len(candidates), "statuses": dict(statuses),
                                         **({"strict": dict(strict)} if strict else {})}}


def kept(run_dir: Path, problems: Optional[Iterable[str]] = None) -> Optional[dict[str, int]]:
    """Candidates and verdicts (judgements: an infra error is retried, not kept) the run at `run_dir`
    holds, of `problems` only when given; None where there is no run yet (nothing is created)."""
    if not (Path(run_dir) / RunStore.FILENAME).is_file():
        return None
    wanted = None if problems is None else set(problems)
    with RunStore(run_dir) as store:
        rows = [r for r in store.sample_table() if wanted is None or r["problem_id"] in wanted]
    return {"candidates": len(rows), "verdicts": sum(r["status"] not in (None, "infra_error") for r in rows)}
