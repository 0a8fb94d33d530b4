"""Coverage forecasts beyond the samples drawn: the grid's exact algebra, every method on
synthetic problem sets whose coverage is known, interval coverage, and the backtest on
hand-made verdict matrices."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from swe_monkeys.metrics import prior_grid as grid
from swe_monkeys.metrics.backtest import TRUTHS, backtest, study, summarise, verdict_matrix
from swe_monkeys.metrics.extrapolate import DEFAULT_FAMILY, EDGES, METHODS, ForecastError, forecast_coverage
from swe_monkeys.metrics.passk import coverage_curve


def exact_coverage(p, ks):
    """What a forecast aims at: the drawn problems' expected coverage, 1 - mean (1 - p_i)^k."""
    return 1.0 - np.mean((1.0 - np.asarray(p)[:, None]) ** np.asarray(ks, dtype=float), axis=0)


def draw(truth, n_problems, n_samples, seed=0):
    rng = np.random.default_rng(seed)
    p = TRUTHS[truth](rng, n_problems)
    n = np.full(n_problems, n_samples)
    return p, n, rng.binomial(n, p)


# --- the grid --------------------------------------------------------------------------------

def test_cell_likelihood_is_a_distribution_over_successes_for_every_cell():
    for n_samples in (1, 10, 10_000):
        c = np.arange(n_samples + 1)
        lik = grid.cell_likelihood(np.full(c.size, n_samples), c, EDGES)
        assert lik.shape == (c.size, EDGES.size - 1) and (lik >= 0).all()
        assert lik.sum(axis=0) == pytest.approx(np.ones(EDGES.size - 1), abs=1e-9)


def test_cell_failure_is_the_mean_of_one_minus_p_to_the_k_over_the_cell():
    from scipy.integrate import quad

    edges = np.array([0.0, 1e-3, 0.05, 0.3, 1.0])
    for k in (1, 7, 300):
        exact = [quad(lambda p: (1 - p) ** k, a, b, epsabs=1e-14)[0] / (b - a) for a, b in zip(edges[:-1], edges[1:])]
        assert grid.cell_failure([k], edges)[0] == pytest.approx(exact, rel=1e-8, abs=1e-14)


def test_grid_coverage_of_a_narrow_cell_is_the_point_mass_formula():
    edges = np.array([0.0, 0.0199999, 0.0200001, 1.0])
    masses = np.array([0.0, 1.0, 0.0])
    assert grid.grid_coverage(masses, [1, 10, 100], edges)[0] == pytest.approx(1 - 0.98 ** np.array([1, 10, 100]),
                                                                              rel=1e-5)


# --- methods against known truths -------------------------------------------------------------

@pytest.mark.parametrize("method", ["smooth-prior", "beta", "scaled-beta", "power-law"])
def test_beta_truth_is_extrapolated_tenfold(method):
    # p ~ Beta(0.3, 3): the Beta model's own world; 2000 problems keep sampling noise small.
    p, n, c = draw("beta(0.3,3)", 2000, 20)
    forecast = forecast_coverage(n, c, method, n_boot=0)
    assert float(forecast.predict(20)) == pytest.approx(coverage_curve(n, c, [20])[0], abs=0.01)
    tolerance = {"beta": 0.015, "scaled-beta": 0.02, "smooth-prior": 0.03, "power-law": 0.03}[method]
    assert float(forecast.predict(200)) == pytest.approx(exact_coverage(p, [200])[0], abs=tolerance)


def test_a_point_mass_at_zero_is_found_by_the_zero_inflated_beta_and_missed_by_the_beta():
    p, n, c = draw("30% zero + beta(0.6,1.2)", 2000, 20)
    truth = exact_coverage(p, [200, 2000])
    zero_beta = forecast_coverage(n, c, "zero-beta", n_boot=0)
    assert zero_beta.summary["zero_mass"] == pytest.approx(0.3, abs=0.05)
    assert zero_beta.predict([200, 2000]) == pytest.approx(truth, abs=0.02)
    assert float(forecast_coverage(n, c, "beta", n_boot=0).predict(2000)) - truth[1] > 0.08  # no plateau
    assert float(forecast_coverage(n, c, DEFAULT_FAMILY, n_boot=0).predict(200)) == pytest.approx(truth[0], abs=0.04)


def test_point_masses_are_extrapolated_by_the_default():
    # Every problem at one of seven values of p, 15% never solvable: no smooth family is true.
    p, n, c = draw("point masses", 2000, 20)
    forecast = forecast_coverage(n, c, DEFAULT_FAMILY, n_boot=0)
    truth = exact_coverage(p, [200, 2000])
    assert float(forecast.predict(200)) == pytest.approx(truth[0], abs=0.03)  # 10x: within 3 points
    assert float(forecast.predict(2000)) == pytest.approx(truth[1], abs=0.05)  # 100x: within 5


def test_a_bump_just_below_one_over_n_is_what_the_power_law_and_beta_miss():
    # The shape of the real set: a third of the problems at p ~ 0.03 look unsolvable in
    # 10 samples. Fitted on 10, the paper's power law and the Beta model under-predict k = 100 by
    # 5-10 points; the smoothed prior reads the bump off the c = 1, 2 counts.
    p, n, c = draw("bump at 0.03 + hard tail", 1000, 10, seed=3)
    truth = exact_coverage(p, [100])[0]
    errors = {m: float(forecast_coverage(n, c, m, n_boot=0).predict(100)) - truth
              for m in (DEFAULT_FAMILY, "power-law", "beta")}
    assert errors["power-law"] < -0.05 and errors["beta"] < -0.05
    assert abs(errors[DEFAULT_FAMILY]) < 0.03


def test_forecast_interval_holds_the_point_and_grows_with_k():
    p, n, c = draw("easy + mid + hard tail", 300, 10)
    forecast = forecast_coverage(n, c, n_boot=40)
    ks = np.array([1, 10, 100, 1000, 10_000])
    lo, hi = forecast.interval(ks)
    point = forecast.predict(ks)
    assert (lo <= point + 1e-12).all() and (point <= hi + 1e-12).all()
    assert (np.diff(lo) >= -1e-9).all() and (np.diff(hi) >= -1e-9).all() and (hi <= 1).all()
    row = forecast.to_dict([100])
    assert row["method"] == DEFAULT_FAMILY and row["n_boot"] == 40 and row["forecast"][0]["k"] == 100


def test_default_interval_covers_the_truth_at_ten_times_the_samples():
    # 90% intervals on 12 problem sets of 300 problems x 10 samples from three truths.
    rows = study([DEFAULT_FAMILY], fit_on=(10,), n_problems=300, reps=4, n_boot=30,
                 truths=["beta(0.3,3)", "easy + mid + hard tail", "30% zero + beta(0.6,1.2)"])
    at_10x = [r for r in rows if r["multiple"] == 10]
    assert len(at_10x) == 12 and np.mean([r["covered"] for r in at_10x]) >= 0.8
    summary = summarise(rows)
    assert {s["truth"] for s in summary} == {"beta(0.3,3)", "easy + mid + hard tail", "30% zero + beta(0.6,1.2)"}


def test_every_method_runs_on_ragged_counts_and_all_unsolved():
    n = np.array([10, 12, 7, 10, 10, 9])
    c = np.array([0, 3, 7, 1, 0, 2])
    for method in METHODS:
        forecast = forecast_coverage(n, c, method, n_boot=3)
        value = float(forecast.predict(1000))
        assert 0.0 <= value <= 1.0 and forecast.fit_samples == 12
    unsolved = forecast_coverage([10] * 20, [0] * 20, n_boot=5)
    assert float(unsolved.interval(100)[1]) < 0.5 and float(unsolved.predict(100)) < 0.2


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(ForecastError, match="smooth-prior"):
        forecast_coverage([10], [1], "magic")


def test_importing_the_forecasts_does_not_import_scipy():
    code = "import sys, swe_monkeys.metrics.extrapolate, swe_monkeys.metrics.plan; print('scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- backtest on hand-made verdict matrices ---------------------------------------------------

MATRIX = np.array([
    [0, 0, 0, 0, 1, 0, 0, 0],  # first success at sample 5: invisible when fitting on 4
    [1, 0, 1, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 0, 0],
    [1, 1, 1, 1, 1, 1, 1, 1],
])


def test_backtest_compares_with_the_unbiased_pass_at_k_of_all_samples():
    rows = backtest(None, MATRIX, fit_on=4, ks=[1, 8], methods=["beta"], n_boot=5)
    assert [(r["method"], r["k"]) for r in rows] == [("beta", 1), ("beta", 8)]
    # pass@1 = mean c/n = (1/8 + 3/8 + 0 + 1) / 4; pass@8 = share of problems ever solved = 3/4
    assert rows[0]["observed"] == pytest.approx((1 / 8 + 3 / 8 + 0 + 1) / 4)
    assert rows[1]["observed"] == pytest.approx(0.75)
    for row in rows:
        assert row["error"] == pytest.approx(row["predicted"] - row["observed"])
        assert row["covered"] == (row["low"] <= row["observed"] <= row["high"])
        assert row["observed_exact"] and row["fit_on"] == 4 and row["n_problems"] == 4


def test_backtest_fits_only_on_the_first_samples():
    later = MATRIX.copy()
    later[2, 6] = 1  # a success after the fitted samples changes the observation, not the forecast
    before = backtest(None, MATRIX, fit_on=4, ks=[8], methods=["beta"], n_boot=0)[0]
    after = backtest(None, later, fit_on=4, ks=[8], methods=["beta"], n_boot=0)[0]
    assert after["predicted"] == before["predicted"]
    assert after["observed"] == pytest.approx(1.0) and before["observed"] == pytest.approx(0.75)


def test_backtest_reads_ragged_rows_up_to_n():
    padded = MATRIX.copy()
    padded[0, 5:] = 1  # padding beyond n = 5 for problem 0: never read
    rows = backtest([5, 8, 8, 8], padded, fit_on=4, ks=[4, 8], methods=["beta"], n_boot=0)
    assert rows[0]["observed_exact"] and not rows[1]["observed_exact"]
    # pass@4 of problem 0 with 1 success in 5: 1 - C(4,4)/C(5,4) = 4/5
    assert rows[0]["observed"] == pytest.approx((4 / 5 + (1 - 5 / 70) + 0 + 1) / 4)


def test_backtest_refuses_what_is_not_a_verdict_matrix():
    with pytest.raises(ValueError):
        backtest(None, [[0, 2]], fit_on=1, ks=[2])
    with pytest.raises(ValueError):
        backtest([3], [[0, 1]], fit_on=1, ks=[2])
    with pytest.raises(ValueError):
        backtest(None, [[0, 1]], fit_on=0, ks=[2])


def test_verdict_matrix_from_a_sample_table_orders_by_sample_and_skips_infra_errors():
    def row(pid, idx, status, resolved=False):
        return {"problem_id": pid, "sample_idx": idx, "status": status, "resolved": resolved}

    table = [row("b", 2, "resolved", True), row("b", 0, "unresolved"), row("b", 1, "infra_error"),
             row("a", 1, "unresolved"), row("a", 0, "resolved", True), row("a", 2, None), row("c", 0, None)]
    ids, n, matrix = verdict_matrix(table)
    assert ids == ["a", "b"] and n.tolist() == [2, 2]
    assert matrix.tolist() == [[1, 0], [0, 1]]
    rows = backtest(n, matrix, fit_on=1, ks=[2], methods=["beta"], n_boot=0)
    assert rows[0]["observed"] == pytest.approx(1.0)
