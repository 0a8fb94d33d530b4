"""`swe-monkeys report` on a real run store filled with hand-made candidates and verdicts, through
the CLI (typer's CliRunner), plus `swe-monkeys bench metrics --json`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from swe_monkeys.cli import app
from swe_monkeys.metrics.report import build_report
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.types import Candidate, Status, Verdict

R, U = Status.RESOLVED, Status.UNRESOLVED
# problem -> verdict per sample; None = sampled but not verified yet
SAMPLES = {
    "astropy__astropy-12907": [R, U, R, U],
    "django__django-11099": [U, U, Status.APPLY_FAILED, U, Status.INFRA_ERROR],  # infra error: not counted
    "sympy__sympy-20590": [R, R, Status.EMPTY, R, None],  # unverified: not counted
}


def make_run(run_dir, samples=SAMPLES, model="deepseek-coder-v2", benchmark="swe-bench-lite"):
    with RunStore(run_dir) as store:
        if model:
            store.set_meta("model", model)
        if benchmark:
            store.set_meta("benchmark", benchmark)
        for problem, statuses in samples.items():
            for i, status in enumerate(statuses):
                cid = store.add_candidate(
                    Candidate(problem, f"diff --git a/x b/x {i}", model or "", i), prompt_tokens=10_000,
                    completion_tokens=1_000, seconds=3.0,
                    meta={"answer": f"{problem}-{status.value if status else 'none'}", "score": float(status is R)})
                if status is not None:
                    store.add_verdict(cid, Verdict(status, reason="hand-made"))
    return run_dir


@pytest.fixture
def run_dir(tmp_path):
    return make_run(tmp_path / "run")


def test_coverage_excludes_unverified_samples_and_infra_errors(run_dir):
    report = build_report(run_dir)
    assert report.n_problems == 3 and (report.samples_min, report.samples_max) == (4, 4)
    assert report.excluded == {"unverified": 1, "infra_error": 1, "problems_without_verdicts": 0}
    at = dict(zip(report.ks, report.coverage.values))
    assert at[1] == pytest.approx((2 / 4 + 0 + 3 / 4) / 3)
    assert at[4] == pytest.approx(2 / 3)
    assert [c.name for c in report.curves] == ["coverage", "majority vote", "best-of-k by score",
                                               "score-weighted vote"]
    assert report.beta is not None and report.power_law is not None


def test_table1_from_the_run_has_the_run_as_reference(run_dir):
    report = build_report(run_dir)
    run_row, *baselines = report.table1
    # deepseek-coder-v2 list prices: 10k prompt tokens x $0.14/M + 1k completion x $0.28/M per sample
    assert run_row.dollars_per_attempt == pytest.approx(0.00168)
    assert run_row.attempts == 1  # pass@1 = 41.7% already beats every baseline
    assert run_row.solved_pct == pytest.approx(100 * 5 / 12)
    assert report.table1_relative[0] == 1.0
    gpt = next(i for i, row in enumerate(report.table1) if row.model == "GPT-4o")
    assert report.table1_relative[gpt] == pytest.approx(0.13 / 0.00168)
    assert [b.model for b in baselines] == ["DeepSeek-Coder-V2-Instruct", "GPT-4o", "Claude 3.5 Sonnet"]


def test_cli_prints_tables_and_writes_self_contained_html(run_dir, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["report", str(run_dir), "--out", str(out), "--bootstrap", "200"])
    assert result.exit_code == 0, result.output
    for heading in ("Coverage: unbiased pass@k", "Scaling fits", "Cost: deepseek-coder-v2", "Table 1", "1x"):
        assert heading in result.stdout
    assert {p.name for p in out.iterdir()} == {"coverage.png", "cost.png", "report.html", "report.json"}
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2 and 'src="http' not in page
    data = json.loads((out / "report.json").read_text())
    assert data["n_problems"] == 3 and data["table1"][0]["attempts"] == 1
    assert (out / "coverage.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unpriced_model_still_reports_coverage(tmp_path):
    run_dir = make_run(tmp_path / "run", model="my-local-model", benchmark=None)
    result = CliRunner().invoke(app, ["report", str(run_dir), "--no-plots"])
    assert result.exit_code == 0, result.output
    assert "no price for model 'my-local-model'" in result.stdout and "Table 1" not in result.stdout
    assert not (run_dir / "report" / "cost.png").exists() and (run_dir / "report" / "report.html").exists()


def test_model_option_prices_the_run(tmp_path):
    run_dir = make_run(tmp_path / "run", model="my-local-model", benchmark=None)
    result = CliRunner().invoke(app, ["report", str(run_dir), "--no-plots", "--model", "gpt-4o",
                                      "--benchmark", "swe-bench-lite"])
    assert result.exit_code == 0, result.output
    assert "Cost: gpt-4o list prices" in result.stdout and "Table 1" in result.stdout


@pytest.mark.parametrize("case", ["no_store", "missing_dir", "empty_run", "nothing_judged"])
def test_bad_input_is_one_line_and_non_zero(tmp_path, case):
    run_dir = tmp_path / "run"
    if case == "no_store":
        run_dir.mkdir()
    elif case == "empty_run":
        RunStore(run_dir).close()
    elif case == "nothing_judged":
        make_run(run_dir, samples={"p-1": [None, None]})
    result = CliRunner().invoke(app, ["report", str(run_dir)])
    assert result.exit_code == (2 if case in ("no_store", "missing_dir") else 1)  # not a run at all: usage (2)
    assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ")
    if case in ("no_store", "missing_dir"):
        assert not (run_dir / "run.sqlite").exists()  # reporting must never create a store


def test_bench_metrics_json():
    result = CliRunner().invoke(app, ["bench", "metrics", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["n_problems"] == 300 and data["n_samples"] == 10_000 and data["n_k_values"] == 40
    assert data["seconds"] > 0 and data["peak_rss_mb"] > 0
