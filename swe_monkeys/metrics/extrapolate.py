"""Coverage at k far beyond the samples drawn, one model family at a time: `forecast_coverage`.

Every family reads per-problem counts (n samples, c correct) and returns a `CoverageForecast`
whose `predict(k)` and `interval(k)` work for any k; intervals are a bootstrap over problems
(each replicate refits the model on problems drawn with replacement). Families (the registry
`METHODS`, names -> instances):

- smooth-prior, smooth-prior-light: a discretised prior over p, fitted by penalised maximum
  likelihood (swe_monkeys.metrics.prior_grid) with smoothing weight 10 or 1 problems' worth;
  coverage(k) = 1 - E[(1-p)^k] under it.
- power-law: the paper's exponentiated power law fitted to the pass@k curve at k <= n.
- beta, zero-beta: p ~ Beta(a, b), and that with a point mass at p = 0 (never solved): the
  beta-binomial and zero-inflated fits of Kazdan et al. 2025 (arXiv 2510.05197).
- scaled-beta, kumaraswamy: p ~ s * Beta(a, b) or s * Kumaraswamy(a, b) on [0, s], the
  distributional estimator of Schaeffer et al. 2025 (arXiv 2502.17578), here fitted by the
  binomial likelihood of the counts.
- npmle: the unsmoothed nonparametric MLE of the prior, the reference for why smoothing matters.

Which family a run's forecast uses is not fixed here: swe_monkeys.metrics.selfcheck backtests
every family on the run's own samples and mixes them by how well they predicted (its docstring
has what that does and does not buy on real sample sets). On synthetic truths
(`python -m swe_monkeys.metrics.backtest`) the smooth prior had the smallest bias; on real sets
fitted on 5 samples per problem its straight-line tail in logit p piles mass at p << 1/k and
under-forecasts (swe_monkeys.metrics.realdata).

scipy is imported inside the functions that need it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from swe_monkeys.metrics import prior_grid as grid
from swe_monkeys.metrics.fits import _beta_neg_loglik, beta_coverage, fit_power_law, power_law_coverage
from swe_monkeys.metrics.passk import log_spaced_ks, pass_at_k_matrix
from swe_monkeys.errors import SweMonkeysError

__all__ = ["CoverageForecast", "forecast_coverage", "METHODS", "DEFAULT_FAMILY", "ForecastError"]

# The family fitted when none is named. A run's own forecast is selfcheck.forecast's choice.
DEFAULT_FAMILY = "smooth-prior"


class ForecastError(SweMonkeysError, ValueError):
    """Counts that no method can extrapolate from (e.g. an unknown method name)."""


@dataclass(frozen=True, eq=False)
class CoverageForecast:
    """A fitted coverage model: `point` parameters and `replicates` (one row per bootstrap draw)."""

    method: str
    n_problems: int
    fit_samples: int  # the largest n of any problem the fit saw
    level: float
    point: np.ndarray
    replicates: np.ndarray
    alternatives: np.ndarray  # parameters of equally plausible fits (e.g. other smoothing weights)
    summary: dict[str, Any] = field(default_factory=dict)

    def predict(self, k) -> np.ndarray:
        """Predicted coverage at each k (a scalar k gives a 0-d array; float() it)."""
        k = np.asarray(k, dtype=np.float64)
        return METHODS[self.method].curve(self.point[None, :], k.reshape(-1))[0].reshape(k.shape)

    def replicate_curves(self, k) -> np.ndarray:
        """(bootstrap replicates, len(k)) coverage curves."""
        return METHODS[self.method].curve(self.replicates, np.asarray(k, dtype=np.float64).reshape(-1))

    def interval(self, k, level: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Percentile bootstrap interval at each k, shifted to span the alternatives' forecasts too.

        Each replicate curve grows with k, so both ends do. With alternatives the interval is the
        union of the bootstrap interval moved onto each alternative's forecast: sampling spread
        plus the spread between fits the data cannot tell apart.
        """
        k = np.asarray(k, dtype=np.float64)
        point = self.predict(k).reshape(-1)
        lo = hi = point
        if len(self.replicates):
            tail = (1.0 - (level or self.level)) / 2.0
            lo, hi = np.quantile(self.replicate_curves(k), [tail, 1.0 - tail], axis=0)
            lo, hi = np.minimum(lo, point), np.maximum(hi, point)
        if len(self.alternatives):
            others = METHODS[self.method].curve(self.alternatives, k.reshape(-1))
            lo = np.minimum(lo, others.min(axis=0) - (point - lo))
            hi = np.maximum(hi, others.max(axis=0) + (hi - point))
        return np.clip(lo, 0.0, 1.0).reshape(k.shape), np.clip(hi, 0.0, 1.0).reshape(k.shape)

    def to_dict(self, ks=()) -> dict[str, Any]:
        out = {"method": self.method, "n_problems": self.n_problems, "fit_samples": self.fit_samples,
               "level": self.level, "n_boot": int(len(self.replicates)), **self.summary}
        if len(ks):
            lo, hi = self.interval(ks)
            out["forecast"] = [{"k": int(k), "coverage": float(v), "low": float(a), "high": float(b)}
                               for k, v, a, b in zip(ks, self.predict(ks), lo, hi)]
        return out


class _Data:
    """Distinct (n, c) pairs, lazily with the grid likelihood or pass@k rows a method needs."""

    def __init__(self, n, c):
        self.n, self.c, self.counts = grid.pair_counts(n, c)
        self._lik = None

    @property
    def lik(self) -> np.ndarray:
        if self._lik is None:
            self._lik = grid.cell_likelihood(self.n, self.c, EDGES)
        return self._lik


EDGES = grid.cell_edges()


class PowerLaw:
    """The paper's c(k) = 10^(a k^b), least squares on the pass@k curve at log-spaced k <= n."""

    def fit(self, data: _Data, weights: np.ndarray, start=None) -> np.ndarray:
        if not hasattr(data, "pk"):
            data.ks = log_spaced_ks(int(data.n.max()))
            data.pk = pass_at_k_matrix(data.n, data.c, data.ks)
        if data.ks.size < 2:
            raise ForecastError("power law needs at least two k values (n >= 2)")
        fit = fit_power_law(data.ks, weights @ data.pk / weights.sum())
        return np.array([fit.a, fit.b])

    def curve(self, params: np.ndarray, ks: np.ndarray) -> np.ndarray:
        return power_law_coverage(ks[None, :], params[:, :1], params[:, 1:2])

    def describe(self, params) -> dict:
        return {"a": float(params[0]), "b": float(params[1]), "base": 10.0}


class Beta:
    """p ~ Beta(a, b), exact Beta-binomial likelihood; parameters kept as logs."""

    def fit(self, data: _Data, weights: np.ndarray, start=None) -> np.ndarray:
        from scipy.optimize import minimize

        start = np.array([np.log(0.5), np.log(2.0)]) if start is None else start
        return minimize(_beta_neg_loglik, start, args=(data.n, data.c, weights), jac=True, method="L-BFGS-B",
                        bounds=[(-9.0, 9.0), (-9.0, 9.0)]).x

    def curve(self, params, ks):
        a, b = np.exp(params[:, :1]), np.exp(params[:, 1:2])
        return beta_coverage(ks[None, :], a, b)

    def describe(self, params) -> dict:
        return {"alpha": float(np.exp(params[0])), "beta": float(np.exp(params[1]))}


class ZeroBeta(Beta):
    """A point mass z at p = 0 plus (1 - z) Beta(a, b); parameters (log a, log b, logit z)."""

    def _nll(self, theta, data, weights):
        from scipy.special import betaln, expit

        a, b, z = np.exp(theta[0]), np.exp(theta[1]), expit(theta[2])
        lbb = betaln(data.c + a, data.n - data.c + b) - betaln(a, b)  # log BB(c) without C(n, c)
        log_binom = _log_binom(data.n, data.c)
        like = (1 - z) * np.exp(lbb + log_binom) + z * (data.c == 0)
        return -np.dot(weights, np.log(np.maximum(like, 1e-300)))

    def fit(self, data, weights, start=None):
        from scipy.optimize import minimize

        start = np.array([np.log(0.5), np.log(2.0), -1.0]) if start is None else start
        return minimize(self._nll, start, args=(data, weights), method="L-BFGS-B",
                        bounds=[(-9.0, 9.0), (-9.0, 9.0), (-12.0, 12.0)]).x

    def curve(self, params, ks):
        from scipy.special import expit

        return (1 - expit(params[:, 2:3])) * super().curve(params, ks)

    def describe(self, params) -> dict:
        from scipy.special import expit

        return {**super().describe(params), "zero_mass": float(expit(params[2]))}


def _log_binom(n, c):
    from scipy.special import gammaln

    return gammaln(n + 1) - gammaln(c + 1) - gammaln(n - c + 1)


class GridFamily:
    """A parametric p-distribution put on the grid through its CDF: (log a, log b, logit scale)."""

    def __init__(self, cdf: str):
        self.cdf = cdf

    def masses(self, theta: np.ndarray) -> np.ndarray:
        from scipy.special import betainc, expit

        a, b, s = np.exp(theta[0]), np.exp(theta[1]), expit(theta[2])
        x = np.clip(EDGES / s, 0.0, 1.0)
        if self.cdf == "beta":
            cdf = betainc(a, b, x)
        else:
            with np.errstate(divide="ignore"):  # log1p(-1) = -inf at the top edge: cdf 1, as it should
                cdf = -np.expm1(b * np.log1p(-np.minimum(x ** a, 1.0)))
        return np.maximum(np.diff(cdf), 0.0)

    def fit(self, data: _Data, weights: np.ndarray, start=None) -> np.ndarray:
        from scipy.optimize import minimize

        def nll(theta):
            return -np.dot(weights, np.log(np.maximum(data.lik @ self.masses(theta), 1e-300)))

        start = np.array([np.log(0.5), np.log(2.0), 3.0]) if start is None else start
        return minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-6,
                                                                   "maxiter": 2000}).x

    def curve(self, params, ks):
        masses = np.array([self.masses(p) for p in params])
        return grid.grid_coverage(masses, ks, EDGES)

    def describe(self, params) -> dict:
        from scipy.special import expit

        return {"alpha": float(np.exp(params[0])), "beta": float(np.exp(params[1])),
                "scale": float(expit(params[2])), "family": self.cdf}


class SmoothPrior:
    """Penalised-likelihood prior on the grid; parameters are the cell masses themselves.

    The smoothing weight is not identified by counts from few samples (the marginal likelihood
    varies by a few nats over lam = 3..300), and it is what decides the tail: so besides the fit at
    `lam`, `band_lams` are fitted too and their forecasts widen the interval (model uncertainty).
    """

    def __init__(self, lam: float = 10.0, band_lams: tuple[float, ...] = (3.0, 30.0), n_basis: int = 40,
                 free_bottom: bool = True, order: int = 2):
        self.lam, self.band_lams, self.free_bottom, self.order = lam, band_lams, free_bottom, order
        self.n_basis = n_basis

    @property
    def basis(self) -> np.ndarray:  # built on first use: it imports scipy
        if not hasattr(self, "_basis"):
            self._basis = grid.spline_basis(EDGES, self.n_basis)
        return self._basis

    def _fit(self, data: _Data, weights: np.ndarray, lam: float, start=None) -> grid.SmoothFit:
        return grid.fit_smooth_prior(data.lik, weights, self.basis, lam, self.order, start=start,
                                     free_bottom=self.free_bottom)

    def fit(self, data: _Data, weights: np.ndarray, start=None) -> np.ndarray:
        fit = self._fit(data, weights, self.lam, getattr(data, "theta", None))
        if not hasattr(data, "theta"):
            data.theta = fit.theta  # warm start for the bootstrap refits
        return fit.masses

    def alternatives(self, data: _Data) -> np.ndarray:
        return np.array([self._fit(data, data.counts, lam, data.theta).masses for lam in self.band_lams])

    def curve(self, params, ks):
        return grid.grid_coverage(params, ks, EDGES)

    def describe(self, params) -> dict:
        return {"never_solved_mass": float(params[0]), "lambda": self.lam}

class Npmle(SmoothPrior):
    def alternatives(self, data):
        return np.empty((0, EDGES.size - 1))

    def fit(self, data, weights, start=None):
        return grid.fit_npmle(data.lik, weights, iters=500)

    def describe(self, params) -> dict:
        return {"never_solved_mass": float(params[0])}


METHODS: dict[str, Any] = {
    "smooth-prior": SmoothPrior(), "smooth-prior-light": SmoothPrior(lam=1.0, band_lams=(0.3, 3.0)),
    "power-law": PowerLaw(), "beta": Beta(), "zero-beta": ZeroBeta(),
    "scaled-beta": GridFamily("beta"), "kumaraswamy": GridFamily("kumaraswamy"), "npmle": Npmle(),
}


def forecast_coverage(n, c, method: str = DEFAULT_FAMILY, n_boot: int = 100, level: float = 0.9,
                      seed: int = 0) -> CoverageForecast:
    """Fit `method` on per-problem counts and bootstrap it over problems `n_boot` times."""
    if method not in METHODS:
        raise ForecastError(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    family = METHODS[method]
    data = _Data(n, c)
    point = np.asarray(family.fit(data, data.counts), dtype=np.float64)
    rng = np.random.default_rng(seed)
    total = int(data.counts.sum())
    draws = rng.multinomial(total, data.counts / total, size=n_boot)
    replicates = np.array([family.fit(data, w.astype(np.float64), point) for w in draws]).reshape(n_boot, point.size)
    alternatives = family.alternatives(data) if hasattr(family, "alternatives") else np.empty((0, point.size))
    return CoverageForecast(method, total, int(data.n.max()), level, point, replicates, alternatives,
                            family.describe(point))
