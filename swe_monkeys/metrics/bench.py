"""`swe-monkeys bench metrics`: pass@k at 40 k, both scaling fits, the default coverage forecast
(swe_monkeys.metrics.extrapolate, with its bootstrap) and the extrapolation check on 300 problems x
10,000 samples, timed (the whole must stay under a second), with peak memory, and the traced peak at
10x fewer and 10x more samples to show that memory does not grow with the number of samples.

The synthetic data are counts, as the metrics consume them: p_i ~ Beta(alpha, beta) per problem,
c_i ~ Binomial(n, p_i). No problems x samples matrix is ever made.
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc
from typing import Any

import numpy as np

__all__ = ["synthetic_counts", "run_metrics_bench"]


def synthetic_counts(n_problems: int, n_samples: int, alpha: float = 0.3, beta: float = 3.0,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per-problem (n, c) with Beta(alpha, beta)-distributed success probabilities."""
    rng = np.random.default_rng(seed)
    p = rng.beta(alpha, beta, n_problems)
    return np.full(n_problems, n_samples, dtype=np.int64), rng.binomial(n_samples, p).astype(np.int64)


def _workload(n: np.ndarray, c: np.ndarray, n_ks: int) -> dict[str, Any]:
    from swe_monkeys.metrics.extrapolate import forecast_coverage
    from swe_monkeys.metrics.backtest import extrapolation_check
    from swe_monkeys.metrics.fits import fit_beta, fit_power_law
    from swe_monkeys.metrics.passk import coverage_curve, log_spaced_ks

    ks = log_spaced_ks(int(n.max()), n_ks, distinct=True)
    coverage = coverage_curve(n, c, ks)
    start = time.perf_counter()
    forecast = forecast_coverage(n, c)
    far = np.array([10, 100]) * int(n.max())
    low, high = forecast.interval(far)
    forecast_seconds = time.perf_counter() - start
    return {"ks": ks, "coverage": coverage, "power_law": fit_power_law(ks, coverage), "beta": fit_beta(n, c),
            "extrapolation": extrapolation_check(n, c), "forecast": forecast, "far_ks": far,
            "far": (forecast.predict(far), low, high), "forecast_seconds": forecast_seconds}


def _traced_peak_mb(n_problems: int, n_samples: int, n_ks: int) -> float:
    """Peak bytes allocated (numpy included) while running the workload once, in MiB."""
    n, c = synthetic_counts(n_problems, n_samples)
    tracemalloc.start()
    try:
        _workload(n, c, n_ks)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def run_metrics_bench(n_problems: int = 300, n_samples: int = 10_000, n_ks: int = 40, seed: int = 0) -> dict:
    """Time the metrics on synthetic counts; returns the figures (the CLI prints them)."""
    start = time.perf_counter()
    import scipy.interpolate  # noqa: F401  (timed separately: a one-off cost of the first report)
    import scipy.optimize  # noqa: F401
    import scipy.sparse  # noqa: F401
    import scipy.special  # noqa: F401

    import_seconds = time.perf_counter() - start
    n, c = synthetic_counts(n_problems, n_samples, seed=seed)
    start, cpu_start = time.perf_counter(), time.process_time()
    result = _workload(n, c, n_ks)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    power, beta, extra, forecast = result["power_law"], result["beta"], result["extrapolation"], result["forecast"]
    traced = {str(s): round(_traced_peak_mb(n_problems, s, n_ks), 2) for s in (n_samples // 10, n_samples,
                                                                             n_samples * 10)}
    return {
        "seconds": round(seconds, 4),
        "cpu_seconds": round(cpu_seconds, 4),  # on a busy machine wall time says more about the neighbours
        "scipy_import_seconds": round(import_seconds, 4),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "traced_peak_mb_by_samples": traced,
        "n_problems": n_problems,
        "n_samples": n_samples,
        "n_k_values": int(result["ks"].size),
        "coverage_at_1": round(float(result["coverage"][0]), 4),
        "coverage_at_n": round(float(result["coverage"][-1]), 4),
        "power_law": {"a": round(power.a, 4), "b": round(power.b, 4), "base": power.base,
                      "rmse": round(power.rmse, 5)},
        "beta": {"alpha": round(beta.alpha, 4), "beta": round(beta.beta, 4), "true_alpha": 0.3, "true_beta": 3.0},
        "forecast": {"method": forecast.method, "n_boot": len(forecast.replicates),
                     "seconds": round(result["forecast_seconds"], 4),
                     **{f"k={k}": [round(float(v), 4) for v in values]
                        for k, values in zip(result["far_ks"], zip(*result["far"]))}},
        "extrapolation": {"fit_samples": extra.fit_samples, "target_k": extra.target_k,
                          "observed": round(extra.observed, 4),
                          "power_law_error": round(extra.power_law_error, 4),
                          "beta_error": round(extra.beta_error, 4),
                          "forecast_error": round(extra.forecast_error, 4),
                          "forecast_interval": [round(extra.forecast_low, 4), round(extra.forecast_high, 4)]},
    }
