"""Strict figures of a report (issue 24) on hand-made sample tables, and the store's strict column."""

from __future__ import annotations

import json

import numpy as np
import pytest

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


def strict_run(run_dir, model="deepseek-coder-v2"):
    """Two problems, four samples each: p1 resolves twice (once strict_ok, once a regression), p2 once
    (strict_ok); the rest do not resolve."""
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.types import Candidate, Status, Verdict

    plan = {"p1": [("resolved", OK), ("resolved", REG), ("unresolved", None), ("unresolved", None)],
            "p2": [("unresolved", None), ("resolved", OK), ("unresolved", None), ("unresolved", None)]}
    with RunStore(run_dir) as store:
        store.set_meta("model", model)
        store.set_meta("task", "swebench")
        store.set_meta("benchmark", "swe-bench-lite")
        for problem, samples in plan.items():
            for i, (status, strict) in enumerate(samples):
                cid = store.add_candidate(Candidate(problem, f"diff {problem} {i}", model, i), prompt_tokens=10_000,
                                          completion_tokens=1_000, seconds=3.0)
                store.add_verdict(cid, Verdict(Status(status), reason="hand-made", strict=strict or {}))
    return run_dir


def test_report_shows_coverage_and_dollars_per_resolved_under_strict_beside_the_plain_ones(tmp_path):
    import json

    from swe_monkeys.metrics.render import render_json, render_text, write_report_files
    from swe_monkeys.metrics.report import build_report

    report = build_report(strict_run(tmp_path / "run"))
    at = dict(zip(report.ks, report.coverage.values))
    strict_at = dict(zip(report.ks, report.strict["coverage"]["values"]))
    assert at[1] == pytest.approx(3 / 8) and strict_at[1] == pytest.approx(2 / 8)  # the regression no longer counts
    assert at[4] == pytest.approx(1.0) and strict_at[4] == pytest.approx(1.0)  # p1 still has a strict_ok one
    per, per_strict = report.cost.per_resolved, report.strict["per_resolved"]
    assert per_strict[0] == pytest.approx(per[0] * 3 / 2)  # one resolution in three fewer at k = 1
    text = render_text(report)
    assert "strict re-checks (changed): 1 of 3 resolved candidates flagged (33.3%: 1 strict_regression)" in text
    assert "coverage, strict" in text and "per resolved, strict" in text
    assert "p1            1  strict_regression  t.py::test_a" in text
    data = json.loads(render_json(report))
    assert data["strict"]["coverage"]["1"] == pytest.approx(0.25) and data["strict"]["by_status"]["strict_regression"] == 1
    assert data["strict"]["per_resolved"]["1"] == pytest.approx(per_strict[0])
    written = {p.name for p in write_report_files(report, tmp_path / "out")}
    assert {"coverage.png", "cost.png", "report.html"} <= written
    assert "coverage, strict" in (tmp_path / "out" / "report.html").read_text()


def test_a_report_without_strict_has_no_strict_part(tmp_path):
    from swe_monkeys.metrics.render import render_json, render_text
    from swe_monkeys.metrics.report import build_report
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.types import Candidate, Status, Verdict

    with RunStore(tmp_path / "run") as store:
        store.add_verdict(store.add_candidate(Candidate("p", "d", "m", 0)), Verdict(Status.RESOLVED))
    report = build_report(tmp_path / "run")
    assert report.strict is None and "strict re-checks" not in render_text(report).lower()
    assert json.loads(render_json(report))["strict"] is None
