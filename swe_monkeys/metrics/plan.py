"""Planning with a coverage forecast: how many samples for a target coverage, what a budget buys,
and from which k a cheap model beats a frontier baseline on both coverage and cost.

Every function is pure: a fitted `CoverageForecast` (swe_monkeys.metrics.extrapolate), a
`LinearCost` per problem (swe_monkeys.metrics.cost: fixed_per_problem + k * per_sample, from list
prices or from self-hosted hardware, swe_monkeys.metrics.hardware) and plain numbers in; a
dataclass out. Intervals come from the forecast's interval (and, where given, a low..high range
of the cost per sample): "k_low .. k_high" is the k an optimistic .. pessimistic reading needs.
Coverage grows with k in every forecast, so each "smallest k" is a bisection.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable, Optional

import numpy as np

from swe_monkeys.metrics.cost import LinearCost
from swe_monkeys.pricing import Baseline
from swe_monkeys.errors import SweMonkeysError

__all__ = ["K_MAX", "CHECKED_MULTIPLE", "MAX_MULTIPLE", "TargetPlan", "BudgetPlan", "BaselineMatch", "Reach",
           "smallest_k", "k_for_target", "budget_plan", "beat_baselines"]

K_MAX = 10_000_000  # beyond this many samples per problem a plan is not a plan
# How far past the samples measured per problem a forecast is trusted. The backtest study
# (swe_monkeys.metrics.backtest) checked forecasts at 10 and 100 x the samples they were fitted
# on; the paper's power laws held over about four orders of magnitude of k. A budget of $1e9 on an
# 8-sample pilot "bought" k = 9e10 at a printed 100.0% coverage: past 100 x an answer is flagged
# as a guess from the fitted shape, past 10,000 x no forecast is given at all.
CHECKED_MULTIPLE = 100
MAX_MULTIPLE = 10_000


@dataclass(frozen=True)
class Reach:
    """How far a forecast fitted on `measured` samples per problem may be read: checked up to
    `checked_k`, given at all up to `max_k`."""

    measured: int

    @property
    def checked_k(self) -> int:
        return CHECKED_MULTIPLE * self.measured

    @property
    def max_k(self) -> int:
        return min(K_MAX, MAX_MULTIPLE * self.measured)

    def describe(self, k: Optional[int]) -> dict[str, Any]:
        """k's distance from the data: multiple of the measured samples, and whether it is within
        what the backtests checked (`checked`) and what a forecast is given for (`forecast`)."""
        if k is None:
            return {"k": None, "multiple": None, "checked": False, "forecast": False}
        return {"k": int(k), "multiple": k / self.measured, "checked": k <= self.checked_k,
                "forecast": k <= self.max_k}

    def to_dict(self) -> dict[str, Any]:
        return {"measured_k": self.measured, "checked_multiple": CHECKED_MULTIPLE, "checked_k": self.checked_k,
                "max_multiple": MAX_MULTIPLE, "max_k": self.max_k}


class PlanError(SweMonkeysError, ValueError):
    """A plan that cannot be made from these inputs (a target outside (0, 1), a free sample)."""


def smallest_k(value_at: Callable[[np.ndarray], np.ndarray], target: float, k_max: int = K_MAX) -> Optional[int]:
    """The smallest k in 1..k_max with value_at(k) >= target, for a non-decreasing value_at; None
    if even k_max falls short."""
    if float(value_at(np.array([k_max]))[0]) < target:
        return None
    lo, hi = 0, k_max  # value_at(hi) >= target; lo is below every solution
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if float(value_at(np.array([mid]))[0]) >= target:
            hi = mid
        else:
            lo = mid
    return hi


def _bounds(forecast) -> tuple[Callable, Callable, Callable]:
    return (forecast.predict, lambda k: forecast.interval(k)[0], lambda k: forecast.interval(k)[1])


@dataclass(frozen=True)
class TargetPlan:
    """Samples per problem for `target` coverage: k (forecast), k_low (optimistic, the interval's
    upper end reaches it) .. k_high (pessimistic; None: not within K_MAX), and their dollars."""

    target: float
    k: Optional[int]
    k_low: Optional[int]
    k_high: Optional[int]
    dollars: Optional[float]  # for n_problems at k, when a cost is given
    dollars_low: Optional[float]
    dollars_high: Optional[float]
    n_problems: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _total(cost: Optional[LinearCost], k: Optional[int], n_problems: int, per_sample: Optional[float] = None):
    if cost is None or k is None:
        return None
    rate = cost.per_sample if per_sample is None else per_sample
    return float(n_problems * (cost.fixed_per_problem + k * rate))


def k_for_target(forecast, target: float, cost: Optional[LinearCost] = None, n_problems: int = 1,
                 per_sample_range: Optional[tuple[float, float]] = None, k_max: int = K_MAX) -> TargetPlan:
    """The k that reaches `target` coverage (a fraction), with its interval and total cost."""
    if not 0.0 < target < 1.0:
        raise PlanError("target coverage must be a fraction strictly between 0 and 1")
    point, lower, upper = _bounds(forecast)
    k, k_low, k_high = (smallest_k(f, target, k_max) for f in (point, upper, lower))
    cheap, dear = per_sample_range or (None, None)
    return TargetPlan(target, k, k_low, k_high, _total(cost, k, n_problems), _total(cost, k_low, n_problems, cheap),
                      _total(cost, k_high, n_problems, dear), n_problems)


@dataclass(frozen=True)
class BudgetPlan:
    """What `budget` dollars buy over n_problems: k samples per problem and the coverage forecast
    at k_forecast (low .. high): k itself, or the farthest k a forecast is given for when the budget
    buys more; k_range is the k at the dear .. cheap end of the cost per sample."""

    budget: float
    n_problems: int
    k: int
    coverage: float
    low: float
    high: float
    k_range: tuple[int, int]
    dollars: float  # what k samples of every problem cost (<= budget)
    k_forecast: int = 0  # where the coverage is read: min(k, k_max)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _affordable(budget: float, n_problems: int, fixed: float, per_sample: float) -> int:
    if per_sample <= 0:
        raise PlanError("the cost per sample must be positive to plan a budget")
    return max(0, int(np.floor((budget / n_problems - fixed) / per_sample * (1 + 1e-12))))


def budget_plan(forecast, cost: LinearCost, budget: float, n_problems: int,
                per_sample_range: Optional[tuple[float, float]] = None, k_max: Optional[int] = None) -> BudgetPlan:
    """The most samples per problem `budget` dollars pay for, and the coverage they buy.

    The interval spans both the forecast's interval and, with `per_sample_range`, the k bought at
    the dear end (fewest samples, low end of coverage) and at the cheap end (most, high end). With
    `k_max`, coverage is read at no k beyond it (the k bought is still reported as bought).
    """
    if n_problems < 1 or budget < 0:
        raise PlanError("need n_problems >= 1 and a budget >= 0")
    k = _affordable(budget, n_problems, cost.fixed_per_problem, cost.per_sample)
    cheap, dear = per_sample_range or (cost.per_sample, cost.per_sample)
    k_few, k_many = (_affordable(budget, n_problems, cost.fixed_per_problem, rate) for rate in (dear, cheap))
    if k == 0:
        return BudgetPlan(budget, n_problems, 0, 0.0, 0.0, 0.0, (k_few, k_many), 0.0)
    read = (lambda x: x) if k_max is None else (lambda x: min(x, k_max))
    coverage = float(forecast.predict(read(k)))
    low = float(forecast.interval(read(max(k_few, 1)))[0]) if k_few else 0.0
    high = float(forecast.interval(read(k_many))[1])
    return BudgetPlan(budget, n_problems, k, coverage, min(low, coverage), max(high, coverage), (k_few, k_many),
                      float(n_problems * cost.at(k)), read(k))


@dataclass(frozen=True)
class BaselineMatch:
    """From which k the run beats `model` (solve rate solved_pct at baseline_cost per problem) on
    both counts: coverage above its solve rate and cost per problem below its cost. k is None when
    it never does; `reason` then says which side fails. k_low .. k_high: the same k read off the
    forecast's upper .. lower interval end (None: that reading never beats it while cheaper)."""

    model: str
    solved_pct: float
    baseline_cost: float
    k: Optional[int]
    k_low: Optional[int]
    k_high: Optional[int]
    cost_at_k: Optional[float]
    coverage_at_k: Optional[float]
    k_cost_limit: int  # the largest k still cheaper than the baseline
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cheaper_until(cost: LinearCost, budget: float) -> int:
    """The largest k with cost.at(k) strictly below `budget` (0 if none)."""
    room = budget - cost.fixed_per_problem
    if room <= 0:
        return 0
    k = int(np.ceil(room / cost.per_sample)) - 1
    return max(k, 0)


def beat_baselines(forecast, cost: LinearCost, baselines: Iterable[Baseline], k_max: int = K_MAX
                   ) -> list[BaselineMatch]:
    """For each baseline: the smallest k whose coverage exceeds its solve rate while k samples per
    problem still cost less than its attempts do, or why no k does."""
    if cost.per_sample <= 0:
        raise PlanError("the cost per sample must be positive")
    point, lower, upper = _bounds(forecast)
    out = []
    for base in baselines:
        target = base.solved_pct / 100.0
        base_cost = base.dollars_per_attempt * base.attempts
        limit = min(_cheaper_until(cost, base_cost), k_max)
        # "above its solve rate": the smallest k with coverage > target, i.e. >= target + 1 ulp-ish
        k, k_low, k_high = (smallest_k(f, target + 1e-12, k_max) for f in (point, upper, lower))
        reason = ""
        if k is None:
            reason = f"coverage never exceeds {base.solved_pct:g}% within k <= {k_max}"
        elif k > limit:
            reason = (f"at k = {k} (the first k above {base.solved_pct:g}%) a problem costs "
                      f"{float(cost.at(k)):.4g} $, the baseline {base_cost:.4g} $")
        hit = k is not None and k <= limit
        out.append(BaselineMatch(
            model=base.model, solved_pct=base.solved_pct, baseline_cost=base_cost, k=k if hit else None,
            k_low=k_low if k_low is not None and k_low <= limit else None,
            k_high=k_high if hit and k_high is not None and k_high <= limit else None,
            cost_at_k=float(cost.at(k)) if hit else None, coverage_at_k=float(point(np.array([k]))[0]) if hit else None,
            k_cost_limit=limit, reason=reason))
    return out
