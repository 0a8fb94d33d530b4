"""A run's coverage forecast, chosen by backtesting every family on the run's own samples: `forecast`.

Before forecasting, `self_backtest` replays the run on itself: for `reps` random sample orders
(samples of a problem are exchangeable, so an order's first m samples are a hypergeometric draw
of its counts) every family in `CANDIDATES` is fitted on the first m samples per problem and asked
for the coverage at each larger k the run measured; the same order's observed coverage at k is
exact from the counts (a problem solved in the first m stays solved; one that was not is solved
by k with probability 1 - C(n-m-c, k-m) / C(n-m, k-m)). m is a fifth and a half of the samples
per problem, so the check extrapolates 2-5x on the run's own data.

`choose` keeps the smooth prior (`PREFERRED`) while its self-backtest error is within `OUTLIER`
(2) x the best family's: there the run's own samples cannot tell the families apart. Otherwise it
leaves the smooth prior out and takes the families within 2x of the best, weighted by 1 / (mean
squared self-backtest error): the best one alone when it stands out, else a mix. It says which
and why. The forecast (`AutoForecast`) is that family or mix fitted on all samples. Its interval
mixes the families' bootstrap intervals. Past the samples measured, it scales the gain (the
extrapolated part) by 1 -/+ f, where f is the chosen forecast's self-backtest error as a fraction
of the gain it predicted (`Z_WIDEN` x, 1: the error as observed). The high end is then held to
what any distribution of success rates allows: coverage(k) = E[1-(1-p)^k] <= 1-(1-E p)^k
(Jensen), with E p at the upper end of its interval from all samples. Where the run has fewer than
`FEW_SUCCESSES` correct samples in all, too few to tell one shape from another, the high end is
that bound.

What this buys on real sample sets (swe_monkeys.metrics.realdata, tests/data/forecast: 9 sets of
128-159 problems, 10x beyond n' = 5, 10, 20 samples, 6 sample orders each, 162 forecasts):

                          RMSE (points)  within 3 points  90% interval held  width (order 0)
    auto (this module)         7.0            35%               99%               53
    mix of all by 1/MSE        8.8            29%               97%               50
    smooth-prior alone         6.8            35%               83%               24
    beta alone                 9.7            25%               84%               29
    power-law alone            8.3            28%               67%               17

No family predicts 10x further within 3 points for most sample orders. A 2-5x self-backtest does
not tell which family will be right at 10x: the rank correlation between the families'
self-backtest error and their error at 10x was about 0.05 over 192 pilots (MATH, BoN and two
GSM8K sets). That is why the choice defaults to the family with the best record and overrides it
only on clear evidence. The shape of the success-rate distribution below 1/n' is not in n'
samples per problem: with the true distribution known, the error on the MATH sets would be
0.3-1.5 points RMS. The widened interval is what makes the forecast honest.

scipy is imported inside the functions that need it (through metrics.extrapolate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from swe_monkeys.metrics.extrapolate import METHODS, CoverageForecast, ForecastError, forecast_coverage

__all__ = ["AUTO", "CANDIDATES", "SelfBacktest", "Choice", "AutoForecast", "self_backtest", "choose", "forecast",
           "same_order_coverage"]

AUTO = "auto"
# Families the choice is made among: the smoothed priors, the Beta-binomial and zero-inflated fits
# (Kazdan et al.), the distributional estimator (Schaeffer et al., Kumaraswamy form: scaled-beta is
# the same family at 20x the fitting time) and the paper's power law.
CANDIDATES = ("smooth-prior", "smooth-prior-light", "beta", "zero-beta", "kumaraswamy", "power-law")
# f = Z_WIDEN x the self-backtest's relative error of the gain. On the real sets of
# tests/data/forecast at 10x (162 pilots) the bootstrap alone held 83%; widened by the observed
# error (Z = 1) with the Jensen bounds, 99% (swe_monkeys.metrics.realdata prints the check).
Z_WIDEN = 1.0
FEW_SUCCESSES = 10  # below this many correct samples in all, the high end is the Jensen bound itself
OUTLIER = 2.0  # a family whose self-backtest RMSE exceeds this multiple of the best one's is left out
# Kept while its self-backtest error is within OUTLIER x the best: on the real sets a 2-5x
# self-backtest did not say which family is right at 10x, and this one had the smallest error there
# (RMSE 6.8 points against 8.8 for the 1/MSE mix of all; swe_monkeys.metrics.realdata).
PREFERRED = "smooth-prior"


def same_order_coverage(n, c, m, c_m, k) -> float:
    """Coverage at k of sample orders whose first m samples per problem held c_m successes, from
    the counts (n, c) of all samples: the mean over problems of P(solved within the first k)."""
    from scipy.special import gammaln

    n, c, m, c_m = (np.asarray(x, dtype=np.float64) for x in (n, c, m, c_m))
    k = np.minimum(float(k), n)  # past its own n a problem counts as solved only if it was
    misses, draws, pool = n - m - (c - c_m), k - m, n - m

    def log_choose(a, b):
        return gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)

    with np.errstate(invalid="ignore"):
        none = np.where(misses >= draws, np.exp(log_choose(misses, draws) - log_choose(pool, draws)), 0.0)
    return float(np.mean(np.where(c_m > 0, 1.0, 1.0 - np.nan_to_num(none))))


@dataclass(frozen=True)
class SelfBacktest:
    """Per family: its self-backtest errors (points) and gains (points above its own coverage at m),
    one entry per (order, m, k); `fit_on` the m's, `ks` the k's checked per m."""

    fit_on: tuple[int, ...]
    ks: dict[int, tuple[int, ...]]
    reps: int
    errors: dict[str, np.ndarray]
    gains: dict[str, np.ndarray]
    ratios: np.ndarray  # k / m of each entry (the same for every family)
    failed: dict[str, str] = field(default_factory=dict)  # family -> why it could not be fitted

    def rmse(self, method: str) -> float:
        return float(np.sqrt(np.mean(self.errors[method] ** 2)))

    def bias(self, method: str) -> float:
        return float(np.mean(self.errors[method]))


def _fit_sizes(n_ref: int) -> tuple[int, ...]:
    return tuple(sorted({m for m in (max(1, n_ref // 5), max(1, n_ref // 2)) if m < n_ref}))


def self_backtest(n, c, methods: Sequence[str] = CANDIDATES, reps: int = 6, seed: int = 0) -> Optional[SelfBacktest]:
    """Fit each family on the first m samples of `reps` random orders and score it against the same
    order's coverage at each larger k; None when the run has too few samples (under 2 per problem)."""
    n = np.asarray(n, dtype=np.int64)
    c = np.asarray(c, dtype=np.int64)
    n_ref = int(np.median(n))
    sizes = _fit_sizes(n_ref)
    if not sizes:
        return None
    ks = {m: tuple(k for k in sorted({2 * m, 3 * m, 5 * m, 10 * m, n_ref}) if m < k <= n_ref) for m in sizes}
    rng = np.random.default_rng(seed)
    preds: dict[str, list] = {name: [] for name in methods}
    observed, ratios, failed = [], [], {}
    for m in sizes:
        for _ in range(reps):
            m_i = np.minimum(m, n)
            c_m = rng.hypergeometric(c, n - c, m_i)
            grid = np.array((m,) + ks[m])
            observed += [same_order_coverage(n, c, m_i, c_m, k) for k in ks[m]]
            ratios += [k / m for k in ks[m]]
            for name in methods:
                preds[name].append(_predict(name, m_i, c_m, grid, failed))
    observed = np.array(observed)
    errors, gains = {}, {}
    for name in methods:
        if name in failed:
            continue
        # each entry: the family's coverage at m, then at each k checked from m
        at_k = np.concatenate([curve[1:] for curve in preds[name]])
        at_m = np.concatenate([np.full(curve.size - 1, curve[0]) for curve in preds[name]])
        errors[name], gains[name] = 100 * (at_k - observed), 100 * (at_k - at_m)
    return SelfBacktest(sizes, ks, reps, errors, gains, np.array(ratios), failed)


def _predict(name: str, n, c, ks: np.ndarray, failed: dict[str, str]) -> np.ndarray:
    if name in failed:
        return np.full(ks.size, np.nan)
    try:
        return forecast_coverage(n, c, name, n_boot=0).predict(ks)
    except (ForecastError, ValueError) as exc:  # e.g. a power law through a single point
        failed[name] = str(exc)
        return np.full(ks.size, np.nan)


@dataclass(frozen=True)
class Choice:
    """The families a forecast uses, their weights, the self-backtest behind them and `reason` in
    words; `widen` is f, the fraction of the extrapolated gain the interval adds on either side."""

    weights: dict[str, float]
    rmse: dict[str, float]  # points, per family fitted in the self-backtest
    mix_rmse: float
    widen: float
    reason: str
    fit_on: tuple[int, ...] = ()
    ratios: tuple[float, float] = (0.0, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"weights": self.weights, "self_backtest_rmse": self.rmse, "mix_rmse": self.mix_rmse,
                "widen": self.widen, "reason": self.reason, "fit_on": list(self.fit_on),
                "ratios": list(self.ratios)}


def choose(bt: Optional[SelfBacktest], methods: Sequence[str] = CANDIDATES, preferred: Optional[str] = PREFERRED
           ) -> Choice:
    """`preferred` alone while its self-backtest error is within OUTLIER x the best one's (the run's
    own samples cannot tell those families apart); else weights 1 / MSE over the families within
    that range of the best."""
    if bt is None or not bt.errors:
        only = methods[0]
        why = "no self-backtest (fewer than 2 samples per problem)" if bt is None else "no family fitted"
        return Choice({only: 1.0}, {}, float("nan"), Z_WIDEN, f"{only}: {why}; interval widened by the default "
                      f"factor {Z_WIDEN:g} x the gain")
    rmse = {name: bt.rmse(name) for name in bt.errors}
    best = min(rmse.values())
    kept = {name: r for name, r in rmse.items() if r <= OUTLIER * best + 1e-9}
    if preferred in kept:
        kept = {preferred: kept[preferred]}
    inverse = {name: 1.0 / max(r, 1e-6) ** 2 for name, r in kept.items()}
    total = sum(inverse.values())
    weights = {name: w / total for name, w in sorted(inverse.items(), key=lambda item: -item[1])}
    mix_err = sum(w * bt.errors[name] for name, w in weights.items())
    mix_gain = sum(w * bt.gains[name] for name, w in weights.items())
    relative = float(np.sqrt(np.sum(mix_err ** 2) / max(np.sum(mix_gain ** 2), 1e-12)))
    ratios = (float(bt.ratios.min()), float(bt.ratios.max()))
    mix_rmse = float(np.sqrt(np.mean(mix_err ** 2)))
    return Choice(weights, rmse, mix_rmse, Z_WIDEN * relative,
                  _reason(bt, weights, rmse, mix_rmse, ratios, preferred), bt.fit_on, ratios)


def _reason(bt: SelfBacktest, weights: dict, rmse: dict, mix_rmse: float, ratios: tuple, preferred: Optional[str]
            ) -> str:
    scored = ", ".join(f"{name} {rmse[name]:.1f}" for name in sorted(rmse, key=rmse.get))
    how = (f"self-backtest on {bt.reps} sample orders, fitted on {' and '.join(map(str, bt.fit_on))} samples per "
           f"problem, checked {ratios[0]:g}-{ratios[1]:g}x further: RMSE {scored} points")
    left = [name for name in rmse if name not in weights] + list(bt.failed)
    out = f"; left out {', '.join(left)}" if left else ""
    best = min(rmse, key=rmse.get)
    if list(weights) == [preferred]:
        return (f"{preferred}: its self-backtest error is within {OUTLIER:g}x of the best ({best}), which these "
                f"samples cannot tell apart, so the family with the best record on real sets stays ({how})")
    if preferred in rmse:
        out += f"; {preferred} over {OUTLIER:g}x the best error on these samples"
    if len(weights) == 1:
        return f"{next(iter(weights))} alone ({how}{out})"
    mix = ", ".join(f"{name} {w:.0%}" for name, w in weights.items())
    return f"mix {mix} by 1/RMSE^2 (mix {mix_rmse:.1f} points; {how}{out})"


@dataclass(frozen=True, eq=False)
class AutoForecast:
    """The chosen mix of families (`components`, fitted on all samples, with their bootstrap): the
    same interface as a CoverageForecast (predict, interval, to_dict)."""

    components: dict[str, CoverageForecast]
    choice: Choice
    measured: int  # samples per problem the families were fitted on: where extrapolation starts
    level: float
    successes: int = 0  # correct samples in all
    samples: int = 1  # samples in all
    method: str = AUTO

    @property
    def n_problems(self) -> int:
        return next(iter(self.components.values())).n_problems

    def predict(self, k) -> np.ndarray:
        """The weighted mean of the families' forecasts at each k."""
        return sum(w * self.components[name].predict(k) for name, w in self.choice.weights.items())

    def _mixed_interval(self, k, level):
        ends = [(w, self.components[name].interval(k, level)) for name, w in self.choice.weights.items()]
        return sum(w * lo for w, (lo, _) in ends), sum(w * hi for w, (_, hi) in ends)

    def interval(self, k, level: Optional[float] = None) -> tuple[np.ndarray, np.ndarray]:
        """The families' intervals mixed, and past the samples measured their gain over the interval
        at `measured` scaled by 1 - f (low end, never below that interval) and 1 + f (high end),
        the high end held to the Jensen bound: both ends still grow with k, as plans bisect on them."""
        k = np.asarray(k, dtype=np.float64)
        level = level or self.level
        lo, hi = self._mixed_interval(k, level)
        lo0, hi0 = (float(np.asarray(x).reshape(-1)[0]) for x in self._mixed_interval(float(self.measured), level))
        f = self.choice.widen
        beyond = k > self.measured
        lo = np.where(beyond, lo0 + (1.0 - min(f, 1.0)) * np.maximum(lo - lo0, 0.0), lo)
        hi = np.where(beyond, hi0 + (1.0 + f) * np.maximum(hi - hi0, 0.0), hi)
        bound = self.jensen_bound(k, level)
        hi = np.where(beyond, np.minimum(hi, bound) if self.successes >= FEW_SUCCESSES else bound, hi)
        point = self.predict(k)
        return np.clip(np.minimum(lo, point), 0.0, 1.0), np.clip(np.maximum(hi, point), 0.0, 1.0)

    def jensen_bound(self, k, level: Optional[float] = None) -> np.ndarray:
        """1 - (1 - p_hi)^k, p_hi the upper end of the mean success rate's interval (Poisson, from
        all samples): no distribution of per-problem rates with that mean covers more."""
        from scipy.stats import chi2

        upper = chi2.ppf(0.5 + (level or self.level) / 2, 2 * (self.successes + 1)) / 2 / self.samples
        return -np.expm1(np.asarray(k, dtype=np.float64) * np.log1p(-min(upper, 1.0 - 1e-12)))

    def to_dict(self, ks=()) -> dict[str, Any]:
        out = {"method": self.method, "n_problems": self.n_problems, "fit_samples": self.measured,
               "level": self.level, "choice": self.choice.to_dict(),
               "components": {name: {k: v for k, v in f.to_dict().items() if k not in ("forecast",)}
                              for name, f in self.components.items()}}
        if len(ks):
            lo, hi = self.interval(ks)
            out["forecast"] = [{"k": int(k), "coverage": float(v), "low": float(a), "high": float(b)}
                               for k, v, a, b in zip(ks, self.predict(ks), lo, hi)]
        return out


def forecast(n, c, method: str = AUTO, n_boot: int = 100, level: float = 0.9, seed: int = 0,
             methods: Sequence[str] = CANDIDATES, reps: int = 6, choice: Optional[Choice] = None):
    """A run's coverage forecast: `auto` (self-backtest, choice, mix, widened interval; `choice`
    when the self-backtest was already run) or the one family named (extrapolate.METHODS)."""
    if method != AUTO:
        if method not in METHODS:
            raise ForecastError(f"unknown method {method!r}; known: {AUTO}, {', '.join(METHODS)}")
        return forecast_coverage(n, c, method, n_boot=n_boot, level=level, seed=seed)
    if choice is None:
        choice = choose(self_backtest(n, c, methods, reps=reps, seed=seed), methods)
    # The bootstrap is shared out by weight (at least 20 each): the mix costs about one family's.
    components = {name: forecast_coverage(n, c, name, n_boot=max(min(n_boot, 20), round(n_boot * w)), level=level,
                                          seed=seed) for name, w in choice.weights.items()}
    return AutoForecast(components, choice, int(np.max(n)), level, int(np.sum(c)), int(np.sum(n)))
