"""Metrics: pure functions from the run's sample table to coverage curves, scaling fits and cost.

- passk: unbiased pass@k from per-problem (n, c) counts, coverage curves, bootstrap intervals
- selection: majority vote and best-of-k by a scorer, at k samples
- fits: the paper's exponentiated power law and a Beta-binomial coverage model, with an
  extrapolation check
- cost: dollars and FLOPs per resolved problem, the paper's Table 1 (list prices and published
  baselines come from swe_monkeys/pricing.py, which reads the YAML under configs/)
- report / report_cost / render / plots: `swe-monkeys report` (data, then text, PNG and HTML)
- bench: `swe-monkeys bench metrics`

Importing this package loads numpy only; scipy and matplotlib are imported inside the functions
that need them, so that `swe-monkeys --help` stays fast.
"""

from swe_monkeys.metrics.passk import (bootstrap_ci, coverage_curve, coverage_every_k, log_spaced_ks, pass_at_k,
                                       pass_at_k_matrix)

__all__ = ["pass_at_k", "pass_at_k_matrix", "coverage_curve", "coverage_every_k", "bootstrap_ci", "log_spaced_ks"]
