"""The data of `swe-monkeys report RUN`: coverage with bootstrap intervals, selection methods, both
scaling fits, cost, and Table 1 regenerated from the run plus published baselines.

It only reads the run store's sample table, so it works for any task (SWE-bench, math, code, Lean).
`build_report` returns a `Report`; swe_monkeys.metrics.render turns it into text, PNG and HTML.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from swe_monkeys.metrics import passk
from swe_monkeys.metrics.cost import LinearCost, Table1Row
from swe_monkeys.metrics.backtest import Extrapolation
from swe_monkeys.metrics.fits import BetaFit, PowerLawFit
from swe_monkeys.metrics.flagged import flagged_resolutions
from swe_monkeys.metrics.report_cost import CostSummary, add_cost
from swe_monkeys.metrics.strict import strict_counts, strict_resolved_counts
from swe_monkeys.errors import SweMonkeysError

__all__ = ["ReportError", "ReportOptions", "Curve", "CostSummary", "Report", "build_report", "judged_counts"]

DISPLAY_KS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000)


class ReportError(SweMonkeysError, ValueError):
    """The run cannot be reported on (no store, no samples, nothing judged); the message says why."""


@dataclass(frozen=True)
class ReportOptions:
    model: Optional[str] = None  # price the run as this model (default: the run's own); never renames the run
    gpu: Optional[str] = None  # GPU entry for GPU-seconds (default: the run's, then the model's)
    benchmark: Optional[str] = None  # which baselines apply (default: the run's benchmark/dataset/task)
    attempts: Optional[int] = None  # k of the run's Table 1 row (default: fewest beating every baseline)
    prompt_cache: bool = False  # assume repeated prompts hit the provider's prompt cache
    pricing_path: Optional[Path] = None
    baselines_path: Optional[Path] = None
    n_boot: int = 1000
    seed: int = 0
    base: float = 10.0  # of the power law; 10 reproduces the paper's parameters
    backtest: Optional[int] = None  # fit on the first N samples per problem, compare at larger k
    hardware: Optional[str] = None  # price by this hardware entry ("NAME" or "NAME:UNITS") and wall time


@dataclass
class Curve:
    """Success rate at each of the report's ks, with a bootstrap interval over problems."""

    name: str
    values: list[float]
    lo: list[float]
    hi: list[float]


@dataclass
class Report:
    run_dir: str
    task: Optional[str]
    model: Optional[str]
    benchmark: Optional[str]
    n_problems: int
    samples_min: int
    samples_max: int
    excluded: dict[str, int]
    ks: list[int]
    display_ks: list[int]
    fit_ks: list[int]
    curves: list[Curve]
    power_law: Optional[PowerLawFit] = None
    beta: Optional[BetaFit] = None
    extrapolation: Optional[Extrapolation] = None
    cost: Optional[CostSummary] = None
    table1: list[Table1Row] = field(default_factory=list)
    table1_relative: list[float] = field(default_factory=list)
    table1_source: str = ""
    baseline_points: list[dict[str, Any]] = field(default_factory=list)  # solve rate vs $ per problem
    backtest: list[dict[str, Any]] = field(default_factory=list)  # per model, method and k (backtest.backtest)
    allocation: Optional[dict[str, Any]] = None  # an adaptive run: what it saved (metrics.allocation)
    flags: Optional[dict[str, Any]] = None  # resolved, flagged (metrics.flagged): beside coverage, not in it
    # SWE-bench --strict (metrics.strict): counts by strict status, and coverage and cost per resolved
    # counting a resolution only when strict_ok, beside the plain figures; None for a run without it.
    strict: Optional[dict[str, Any]] = None
    priced_as: Optional[str] = None  # --model, when it differs from the run's model: whose prices apply
    notes: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> Curve:
        return self.curves[0]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["table1"] = [row.to_dict() for row in self.table1]
        for name in ("power_law", "beta", "extrapolation"):
            value = getattr(self, name)
            if value is not None:  # derived figures (errors, mean p) are worth having in the JSON
                data[name].update({k: getattr(value, k) for k in dir(type(value))
                                   if isinstance(getattr(type(value), k), property)})
        return data


def judged_counts(rows: list[dict]) -> tuple[list[str], np.ndarray, np.ndarray, dict[str, int]]:
    """Per-problem (n judged, c resolved) from the sample table, and what was left out.

    Unverified samples (status None) and infra errors are excluded from n: an infra error is the
    harness failing, not the candidate, so it must never count as right or wrong.
    """
    n: Counter = Counter()
    c: Counter = Counter()
    excluded = {"unverified": 0, "infra_error": 0}
    for row in rows:
        if row["status"] is None:
            excluded["unverified"] += 1
        elif row["status"] == "infra_error":
            excluded["infra_error"] += 1
        else:
            n[row["problem_id"]] += 1
            c[row["problem_id"]] += bool(row["resolved"])
    all_problems = {row["problem_id"] for row in rows}
    excluded["problems_without_verdicts"] = len(all_problems - set(n))
    ids = sorted(n)
    return ids, np.array([n[i] for i in ids], dtype=np.int64), np.array([c[i] for i in ids], dtype=np.int64), excluded


def _read_run(run_dir: Path) -> tuple[list[dict], dict[str, Any]]:
    from swe_monkeys.store.run_store import RunStore

    if not (run_dir / RunStore.FILENAME).is_file():  # RunStore() would create an empty store
        raise ReportError(f"{run_dir} is not a run directory (no {RunStore.FILENAME})")
    with RunStore(run_dir) as store:
        meta = {k: store.get_meta(k) for k in ("model", "task", "benchmark", "dataset", "gpu", "imported", "hardware",
                                                "sampling_seconds", "allocation")}
        return store.sample_table(), meta


def _report_ks(n_max: int) -> tuple[np.ndarray, list[int], list[int]]:
    fit_ks = passk.log_spaced_ks(n_max)
    display = sorted({k for k in DISPLAY_KS if k < n_max} | {n_max})
    return np.union1d(fit_ks, display), display, fit_ks.tolist()


def _curve(name: str, per_problem: np.ndarray, options: ReportOptions) -> Curve:
    lo, hi = passk.bootstrap_ci(per_problem, options.n_boot, seed=options.seed)
    return Curve(name, per_problem.mean(axis=0).tolist(), lo.tolist(), hi.tolist())


def _judged_samples(rows: list[dict], ids: list[str]) -> list[tuple[list, np.ndarray, np.ndarray]]:
    """Per problem (in `ids` order): answers (meta "answer", else "norm_key"), scores (meta "score",
    NaN where none) and correctness of its judged samples."""
    per: dict[str, list] = {pid: [] for pid in ids}
    for row in rows:
        if row["status"] not in (None, "infra_error") and row["problem_id"] in per:
            meta = row.get("meta") or {}
            score = meta.get("score")
            per[row["problem_id"]].append((meta.get("answer", meta.get("norm_key")),
                                           np.nan if score is None else float(score), bool(row["resolved"])))
    return [([a for a, _, _ in s], np.array([x for _, x, _ in s]), np.array([ok for _, _, ok in s])) for s in
            per.values()]


def _selection_curves(rows: list[dict], ids: list[str], ks: np.ndarray, options: ReportOptions) -> list[Curve]:
    """Majority vote, best-of-k by score and score-weighted vote, for whatever the samples record."""
    from swe_monkeys.metrics.selection import best_of_k_by_score, majority_vote_at_k

    problems = _judged_samples(rows, ids)
    has_answer = any(a is not None for answers, _, _ in problems for a in answers)
    has_score = any(np.isfinite(scores).any() for _, scores, _ in problems)
    methods = {}
    if has_answer:
        methods["majority vote"] = lambda a, s, ok: majority_vote_at_k(a, ok, ks, seed=options.seed)
    if has_score:
        methods["best-of-k by score"] = lambda a, s, ok: best_of_k_by_score(s, ok, ks)
    if has_answer and has_score:  # the paper's "reward model + majority vote"
        methods["score-weighted vote"] = lambda a, s, ok: majority_vote_at_k(a, ok, ks, weights=np.nan_to_num(s),
                                                                              seed=options.seed)
    return [_curve(name, np.array([method(*p) for p in problems]), options) for name, method in methods.items()]


def _fits(report: Report, n: np.ndarray, c: np.ndarray, options: ReportOptions) -> None:
    from swe_monkeys.metrics.backtest import extrapolation_check
    from swe_monkeys.metrics.fits import fit_beta, fit_power_law

    if not c.any():  # all-zero data: any curve fits it, so none says anything
        report.notes.append("no resolved sample: fits undefined")
        return
    fit_ks = np.array(report.fit_ks)
    index = np.searchsorted(report.ks, fit_ks)
    if fit_ks.size >= 2:
        report.power_law = fit_power_law(fit_ks, np.array(report.coverage.values)[index], options.base)
    else:
        report.notes.append("power law not fitted: one sample per problem gives a single point")
    report.beta = fit_beta(n, c)
    if n.max() >= 20:  # a tenth of fewer than 20 samples leaves nothing to fit a curve on
        report.extrapolation = extrapolation_check(n, c, base=options.base, seed=options.seed)
    else:
        report.notes.append("extrapolation check skipped: needs at least 20 samples per problem")


def _backtest(rows: list[dict], fit_on: int, options: ReportOptions, notes: list[str]) -> list[dict[str, Any]]:
    """Per model of the run: forecasts fitted on the first `fit_on` judged samples of every problem
    against the coverage all its samples show at larger k (swe_monkeys.metrics.backtest): the run's
    own choice (`auto`, chosen by a self-backtest on those samples) beside the families it mixes."""
    from swe_monkeys.metrics.backtest import backtest, backtest_ks, verdict_matrix
    from swe_monkeys.metrics.selfcheck import AUTO

    out = []
    for model in sorted({r["model"] or "" for r in rows}):
        _, n, matrix = verdict_matrix([r for r in rows if (r["model"] or "") == model])
        ks = backtest_ks(fit_on, int(n.max())) if n.size else []
        if not ks:
            raise ReportError(f"--backtest {fit_on} needs problems with more than {fit_on} judged samples; "
                              f"model {model or '-'} has at most {int(n.max()) if n.size else 0}")

        def skipped(method: str, exc: Exception) -> None:  # e.g. a power law through a single point
            notes.append(f"backtest: {method} not fitted on {fit_on} sample(s) per problem: {exc}")

        found = backtest(n, matrix, fit_on, ks, methods=(AUTO, "smooth-prior", "power-law", "beta"),
                         n_boot=min(options.n_boot, 200), seed=options.seed, on_error=skipped)
        out += [{"model": model, **row} for row in found]
    return out


def build_report(run_dir: Path, options: ReportOptions = ReportOptions()) -> Report:
    """Everything `swe-monkeys report` shows, computed from the run's sample table."""
    run_dir = Path(run_dir)
    rows, meta = _read_run(run_dir)
    if not rows:
        raise ReportError(f"{run_dir} holds no samples")
    ids, n, c, excluded = judged_counts(rows)
    if not ids:
        raise ReportError(f"{run_dir} has no judged samples yet ({excluded['unverified']} unverified, "
                          f"{excluded['infra_error']} infra errors): run verify first")
    ks, display, fit_ks = _report_ks(int(n.max()))
    # The run's own model names the run; --model only prices it (it must not retitle the run).
    model = meta["model"] or Counter(r["model"] for r in rows).most_common(1)[0][0] or None
    report = Report(run_dir=str(run_dir), task=meta["task"], model=model,
                    benchmark=options.benchmark or meta["benchmark"] or meta["dataset"] or meta["task"],
                    n_problems=len(ids), samples_min=int(n.min()), samples_max=int(n.max()), excluded=excluded,
                    ks=ks.tolist(), display_ks=display, fit_ks=fit_ks,
                    curves=[_curve("coverage", passk.pass_at_k_matrix(n, c, ks), options)],
                    priced_as=options.model if options.model and options.model != model else None)
    if report.samples_min < report.samples_max:
        report.notes.append(f"problems have {report.samples_min}..{report.samples_max} judged samples; beyond its "
                            "own n a problem counts as solved only if it was (a lower bound)")
    report.curves += _selection_curves(rows, ids, ks, options)
    _fits(report, n, c, options)
    if options.backtest is not None:
        report.backtest = _backtest(rows, options.backtest, options, report.notes)
    add_cost(report, rows, meta, passk.coverage_every_k(n, c), options)
    if meta.get("allocation"):
        report.allocation = _allocation(rows, meta["allocation"], report.cost)
    report.flags = flagged_resolutions(rows)
    report.strict = _strict(report, rows, ids, n, options)
    if report.flags and report.flags["read"] < report.flags["resolved"]:
        report.notes.append(f"{report.flags['resolved'] - report.flags['read']} resolved candidates were recorded "
                            "before tamper flags were read: not read")
    return report


def _strict(report: Report, rows: list[dict], ids: list[str], n: np.ndarray,
            options: ReportOptions) -> Optional[dict[str, Any]]:
    """Strict figures (metrics.strict) at the report's ks: coverage with its interval, and the cost per
    resolved issue when a resolution counts only if strict_ok."""
    from swe_monkeys.metrics.cost import per_resolved

    counts = strict_counts(rows)
    if counts is None:
        return None
    ks = np.array(report.ks)
    curve = _curve("coverage, strict", passk.pass_at_k_matrix(n, strict_resolved_counts(rows, ids), ks), options)
    cost = report.cost
    return {**counts, "coverage": asdict(curve), "per_resolved": None if cost is None else
            per_resolved(cost.primary, ks, np.array(curve.values)).tolist()}


def _allocation(rows: list[dict], policy: dict[str, Any], cost: Optional[CostSummary]) -> dict[str, Any]:
    from swe_monkeys.metrics.allocation import adaptive_savings, savings_line

    savings = adaptive_savings(rows, policy)
    per_sample = cost.primary.per_sample if cost is not None and cost.primary.unit == "$" else None
    return {**savings.to_dict(), "policy": policy, "line": savings_line(savings, per_sample),
            "dollars_saved": savings.saved * per_sample if per_sample else None}
