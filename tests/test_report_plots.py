"""The report's figures and numbers read without the code (issue 23, "plots and numbers"): the legend
beside the axes, plain log-axis ticks, counted nouns, --model only pricing, a titled cost plot whose
baselines are named in the legend, dollars in decimals, an unreliable fit said in words (not a
scipy warning on stderr), and a price nobody checked marked unverified.

Runs are real run stores with hand-made verdicts (tests.test_report.make_run); figures are the
matplotlib objects the PNGs are drawn from, measured after a draw.
"""

from __future__ import annotations

import json
import re
import warnings

import pytest
from typer.testing import CliRunner

from swe_monkeys.cli import app
from swe_monkeys.metrics.fits import fit_power_law
from swe_monkeys.metrics.plots import cost_figure, coverage_figure
from swe_monkeys.metrics.report import ReportOptions, build_report
from swe_monkeys.pricing import format_dollars
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.types import Status
from tests.test_report import make_run

R, U = Status.RESOLVED, Status.UNRESOLVED
EIGHT = {"astropy__astropy-12907": [R, U, U, R, U, U, U, U], "django__django-11099": [U] * 8,
         "sympy__sympy-20590": [R, R, U, R, U, R, R, R]}  # k = 1..8: less than a decade on the log axis


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _drawn(fig):
    fig.canvas.draw()
    return fig, fig.axes[0]


def _report(tmp_path, samples=EIGHT, **options):
    return build_report(make_run(tmp_path / "run", samples=samples), ReportOptions(n_boot=50, **options))


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_the_legend_never_covers_the_axes(tmp_path):
    report = _report(tmp_path)
    for fig in (coverage_figure(report), cost_figure(report)):
        fig, ax = _drawn(fig)
        legends = [x for x in (*fig.legends, ax.get_legend()) if x is not None]
        assert legends
        for legend in legends:
            assert not _overlap(legend.get_window_extent(), ax.get_window_extent())


def test_log_axis_ticks_are_plain_numbers(tmp_path):
    report = _report(tmp_path)
    for fig, pattern in ((coverage_figure(report), r"\d+"), (cost_figure(report), r"\$\d[\d.,]*")):
        _, ax = _drawn(fig)
        low, high = ax.get_xlim()
        labels = [t.get_text() for minor in (False, True) for t in ax.get_xticklabels(minor=minor)
                  if t.get_text() and low <= t.get_position()[0] <= high]
        assert len(labels) >= 2, labels
        assert all(re.fullmatch(pattern, label) for label in labels), labels  # not "$\mathdefault{2\times10^{0}}$"


def test_titles_count_problems_in_words_and_the_cost_plot_has_one(tmp_path):
    report = _report(tmp_path, samples={"astropy__astropy-12907": [R, U, U, R]})
    coverage, cost = coverage_figure(report).axes[0].get_title(), cost_figure(report).axes[0].get_title()
    assert "1 problem" in coverage and "1 problems" not in coverage
    assert "1 problem" in cost and "cost" in cost
    result = CliRunner().invoke(app, ["report", str(tmp_path / "run"), "--no-plots", "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    assert "1 problem, 4 judged samples each" in result.stdout


def test_model_option_prices_the_run_without_renaming_it(tmp_path):
    make_run(tmp_path / "run", samples=EIGHT)  # recorded as deepseek-coder-v2
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["report", str(tmp_path / "run"), "--model", "gpt-4o", "--out", str(out),
                                      "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    assert "model deepseek-coder-v2 (priced as gpt-4o)" in result.stdout
    assert "Cost: gpt-4o list prices" in result.stdout
    assert "deepseek-coder-v2 (this run, priced as gpt-4o)" in result.stdout  # Table 1's row of the run
    data = json.loads((out / "report.json").read_text())
    assert data["model"] == "deepseek-coder-v2" and data["priced_as"] == "gpt-4o"
    report = build_report(tmp_path / "run", ReportOptions(model="gpt-4o", n_boot=50))
    title = coverage_figure(report).axes[0].get_title()
    assert "deepseek-coder-v2" in title and "gpt-4o" not in title
    assert "priced as gpt-4o" in cost_figure(report).axes[0].get_title()


def test_cost_plot_names_every_baseline_in_its_legend_and_no_labels_collide(tmp_path):
    report = _report(tmp_path)
    fig, ax = _drawn(cost_figure(report))
    legends = [x for x in (*fig.legends, ax.get_legend()) if x is not None]
    legend = " | ".join(t.get_text() for x in legends for t in x.get_texts())
    for point in report.baseline_points:
        assert point["model"] in legend
    boxes = [t.get_window_extent() for t in ax.texts]
    assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


@pytest.mark.parametrize("amount, text", [(2.384e-07, "$0.000000238"), (0.00168, "$0.00168"), (0.5, "$0.50"),
                                          (12.5, "$12.50"), (1234.5, "$1,234"), (0, "$0"), (None, "-")])
def test_dollars_read_as_decimals(amount, text):
    assert format_dollars(amount) == text


def _self_hosted_run(tmp_path):
    run_dir = make_run(tmp_path / "run", samples=EIGHT, model="my-local-model")
    with RunStore(run_dir) as store:
        store.set_meta("sampling_seconds", 10.0)
    return run_dir


def test_self_hosted_report_prints_no_exponent_dollars_and_marks_unchecked_prices(tmp_path):
    run_dir = _self_hosted_run(tmp_path)
    result = CliRunner().invoke(app, ["report", str(run_dir), "--no-plots", "--hardware", "cpu-core:2",
                                      "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    assert "$0.00001" in result.stdout  # 2 vCPU x $0.044625/h x 10 s / 24 samples, per sample
    assert not re.search(r"\$\d[\d.,]*e[-+]?\d", result.stdout), result.stdout  # not "$1.033e-05"
    assert "from memory" not in result.stdout
    assert "(unverified, check https://aws.amazon.com/ec2/pricing/on-demand/)" in result.stdout


def test_a_power_law_through_two_points_is_unreliable_in_words_not_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's OptimizeWarning would raise here
        fit = fit_power_law([1, 2], [0.2, 0.3])
    assert not fit.reliable and "2 points for 2 parameters" in fit.caveat
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fit_power_law([1, 2, 4, 8, 16], [0.2, 0.3, 0.41, 0.5, 0.58]).reliable


@pytest.mark.filterwarnings("error::scipy.optimize.OptimizeWarning")
@pytest.mark.parametrize("n_samples, words", [(2, "unreliable: 2 points for 2 parameters"),
                                              (20, "unreliable: fitted through 2 points")])
def test_report_says_an_unreliable_fit_in_words(tmp_path, n_samples, words):
    # 2 samples: the report's own power law has k = 1, 2; 20 samples: its extrapolation check fits on 2.
    samples = {"astropy__astropy-12907": ([R, U] * 10)[:n_samples], "sympy__sympy-20590": [U] * n_samples}
    run_dir = make_run(tmp_path / "run", samples=samples)
    result = CliRunner().invoke(app, ["report", str(run_dir), "--no-plots", "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    assert words in result.stdout and "OptimizeWarning" not in result.output
