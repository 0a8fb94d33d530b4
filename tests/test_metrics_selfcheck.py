"""The forecast a run gets: every family backtested on the run's own samples, mixed by how well it
predicted, the interval widened by that error (swe_monkeys.metrics.selfcheck), and the check on
real per-problem sample sets (swe_monkeys.metrics.realdata, fixtures in tests/data/forecast).
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from swe_monkeys.metrics.extrapolate import CoverageForecast, ForecastError
from swe_monkeys.metrics.realdata import FIXTURES, check, load_sets, summarise
from swe_monkeys.metrics.selfcheck import (AUTO, Z_WIDEN, AutoForecast, SelfBacktest, choose, forecast,
                                           same_order_coverage, self_backtest)


# --- the same order's coverage, from counts ---------------------------------------------------

def brute_force(outcomes: list[int], m: int, c_m: int, k: int) -> float:
    """Mean over every order of `outcomes` whose first m hold c_m successes of 'solved within k'."""
    hits = [any(order[:k]) for order in itertools.permutations(outcomes) if sum(order[:m]) == c_m]
    return float(np.mean(hits))


@pytest.mark.parametrize("outcomes,m,c_m,k", [([1, 0, 0, 0], 2, 0, 3), ([1, 0, 0, 0, 0], 1, 0, 4),
                                               ([1, 1, 0, 0, 0], 2, 0, 3), ([1, 1, 0, 0, 0], 2, 1, 3),
                                               ([0, 0, 0, 0], 2, 0, 4), ([1, 0, 0, 1, 0, 0], 3, 0, 5)])
def test_same_order_coverage_is_the_mean_over_orders_that_begin_like_the_pilot(outcomes, m, c_m, k):
    n, c = len(outcomes), sum(outcomes)
    assert same_order_coverage([n], [c], [m], [c_m], k) == pytest.approx(brute_force(outcomes, m, c_m, k))


def test_same_order_coverage_past_a_problems_own_samples_is_solved_or_not():
    # k = 8 > n = 4: a problem ever solved counts as solved, one never solved does not
    assert same_order_coverage([4, 4], [1, 0], [2, 2], [0, 0], 8) == pytest.approx(0.5)


# --- the choice ---------------------------------------------------------------------------------

def hand_made(errors: dict[str, list[float]], gains: list[float]) -> SelfBacktest:
    return SelfBacktest(fit_on=(2, 5), ks={2: (4, 10), 5: (10,)}, reps=1,
                        errors={k: np.array(v) for k, v in errors.items()},
                        gains={k: np.array(gains) for k in errors}, ratios=np.array([2.0, 5.0, 2.0]),
                        failed={"power-law": "power law needs at least two k values (n >= 2)"})


def test_choice_weights_by_inverse_squared_error_and_leaves_out_the_far_worse():
    bt = hand_made({"a": [1, -1, 1], "b": [1.5, -1.5, 1.5], "c": [5, 5, -5]}, gains=[10, 10, 10])
    choice = choose(bt)
    assert set(choice.weights) == {"a", "b"}  # c: RMSE 5 > 2 x 1
    assert choice.weights["a"] == pytest.approx(1 / (1 + 1 / 2.25)) and sum(choice.weights.values()) == pytest.approx(1)
    mix = choice.weights["a"] * 1 + choice.weights["b"] * 1.5
    assert choice.mix_rmse == pytest.approx(mix)
    assert choice.widen == pytest.approx(Z_WIDEN * mix / 10)  # the mix's error over the gain it predicted
    assert "mix a 69%, b 31%" in choice.reason and "left out c, power-law" in choice.reason
    assert "fitted on 2 and 5 samples per problem, checked 2-5x further" in choice.reason


def test_the_smooth_prior_stays_unless_the_runs_own_samples_show_it_failing():
    # within 2x of the best: the run's samples cannot tell them apart, the family with the best
    # record on real sets stays (its own error sets the widening)
    close = choose(hand_made({"smooth-prior": [2, -2, 2], "beta": [1, -1, 1]}, gains=[8, 8, 8]))
    assert close.weights == {"smooth-prior": 1.0} and close.widen == pytest.approx(Z_WIDEN * 2 / 8)
    assert close.reason.startswith("smooth-prior: its self-backtest error is within 2x of the best (beta)")
    # over 2x the best: left out, and the rest chosen as usual
    far = choose(hand_made({"smooth-prior": [5, -5, 5], "beta": [1, -1, 1]}, gains=[8, 8, 8]))
    assert far.weights == {"beta": 1.0} and "smooth-prior over 2x the best error on these samples" in far.reason


def test_a_family_that_stands_out_is_chosen_alone():
    choice = choose(hand_made({"a": [0.5, -0.5, 0.5], "b": [3, 3, 3]}, gains=[5, 5, 5]))
    assert choice.weights == {"a": 1.0} and choice.reason.startswith("a alone (")


def test_no_self_backtest_below_two_samples_per_problem():
    assert self_backtest([1, 1, 1], [0, 1, 0]) is None
    fitted = forecast([1, 1, 1, 1], [0, 1, 0, 1], n_boot=5)
    assert list(fitted.choice.weights) == ["smooth-prior"] and "no self-backtest" in fitted.choice.reason


def test_self_backtest_scores_every_family_on_the_runs_own_orders():
    rng = np.random.default_rng(3)
    n = np.full(200, 10)
    c = rng.binomial(n, rng.beta(0.4, 3.0, n.size))
    bt = self_backtest(n, c, reps=3, seed=1)
    assert bt.fit_on == (2, 5) and bt.ks == {2: (4, 6, 10), 5: (10,)}
    assert set(bt.errors) == {"smooth-prior", "smooth-prior-light", "beta", "zero-beta", "kumaraswamy", "power-law"}
    assert all(e.shape == (3 * 4,) for e in bt.errors.values()) and bt.ratios.tolist() == [2, 3, 5] * 3 + [2] * 3
    assert bt.rmse("beta") < 5  # on its own truth the Beta model is close at 2-5x
    assert self_backtest(n, c, reps=3, seed=1).errors["beta"].tolist() == bt.errors["beta"].tolist()


# --- the forecast -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(5)
    n = np.full(150, 8)
    return n, rng.binomial(n, rng.beta(0.3, 2.0, n.size))


def test_auto_forecast_mixes_the_chosen_families_and_widens_only_past_the_samples(fitted):
    n, c = fitted
    auto = forecast(n, c, n_boot=20, seed=2)
    assert isinstance(auto, AutoForecast) and auto.method == AUTO and auto.measured == 8
    ks = np.array([1, 4, 8, 16, 80, 800, 8000])
    parts = {name: f.predict(ks) for name, f in auto.components.items()}
    assert np.allclose(auto.predict(ks), sum(w * parts[name] for name, w in auto.choice.weights.items()))
    lo, hi = auto.interval(ks)
    raw_lo, raw_hi = auto._mixed_interval(ks, None)
    assert np.allclose(lo[:3], raw_lo[:3]) and np.allclose(hi[:3], raw_hi[:3])  # within the samples: as fitted
    bound = auto.jensen_bound(ks)
    assert (lo[3:] <= raw_lo[3:] + 1e-12).all() and (hi[3:] >= np.minimum(raw_hi[3:], bound[3:]) - 1e-12).all()
    assert (hi[3:] <= np.maximum(bound[3:], auto.predict(ks)[3:]) + 1e-12).all()  # no rate distribution covers more
    assert (np.diff(lo) >= -1e-12).all() and (np.diff(hi) >= -1e-12).all()  # plan bisects on both ends
    point = auto.predict(ks)
    assert (lo <= point + 1e-12).all() and (point <= hi + 1e-12).all()
    data = auto.to_dict([80])
    assert data["method"] == AUTO and data["choice"]["reason"] == auto.choice.reason
    assert set(data["components"]) == set(auto.choice.weights) and data["forecast"][0]["k"] == 80
    json.dumps(data)


def test_a_pilot_with_no_success_says_how_much_it_cannot_exclude():
    # 100 problems x 5 samples, none correct: every family forecasts 0, but a mean rate up to
    # 3.0 / 500 (the Poisson bound) is not excluded, nor the coverage 1 - (1 - 0.006)^50 it allows
    auto = forecast([5] * 100, [0] * 100, n_boot=5)
    lo, hi = auto.interval(np.array([5, 50]))
    assert float(auto.predict(50)) == pytest.approx(0.0, abs=1e-6) and lo.tolist() == pytest.approx([0.0, 0.0], abs=1e-6)
    assert hi[1] == pytest.approx(1 - (1 - 2.9957 / 500) ** 50, rel=1e-3)


def test_a_named_family_is_fitted_alone_and_an_unknown_name_lists_auto(fitted):
    n, c = fitted
    assert isinstance(forecast(n, c, "beta", n_boot=3), CoverageForecast)
    with pytest.raises(ForecastError, match="known: auto, smooth-prior"):
        forecast(n, c, "magic")


# --- the real sets --------------------------------------------------------------------------------

def test_real_sets_are_the_committed_counts():
    sets = load_sets()
    math = [s for name, s in sets.items() if name.startswith("monkey_business_math_pythia/")]
    assert len(math) == 7 and all(s.n.tolist() == [10_000] * 128 for s in math)
    big = sets["monkey_business_math_pythia/Pythia-12B"]
    assert big.c.sum() == 29_685 and (big.c > 0).sum() == 112  # pass@1 2.3%, 112 of 128 ever solved
    bon = sets["bon_jailbreaking_text/Llama-3-8B-Instruct"]
    assert bon.n.size == 159 and bon.batch == 60 and (bon.c > 0).all()
    # the run stopped after the first batch of 60 with a success: every success is in the last batch
    assert all((hits >= n - 60).all() for hits, n in zip(bon.successes, bon.n))
    assert (FIXTURES / "README.md").is_file()


def test_order_zero_of_an_ordered_set_is_the_recorded_order():
    bon = load_sets()["bon_jailbreaking_text/Gemini-1.5-Flash"]
    first = np.array([h[0] if h.size else 10 ** 9 for h in bon.successes])
    c_fit, observed = bon.pilot(20, 200, order=0)
    assert c_fit.tolist() == [int((h < 20).sum()) for h in bon.successes]
    assert observed == pytest.approx(np.mean(first < 200))
    shuffled, again = bon.pilot(20, 200, order=3), bon.pilot(20, 200, order=3)
    assert shuffled[0].tolist() == again[0].tolist()  # orders are reproducible
    assert (shuffled[0] > 0).sum() <= (bon.n <= 60).sum()  # shuffling stays within batches


def test_check_fits_on_the_pilot_and_compares_at_ten_times():
    rows = check(load_sets()["monkey_business_math_pythia/Pythia-12B"], 20, orders=[0], n_boot=10)
    (row,) = rows
    assert (row["fit_on"], row["k"]) == (20, 200) and row["low"] <= row["predicted"] <= row["high"]
    assert row["error"] == pytest.approx(row["predicted"] - row["observed"]) and "self-backtest" in row["choice"]
    assert 0.5 < row["observed"] < 0.65  # pass@200 of all 10,000 samples is 57.7%
    summary = summarise(rows)
    assert summary["orders"] == 1 and summary["hold_rate"] in (0.0, 1.0)
