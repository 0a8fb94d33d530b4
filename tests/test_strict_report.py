"""Strict figures of a report (issue 24) on hand-made sample tables, and the store's strict column."""

from __future__ import annotations

import numpy as np

from swe_monkeys.metrics.strict import strict_counts, strict_ok, strict_resolved_counts, strict_share_line


def row(problem, idx, status, strict=None):
    return {"problem_id": problem, "sample_idx": idx, "status": status, "resolved": status == "resolved",
            "strict": strict}


OK = {"status": "strict_ok", "mode": "changed", "seconds": 10.0, "gold_seconds": 30.0}
REG = {"status": "strict_regression", "mode": "changed", "seconds": 20.0, "gold_seconds": 0.0,
       "regressions": [{"test": "t.py::test_a", "gold": "PASSED", "candidate": "FAILED"}]}
ROWS = [row("p1", 0, "resolved", OK), row("p1", 1, "resolved", REG), row("p2", 0, "resolved", REG),
        row("p2", 1, "unresolved"), row("p3", 0, "resolved"), row("p3", 1, None), row("p4", 0, "infra_error")]


def test_only_a_strict_ok_resolution_counts():
    assert [strict_ok(r) for r in ROWS] == [True, False, False, False, False, False, False]
    assert strict_resolved_counts(ROWS, ["p1", "p2", "p3"]).tolist() == [1, 0, 0]


def test_counts_name_the_flagged_and_those_without_a_record():
    counts = strict_counts(ROWS)
    assert counts["resolved"] == 4 and counts["checked"] == 3 and counts["not_checked"] == 1
    assert counts["by_status"] == {"strict_ok": 1, "strict_regression": 2}
    assert counts["seconds_per_checked"] == np.float64(50 / 3) and counts["gold_seconds"] == 30.0
    assert [c["regressions"] for c in counts["candidates"]] == [["t.py::test_a"], ["t.py::test_a"]]
    line = strict_share_line(counts)
    assert "2 of 3 resolved candidates flagged (66.7%: 2 strict_regression)" in line
    assert "1 resolved without a strict record" in line


def test_a_run_without_strict_has_no_strict_figures():
    assert strict_counts([row("p1", 0, "resolved"), row("p1", 1, "unresolved")]) is None


def test_the_store_reads_the_strict_record_back(tmp_path):
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.types import Candidate, Status, Verdict

    with RunStore(tmp_path / "run") as store:
        a = store.add_candidate(Candidate("p", "x", "m", 0))
        b = store.add_candidate(Candidate("p", "y", "m", 1))
        store.add_verdict(a, Verdict(Status.RESOLVED, strict=REG))
        store.add_verdict(b, Verdict(Status.RESOLVED))
        table = store.sample_table()
    assert [r["strict"] for r in table] == [REG, None]
