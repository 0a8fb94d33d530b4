"""What a model's completions became as edits: shares by status, and how many each recovery rule saved.

`edit_outcome_table(outcomes) -> dict`, a pure function over `EditOutcome`s (a report or the
`bench edits` command prints it):

    {"samples": 16,
     "status": {"no_edits": {"count": 9, "share": 0.5625}, "parse_error": ..., "missing_file": ...,
                "apply_failed": ..., "no_change": ..., "applied": ...},
     "applied": 5, "applied_exact": 1, "rescued": 4,
     "applied_by_rule": {"indentation": 2, "unterminated_block": 3, ...}}

`applied` is status "ok"; `applied_exact` needed no rule; `rescued` needed at least one (a sample the
strict parser would have lost). `applied_by_rule` counts the applied outcomes that needed each rule
(every rule of edit_blocks.RULES, zero included; one outcome can need several, so they may sum past
`rescued`). Statuses outside the usual ones are counted after them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable

from swe_monkeys.swebench.edit_blocks import RULES
from swe_monkeys.swebench.edits import EditOutcome

STATUSES = ("no_edits", "parse_error", "missing_file", "apply_failed", "no_change", "applied")


def _status(outcome: EditOutcome) -> str:
    return "applied" if outcome.ok else outcome.status


def edit_outcome_table(outcomes: Iterable[EditOutcome]) -> dict[str, Any]:
    """Shares by status and applied-by-rule counts of a list of edit outcomes (see the module doc)."""
    outcomes = list(outcomes)
    n = len(outcomes)
    counts = Counter(_status(o) for o in outcomes)
    order = list(STATUSES) + sorted(set(counts) - set(STATUSES))
    applied = [o for o in outcomes if o.ok]
    by_rule = Counter(rule for o in applied for rule in set(o.rules))
    return {
        "samples": n,
        "status": {s: {"count": counts[s], "share": counts[s] / n if n else 0.0} for s in order},
        "applied": len(applied),
        "applied_exact": sum(1 for o in applied if not o.rules),
        "rescued": sum(1 for o in applied if o.rules),
        "applied_by_rule": {rule: by_rule[rule] for rule in RULES}
                           | {rule: by_rule[rule] for rule in sorted(set(by_rule) - set(RULES))},
    }
