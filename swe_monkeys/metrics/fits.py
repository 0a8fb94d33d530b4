"""Scaling laws for coverage: the paper's exponentiated power law and a Beta-binomial model.

Both are kept for comparison and for the report's fit table; forecasts far beyond the samples
drawn, with intervals, are swe_monkeys.metrics.extrapolate's (its default, a smoothed prior over
per-problem success rates, extrapolates better: its docstring has the measured errors).

Power law (Brown et al. 2024, eq. 3 and App. C.1): c(k) = base ** (a * k**b), fitted with scipy's
curve_fit on 40 log-spaced k. The paper writes exp(...), but its printed parameters only reproduce
its own numbers in base 10: SWE-bench Lite's a = -0.76, b = -0.21 give 17.4% at k=1 and 57.8% at
k=250 in base 10 (reported 15.9% and 56%) against 46.8% and 78.8% with the natural log. So base 10
is the default, and `base` is a parameter.

Beta model (beyond the paper): each problem's success probability p ~ Beta(alpha, beta); then
coverage(k) = 1 - E[(1-p)^k] = 1 - B(alpha, beta + k) / B(alpha, beta), fitted by maximum
likelihood on per-problem (successes, samples) with the Beta-binomial likelihood. It needs no
curve, extrapolates from counts alone, and says how hard the unsolved problems are.

scipy is imported inside the functions so that importing swe_monkeys.metrics stays cheap.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np


__all__ = ["PowerLawFit", "BetaFit", "Extrapolation", "power_law_coverage", "fit_power_law",
           "beta_coverage", "fit_beta", "extrapolation_check"]


@dataclass(frozen=True)
class PowerLawFit:
    """c(k) = base ** (a * k**b); `rmse` is over the points it was fitted on. `caveat` says in words
    why the fit cannot be trusted ("" when nothing is known against it)."""

    a: float
    b: float
    base: float
    rmse: float
    n_points: int
    caveat: str = ""

    @property
    def reliable(self) -> bool:
        return not self.caveat

    def predict(self, k) -> np.ndarray:
        return power_law_coverage(k, self.a, self.b, self.base)


@dataclass(frozen=True)
class BetaFit:
    """Per-problem success probability ~ Beta(alpha, beta), fitted by maximum likelihood."""

    alpha: float
    beta: float
    log_likelihood: float
    n_problems: int

    @property
    def mean_p(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    def predict(self, k) -> np.ndarray:
        return beta_coverage(k, self.alpha, self.beta)


def power_law_coverage(k, a: float, b: float, base: float = 10.0) -> np.ndarray:
    """The paper's exponentiated power law, in `base` (10 reproduces the paper's numbers)."""
    k = np.asarray(k, dtype=np.float64)
    return np.power(base, a * np.power(k, b))


def _power_law_start(ks: np.ndarray, cov: np.ndarray, base: float) -> tuple[float, float]:
    # log_base(c) = a k^b  =>  log(-log_base c) = log(-a) + b log k: a line where 0 < c < 1.
    inside = (cov > 0) & (cov < 1)
    if inside.sum() < 2:
        return -1.0, -0.3
    y = np.log(-np.log(cov[inside]) / np.log(base))
    slope, intercept = np.polyfit(np.log(ks[inside]), y, 1)
    return -math.exp(intercept), float(slope)


def fit_power_law(ks, coverage, base: float = 10.0) -> PowerLawFit:
    """Least-squares fit of the power law to a coverage curve (scipy.optimize.curve_fit)."""
    from scipy.optimize import OptimizeWarning, curve_fit

    ks = np.asarray(ks, dtype=np.float64)
    cov = np.asarray(coverage, dtype=np.float64)
    if (cov >= 1).all():  # everything solved at every k: log c = 0 = a k^b with a = 0
        return PowerLawFit(0.0, 0.0, base, 0.0, ks.size)
    if ks.size < 2:
        raise ValueError("need at least two points to fit a power law")
    a0, b0 = _power_law_start(ks, cov, base)

    def model(k, a, b):
        return power_law_coverage(k, a, b, base)

    # a <= 0 keeps c(k) <= 1; trf with bounds is robust when the curve touches 0 or 1. scipy warns
    # (OptimizeWarning, on stderr) when the parameters' covariance is undefined: two points for two
    # parameters, or a curve the data cannot pin down. That is a fact about the fit, so it is kept
    # on the fit, in words, for whoever shows it.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", OptimizeWarning)
        (a, b), pcov = curve_fit(model, ks, cov, p0=(min(a0, -1e-9), b0),
                                 bounds=([-np.inf, -np.inf], [0.0, np.inf]), maxfev=10_000)
    undefined = any(issubclass(w.category, OptimizeWarning) for w in caught) or not np.isfinite(pcov).all()
    rmse = float(np.sqrt(np.mean((model(ks, a, b) - cov) ** 2)))
    return PowerLawFit(float(a), float(b), base, rmse, ks.size, _caveat(ks.size) if undefined else "")


def _caveat(n_points: int) -> str:
    if n_points <= 2:
        return (f"unreliable: {n_points} points for 2 parameters, so the curve passes through them exactly "
                "and nothing checks it")
    return "unreliable: the points do not pin down both parameters (scipy could not estimate their uncertainty)"


def beta_coverage(k, alpha: float, beta: float) -> np.ndarray:
    """1 - B(alpha, beta + k) / B(alpha, beta), via betaln so that k = 10^6 does not overflow."""
    from scipy.special import betaln

    k = np.asarray(k, dtype=np.float64)
    return 1.0 - np.exp(betaln(alpha, beta + k) - betaln(alpha, beta))


def _beta_neg_loglik(theta, n, c, weight):
    """Negative Beta-binomial log-likelihood (without the constant log C(n, c)) and its gradient
    in (log alpha, log beta); the log parameterisation keeps both positive without constraints."""
    from scipy.special import betaln, digamma

    alpha, beta = np.exp(theta)
    ll = weight * (betaln(c + alpha, n - c + beta) - betaln(alpha, beta))
    d_total = digamma(n + alpha + beta) - digamma(alpha + beta)
    d_alpha = weight * (digamma(c + alpha) - digamma(alpha) - d_total)
    d_beta = weight * (digamma(n - c + beta) - digamma(beta) - d_total)
    return -ll.sum(), -np.array([d_alpha.sum() * alpha, d_beta.sum() * beta])


def _beta_start(n: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    # Method of moments on the per-problem rates, clipped into a sane range.
    p = c / n
    mean = float(np.clip(p.mean(), 1e-3, 1 - 1e-3))
    var = float(p.var())
    total = mean * (1 - mean) / var - 1 if var > 0 else 10.0
    total = float(np.clip(total, 1e-2, 1e4))
    return mean * total, (1 - mean) * total


def fit_beta(n, c) -> BetaFit:
    """Maximum-likelihood Beta(alpha, beta) from per-problem successes `c` out of `n` samples."""
    from scipy.optimize import minimize
    from scipy.special import gammaln

    n = np.asarray(n, dtype=np.float64).reshape(-1)
    c = np.asarray(c, dtype=np.float64).reshape(-1)
    if n.size == 0 or n.shape != c.shape:
        raise ValueError("n and c must be non-empty arrays of the same length")
    # The likelihood depends only on the distinct (n, c) pairs: 300 problems are ~300 terms at most.
    pairs, weight = np.unique(np.stack([n, c], axis=1), axis=0, return_counts=True)
    pn, pc = pairs[:, 0], pairs[:, 1]
    start = np.log(_beta_start(n, c))
    # Bounds: all-unsolved (or all-solved) data drive alpha (beta) to 0; stop at e^-12 instead.
    res = minimize(_beta_neg_loglik, start, args=(pn, pc, weight), jac=True, method="L-BFGS-B",
                   bounds=[(-12.0, 12.0), (-12.0, 12.0)])
    alpha, beta = np.exp(res.x)
    log_binom = weight * (gammaln(pn + 1) - gammaln(pc + 1) - gammaln(pn - pc + 1))
    return BetaFit(float(alpha), float(beta), float(-res.fun + log_binom.sum()), int(n.size))
