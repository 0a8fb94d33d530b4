"""Coverage under strict re-checks (SWE-bench `--strict`): a resolved candidate counts only when strict_ok.

Pure functions over the sample table (its `strict` column: the verdict's strict record, None where
there is none). They sit *beside* the plain figures: a strict flag leaves the verdict resolved
(SWE-bench's own rule), while the strict figures say how much of the coverage survives the
repository's wider tests behaving as they do under gold. A resolved candidate without a strict
record (judged before --strict) counts as not strict_ok, and is counted apart so that a reader sees it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Optional

import numpy as np

STRICT_OK = "strict_ok"


def strict_ok(row: dict[str, Any]) -> bool:
    """Resolved, and re-checked strict_ok."""
    return row["status"] == "resolved" and (row.get("strict") or {}).get("status") == STRICT_OK


def strict_counts(rows: list[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """Resolved candidates by strict status, those without a record, and the flagged ones with their
    tests; None when no resolved candidate carries a strict record (a run without --strict)."""
    resolved = [r for r in rows if r["status"] == "resolved"]
    checked = [r for r in resolved if r.get("strict")]
    if not checked:
        return None
    by_status = Counter(r["strict"]["status"] for r in checked)
    seconds = [float(r["strict"].get("seconds") or 0.0) for r in checked]
    flagged = [{"problem_id": r["problem_id"], "sample_idx": r["sample_idx"], "status": r["strict"]["status"],
                "regressions": [x["test"] for x in r["strict"].get("regressions") or []],
                "differences": [x["test"] for x in r["strict"].get("differences") or []],
                "reason": r["strict"].get("reason", "")}
               for r in checked if r["strict"]["status"] != STRICT_OK]
    return {"resolved": len(resolved), "checked": len(checked), "not_checked": len(resolved) - len(checked),
            "by_status": dict(sorted(by_status.items())), "mode": checked[0]["strict"].get("mode", ""),
            "seconds_per_checked": sum(seconds) / len(seconds),
            "gold_seconds": sum(float(r["strict"].get("gold_seconds") or 0.0) for r in checked),
            "candidates": flagged}


def strict_resolved_counts(rows: list[dict[str, Any]], ids: list[str]) -> np.ndarray:
    """Per problem (in `ids` order, report.judged_counts's), how many judged samples are strict_ok."""
    c: Counter = Counter()
    for row in rows:
        if row["status"] not in (None, "infra_error"):
            c[row["problem_id"]] += strict_ok(row)
    return np.array([c[i] for i in ids], dtype=np.int64)


def strict_share_line(counts: dict[str, Any]) -> str:
    """'strict (changed): 3 of 40 resolved candidates flagged (2 strict_regression, 1 strict_differs) ...'"""
    flagged = {s: n for s, n in counts["by_status"].items() if s != STRICT_OK}
    what = ", ".join(f"{n} {s}" for s, n in flagged.items()) or "none"
    share = sum(flagged.values()) / counts["checked"]
    line = (f"strict re-checks ({counts['mode']}): {sum(flagged.values())} of {counts['checked']} resolved candidates "
            f"flagged ({100 * share:.1f}%: {what}); {counts['seconds_per_checked']:.1f} s more per resolved "
            f"candidate, {counts['gold_seconds']:.0f} s of gold's runs in all")
    if counts["not_checked"]:
        line += f"; {counts['not_checked']} resolved without a strict record count as not strict_ok"
    return line
