"""`plan` and `report --backtest` tell the truth at the edges (issue 23): a run without a price still
gets its k (dollars unknown, and why), a budget's k is said against the samples measured and is not
forecast past 10,000 x of them, and a forecast of 100% that came true held.

The runs are real: `sweep --task gsm8k` on a local GSM8K file made here, a FAKE scripted model
(`--fake`, named fake-edit: no list price), judged for real with no engine; no `../shared` needed.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.cli_helpers import invoke, nothing_real  # noqa: F401 (nothing_real: an autouse fixture)


def sweep(tmp_path, name: str, answers: list[int], script: list[str], k: int = 8):
    """A run of `k` samples per problem, one problem per entry of `answers` (its gold answer);
    sample i of every problem is script[i % len(script)]."""
    data = tmp_path / f"{name}-data"
    data.mkdir()
    rows = [{"question": f"Question {i}: what is {a}?", "answer": f"{a}\n#### {a}"} for i, a in enumerate(answers)]
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (data / "train.jsonl").write_text(json.dumps({"question": "What is 1?", "answer": "1\n#### 1"}) + "\n")
    fake = tmp_path / f"{name}.json"
    fake.write_text(json.dumps(script))
    run = tmp_path / name
    result = invoke("sweep", "--task", "gsm8k", "--dataset", data, "--run", run, "--fake", fake, "-k", k, "-q")
    assert result.exit_code == 0, result.output
    return run


@pytest.fixture
def pilot(tmp_path):
    """6 problems x 8 samples, coverage 4/6 at k = 8: problems 2, 4, 6, 8 solved once each."""
    return sweep(tmp_path, "pilot", [2, 4, 6, 8, 10, 12],
                 ["The answer is 2.", "#### 4", "no idea", "The answer is 6.", "The answer is 8.", "no", "no", "no"])


def target_line(out: str) -> str:
    return next(line for line in out.splitlines() if "to reach 50% coverage" in line)


# 1. A run without a price: k with dollars unknown, not an error.
def test_target_on_a_run_without_a_price_gives_k_and_says_dollars_are_unknown(pilot):
    result = invoke("plan", pilot, "--target", "0.5")
    assert result.exit_code == 0, result.output
    line = target_line(result.stdout)
    # the pessimistic end may be "beyond 80,000": 4 successes among 6 problems do not promise 50%
    assert re.search(r"^fake-edit to reach 50% coverage on 6 problems: k = \d+ \[\d+ \.\. (beyond )?[\d,]+\], "
                     r"dollars unknown "
                     r"\(no price: see the note\); 1\.\d x the 8 samples per problem measured$", line), line
    assert "price: unknown" in result.stdout
    assert "note: dollars unknown: no price for model 'fake-edit'" in result.stdout
    assert "pass --hardware NAME[:UNITS]" in result.stdout and "not compared with the baselines on cost" in result.stdout

    data = json.loads(invoke("plan", pilot, "--target", "0.5", "--json").stdout)  # one clean JSON object
    assert data["cost"] is None and data["no_price"].startswith("no price for model 'fake-edit'")
    assert data["target"]["k"] >= 1 and data["target"]["dollars"] is None and data["beats"] == []
    assert data["target"]["reach"] == {"k": data["target"]["k"], "multiple": data["target"]["k"] / 8,
                                       "checked": True, "forecast": True}


def test_a_budget_on_a_run_without_a_price_is_one_line(pilot):
    result = invoke("plan", pilot, "--budget-dollars", "1")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [
        "error: --budget-dollars needs a dollar price per sample: no price for model 'fake-edit': no list price "
        "(listed: claude-3-5-sonnet, deepseek-coder-v2, gpt-4o, gpt-4o-2024-05-13) and no serving hardware recorded; "
        "pass --hardware NAME[:UNITS] (configs/pricing.yaml hardware) or --model"]


# 2. How far past the measured k an answer lies: said always, flagged past 100 x, not forecast past 10,000 x.
def test_a_huge_budget_is_not_forecast_past_ten_thousand_times_the_samples_measured(pilot):
    result = invoke("plan", pilot, "--budget-dollars", "1e9", "--model", "gpt-4o")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("gpt-4o with $1,000,000,000"))
    assert re.search(r"k = [\d,]{15,} samples each \(\$1,000,000,000\), \d\.\de\+1\d x the 8 samples per problem "
                     r"measured: past the 10,000 x that any forecast is given for; at k = 80,000 \(\$\d+(\.\d+)?\) "
                     r"coverage [\d.]+% \[[\d.]+% \.\. [\d.]+%\], and past it the data say nothing$", line), line
    budget = json.loads(invoke("plan", pilot, "--budget-dollars", "1e9", "--model", "gpt-4o", "--json").stdout)
    assert budget["reach"] == {"measured_k": 8, "checked_multiple": 100, "checked_k": 800, "max_multiple": 10000,
                               "max_k": 80000}
    b = budget["budget"]
    assert b["k"] > 10 ** 11 and b["k_forecast"] == 80000
    assert b["reach"]["multiple"] > 10 ** 10 and not b["reach"]["forecast"] and not b["reach"]["checked"]


def test_a_k_past_a_hundred_times_the_samples_measured_is_flagged_as_a_guess(pilot):
    result = invoke("plan", pilot, "--budget-dollars", "10", "--model", "gpt-4o")
    assert result.exit_code == 0, result.output
    assert re.search(r"k = [\d,]+ samples each \(\$[\d.]+\), coverage [\d.]+% \[[\d.]+% \.\. [\d.]+%\]; [\d,]+ x the 8 "
                     r"samples per problem measured: past the 100 x that forecasts were checked at, a guess from the "
                     r"fitted prior's shape\n", result.stdout), result.stdout
    near = invoke("plan", pilot, "--budget-dollars", "0.01", "--model", "gpt-4o")
    assert near.exit_code == 0 and re.search(r"%\]; \d+(\.\d)? x the 8 samples per problem measured\n", near.stdout), \
        near.stdout


def test_a_target_beyond_the_reach_of_any_forecast_says_so(pilot):
    result = invoke("plan", pilot, "--target", "0.9999", "--model", "gpt-4o")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if "to reach 99.99% coverage" in line)
    assert "not within k = 80,000 (10,000 x the 8 samples per problem measured: no forecast goes further)" in line
    data = json.loads(invoke("plan", pilot, "--target", "0.9999", "--model", "gpt-4o", "--json").stdout)
    assert data["target"]["k"] is None and data["target"]["reach"]["forecast"] is False


# 3. A forecast of 100% with an interval of zero width that came true held.
def test_backtest_rows_at_100_percent_with_zero_width_intervals_held(tmp_path):
    run = sweep(tmp_path, "solved", [4, 4, 4, 4], ["#### 4"])
    result = invoke("report", run, "--no-plots", "--backtest", "2", "--json", "--bootstrap", "20")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["backtest"]
    assert rows and all(r["observed"] == 1.0 and r["high"] - r["low"] < 1e-6 for r in rows)
    assert all(r["covered"] for r in rows), [(r["method"], r["k"], r["low"], r["high"]) for r in rows]
    text = invoke("report", run, "--no-plots", "--backtest", "2", "--bootstrap", "20").stdout
    held = [re.search(r"\s(yes|no)\s", line).group(1) for line in text.splitlines()
            if re.match(r"\s+fake-edit\s+\S+\s+\d+\s+100\.0%", line)]
    assert held and set(held) == {"yes"}, text


def test_backtest_still_says_no_where_a_zero_width_interval_missed(tmp_path):
    run = sweep(tmp_path, "half", [4, 4, 4, 4], ["#### 4", "no"])
    rows = json.loads(invoke("report", run, "--no-plots", "--backtest", "2", "--json", "--bootstrap", "20").stdout)
    missed = [r for r in rows["backtest"] if r["method"] == "power-law" and r["k"] == 4]
    assert missed and missed[0]["predicted"] == pytest.approx(1.0) and missed[0]["observed"] < 0.99
    assert not missed[0]["covered"]


def test_dollars_print_without_exponents(pilot):
    out = invoke("plan", pilot, "--target", "0.5", "--model", "gpt-4o").stdout
    price = next(line for line in out.splitlines() if line.startswith("price: "))
    assert re.match(r"price: \$0\.0000\d+ per sample \+ \$0 per problem", price), price
    assert not re.search(r"\$[\d.]+e[-+]\d", out), out


def test_budget_plan_reads_coverage_no_further_than_k_max():
    """The pure function under the CLI: the k bought is kept, the coverage is read at k_max."""
    import numpy as np

    from swe_monkeys.metrics.cost import LinearCost
    from swe_monkeys.metrics.plan import Reach, budget_plan

    class Geometric:  # FAKE forecast: coverage 1 - 0.9^k, its interval the same curve
        def predict(self, k):
            return 1 - 0.9 ** np.asarray(k, dtype=float)

        def interval(self, k):
            return self.predict(k), self.predict(k)

    cent = LinearCost(per_sample=0.01, fixed_per_problem=0.0, unit="$", basis="hand-made")
    plan = budget_plan(Geometric(), cent, budget=100.0, n_problems=1, k_max=20)
    assert (plan.k, plan.k_forecast) == (10_000, 20) and plan.coverage == pytest.approx(1 - 0.9 ** 20)
    assert budget_plan(Geometric(), cent, budget=0.1, n_problems=1, k_max=20).k_forecast == 10
    reach = Reach(8)
    assert (reach.checked_k, reach.max_k) == (800, 80_000) and Reach(10_000).max_k == 10_000_000
    assert reach.describe(8_000) == {"k": 8000, "multiple": 1000.0, "checked": False, "forecast": True}


# 4. The forecast is chosen by the run's own samples (issue 25), and says so.
def test_backtest_json_carries_the_choice_and_the_self_backtest_error(pilot):
    result = invoke("report", pilot, "--no-plots", "--backtest", "4", "--json", "--bootstrap", "20")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["backtest"]
    assert {r["method"] for r in rows} >= {"auto", "smooth-prior", "beta"}
    for row in rows:
        assert sum(row["chosen"].values()) == pytest.approx(1.0) and "self-backtest on 6 sample orders" in row["chosen_reason"]
        assert row["method"] not in row["chosen"] or row["self_backtest_rmse"] is not None
    assert all(r["self_backtest_rmse"] is not None for r in rows if r["method"] == "auto")
    text = invoke("report", pilot, "--no-plots", "--backtest", "4", "--bootstrap", "20").stdout
    assert "Forecast chosen by each model's self-backtest (auto)" in text and "self-backtest" in text


def test_plan_says_which_forecast_the_run_chose_and_why(pilot):
    out = invoke("plan", pilot, "--target", "0.5").stdout
    line = next(line for line in out.splitlines() if line.startswith("forecast chosen by the run's own samples: "))
    assert "self-backtest on 6 sample orders" in line and "of the forecast gain either side" in line
    data = json.loads(invoke("plan", pilot, "--target", "0.5", "--json").stdout)
    assert data["forecast"]["method"] == "auto" and data["forecast"]["choice"]["weights"]
