"""What repeated sampling costs: dollars or FLOPs per problem at k samples, per resolved problem,
the cost-optimal k, and the rows of the paper's Table 1.

Every cost here is linear in k, `fixed_per_problem + k * per_sample`, measured from the run's
sample table. With list prices the fixed part is zero and, since coverage is concave in k, the
cheapest dollars-per-resolved is then always k = 1; a fixed part (a prompt prefilled once, or the
first request of a prompt cache) is what moves the optimum. The figure that usually matters is the
k at which a cheap model matches a frontier model's single attempt, and what that k costs.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from swe_monkeys.pricing import Baseline, GpuPrice, ModelPrice

__all__ = ["LinearCost", "api_cost", "gpu_cost", "flops_cost", "prefill_flops", "decode_flops", "per_resolved",
           "cost_optimal_k", "k_to_reach", "Table1Row", "relative_costs", "format_relative"]

MILLION = 1e6


@dataclass(frozen=True)
class LinearCost:
    """Cost of k samples for one problem: fixed_per_problem + k * per_sample, in `unit`."""

    per_sample: float
    fixed_per_problem: float
    unit: str  # "$" or "FLOPs"
    basis: str  # where the figure comes from, shown beside it

    def at(self, k) -> np.ndarray:
        return self.fixed_per_problem + np.asarray(k, dtype=np.float64) * self.per_sample


def _column(rows: Sequence[dict], key: str) -> np.ndarray:
    return np.array([float(r.get(key) or 0) for r in rows])


def _meta_column(rows: Sequence[dict], key: str) -> np.ndarray:
    return np.array([float((r.get("meta") or {}).get(key) or 0) for r in rows])


def api_cost(rows: Sequence[dict], price: ModelPrice, prompt_cache: bool = False) -> Optional[LinearCost]:
    """Dollars per sample at the model's list prices; None without prices or token counts.

    Every drawn sample counts, judged or not: the tokens were paid for either way. Cached prompt
    tokens are priced at the cache rate when the sampler measured them (meta "cached_tokens").
    With `prompt_cache`, unmeasured repeats are assumed cached too: each problem's first request
    pays the full prompt price (the fixed part), every further sample the cached price.
    """
    if not price.has_api_price or not rows:
        return None
    prompt, completion = _column(rows, "prompt_tokens"), _column(rows, "completion_tokens")
    if not (prompt.any() or completion.any()):
        return None
    cached = np.minimum(_meta_column(rows, "cached_tokens"), prompt)
    cached_rate = price.cached_input_per_mtok if price.cached_input_per_mtok is not None else price.input_per_mtok
    fixed = 0.0
    if prompt_cache and not cached.any():
        cached = prompt
        fixed = float(prompt.mean()) * (price.input_per_mtok - cached_rate) / MILLION
    per_sample = ((prompt - cached) * price.input_per_mtok + cached * cached_rate
                  + completion * price.output_per_mtok) / MILLION
    basis = f"{price.name} list prices as of {price.as_of} ({price.source})"
    return LinearCost(float(per_sample.mean()), fixed, "$", basis + (", prompt cache assumed" if fixed else ""))


def gpu_cost(rows: Sequence[dict], gpu: GpuPrice) -> Optional[LinearCost]:
    """Dollars per sample from measured GPU-seconds (meta "gpu_seconds") at the GPU's hourly price."""
    seconds = _meta_column(rows, "gpu_seconds")
    if not rows or not seconds.any():
        return None
    basis = f"measured GPU-seconds x {gpu.name} ${gpu.dollars_per_hour}/GPU-hour as of {gpu.as_of} ({gpu.source})"
    return LinearCost(float(seconds.mean()) * gpu.dollars_per_hour / 3600.0, 0.0, "$", basis)


def prefill_flops(prompt, params: float, layers: int, d_model: int) -> np.ndarray:
    """sum over prompt positions t=1..p of 2 (params + 2 layers d_model t) (the paper's per-token
    estimate, with each token's own context length)."""
    p = np.asarray(prompt, dtype=np.float64)
    return 2.0 * params * p + 2.0 * layers * d_model * p * (p + 1)


def decode_flops(prompt, completion, params: float, layers: int, d_model: int) -> np.ndarray:
    """The same sum over positions p+1..p+q of one completion of q tokens after a p-token prompt."""
    p = np.asarray(prompt, dtype=np.float64)
    q = np.asarray(completion, dtype=np.float64)
    return 2.0 * params * q + 2.0 * layers * d_model * q * (2 * p + q + 1)


def flops_cost(rows: Sequence[dict], price: ModelPrice) -> Optional[LinearCost]:
    """The paper's FLOPs estimate: the prompt is prefilled once per problem (shared by all its
    samples), each completion is decoded on top of it."""
    if not price.has_architecture or not rows:
        return None
    prompt, completion = _column(rows, "prompt_tokens"), _column(rows, "completion_tokens")
    if not completion.any():
        return None
    arch = (float(price.params), int(price.layers), int(price.d_model))
    per_problem_prompt: dict[str, float] = {}
    for row, p in zip(rows, prompt):
        per_problem_prompt[row["problem_id"]] = max(per_problem_prompt.get(row["problem_id"], 0.0), p)
    fixed = float(np.mean(prefill_flops(list(per_problem_prompt.values()), *arch)))
    per_sample = float(np.mean(decode_flops(prompt, completion, *arch)))
    basis = f"2*(params + 2*layers*d_model*context) per token, {price.name} ({price.source})"
    return LinearCost(per_sample, fixed, "FLOPs", basis)


def per_resolved(cost: LinearCost, ks, coverage) -> np.ndarray:
    """Cost per resolved problem at each k: cost of k samples / P(resolved with k samples)."""
    coverage = np.asarray(coverage, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(coverage > 0, cost.at(ks) / np.where(coverage > 0, coverage, 1.0), np.inf)


def cost_optimal_k(cost: LinearCost, coverage_by_k) -> tuple[int, float]:
    """The k in 1..len(coverage_by_k) with the lowest cost per resolved problem, and that cost."""
    ks = np.arange(1, len(coverage_by_k) + 1)
    values = per_resolved(cost, ks, coverage_by_k)
    best = int(np.argmin(values))
    return best + 1, float(values[best])


def k_to_reach(coverage_by_k, target: float) -> Optional[int]:
    """The smallest k whose coverage reaches `target` (a fraction), None if no k does."""
    hits = np.flatnonzero(np.asarray(coverage_by_k) >= target - 1e-12)
    return int(hits[0]) + 1 if hits.size else None


@dataclass(frozen=True)
class Table1Row:
    """A row of the paper's Table 1; totals are derived so they can never disagree with inputs."""

    model: str
    dollars_per_attempt: float
    attempts: int
    solved_pct: float
    n_problems: int
    note: str = ""

    @property
    def dollars_per_problem(self) -> float:
        return self.dollars_per_attempt * self.attempts

    @property
    def total_dollars(self) -> float:
        return self.dollars_per_problem * self.n_problems

    @classmethod
    def from_baseline(cls, baseline: Baseline, n_problems: int) -> "Table1Row":
        return cls(baseline.model, baseline.dollars_per_attempt, baseline.attempts, baseline.solved_pct,
                   n_problems, baseline.note)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "dollars_per_attempt": self.dollars_per_attempt, "attempts": self.attempts,
                "solved_pct": self.solved_pct, "n_problems": self.n_problems, "total_dollars": self.total_dollars,
                "note": self.note}


def relative_costs(rows: Iterable[Table1Row], reference: Table1Row) -> list[float]:
    """Each row's cost relative to `reference`, per problem (equal to the ratio of totals when the
    problem counts agree, and still meaningful when a run covered only part of a benchmark)."""
    return [row.dollars_per_problem / reference.dollars_per_problem for row in rows]


def format_relative(ratio: float) -> str:
    """As the paper prints it: two significant digits and an x (1x, 3.6x, 0.28x; 120x, not 1.2e+02x;
    0.000079x, not 7.9e-05x)."""
    if ratio >= 10:
        return f"{ratio:.0f}x"
    if 0 < ratio < 0.01:
        return f"{ratio:.{1 - math.floor(math.log10(ratio))}f}x"
    return f"{ratio:.2g}x"
