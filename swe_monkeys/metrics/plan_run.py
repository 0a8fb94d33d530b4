"""The data of `swe-monkeys plan RUN`: from a pilot run, the k and dollars a target coverage needs
(or what a budget buys), for the run's model at its price, beside every published baseline, and
the k from which the run's model beats each baseline on both coverage and cost.

It reads the run like the report (judged counts, the same cost figures: list prices, else the
serving hardware's time) and hands pure functions (metrics/plan.py) a coverage forecast
(metrics/extrapolate.py, the default method) and a `LinearCost`. An adaptive run plans too: its
stopping depended only on the samples drawn, so the likelihood of its counts is that of uniform
counts and the forecast fitted on them stands.

Baselines (configs/baselines.yaml) are single published points -- a solve rate at a number of
attempts and a price -- not curves: a baseline "reaches" a target only if its published rate does,
and a budget buys its attempts only if it covers them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from swe_monkeys.metrics.cost import LinearCost
from swe_monkeys.metrics.plan import BaselineMatch, BudgetPlan, PlanError, TargetPlan

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
    cost: dict[str, Any]  # the run's model: per_sample, fixed_per_problem, basis
    target: Optional[TargetPlan] = None
    budget: Optional[BudgetPlan] = None
    baselines: list[dict[str, Any]] = field(default_factory=list)
    beats: list[BaselineMatch] = field(default_factory=list)
    baseline_source: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = self.target.to_dict() if self.target else None
        data["budget"] = self.budget.to_dict() if self.budget else None
        data["beats"] = [b.to_dict() for b in self.beats]
        return data


def _check(options: PlanOptions) -> None:
    if (options.target is None) == (options.budget is None):
        raise PlanError("give one of --target (a coverage fraction, e.g. 0.5) or --budget-dollars")
    if options.target is not None and not 0.0 < options.target < 1.0:
        raise PlanError(f"--target {options.target:g}: a coverage fraction strictly between 0 and 1 (e.g. 0.5)")
    if options.budget is not None and options.budget <= 0:
        raise PlanError(f"--budget-dollars {options.budget:g}: must be positive")
    if options.problems is not None and options.problems < 1:
        raise PlanError(f"--problems {options.problems}: must be at least 1")


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


def _dollar_cost(rows: list[dict], meta: dict, model: Optional[str], options: PlanOptions) -> LinearCost:
    from swe_monkeys.metrics.report_cost import _costs

    costs, notes = _costs(rows, meta, model, options)
    dollars = [c for c in costs if c.unit == "$" and c.per_sample > 0]
    if not dollars:
        raise PlanError(f"no dollar price for {model or 'this run'}: " + (notes[0] if notes else
                        "pass --hardware NAME[:UNITS] or --model"))
    return dollars[0]


def build_plan(run_dir: Path, options: PlanOptions) -> RunPlan:
    """Everything `swe-monkeys plan` prints."""
    from collections import Counter

    from swe_monkeys.metrics.extrapolate import DEFAULT_METHOD, forecast_coverage
    from swe_monkeys.metrics.plan import beat_baselines, budget_plan, k_for_target
    from swe_monkeys.metrics.report import ReportError, _read_run, judged_counts

    _check(options)
    rows, meta = _read_run(Path(run_dir))
    ids, n, c, _ = judged_counts(rows)
    if not ids:
        raise ReportError(f"{run_dir} has no judged samples: run verify first")
    model = options.model or meta["model"] or Counter(r["model"] for r in rows).most_common(1)[0][0] or None
    cost = _dollar_cost(rows, meta, model, options)
    notes: list[str] = []
    baselines, bench_size, source = _baselines(options, meta["benchmark"] or meta["task"], notes)
    n_problems = options.problems or bench_size or len(ids)
    forecast = forecast_coverage(n, c, DEFAULT_METHOD, n_boot=options.n_boot, seed=options.seed)
    plan = RunPlan(run_dir=str(run_dir), model=model, n_problems_run=len(ids), samples_max=int(n.max()),
                   n_problems=n_problems, forecast=forecast.to_dict(), cost=asdict(cost), baseline_source=source,
                   baselines=_baseline_rows(baselines, n_problems, options), notes=notes)
    if options.target is not None:
        plan.target = k_for_target(forecast, options.target, cost, n_problems)
    else:
        plan.budget = budget_plan(forecast, cost, options.budget, n_problems)
    plan.beats = beat_baselines(forecast, cost, baselines)
    far = 100 * int(n.max())
    for k in (plan.target.k if plan.target else None, plan.budget.k if plan.budget else None):
        if k and k > far:
            notes.append(f"k = {k} is more than 100 x the {int(n.max())} samples per problem measured: "
                         "a forecast that far out rests on the fitted prior's shape, not on data")
    return plan


def _money(x: Optional[float]) -> str:
    return "-" if x is None else f"${x:,.4g}" if x < 1000 else f"${x:,.0f}"


def _k_range(k: Optional[int], low: Optional[int], high: Optional[int]) -> str:
    show = (lambda v: "-" if v is None else str(v))
    return f"k = {show(k)} [{show(low)} .. {'beyond reach' if high is None else high}]"


def plan_text(plan: RunPlan) -> str:
    """The plan as `swe-monkeys plan` prints it."""
    f = plan.forecast
    lines = [f"plan from {plan.run_dir}: model {plan.model or '-'}, {plan.n_problems_run} problems x up to "
             f"{plan.samples_max} judged samples; forecast {f['method']} ({f['level']:.0%} interval)",
             f"price: {_money(plan.cost['per_sample'])} per sample + {_money(plan.cost['fixed_per_problem'])} per "
             f"problem ({plan.cost['basis']})"]
    if plan.target:
        t = plan.target
        lines.append(f"{plan.model or 'this model'} to reach {100 * t.target:g}% coverage on {t.n_problems} problems: "
                     f"{_k_range(t.k, t.k_low, t.k_high)}, {_money(t.dollars)} [{_money(t.dollars_low)} .. "
                     f"{_money(t.dollars_high)}]")
    if plan.budget:
        b = plan.budget
        lines.append(f"{plan.model or 'this model'} with {_money(b.budget)} on {b.n_problems} problems: k = {b.k} "
                     f"samples each ({_money(b.dollars)}), coverage {100 * b.coverage:.1f}% "
                     f"[{100 * b.low:.1f}% .. {100 * b.high:.1f}%]")
    if plan.baselines:
        lines.append(f"baselines ({plan.baseline_source}):")
    for row in plan.baselines:
        head = (f"  {row['model']}: {row['solved_pct']:.2f}% with {row['attempts']} attempt(s) at "
                f"{_money(row['dollars_per_attempt'])} = {_money(row['dollars'])} for {plan.n_problems} problems")
        if "reaches_target" in row:
            head += "; reaches the target" if row["reaches_target"] else "; does not reach the target (published rate)"
        if "affordable" in row:
            head += (f"; the budget buys {row['attempts_affordable']} attempt(s) per problem"
                     + ("" if row["affordable"] else f", fewer than its {row['attempts']}"))
        lines.append(head)
    if plan.beats:
        lines.append(f"where {plan.model or 'this model'} beats each baseline on coverage and cost per problem:")
    for m in plan.beats:
        if m.k is None:
            lines.append(f"  {m.model} ({m.solved_pct:.2f}%, {_money(m.baseline_cost)} per problem): never -- {m.reason}")
        else:
            lines.append(f"  {m.model} ({m.solved_pct:.2f}%, {_money(m.baseline_cost)} per problem): from "
                         f"{_k_range(m.k, m.k_low, m.k_high)}: {_money(m.cost_at_k)} per problem, coverage "
                         f"{100 * m.coverage_at_k:.1f}%; cheaper up to k = {m.k_cost_limit}")
    return "\n".join(lines + [f"note: {n}" for n in plan.notes])
