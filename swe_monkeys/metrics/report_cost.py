"""The cost part of a report: prices the run, finds the cost-optimal k, the k that matches each
published baseline, and regenerates the paper's Table 1 with the run as its reference row.

Kept apart from report.py so that each stays small; it fills in fields of an existing Report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from swe_monkeys.metrics.cost import (LinearCost, Table1Row, api_cost, cost_optimal_k, flops_cost, gpu_cost,
                                      k_to_reach, per_resolved, relative_costs)
from swe_monkeys.pricing import BaselineSet, find_baselines, load_baselines, load_pricing

__all__ = ["CostSummary", "add_cost"]


@dataclass
class CostSummary:
    primary: LinearCost
    secondary: list[LinearCost]
    per_problem: list[float]  # primary cost of k samples of one problem, at the report's ks
    per_resolved: list[float]
    optimal_k: int
    optimal_per_resolved: float
    matches: list[dict[str, Any]]  # per baseline: the k that reaches its solve rate and its cost


def _self_hosted(rows: list[dict], meta: dict, options) -> Optional[LinearCost]:
    """Dollars per sample from the serving hardware's price and the time the run's sampling held
    the server (run meta "sampling_seconds"); the hardware is --hardware, else what the run recorded."""
    from swe_monkeys.metrics.hardware import parse_hardware, run_hosting_cost

    hosting = meta.get("hardware")
    if options.hardware:
        name, units = parse_hardware(options.hardware)
        hosting = {"name": name, "units": units, "how": "given (--hardware)"}
    seconds = float(meta.get("sampling_seconds") or 0.0)
    if not hosting or not seconds or not rows:
        return None
    return run_hosting_cost(hosting, seconds, len(rows), options.pricing_path)


def _costs(rows: list[dict], meta: dict, model: Optional[str], options) -> tuple[list[LinearCost], list[str]]:
    """Every cost figure the data supports: list prices, then the self-hosted hardware, then
    GPU-seconds (dollars), then the paper's FLOPs estimate; and notes on what is missing."""
    pricing = load_pricing(options.pricing_path)
    price = pricing.model(model)
    hosted = _self_hosted(rows, meta, options)
    if not model and hosted is None:
        return [], ["the run records no model: pass --model to price it"]
    gpu_name = options.gpu or meta.get("gpu") or (price.gpu if price else None)
    gpu = pricing.gpu(gpu_name)
    found = [api_cost(rows, price, options.prompt_cache) if price else None, hosted,
             gpu_cost(rows, gpu) if gpu else None, flops_cost(rows, price) if price else None]
    costs = [x for x in found if x is not None]
    notes = []
    if not any(x.unit == "$" for x in costs):
        names = ", ".join(sorted(name for name, p in pricing.models.items() if p.has_api_price))
        notes.append(f"no price for model {model!r}: no list price (listed: {names}) and no serving hardware "
                     "recorded; pass --hardware NAME[:UNITS] (configs/pricing.yaml hardware) or --model")
    return costs, notes


def _matches(cost: LinearCost, coverage_all: np.ndarray, baselines: Optional[BaselineSet]) -> list[dict[str, Any]]:
    """For each baseline: the fewest samples reaching its solve rate, and both costs per problem."""
    out = []
    for base in baselines.results if baselines else ():
        k = k_to_reach(coverage_all, base.solved_pct / 100.0)
        run_cost = float(cost.at(k)) if k else None
        base_cost = base.dollars_per_attempt * base.attempts
        out.append({"model": base.model, "solved_pct": base.solved_pct, "k": k, "run_cost_per_problem": run_cost,
                    "baseline_cost_per_problem": base_cost,
                    "ratio": run_cost / base_cost if run_cost is not None and base_cost else None})
    return out


def _table1(report, cost: LinearCost, coverage_all: np.ndarray, baselines: BaselineSet, attempts: Optional[int]):
    """Table 1 with the run as reference (1x): the run's row at `attempts`, by default the fewest
    samples whose coverage beats every baseline (the paper picked 5 that way), else all of them."""
    n_max = len(coverage_all)
    k = attempts or k_to_reach(coverage_all, max(b.solved_pct for b in baselines.results) / 100.0)
    if k is None:
        k = n_max
        report.notes.append(f"no k <= {n_max} reaches the best baseline; Table 1 uses k = {n_max}")
    k = min(k, n_max)
    # Totals are at the benchmark's size so that the column compares like with like; the run may
    # have covered only part of it (the relative column is per problem either way).
    priced = f", priced as {report.priced_as}" if report.priced_as else ""
    run_row = Table1Row(f"{report.model or 'this run'} (this run{priced})", float(cost.at(k)) / k, k,
                        float(coverage_all[k - 1]) * 100.0, baselines.n_problems, note=f"pass@{k} of this run")
    if run_row.dollars_per_problem <= 0:
        return
    if report.n_problems != baselines.n_problems:
        report.notes.append(f"Table 1: this run's total is scaled from its {report.n_problems} problems to the "
                            f"benchmark's {baselines.n_problems}")
    rows = [run_row] + [Table1Row.from_baseline(b, baselines.n_problems) for b in baselines.results]
    report.table1, report.table1_relative = rows, relative_costs(rows, run_row)
    report.table1_source = baselines.source


def add_cost(report, rows: list[dict], meta: dict, coverage_all: np.ndarray, options) -> None:
    """Fill in report.cost, report.table1 and report.baseline_points (whatever the data allows).
    A broken pricing file raises PricingError (one clear line on the command line)."""
    imported = meta.get("imported") and not any(r["prompt_tokens"] or r["completion_tokens"] for r in rows)
    # Samples made elsewhere carry no token counts: pricing them has nothing to say.
    costs, notes = ([], []) if imported else _costs(rows, meta, report.priced_as or report.model, options)
    baselines = find_baselines(load_baselines(options.baselines_path), report.benchmark)
    report.notes += notes
    if baselines:
        report.baseline_points = [{"model": b.model, "solved_pct": b.solved_pct, "attempts": b.attempts,
                                   "cost_per_problem": b.dollars_per_attempt * b.attempts} for b in baselines.results]
    elif report.benchmark:
        report.notes.append(f"no published baselines for benchmark {report.benchmark!r}")
    else:
        report.notes.append("the run records no benchmark: pass --benchmark (e.g. swe-bench-lite) for baselines")
    dollars = [x for x in costs if x.unit == "$"]
    if not costs:
        return
    primary = dollars[0] if dollars else costs[0]
    ks, cov = np.array(report.ks), np.array(report.coverage.values)
    best_k, best_value = cost_optimal_k(primary, coverage_all)
    report.cost = CostSummary(primary=primary, secondary=[x for x in costs if x is not primary],
                              per_problem=primary.at(ks).tolist(), per_resolved=per_resolved(primary, ks, cov).tolist(),
                              optimal_k=best_k, optimal_per_resolved=best_value,
                              matches=_matches(primary, coverage_all, baselines) if dollars else [])
    if dollars and baselines:
        _table1(report, primary, coverage_all, baselines, options.attempts)
