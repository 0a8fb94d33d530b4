"""The data of `swe-monkeys plan RUN`: from a pilot run, the k and dollars a target coverage needs
(or what a budget buys), for the run's model at its price, beside every published baseline, and
the k from which the run's model beats each baseline on both coverage and cost.

It reads the run like the report (judged counts, the same cost figures: list prices, else the
serving hardware's time) and hands pure functions (metrics/plan.py) a coverage forecast
(metrics/selfcheck.py: the families backtested on the run's own samples, mixed by how well they
predicted, the interval widened by their error there) and a `LinearCost`. An adaptive run plans too: its
stopping depended only on the samples drawn, so the likelihood of its counts is that of uniform
counts and the forecast fitted on them stands.

Baselines (configs/baselines.yaml) are single published points -- a solve rate at a number of
attempts and a price -- not curves: a baseline "reaches" a target only if its published rate does,
and a budget buys its attempts only if it covers them.

A run without a dollar price still answers --target: the k, with dollars unknown and why (a
coverage forecast needs no price); only a budget and the comparison on cost need one. Every k is
said against the samples measured per problem (metrics/plan.py `Reach`): flagged past 100 x,
not forecast past 10,000 x.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from swe_monkeys.errors import UsageError
from swe_monkeys.metrics.cost import LinearCost
from swe_monkeys.metrics.plan import (CHECKED_MULTIPLE, MAX_MULTIPLE, BaselineMatch, BudgetPlan, PlanError, Reach,
                                     TargetPlan)

__all__ = ["PlanOptions", "RunPlan", "build_plan", "plan_text"]


@dataclass(frozen=True)
class PlanOptions:
    target: Optional[float] = None  # coverage, a fraction
    budget: Optional[float] = None  # dollars
    problems: Optional[int] = None  # problems to plan for (default: the baselines' benchmark size, else the run's)
    model: Optional[str] = None  # price the run as this pricing.yaml model
    hardware: Optional[str] = None  # price it by this hardware, NAME or NAME:UNITS
    benchmark: Optional[str] = None  # whose baselines apply (default: the run's)
    pricing_path: Optional[Path] = None
    baselines_path: Optional[Path] = None
    n_boot: int = 200
    seed: int = 0
    prompt_cache: bool = False
    gpu: Optional[str] = None


@dataclass
class RunPlan:
    run_dir: str
    model: Optional[str]
    n_problems_run: int
    samples_max: int
    n_problems: int  # planned for
    forecast: dict[str, Any]
    cost: Optional[dict[str, Any]]  # the run's model: per_sample, fixed_per_problem, basis; None: no price
    reach: dict[str, Any] = field(default_factory=dict)  # Reach.to_dict: how far from the data a k may be read
    target: Optional[TargetPlan] = None
    budget: Optional[BudgetPlan] = None
    baselines: list[dict[str, Any]] = field(default_factory=list)
    beats: list[BaselineMatch] = field(default_factory=list)
    baseline_source: str = ""
    no_price: str = ""  # why cost is None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        reach = Reach(self.samples_max)
        data["target"] = self.target.to_dict() | {"reach": reach.describe(self.target.k)} if self.target else None
        data["budget"] = self.budget.to_dict() | {"reach": reach.describe(self.budget.k)} if self.budget else None
        data["beats"] = [b.to_dict() for b in self.beats]
        return data


def _check(options: PlanOptions) -> None:
    """What was asked, before the run is read: a bad request is a UsageError (the command exits 2)."""
    if (options.target is None) == (options.budget is None):
        raise UsageError("give one of --target (a coverage fraction, e.g. 0.5) or --budget-dollars")
    if options.target is not None and not 0.0 < options.target < 1.0:
        raise UsageError(f"--target {options.target:g}: a coverage fraction strictly between 0 and 1 (e.g. 0.5)")
    if options.budget is not None and options.budget <= 0:
        raise UsageError(f"--budget-dollars {options.budget:g}: must be positive")
    if options.problems is not None and options.problems < 1:
        raise UsageError(f"--problems {options.problems}: must be at least 1")


def _baselines(options: PlanOptions, benchmark: Optional[str], notes: list[str]) -> tuple[list, int, str]:
    """(baselines, their benchmark's size, source): the run's benchmark's, else every one in the file,
    said to be from another benchmark."""
    from swe_monkeys.pricing import find_baselines, load_baselines

    sets = load_baselines(options.baselines_path)
    chosen = find_baselines(sets, options.benchmark or benchmark)
    if chosen is not None:
        return list(chosen.results), chosen.n_problems, chosen.source
    if options.benchmark:
        raise PlanError(f"no baselines for benchmark {options.benchmark!r}; known: {', '.join(sorted(sets))}")
    results = [(b, s) for s in sets.values() for b in s.results]
    if results:
        names = ", ".join(sorted(sets))
        notes.append(f"no published baselines for {benchmark or 'this run'}; the baselines shown are {names}'s: "
                     "a price comparison, not a like-for-like solve rate")
    return [b for b, _ in results], 0, "; ".join(s.source for s in sets.values())


def _baseline_rows(baselines: list, n_problems: int, options: PlanOptions) -> list[dict[str, Any]]:
    rows = []
    for b in baselines:
        per_problem = b.dollars_per_attempt * b.attempts
        row = {"model": b.model, "solved_pct": b.solved_pct, "attempts": b.attempts,
               "dollars_per_attempt": b.dollars_per_attempt, "dollars": per_problem * n_problems}
        if options.target is not None:
            row["reaches_target"] = b.solved_pct / 100.0 >= options.target
        if options.budget is not None:
            row["attempts_affordable"] = int(options.budget / (b.dollars_per_attempt * n_problems))
            row["affordable"] = row["attempts_affordable"] >= b.attempts
        rows.append(row)
    return rows


def _dollar_cost(rows: list[dict], meta: dict, model: Optional[str], options: PlanOptions
                 ) -> tuple[Optional[LinearCost], str]:
    """(the run's dollars per sample, "") or (None, why there is none)."""
    from swe_monkeys.metrics.report_cost import _costs

    costs, notes = _costs(rows, meta, model, options)
    dollars = [c for c in costs if c.unit == "$" and c.per_sample > 0]
    if not dollars:
        return None, (notes[0] if notes else f"no dollar price for {model or 'this run'}: pass --hardware "
                      "NAME[:UNITS] or --model")
    return dollars[0], ""


def build_plan(run_dir: Path, options: PlanOptions) -> RunPlan:
    """Everything `swe-monkeys plan` prints."""
    from collections import Counter

    from swe_monkeys.metrics.selfcheck import AUTO, forecast
    from swe_monkeys.metrics.plan import beat_baselines, budget_plan, k_for_target
    from swe_monkeys.metrics.report import ReportError, _read_run, judged_counts

    _check(options)
    rows, meta = _read_run(Path(run_dir))
    ids, n, c, _ = judged_counts(rows)
    if not ids:
        raise ReportError(f"{run_dir} has no judged samples: run verify first")
    model = options.model or meta["model"] or Counter(r["model"] for r in rows).most_common(1)[0][0] or None
    cost, no_price = _dollar_cost(rows, meta, model, options)
    if cost is None and options.budget is not None:
        raise PlanError(f"--budget-dollars needs a dollar price per sample: {no_price}")
    notes: list[str] = []
    baselines, bench_size, source = _baselines(options, meta["benchmark"] or meta["task"], notes)
    n_problems = options.problems or bench_size or len(ids)
    fitted = forecast(n, c, AUTO, n_boot=options.n_boot, seed=options.seed)
    reach = Reach(int(n.max()))
    plan = RunPlan(run_dir=str(run_dir), model=model, n_problems_run=len(ids), samples_max=reach.measured,
                   n_problems=n_problems, forecast=fitted.to_dict(), cost=asdict(cost) if cost else None,
                   reach=reach.to_dict(), baseline_source=source, no_price=no_price,
                   baselines=_baseline_rows(baselines, n_problems, options), notes=notes)
    if options.target is not None:
        plan.target = k_for_target(fitted, options.target, cost, n_problems, k_max=reach.max_k)
    else:
        plan.budget = budget_plan(fitted, cost, options.budget, n_problems, k_max=reach.max_k)
    if cost is not None:
        plan.beats = beat_baselines(fitted, cost, baselines, k_max=reach.max_k)
    elif baselines:
        notes.append("without a dollar price the run is not compared with the baselines on cost")
    return plan


def _money(x: Optional[float]) -> str:
    """Dollars to four significant digits, never in exponent notation ($0.0000775, not $7.75e-05)."""
    if x is None:
        return "-"
    return f"${x:,.0f}" if x >= 1000 else "$" + np.format_float_positional(x, precision=4, fractional=False, trim="-")


def _k_range(k: Optional[int], low: Optional[int], high: Optional[int], reach: Reach) -> str:
    show = (lambda v: "-" if v is None else f"{v:,}")
    return f"k = {show(k)} [{show(low)} .. {f'beyond {reach.max_k:,}' if high is None else f'{high:,}'}]"


def _times(multiple: float) -> str:
    return f"{multiple:.1f}" if multiple < 10 else f"{multiple:,.0f}" if multiple < 1e6 else f"{multiple:.1e}"


def _distance(k: int, reach: Reach) -> str:
    """How far k lies from the samples measured, and what that means for the forecast there."""
    measured = f"the {reach.measured} sample{'s' if reach.measured > 1 else ''} per problem measured"
    if k <= reach.measured:
        return f"within {measured}"
    said = f"{_times(k / reach.measured)} x {measured}"
    if k <= reach.checked_k:
        return said
    if k <= reach.max_k:
        return (f"{said}: past the {CHECKED_MULTIPLE} x that forecasts were checked at, a guess from the "
                "fitted prior's shape")
    return f"{said}: past the {MAX_MULTIPLE:,} x that any forecast is given for"


def _target_line(plan: RunPlan, reach: Reach) -> str:
    t, who = plan.target, plan.model or "this model"
    head = f"{who} to reach {100 * t.target:g}% coverage on {t.n_problems} problems: "
    if t.k is None:
        head += (f"not within k = {reach.max_k:,} ({MAX_MULTIPLE:,} x the {reach.measured} samples per problem "
                 "measured: no forecast goes further)"
                 + (f"; the interval's optimistic end reaches it at k = {t.k_low:,}" if t.k_low else ""))
        return head
    dollars = (f"{_money(t.dollars)} [{_money(t.dollars_low)} .. {_money(t.dollars_high)}]" if plan.cost
               else "dollars unknown (no price: see the note)")
    return head + f"{_k_range(t.k, t.k_low, t.k_high, reach)}, {dollars}; {_distance(t.k, reach)}"


def _budget_line(plan: RunPlan, reach: Reach) -> str:
    b, who = plan.budget, plan.model or "this model"
    head = f"{who} with {_money(b.budget)} on {b.n_problems} problems: k = {b.k:,} samples each ({_money(b.dollars)})"
    coverage = f"coverage {100 * b.coverage:.1f}% [{100 * b.low:.1f}% .. {100 * b.high:.1f}%]"
    if b.k == 0:
        return f"{head}, {coverage}"
    if b.k_forecast >= b.k:
        return f"{head}, {coverage}; {_distance(b.k, reach)}"
    at = b.n_problems * (plan.cost["fixed_per_problem"] + b.k_forecast * plan.cost["per_sample"])
    return (f"{head}, {_distance(b.k, reach)}; at k = {b.k_forecast:,} ({_money(at)}) {coverage}, and past it the "
            "data say nothing")


def _beat_line(m: BaselineMatch, reach: Reach) -> str:
    head = f"  {m.model} ({m.solved_pct:.2f}%, {_money(m.baseline_cost)} per problem): "
    if m.k is None:
        return head + f"never -- {m.reason}"
    far = "" if m.k <= reach.checked_k else f" ({_distance(m.k, reach)})"
    return (head + f"from {_k_range(m.k, m.k_low, m.k_high, reach)}{far}: {_money(m.cost_at_k)} per problem, "
            f"coverage {100 * m.coverage_at_k:.1f}%; cheaper up to k = {m.k_cost_limit:,}")


def _choice_line(choice: dict[str, Any], measured: int) -> str:
    """Which forecast the run's own samples chose, why, and how much its interval was widened."""
    return (f"forecast chosen by the run's own samples: {choice['reason']}; past the {measured} samples measured "
            f"its interval adds {choice['widen']:.0%} of the forecast gain either side (the self-backtest's error, "
            "so that it holds), which the k and dollar ranges below carry")


def plan_text(plan: RunPlan) -> str:
    """The plan as `swe-monkeys plan` prints it."""
    f, reach = plan.forecast, Reach(plan.samples_max)
    price = (f"price: {_money(plan.cost['per_sample'])} per sample + {_money(plan.cost['fixed_per_problem'])} per "
             f"problem ({plan.cost['basis']})" if plan.cost else "price: unknown")
    lines = [f"plan from {plan.run_dir}: model {plan.model or '-'}, {plan.n_problems_run} problems x up to "
             f"{plan.samples_max} judged samples; forecast {f['method']} ({f['level']:.0%} interval)", price]
    if "choice" in f:
        lines.append(_choice_line(f["choice"], plan.samples_max))
    if plan.target:
        lines.append(_target_line(plan, reach))
    if plan.budget:
        lines.append(_budget_line(plan, reach))
    if plan.baselines:
        lines.append(f"baselines ({plan.baseline_source}):")
    for row in plan.baselines:
        head = (f"  {row['model']}: {row['solved_pct']:.2f}% with {row['attempts']} attempt(s) at "
                f"{_money(row['dollars_per_attempt'])} = {_money(row['dollars'])} for {plan.n_problems} problems")
        if "reaches_target" in row:
            head += "; reaches the target" if row["reaches_target"] else "; does not reach the target (published rate)"
        if "affordable" in row:
            head += (f"; the budget buys {row['attempts_affordable']:,} attempt(s) per problem"
                     + ("" if row["affordable"] else f", fewer than its {row['attempts']}"))
        lines.append(head)
    if plan.beats:
        lines.append(f"where {plan.model or 'this model'} beats each baseline on coverage and cost per problem:")
    lines += [_beat_line(m, reach) for m in plan.beats]
    notes = ([f"dollars unknown: {plan.no_price}"] if plan.no_price else []) + plan.notes
    return "\n".join(lines + [f"note: {n}" for n in notes])
