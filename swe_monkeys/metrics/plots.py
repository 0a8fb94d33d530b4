"""PNG figures of a Report: coverage vs k (log x) with both fits, and solve rate vs dollars with
the published baselines as points. Returns PNG bytes; matplotlib (Agg) is imported on first use.

Each figure must read without the code: a title that says what and over how many problems, plain
tick labels on the log axes ("2", "0.01", not "2x10^0"), and the legend below the axes, where it
can never cover a curve or a baseline (names of baselines live in the legend, not as labels that
collide beside their points).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

import numpy as np

from swe_monkeys.metrics.render import count
from swe_monkeys.pricing import format_dollars

__all__ = ["coverage_png", "cost_png", "coverage_figure", "cost_figure"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI; must precede the pyplot import
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    _pyplot().close(fig)
    return buf.getvalue()


def _axes(title: str):
    """A figure whose layout keeps room for the legend below the axes ("outside lower center")."""
    fig, ax = _pyplot().subplots(figsize=(7.5, 5.5), layout="constrained")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_ylim(-2, 102)  # a curve at 0% or 100% stays visible instead of lying on the frame
    return fig, ax


def _plain_log_x(ax, label: str, fmt=None) -> None:
    """Log x axis labelled in plain numbers: every integer k within one decade, else 1, 2 and 5 of each
    decade (each decade alone past four of them); minor ticks unlabelled. The default formatter
    writes "2x10^0" on short ranges."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.set_xscale("log")
    low, high = ax.get_xlim()
    subs = (1.0, 2.0, 5.0) if high / low <= 1e4 else (1.0,)
    if fmt is None and high / low <= 10:  # short labels (k) fit at every integer
        subs = tuple(float(s) for s in range(1, 10))
    ax.xaxis.set_major_locator(LogLocator(subs=subs))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: (fmt or "{:g}".format)(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(f"{label} (log scale)")


def _legend(fig) -> None:
    fig.legend(loc="outside lower center", ncols=2, fontsize=8, frameon=False)


def _who(report) -> str:
    return report.model or Path(report.run_dir).name


def _about(report) -> str:
    on = f" on {report.benchmark}" if report.benchmark else ""
    return f"{_who(report)}{on}, {count(report.n_problems, 'problem')}"


STRICT_LABEL = "coverage under strict re-checks (resolved counts only when strict_ok)"


def coverage_figure(report):
    """Coverage and selection curves with 95% bands, the power law and the Beta model."""
    picks = ", and by the one sample each method picks" if len(report.curves) > 1 else ""
    fig, ax = _axes(f"{_about(report)}\nshare of problems solved by at least one of k samples{picks}")
    ks = np.array(report.ks, dtype=float)
    for curve in report.curves:
        ax.plot(ks, 100 * np.array(curve.values), marker="o", markersize=3, label=curve.name)
    if report.strict:  # SWE-bench --strict: beside coverage, a resolution counted only when strict_ok
        ax.plot(ks, 100 * np.array(report.strict["coverage"]["values"]), "--", marker="o", markersize=3, color="C0",
                alpha=0.6, label=STRICT_LABEL)
    # One band, coverage's (as in the text table): four overlapping bands read as one brown smear.
    cov = report.coverage
    ax.fill_between(ks, 100 * np.array(cov.lo), 100 * np.array(cov.hi), color="C0", alpha=0.15,
                    label="coverage, 95% interval over problems")
    dense = np.unique(np.logspace(0, np.log10(max(ks.max(), 1)), 200))
    if report.power_law is not None:
        fit = report.power_law
        base = "10" if fit.base == 10 else f"{fit.base:g}"
        shaky = f" (unreliable: {fit.n_points} points)" if fit.caveat else ""
        ax.plot(dense, 100 * fit.predict(dense), "--", color="black",
                label=f"power-law fit ${base}^{{{fit.a:.3g}\\,k^{{{fit.b:.3g}}}}}${shaky}")
    if report.beta is not None:
        ax.plot(dense, 100 * report.beta.predict(dense), ":", color="tab:red",
                label=f"Beta({report.beta.alpha:.3g}, {report.beta.beta:.3g}) model fit")
    _plain_log_x(ax, "samples per problem, k")
    ax.set_ylabel("problems solved (%)")
    _legend(fig)
    return fig


def cost_figure(report):
    """Coverage against the cost of k samples per problem, baselines as points named in the legend;
    None when the run has no cost."""
    cost = report.cost
    if cost is None:
        return None
    priced = f", priced as {report.priced_as}" if report.priced_as else ""
    fig, ax = _axes(f"{_about(report)}{priced}\nshare of problems solved against the cost of k samples per problem")
    ax.plot(np.array(cost.per_problem), 100 * np.array(report.coverage.values), marker="o", markersize=3,
            label=f"{_who(report)}, k = {'1..' * (report.samples_max > 1)}{report.samples_max}")
    if report.strict:
        ax.plot(np.array(cost.per_problem), 100 * np.array(report.strict["coverage"]["values"]), "--", marker="o",
                markersize=3, color="C0", alpha=0.6, label=STRICT_LABEL)
    if cost.primary.unit == "$":
        for i, point in enumerate(report.baseline_points):
            ax.scatter([point["cost_per_problem"]], [point["solved_pct"]], marker="*", s=140, zorder=3,
                       color=f"C{i + 1}", label=f"{point['model']}, {count(point['attempts'], 'attempt')} "
                                                f"(published, {point['solved_pct']:.1f}%)")
    ax.axvline(float(cost.primary.at(cost.optimal_k)), color="grey", linestyle=":",
               label=f"cost-optimal k = {cost.optimal_k}")
    dollars = cost.primary.unit == "$"
    _plain_log_x(ax, ("US$" if dollars else cost.primary.unit) + " per problem",
                 format_dollars if dollars else (lambda v: f"{v:.3g}"))
    ax.set_ylabel("problems solved (%)")
    _legend(fig)
    return fig


def coverage_png(report) -> bytes:
    return _png(coverage_figure(report))


def cost_png(report) -> Optional[bytes]:
    fig = cost_figure(report)
    return None if fig is None else _png(fig)
