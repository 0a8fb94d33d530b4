"""A discretised prior over per-problem success probabilities p, and its smoothed maximum likelihood.

The prior is a histogram on cells of [0, 1]: one bottom cell [0, p_min) ("never solved at any k
we care about", a point mass at zero in all but name), cells evenly spaced in logit(p) up to
1 - p_top, and a top cell. Within a cell the density is flat in p, so a problem's likelihood
given a cell is exact and closed-form for any n (an incomplete Beta function):

    P(c of n | p ~ U[a, b]) = (I_b(c+1, n-c+1) - I_a(c+1, n-c+1)) / ((n + 1)(b - a))

and so is the cell's mean failure rate after k samples, ((1-a)^(k+1) - (1-b)^(k+1)) / ((k+1)(b-a)).
A problem with n = 10,000 samples is thus as cheap and as exact as one with n = 10: nothing
depends on the grid resolving the binomial's width.

`fit_smooth_prior` is penalised maximum likelihood of the cell masses (Efron's g-modelling, 2016,
with a P-spline penalty): log-masses of the logit cells get a second-difference penalty, so where
the data say nothing (p well below 1/n) the log-density continues as a straight line in logit p,
i.e. a power law p^s whose exponent s is read off the observed part; the bottom cell is free
(no penalty) and takes the problems that look impossible. `fit_npmle` is the unsmoothed EM
estimate, kept as the reference that shows why smoothing is needed.

scipy is imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["cell_edges", "cell_likelihood", "cell_failure", "grid_coverage", "fit_smooth_prior", "fit_npmle",
           "pair_counts", "spline_basis", "SmoothFit",
           "linearised_refits"]

P_MIN = 1e-7  # bottom cell [0, P_MIN): (1 - 1e-7)^100,000 = 0.99 -- unsolved at any k a plan asks about
P_TOP = 1e-5
N_CELLS = 112  # logit cells; ~0.25 logit units each


def cell_edges(n_cells: int = N_CELLS, p_min: float = P_MIN, p_top: float = P_TOP) -> np.ndarray:
    """Edges of the bottom cell, `n_cells` logit-spaced cells and the top cell (n_cells + 3 values)."""
    lo, hi = np.log(p_min / (1 - p_min)), np.log((1 - p_top) / p_top)
    inner = 1.0 / (1.0 + np.exp(-np.linspace(lo, hi, n_cells + 1)))
    return np.concatenate([[0.0], inner, [1.0]])


def pair_counts(n, c, weight=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (n, c) pairs and how many problems (or how much weight) each has."""
    n = np.asarray(n, dtype=np.int64).reshape(-1)
    c = np.asarray(c, dtype=np.int64).reshape(-1)
    if n.size == 0 or n.shape != c.shape or (n < 1).any() or (c < 0).any() or (c > n).any():
        raise ValueError("need non-empty n, c of the same length with n >= 1 and 0 <= c <= n")
    pairs, inverse = np.unique(np.stack([n, c], axis=1), axis=0, return_inverse=True)
    w = np.ones(n.size) if weight is None else np.asarray(weight, dtype=np.float64).reshape(-1)
    return pairs[:, 0], pairs[:, 1], np.bincount(inverse.reshape(-1), weights=w, minlength=len(pairs))


def cell_likelihood(n, c, edges: np.ndarray) -> np.ndarray:
    """L[j, g] = P(c_j successes of n_j | p uniform on cell g), for distinct pairs j."""
    from scipy.special import betainc

    n = np.asarray(n, dtype=np.float64)[:, None]
    c = np.asarray(c, dtype=np.float64)[:, None]
    a, b = edges[None, :-1], edges[None, 1:]
    # Below the mode take I_b - I_a, above it the complements' difference: no cancellation near 1.
    low = b <= (c + 1) / (n + 2)
    delta = np.where(low, betainc(c + 1, n - c + 1, b) - betainc(c + 1, n - c + 1, a),
                     betainc(n - c + 1, c + 1, 1 - a) - betainc(n - c + 1, c + 1, 1 - b))
    return np.maximum(delta, 0.0) / ((n + 1) * (b - a))


def cell_failure(ks, edges: np.ndarray) -> np.ndarray:
    """F[i, g] = mean of (1-p)^k_i over cell g, i.e. P(k_i samples all fail | p ~ U(cell g))."""
    k1 = np.asarray(ks, dtype=np.float64).reshape(-1, 1) + 1.0
    a, b = edges[None, :-1], edges[None, 1:]
    log_a = k1 * np.log1p(-a)
    with np.errstate(divide="ignore"):
        log_b = k1 * np.log1p(-b)  # -inf at b = 1
    return np.exp(log_a) * -np.expm1(log_b - log_a) / (k1 * (b - a))


def grid_coverage(masses: np.ndarray, ks, edges: np.ndarray) -> np.ndarray:
    """Coverage 1 - E[(1-p)^k] at each k for one mass vector (G,) or a stack (R, G) -> (R, K)."""
    masses = np.atleast_2d(masses)
    return 1.0 - masses @ cell_failure(ks, edges).T


def _penalty_matrix(size: int, order: int) -> np.ndarray:
    d = np.diff(np.eye(size), n=order, axis=0)
    return d.T @ d


def spline_basis(edges: np.ndarray, n_basis: int = 40) -> np.ndarray:
    """Design matrix J (cells x parameters): a free column for the bottom and the top cell, and
    `n_basis` cubic B-splines on equally spaced knots (P-splines, Eilers & Marx 1996) over the
    logit cells' centres. Equal spacing makes a difference penalty on the coefficients a
    derivative penalty on the log-density, and linear coefficients give a straight line."""
    from scipy.interpolate import BSpline

    inner = edges[1:-1]
    u = np.log(inner / (1 - inner))
    centres = (u[:-1] + u[1:]) / 2
    h = (u[-1] - u[0]) / (n_basis - 3)
    knots = u[0] + h * np.arange(-3, n_basis + 1)
    spline = BSpline.design_matrix(np.clip(centres, knots[3], knots[-4]), knots, 3).toarray()
    out = np.zeros((edges.size - 1, n_basis + 2))
    out[0, 0] = out[-1, -1] = 1.0
    out[1:-1, 1:-1] = spline
    return out


def _penalty(size: int, lam: float, total: float, order: int, free_bottom: bool) -> np.ndarray:
    lo = 1 if free_bottom else 0
    pen = np.zeros((size, size))
    pen[lo:size - 1, lo:size - 1] = _penalty_matrix(size - 1 - lo, order)  # the top cell is always free
    return pen * (lam / total) + 1e-9 * np.eye(size)  # the ridge pins softmax's free constant


class _Objective:
    """Mean negative log-likelihood per problem plus the penalty, with gradient and Hessian."""

    def __init__(self, lik, counts, basis, pen):
        from scipy.sparse import csr_matrix

        self.lik, self.basis, self.pen = lik, basis, pen
        # Four B-splines overlap per cell: a sparse product avoids a threaded BLAS call that costs
        # 30x more than the arithmetic on a busy machine.
        self.basis_t = csr_matrix(basis.T)
        self.share = counts / counts.sum()
        self._last = None  # (theta, parts): Newton asks for the Hessian where it just took the gradient

    def parts(self, theta):
        if self._last is not None and np.array_equal(self._last[0], theta):
            return self._last[1]
        eta = self.basis @ theta
        w = np.exp(eta - eta.max())
        w /= w.sum()
        mix = np.maximum(self.lik @ w, 1e-300)
        out = w, mix, self.lik * w / mix[:, None]  # masses, likelihood per pair, posterior over cells
        self._last = (theta.copy(), out)
        return out

    def value_grad(self, theta):
        w, mix, post = self.parts(theta)
        pen_theta = self.pen @ theta
        grad = self.basis.T @ (w - self.share @ post) + pen_theta
        return -np.dot(self.share, np.log(mix)) + 0.5 * theta @ pen_theta, grad

    def hessian(self, theta):
        w, _, post = self.parts(theta)
        pj, wj = (self.basis_t @ post.T).T, self.basis_t @ w
        h_data = pj.T @ (pj * self.share[:, None]) - (self.basis.T * (self.share @ post)) @ self.basis
        return h_data + (self.basis.T * w) @ self.basis - np.outer(wj, wj) + self.pen


def linearised_refits(fit: "SmoothFit", lik: np.ndarray, counts: np.ndarray, basis: np.ndarray,
                      replicate_counts: np.ndarray) -> np.ndarray:
    """Cell masses of refits on reweighted problems (rows of `replicate_counts`, same total), each
    one Newton step from the fit: theta_b = theta + H^-1 (Pi J)^T (s_b - s), with Pi the posterior
    over cells per pair. One matrix product for the whole bootstrap instead of a fit per replicate.
    """
    counts = np.asarray(counts, dtype=np.float64)
    w = fit.masses
    post = lik * w / np.maximum(lik @ w, 1e-300)[:, None]
    influence = np.linalg.solve(fit.hessian, (post @ basis).T)  # params x pairs
    shift = (np.asarray(replicate_counts, dtype=np.float64) - counts) / counts.sum()
    eta = (fit.theta + shift @ influence.T) @ basis.T
    out = np.exp(eta - eta.max(axis=1, keepdims=True))
    return out / out.sum(axis=1, keepdims=True)


@dataclass
class SmoothFit:
    """A penalised fit: cell masses, spline coefficients (a warm start for refits), the Hessian of
    the objective per problem, and the log marginal likelihood of lam (Laplace approximation)."""

    masses: np.ndarray
    theta: np.ndarray
    hessian: np.ndarray
    total: float
    log_evidence: float


def fit_smooth_prior(lik: np.ndarray, counts: np.ndarray, basis: np.ndarray, lam: float = 30.0, order: int = 2,
                     start: np.ndarray | None = None, free_bottom: bool = True) -> SmoothFit:
    """Penalised ML cell masses w = softmax(basis @ theta).

    The objective is the mean log-likelihood per problem minus (lam / N) * 0.5 ||D theta||^2 over
    the spline coefficients (D: `order`-th differences), so lam is "problems' worth" of smoothing:
    with more problems the data speak louder. The top cell is unpenalised, the bottom one too when
    `free_bottom` (else it continues the spline's line). Newton steps in a trust region (the
    Hessian of a mixture likelihood in softmax coordinates is cheap: parameters are ~40).
    """
    counts = np.asarray(counts, dtype=np.float64)
    total = float(counts.sum())
    size = basis.shape[1]
    pen = _penalty(size, lam, total, order, free_bottom)
    objective = _Objective(lik, counts, basis, pen)
    theta = _newton(objective, np.zeros(size) if start is None else np.asarray(start, dtype=np.float64))
    value = objective.value_grad(theta)[0]
    hess = objective.hessian(theta)
    rank = size - order - (2 if free_bottom else 1)
    # log p(data | lam) ~ loglik - penalty + (rank/2) log lam - (1/2) log det(N H), constants dropped
    _, logdet = np.linalg.slogdet(hess * total)
    evidence = -total * value + 0.5 * rank * np.log(lam) - 0.5 * logdet
    return SmoothFit(objective.parts(theta)[0], theta, hess, total, float(evidence))


def _descent_step(hess: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """-H^-1 g when H is positive definite (near the optimum, nearly always), else with H + tau I
    for the smallest tau (from 1e-8 of H's scale, times 10) whose Cholesky succeeds. An
    eigendecomposition would do the same but costs 50x a Cholesky with threaded LAPACK."""
    scale = max(float(np.abs(np.diag(hess)).max()), 1e-12)
    tau = 0.0
    while True:
        try:
            np.linalg.cholesky(hess + tau * np.eye(grad.size))
            return -np.linalg.solve(hess + tau * np.eye(grad.size), grad)
        except np.linalg.LinAlgError:
            tau = max(10.0 * tau, 1e-8 * scale)


def _newton(objective: _Objective, theta: np.ndarray, tol: float = 1e-6, max_iter: int = 100) -> np.ndarray:
    """Newton steps on the Hessian with its eigenvalues made positive (|lambda|, floored), and a
    backtracking line search: the mixture likelihood is not concave in log-masses, and a plain
    or Levenberg-damped Newton step oscillates where the Hessian is indefinite. A warm-started
    bootstrap refit takes a handful of steps. (scipy's trust-exact reaches the same optimum but
    spends most of its time on its own bookkeeping, which the bootstrap multiplies.)
    """
    value, grad = objective.value_grad(theta)
    for _ in range(max_iter):
        if np.abs(grad).max() < tol:
            break
        step = _descent_step(objective.hessian(theta), grad)
        slope, length = float(grad @ step), 1.0
        while True:
            new_value, new_grad = objective.value_grad(theta + length * step)
            if new_value <= value + 1e-4 * length * slope or length < 1e-6:
                break
            length *= 0.3
        if new_value > value:
            break
        theta, decrease = theta + length * step, value - new_value
        value, grad = new_value, new_grad
        if decrease < 1e-10:
            break
    return theta


def fit_npmle(lik: np.ndarray, counts: np.ndarray, iters: int = 500) -> np.ndarray:
    """Unsmoothed NPMLE of the cell masses by EM (Laird 1978): mass piles up on few cells."""
    counts = np.asarray(counts, dtype=np.float64)
    w = np.full(lik.shape[1], 1.0 / lik.shape[1])
    for _ in range(iters):
        w = w * (lik.T @ (counts / np.maximum(lik @ w, 1e-300))) / counts.sum()
    return w
