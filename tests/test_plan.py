"""Planning: k for a target coverage, what a budget buys, when a cheap model beats a frontier
baseline; hardware prices and self-hosted cost. Hand-made forecasts with closed forms, one real
forecast, the shipped configs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from swe_monkeys.metrics.cost import LinearCost
from swe_monkeys.metrics.extrapolate import forecast_coverage
from swe_monkeys.metrics.hardware import find_hardware, load_hardware, run_dollars, self_hosted_cost
from swe_monkeys.metrics.plan import beat_baselines, budget_plan, k_for_target, smallest_k
from swe_monkeys.pricing import Baseline, PricingError, find_baselines, load_baselines, load_pricing


class FakeForecast:
    """FAKE forecast with closed forms: coverage cap * (1 - q^k), interval from q_low / q_high."""

    def __init__(self, q=0.9, q_pessimistic=0.92, q_optimistic=0.88, cap=1.0):
        self.q, self.q_lo, self.q_hi, self.cap = q, q_pessimistic, q_optimistic, cap

    def predict(self, k):
        return self.cap * (1 - self.q ** np.asarray(k, dtype=float))

    def interval(self, k):
        k = np.asarray(k, dtype=float)
        return self.cap * (1 - self.q_lo ** k), self.cap * (1 - self.q_hi ** k)


CENT = LinearCost(per_sample=0.01, fixed_per_problem=0.0, unit="$", basis="hand-made")


def first_k(q, target):
    return math.ceil(math.log(1 - target) / math.log(q))


def test_smallest_k_bisects_a_monotone_curve():
    assert smallest_k(lambda k: k / 100.0, 0.37, k_max=1000) == 37
    assert smallest_k(lambda k: np.minimum(k, 5) / 10.0, 0.9, k_max=1000) is None


def test_k_for_target_with_interval_and_dollars():
    plan = k_for_target(FakeForecast(), 0.5, CENT, n_problems=100)
    assert (plan.k, plan.k_low, plan.k_high) == (first_k(0.9, 0.5), first_k(0.88, 0.5), first_k(0.92, 0.5)) == (7, 6, 9)
    assert plan.dollars == pytest.approx(100 * 7 * 0.01)
    assert (plan.dollars_low, plan.dollars_high) == (pytest.approx(6.0), pytest.approx(9.0))
    ranged = k_for_target(FakeForecast(), 0.5, CENT, n_problems=100, per_sample_range=(0.005, 0.02))
    assert (ranged.dollars_low, ranged.dollars_high) == (pytest.approx(3.0), pytest.approx(18.0))
    assert k_for_target(FakeForecast(cap=0.6), 0.7).k is None  # a plateau below the target
    with pytest.raises(ValueError):
        k_for_target(FakeForecast(), 1.0)


def test_budget_buys_k_samples_per_problem_and_their_coverage():
    plan = budget_plan(FakeForecast(), CENT, budget=10.0, n_problems=100)
    assert plan.k == 10 and plan.dollars == pytest.approx(10.0)
    assert plan.coverage == pytest.approx(1 - 0.9 ** 10)
    assert (plan.low, plan.high) == (pytest.approx(1 - 0.92 ** 10), pytest.approx(1 - 0.88 ** 10))
    ranged = budget_plan(FakeForecast(), CENT, 10.0, 100, per_sample_range=(0.005, 0.02))
    assert ranged.k_range == (5, 20)
    assert (ranged.low, ranged.high) == (pytest.approx(1 - 0.92 ** 5), pytest.approx(1 - 0.88 ** 20))
    fixed = LinearCost(0.01, 0.05, "$", "a prompt prefilled once per problem")
    assert budget_plan(FakeForecast(), fixed, 10.0, 100).k == 5  # $0.10 a problem: $0.05 + 5 x $0.01
    broke = budget_plan(FakeForecast(), CENT, 0.5, 100)
    assert broke.k == 0 and broke.coverage == 0.0


def test_cheap_model_beats_a_baseline_from_some_k_or_never():
    baselines = [Baseline("frontier A", dollars_per_attempt=0.10, attempts=1, solved_pct=50.0),
                 Baseline("frontier B", dollars_per_attempt=0.10, attempts=1, solved_pct=80.0),
                 Baseline("frontier C", dollars_per_attempt=1.00, attempts=1, solved_pct=99.0)]
    a, b, c = beat_baselines(FakeForecast(cap=0.95), CENT, baselines)
    # A: 0.95 (1 - 0.9^k) > 50% from k = 8 (0.95 (1 - 0.9^7) = 0.497), and $0.08 < $0.10; read off
    # the interval's ends: k = 6 (q = 0.88) .. 9 (q = 0.92, $0.09: still cheaper)
    assert a.k == 8 and a.cost_at_k == pytest.approx(0.08) and a.k_cost_limit == 9 and a.reason == ""
    assert a.coverage_at_k > 0.5 and (a.k_low, a.k_high) == (6, 9)
    # B: 80% needs k = 17 ($0.17): dearer than its single attempt
    assert b.k is None and "costs" in b.reason and b.k_cost_limit == 9
    # C: the cheap model plateaus at 95%
    assert c.k is None and "never exceeds 99%" in c.reason


def test_paper_table1_baselines_with_a_real_forecast():
    # DeepSeek-like: ~30% at k = 5 for $0.0072 a sample; GPT-4o solves 24% at $0.13 an attempt.
    rng = np.random.default_rng(0)
    p = rng.beta(0.15, 1.2, 300)
    n = np.full(300, 50)
    forecast = forecast_coverage(n, rng.binomial(n, p), n_boot=30)
    lite = find_baselines(load_baselines(), "swe-bench-lite")
    matches = {m.model: m for m in beat_baselines(forecast, LinearCost(0.0072, 0.0, "$", "paper"), lite.results)}
    gpt = matches["GPT-4o"]
    assert gpt.k is not None and gpt.cost_at_k < 0.13 and gpt.coverage_at_k > 0.24
    assert gpt.k_low <= gpt.k and gpt.k_cost_limit == 18  # 18 x $0.0072 = $0.1296 < $0.13
    plan = k_for_target(forecast, 0.5)
    assert plan.k_low <= plan.k <= plan.k_high


def test_hardware_prices_name_source_date_and_keep_pricing_loading():
    hardware = load_hardware()
    assert {"h100-sxm-80gb", "h200-sxm-141gb", "a100-sxm-80gb", "l4", "a10g", "cpu-core"} <= set(hardware)
    for price in hardware.values():
        assert price.source.startswith("https://") and price.as_of[:2] == "20" and price.dollars_per_hour > 0
    assert find_hardware(hardware, "H200").name == "h200-sxm-141gb"
    assert find_hardware(hardware, "cpu").kind == "cpu"
    with pytest.raises(PricingError, match="known: a100"):
        find_hardware(hardware, "tpu-v5")
    assert "deepseek-coder-v2" in load_pricing().models  # the new section leaves the old loader alone


def test_a_run_is_priced_by_wall_time():
    cpu = find_hardware(load_hardware(), "cpu-core")
    assert run_dollars(3600, cpu, units=2) == pytest.approx(2 * cpu.dollars_per_hour)
    cost = self_hosted_cost(wall_seconds=1800, samples=300, price=cpu, units=2)
    assert cost.per_sample == pytest.approx(cpu.dollars_per_hour / 300) and cost.unit == "$"
    assert "cpu-core" in cost.basis and "300 samples" in cost.basis
    with pytest.raises(ValueError):
        self_hosted_cost(10, 0, cpu)


def test_a_hardware_entry_without_source_is_refused(tmp_path):
    path = tmp_path / "pricing.yaml"
    path.write_text("hardware:\n  x:\n    kind: gpu\n    unit: GPU-hour\n    dollars_per_hour: 1\n")
    with pytest.raises(PricingError, match="lacks source, as_of"):
        load_hardware(path)
