"""PNG figures of a Report: coverage vs k (log x) with both fits, and solve rate vs dollars with
the published baselines as points. Returns PNG bytes; matplotlib (Agg) is imported on first use."""

from __future__ import annotations

import io
from typing import Optional

import numpy as np

__all__ = ["coverage_png", "cost_png"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI; must precede the pyplot import
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return buf.getvalue()


def coverage_png(report) -> bytes:
    """Coverage and selection curves with 95% bands, the power law and the Beta model."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ks = np.array(report.ks, dtype=float)
    for curve in report.curves:
        (line,) = ax.plot(ks, 100 * np.array(curve.values), marker="o", markersize=3, label=curve.name)
        ax.fill_between(ks, 100 * np.array(curve.lo), 100 * np.array(curve.hi), color=line.get_color(), alpha=0.15)
    dense = np.unique(np.logspace(0, np.log10(max(ks.max(), 1)), 200))
    if report.power_law is not None:
        fit = report.power_law
        base = "10" if fit.base == 10 else f"{fit.base:g}"
        ax.plot(dense, 100 * fit.predict(dense), "--", color="black",
                label=f"power law {base}^({fit.a:.3g} k^{fit.b:.3g})")
    if report.beta is not None:
        ax.plot(dense, 100 * report.beta.predict(dense), ":", color="tab:red",
                label=f"Beta({report.beta.alpha:.3g}, {report.beta.beta:.3g}) model")
    ax.set_xscale("log")
    ax.set_xlabel("samples per problem k")
    ax.set_ylabel("success rate (%)")
    ax.set_ylim(0, 100)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(f"{report.model or 'run'}: coverage over {report.n_problems} problems")
    ax.legend(fontsize=8, loc="upper left")
    return _png(fig)


def cost_png(report) -> Optional[bytes]:
    """Coverage against the cost of k samples per problem, baselines as labelled points."""
    if report.cost is None:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    cost = report.cost
    x = np.array(cost.per_problem)
    ax.plot(x, 100 * np.array(report.coverage.values), marker="o", markersize=3,
            label=f"{report.model or 'this run'}, k = 1..{report.samples_max}")
    if cost.primary.unit == "$":
        for i, point in enumerate(report.baseline_points):
            ax.scatter([point["cost_per_problem"]], [point["solved_pct"]], marker="*", s=120, zorder=3, color=f"C{i + 1}")
            ax.annotate(f"{point['model']} ({point['attempts']}x)", (point["cost_per_problem"], point["solved_pct"]),
                        textcoords="offset points", xytext=(6, -10), fontsize=8)
    ax.axvline(float(cost.primary.at(cost.optimal_k)), color="grey", linestyle=":",
               label=f"cost-optimal k = {cost.optimal_k}")
    ax.set_xscale("log")
    unit = "US$" if cost.primary.unit == "$" else cost.primary.unit
    ax.set_xlabel(f"{unit} per problem")
    ax.set_ylabel("problems solved (%)")
    ax.set_ylim(0, 100)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _png(fig)
