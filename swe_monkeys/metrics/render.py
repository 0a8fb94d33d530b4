"""Turns a Report into what people read: a text summary, and files (PNG plots, one self-contained
HTML page with the PNGs embedded as base64, and the report as JSON).

Text and HTML are built from the same titled tables, so the two can never disagree.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path

from swe_monkeys.pricing import format_dollars

__all__ = ["render_text", "render_json", "render_html", "write_report_files", "count"]

Table = tuple[str, list[str], list[list[str]]]  # title, header, rows of cells


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def count(n: int, noun: str) -> str:
    """ "1 problem", "12 problems" (a title reading "1 problems" is the first thing a reader sees)."""
    return f"{n} {noun}{'s' * (n != 1)}"


def _money(x: float | None, unit: str = "$") -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return format_dollars(x) if unit == "$" else f"{x:.3g} {unit}"


def _header_lines(report) -> list[str]:
    left = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in report.excluded.items() if v)
    spread = (f"{count(report.samples_max, 'judged sample')} each"
              if report.samples_min == report.samples_max
              else f"{report.samples_min}..{report.samples_max} judged samples each")
    priced = f" (priced as {report.priced_as})" if report.priced_as else ""
    return [f"run {report.run_dir}   task {report.task or '-'}   model {report.model or '-'}{priced}   "
            f"benchmark {report.benchmark or '-'}",
            f"{count(report.n_problems, 'problem')}, {spread}; left out: {left or 'nothing'} "
            "(unverified samples and infra errors never count as right or wrong)"]


def _coverage_table(report) -> Table:
    header = ["k", "coverage", "95% CI"] + [c.name for c in report.curves[1:]]
    rows = []
    for k in report.display_ks:
        i = report.ks.index(k)
        cov = report.coverage
        rows.append([str(k), _pct(cov.values[i]), f"[{_pct(cov.lo[i])}, {_pct(cov.hi[i])}]"]
                    + [_pct(c.values[i]) for c in report.curves[1:]])
    return ("Coverage: unbiased pass@k, 95% bootstrap interval over problems", header, rows)


def _fit_table(report) -> Table:
    rows = []
    if report.power_law:
        p = report.power_law
        rows.append(["power law", f"c(k) = {p.base:g}^(a*k^b), a = {p.a:.4g}, b = {p.b:.4g}",
                     p.caveat or f"rmse {100 * p.rmse:.2f} pp on {p.n_points} log-spaced k"])
    if report.beta:
        b = report.beta
        rows.append(["Beta model", f"p ~ Beta({b.alpha:.4g}, {b.beta:.4g}), mean p {_pct(b.mean_p)}",
                     f"log-likelihood {b.log_likelihood:.1f}"])
    if report.extrapolation:
        e = report.extrapolation
        # The power law is fitted on k = 1..fit_samples: through 2 points, 2 parameters check nothing.
        shaky = ", unreliable: fitted through 2 points" if e.fit_samples <= 2 else ""
        rows.append(["extrapolation", f"fit on {e.fit_samples} samples/problem, predict k = {e.target_k} "
                     f"(observed {_pct(e.observed)})",
                     f"power law {_pct(e.power_law)} ({100 * e.power_law_error:+.1f} pp{shaky}), "
                     f"Beta {_pct(e.beta)} ({100 * e.beta_error:+.1f} pp)"])
    return ("Scaling fits", ["model", "fit", "quality"], rows)


def _backtest_table(report) -> list[Table]:
    if not report.backtest:
        return []
    first = report.backtest[0]

    def self_error(r) -> str:
        return "-" if r.get("self_backtest_rmse") is None else f"{100 * r['self_backtest_rmse']:.1f} pp"

    rows = [[r["model"] or "-", r["method"], str(r["k"]), _pct(r["predicted"]), f"[{_pct(r['low'])}, {_pct(r['high'])}]",
             _pct(r["observed"]) + ("" if r["observed_exact"] else " (lower bound)"), f"{100 * r['error']:+.1f} pp",
             "yes" if r["covered"] else "no", self_error(r)] for r in report.backtest]
    title = (f"Backtest: fitted on the first {first['fit_on']} samples of each problem (by sample index), "
             f"predicted vs observed coverage ({first['level']:.0%} interval); self-backtest: each method's RMSE "
             "refitted on part of those samples")
    chosen = {}
    for r in report.backtest:
        chosen.setdefault(r["model"] or "-", r.get("chosen_reason", ""))
    return [(title, ["model", "method", "k", "predicted", "interval", "observed", "error", "held", "self-backtest"],
             rows),
            ("Forecast chosen by each model's self-backtest (auto)", ["model", "choice"],
             [[model, reason] for model, reason in chosen.items()])]


def _cost_tables(report) -> list[Table]:
    from swe_monkeys.metrics.cost import format_relative

    cost = report.cost
    if cost is None:
        return []
    unit = cost.primary.unit
    rows = [[str(k), _money(cost.per_problem[report.ks.index(k)], unit),
             _money(cost.per_resolved[report.ks.index(k)], unit)] for k in report.display_ks]
    tables = [(f"Cost: {cost.primary.basis}", ["k", "per problem", "per resolved"], rows)]
    why = " (no fixed cost per problem, and coverage is concave in k: always k = 1)"
    extra = [["cost-optimal k", f"k = {cost.optimal_k}: {_money(cost.optimal_per_resolved, unit)} per resolved"
              + (why if cost.primary.fixed_per_problem == 0 else "")]]
    for other in cost.secondary:
        label = "self-hosted cost" if other.basis.startswith("self-hosted") else "GPU cost"
        extra.append([label if other.unit == "$" else other.unit,
                      f"{_money(other.per_sample, other.unit)} per sample + {_money(other.fixed_per_problem, other.unit)}"
                      f" per problem; {other.basis}"])
    for m in cost.matches:
        reach = (f"k = {m['k']}: {_money(m['run_cost_per_problem'])} vs {_money(m['baseline_cost_per_problem'])} "
                 f"per problem ({format_relative(m['ratio'])})" if m["k"] else "not reached")
        extra.append([f"to match {m['model']} ({m['solved_pct']:.2f}%)", reach])
    tables.append(("Cost summary", ["", ""], extra))
    return tables


def _table1(report) -> list[Table]:
    from swe_monkeys.metrics.cost import format_relative

    if not report.table1:
        return []
    rows = [[r.model, format_dollars(r.dollars_per_attempt), str(r.attempts), f"{r.solved_pct:.2f}",
             format_dollars(r.total_dollars), format_relative(rel)]
            for r, rel in zip(report.table1, report.table1_relative)]
    header = ["model", "cost per attempt", "attempts", "solved (%)", "total cost", "relative total cost"]
    return [(f"Table 1 (baselines: {report.table1_source})", header, rows)]


def _flag_lines(report) -> list[str]:
    """The count of flagged resolutions, beside the coverage (which counts them as resolved)."""
    f = report.flags
    if not f:
        return []
    per = ", ".join(f"{n} {p}" for p, n in f["per_primitive"].items())
    return [f"resolved, flagged: {f['flagged']} of {f['read']} resolved candidates read"
            + (f" ({per})" if per else "") + "; a static signal beside the verdict, coverage unchanged"]


def _flag_table(report) -> list[Table]:
    if not report.flags or not report.flags["candidates"]:
        return []
    rows = [[c["problem_id"], str(c["sample_idx"]), "resolved, flagged: " + "; ".join(c["reasons"])]
            for c in report.flags["candidates"]]
    return [("Resolved, flagged: the patch adds runtime-tampering primitives (look before trusting)",
             ["problem", "sample", "verdict"], rows)]


def _strict_lines(report) -> list[str]:
    from swe_monkeys.metrics.strict import strict_share_line

    return [strict_share_line(report.strict)] if report.strict else []


def _strict_tables(report) -> list[Table]:
    """Coverage and cost per resolved issue with and without strict, and each flagged resolution."""
    s = report.strict
    if not s:
        return []
    unit = report.cost.primary.unit if report.cost else "$"
    rows = []
    for k in report.display_ks:
        i = report.ks.index(k)
        rows.append([str(k), _pct(report.coverage.values[i]), _pct(s["coverage"]["values"][i])]
                    + ([_money(report.cost.per_resolved[i], unit), _money(s["per_resolved"][i], unit)]
                       if report.cost else []))
    header = ["k", "coverage", "coverage, strict"] + (["per resolved", "per resolved, strict"] if report.cost else [])
    tables = [(f"Strict re-checks ({s['mode']}): a resolved candidate counts only when it behaves as gold on the "
               "repository's wider tests (strict_ok)", header, rows)]
    flagged = [[c["problem_id"], str(c["sample_idx"]), c["status"],
                "; ".join(c["regressions"][:3] + c["differences"][:3]) or c["reason"]] for c in s["candidates"]]
    if flagged:
        tables.append(("Resolved, but not strict_ok (the tests named differ from gold's)",
                       ["problem", "sample", "strict", "tests"], flagged))
    return tables


def _tables(report) -> list[Table]:
    return [_coverage_table(report), _fit_table(report), *_backtest_table(report), *_cost_tables(report),
            *_table1(report), *_flag_table(report), *_strict_tables(report)]


def _align(cells: list[str], widths: list[int]) -> str:
    # Numbers right-aligned (so that digits line up), words left-aligned; the first column is a label.
    return "  ".join(c.rjust(w) if i and c[:1] in "0123456789$" and " " not in c else c.ljust(w)
                     for i, (c, w) in enumerate(zip(cells, widths))).rstrip()


def _text_table(title: str, header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(x) for x in col) for col in zip(header, *rows)]
    lines = [title] + (["  " + _align(header, widths)] if any(header) else [])
    return lines + ["  " + _align(row, widths) for row in rows]


def _allocation_lines(report) -> list[str]:
    return [report.allocation["line"]] if report.allocation else []


def render_text(report) -> str:
    """The report as plain text, as `swe-monkeys report` prints it."""
    lines = _header_lines(report) + _allocation_lines(report) + _flag_lines(report) + _strict_lines(report)
    for table in _tables(report):
        lines += [""] + _text_table(*table)
    if report.notes:
        lines += ["", "Notes"] + [f"  - {note}" for note in report.notes]
    return "\n".join(lines)


def _html_table(title: str, header: list[str], rows: list[list[str]]) -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in header) if any(header) else ""
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<h2>{esc(title)}</h2><table>{'<tr>' + head + '</tr>' if head else ''}{body}</table>"


def render_html(report, images: dict[str, bytes]) -> str:
    """One self-contained page: the tables plus the PNGs inlined as data: URLs."""
    esc = html.escape
    parts = [f"<p>{esc(line)}</p>" for line in
             _header_lines(report) + _allocation_lines(report) + _flag_lines(report) + _strict_lines(report)]
    parts += [f'<img alt="{esc(name)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'
              for name, data in images.items()]
    parts += [_html_table(*t) for t in _tables(report)]
    if report.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{esc(n)}</li>" for n in report.notes) + "</ul>")
    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}img{max-width:100%}")
    title = f"swe-monkeys report: {esc(report.model or report.run_dir)}"
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title><style>{style}</style>"
            f"</head><body><h1>{title}</h1>{''.join(parts)}</body></html>")


def _finite(value):
    """JSON has no Infinity/NaN: those become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def render_json(report) -> str:
    """One JSON object on one line: what `report --json` prints (report.json holds every field)."""
    data = _finite(report.to_dict())
    keep = ("run_dir", "task", "model", "benchmark", "n_problems", "samples_min", "samples_max", "excluded",
            "display_ks", "extrapolation", "backtest", "allocation", "flags", "strict", "notes")
    out = {k: data[k] for k in keep}
    index = [report.ks.index(k) for k in report.display_ks]
    out["coverage"] = {str(k): data["curves"][0]["values"][i] for k, i in zip(report.display_ks, index)}
    if report.strict:  # at the display ks, as coverage is
        at = lambda values: None if values is None else {str(k): values[i] for k, i in zip(report.display_ks, index)}  # noqa: E731
        out["strict"] = {**out["strict"], "coverage": at(data["strict"]["coverage"]["values"]),
                         "per_resolved": at(data["strict"]["per_resolved"])}
    cost = report.cost
    out["cost"] = None if cost is None else {
        "unit": cost.primary.unit, "per_sample": cost.primary.per_sample, "basis": cost.primary.basis,
        "fixed_per_problem": cost.primary.fixed_per_problem,
        "per_problem": {str(k): _finite(cost.per_problem[i]) for k, i in zip(report.display_ks, index)},
        "optimal_k": cost.optimal_k, "secondary": [{"unit": c.unit, "per_sample": c.per_sample, "basis": c.basis}
                                                   for c in cost.secondary]}
    return json.dumps(out)


def write_report_files(report, out_dir: Path, plots: bool = True) -> list[Path]:
    """Write coverage.png, cost.png (when costed), report.html and report.json; return their paths."""
    from swe_monkeys.metrics.plots import cost_png, coverage_png

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images = {}
    if plots:
        images["coverage"] = coverage_png(report)
        cost = cost_png(report)
        if cost is not None:
            images["cost"] = cost
    written = []
    for name, data in images.items():
        (out_dir / f"{name}.png").write_bytes(data)
        written.append(out_dir / f"{name}.png")
    (out_dir / "report.html").write_text(render_html(report, images))
    (out_dir / "report.json").write_text(json.dumps(_finite(report.to_dict()), indent=1))
    return written + [out_dir / "report.html", out_dir / "report.json"]
