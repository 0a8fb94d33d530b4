"""Scaling-law fits: the paper's printed parameters, recovery of known parameters from synthetic
data, the Beta model's closed form, and the extrapolation check."""

from __future__ import annotations

import math

import numpy as np
import pytest

from swe_monkeys.metrics.bench import synthetic_counts
from swe_monkeys.metrics.backtest import extrapolation_check
from swe_monkeys.metrics.fits import beta_coverage, fit_beta, fit_power_law, power_law_coverage
from swe_monkeys.metrics.passk import coverage_curve, log_spaced_ks


def test_paper_parameters_reproduce_its_numbers_only_in_base_10():
    # SWE-bench Lite, DeepSeek-Coder-V2-Instruct: a = -0.76, b = -0.21 (paper reports 15.9% and 56%).
    base10 = power_law_coverage([1, 250], -0.76, -0.21)
    natural = power_law_coverage([1, 250], -0.76, -0.21, base=math.e)
    assert [round(100 * x, 1) for x in base10] == [17.4, 57.8]
    assert [round(100 * x, 1) for x in natural] == [46.8, 78.8]


@pytest.mark.parametrize("base", [10.0, math.e])
def test_power_law_fit_recovers_exact_parameters(base):
    ks = log_spaced_ks(10_000)
    fit = fit_power_law(ks, power_law_coverage(ks, -0.76, -0.21, base), base=base)
    assert fit.a == pytest.approx(-0.76, rel=1e-4) and fit.b == pytest.approx(-0.21, rel=1e-4)
    assert fit.rmse < 1e-6 and fit.n_points == ks.size == 37


def test_power_law_fit_recovers_parameters_under_noise():
    rng = np.random.default_rng(0)
    ks = log_spaced_ks(10_000)
    noisy = power_law_coverage(ks, -1.2, -0.35) + rng.normal(0, 0.005, ks.size)
    fit = fit_power_law(ks, noisy)
    assert fit.a == pytest.approx(-1.2, rel=0.05) and fit.b == pytest.approx(-0.35, rel=0.05)
    assert fit.rmse < 0.01


def test_power_law_fit_of_a_solved_benchmark_is_flat():
    fit = fit_power_law([1, 2, 4], [1.0, 1.0, 1.0])
    assert (fit.a, fit.b) == (0.0, 0.0) and fit.predict(100) == 1.0


def test_beta_coverage_closed_form_matches_the_mixture():
    # coverage(k) = 1 - E[(1-p)^k] for p ~ Beta(a, b): compare with a large Monte Carlo over p.
    rng = np.random.default_rng(0)
    p = rng.beta(0.4, 2.5, 2_000_000)
    for k in (1, 10, 300):
        assert beta_coverage(k, 0.4, 2.5) == pytest.approx(1 - np.mean((1 - p) ** k), abs=2e-3)
    assert beta_coverage(1, 0.4, 2.5) == pytest.approx(0.4 / 2.9)  # pass@1 is the mean of p


def test_beta_coverage_is_stable_at_huge_k():
    values = beta_coverage([1e6, 1e9], 0.2, 5.0)
    assert np.isfinite(values).all() and (values < 1).all() and values[1] > values[0] > 0.9


@pytest.mark.parametrize("alpha,beta", [(0.3, 3.0), (1.5, 0.8)])
def test_beta_fit_recovers_known_parameters(alpha, beta):
    n, c = synthetic_counts(3000, 200, alpha, beta, seed=1)
    fit = fit_beta(n, c)
    assert fit.alpha == pytest.approx(alpha, rel=0.12) and fit.beta == pytest.approx(beta, rel=0.12)
    assert fit.n_problems == 3000 and fit.log_likelihood < 0


def test_beta_fit_of_all_unsolved_stays_finite():
    fit = fit_beta([100] * 20, [0] * 20)
    assert np.isfinite([fit.alpha, fit.beta]).all() and fit.predict(100) < 1e-3


def test_beta_fit_handles_ragged_sample_counts():
    rng = np.random.default_rng(2)
    n = rng.integers(20, 400, 4000)
    c = rng.binomial(n, rng.beta(0.8, 4.0, n.size))
    fit = fit_beta(n, c)
    assert fit.alpha == pytest.approx(0.8, rel=0.12) and fit.beta == pytest.approx(4.0, rel=0.12)


def test_extrapolation_from_a_tenth_of_the_samples():
    # Data drawn from the Beta model: the Beta fit must extrapolate 10x within a few points.
    n, c = synthetic_counts(300, 10_000, 0.3, 3.0, seed=0)
    check = extrapolation_check(n, c)
    assert check.fit_samples == 1000 and check.target_k == 10_000
    assert check.observed == pytest.approx(coverage_curve(n, c, [10_000])[0])
    assert abs(check.beta_error) < 0.03 and abs(check.power_law_error) < 0.1
    assert check.beta_error == pytest.approx(check.beta - check.observed)
