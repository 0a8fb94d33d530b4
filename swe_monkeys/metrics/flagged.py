"""Resolved, flagged: the resolved candidates whose content the task's static reading flagged.

A pure function over the sample table (its `flags` column: None = not read, [] = read, nothing
found; swe_monkeys/swebench/tamper_flags.py for SWE-bench). It sits *beside* the coverage figures:
a flagged resolution still counts as resolved everywhere, because a static reading is a signal that
a person should look at the patch, not evidence that the verdict is wrong.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Optional


def _reasons(flags: list[dict[str, Any]]) -> list[str]:
    """One line per primitive: its first place and reason, and how many more places there are."""
    first: dict[str, dict[str, Any]] = {}
    count: Counter = Counter()
    for flag in flags:
        first.setdefault(flag["primitive"], flag)
        count[flag["primitive"]] += 1
    return [f"{p} at {f['file']}:{f['line']} ({f['reason']})" + (f" and {count[p] - 1} more" if count[p] > 1 else "")
            for p, f in first.items()]


def flagged_resolutions(rows: list[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """Counts (resolved, read, flagged, per primitive) and each flagged resolution with its reasons;
    None when no resolved candidate was read (a task without a flagger, or an older store)."""
    resolved = [r for r in rows if r["status"] == "resolved"]
    read = [r for r in resolved if r.get("flags") is not None]
    if not read:
        return None
    flagged = [r for r in read if r["flags"]]
    per = Counter(p for r in flagged for p in {f["primitive"] for f in r["flags"]})
    return {"resolved": len(resolved), "read": len(read), "flagged": len(flagged),
            "per_primitive": dict(sorted(per.items())),
            "candidates": [{"problem_id": r["problem_id"], "sample_idx": r["sample_idx"],
                            "reasons": _reasons(r["flags"])} for r in flagged]}
