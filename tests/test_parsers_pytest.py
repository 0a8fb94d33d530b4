"""pytest parser additions: -v lines (pytest 3, which has no -rA), SWE-bench's id aliases, unreadable
summaries, and selecting tests by node id; plus real logs (tests/data/logs/pytest_*)."""

from __future__ import annotations

from pathlib import Path

import pytest

from swe_monkeys.swebench.parsers import FAILED, PASSED, SKIPPED, XFAIL, parse_pytest
from swe_monkeys.swebench.selecting import select_args

LOGS = Path(__file__).parent / "data" / "logs"

PYTEST3 = """============================= test session starts ==============================
platform linux -- Python 3.6.15, pytest-3.3.1, py-1.11.0, pluggy-0.6.0 -- /opt/venv/bin/python
collecting ... collected 4 items

astropy/io/fits/tests/test_checksum.py::TestChecksumFunctions::test_sample_file PASSED
astropy/io/fits/tests/test_checksum.py::TestChecksumFunctions::test_ascii_table_data FAILED
astropy/io/fits/tests/test_checksum.py::TestChecksumFunctions::test_x xfail
astropy/io/fits/tests/test_checksum.py::TestChecksumFunctions::test_y SKIPPED

=============== 1 failed, 1 passed, 1 skipped, 1 xfailed in 1.57 seconds ================
"""


def test_pytest3_verbose_lines():
    parsed = parse_pytest(PYTEST3)
    base = "astropy/io/fits/tests/test_checksum.py::TestChecksumFunctions::"
    assert parsed.statuses == {base + "test_sample_file": PASSED, base + "test_ascii_table_data": FAILED,
                               base + "test_x": XFAIL, base + "test_y": SKIPPED}
    assert parsed.lines == {PASSED: 1, FAILED: 1, XFAIL: 1, SKIPPED: 1} and parsed.suite_ran


def test_verbose_and_summary_lines_are_not_counted_twice():
    log = ("t.py::test_a PASSED                                        [ 50%]\n"
           "t.py::test_b FAILED                                        [100%]\n"
           "=========================== short test summary info ============================\n"
           "PASSED t.py::test_a\nFAILED t.py::test_b - assert 0\n"
           "========================= 1 failed, 1 passed in 0.02s ==========================\n")
    parsed = parse_pytest(log)
    assert parsed.lines == {PASSED: 1, FAILED: 1} == parsed.totals


def test_a_forged_verbose_pass_does_not_beat_the_real_failure():
    parsed = parse_pytest("FAILED t.py::test_b - x\nt.py::test_b PASSED\n==== 1 failed in 0.1s ====\n")
    assert parsed.statuses["t.py::test_b"] == FAILED


def test_swe_bench_aliases():
    parsed = parse_pytest("PASSED tests/test_self.py::TestRunTC::test_stdin[/testbed/tests/mymodule.py]\n"
                          "PASSED lib/matplotlib/tests/test_widgets.py::test_span[MouseButton.LEFT-x]\n"
                          "PASSED t.py::test_p[a b]\n===== 3 passed in 1.0s =====\n")
    for name in ("tests/test_self.py::TestRunTC::test_stdin[/mymodule.py]",
                 "lib/matplotlib/tests/test_widgets.py::test_span[1-x]", "t.py::test_p[a"):
        assert parsed.statuses[name] == PASSED
    assert parsed.lines == {PASSED: 3} == parsed.totals


def test_unreadable_summary_is_a_problem():
    parsed = parse_pytest("PASSED t.py::test_a\n======= 1 passed in a jiffy =======\n")
    assert not parsed.suite_ran and parsed.problem.startswith("could not parse the summary")


def test_select_args_pytest():
    ids = ["t.py::test_a", "t.py::test_p[1-2]", "t.py::test_a"]
    assert select_args("pytest", ids) == ["t.py::test_a", "t.py::test_p[1-2]"]
    assert select_args("pytest", ["t.py::test_p[a"]) is None  # cut at a space by the dataset
    assert select_args("pytest", ["t.py::test_p[a b]"]) is None
    assert select_args("pytest", []) is None
    assert select_args("unknown", ["t.py::test_a"]) is None


@pytest.mark.parametrize("text", ["", "\x1b[31m" * 99, "PASSED", "SKIPPED [", "SKIPPED [x] y", "== in 1s ==",
                                  "a::b PASSED [", "=" * 3000 + " passed " + "=" * 3000])
def test_total_on_hostile_text(text):
    parse_pytest(text)


@pytest.mark.parametrize("name", sorted(p.name for p in LOGS.glob("pytest_*.log")))
def test_real_logs(name):
    parsed = parse_pytest((LOGS / name).read_text())
    assert parsed.suite_ran and not parsed.problem and parsed.statuses
    for status in (PASSED, FAILED):
        assert parsed.lines.get(status, 0) == parsed.totals.get(status, 0), status


def test_verbose_skip_reasons_name_the_skipped_test():
    """-rA's 'SKIPPED [1] file:line: reason' names no test; -v's line does (pytest 7+ adds the reason)."""
    log = ("x/t.py::T::test_sparse SKIPPED (requires sparse)                      [ 50%]\n"
           "x/t.py::T::test_a PASSED                                              [100%]\n"
           "=========================== short test summary info ============================\n"
           "PASSED x/t.py::T::test_a\nSKIPPED [1] x/t.py:12: requires sparse\n"
           "===================== 1 passed, 1 skipped in 0.02s =====================\n")
    parsed = parse_pytest(log)
    assert parsed.statuses["x/t.py::T::test_sparse"] == SKIPPED
    assert parsed.lines == {PASSED: 1, SKIPPED: 1} == parsed.totals


def test_real_rA_and_v_log_names_skipped_tests():
    parsed = parse_pytest((LOGS / "pytest_matplotlib_3.6.3_sdist_v.log").read_text())
    assert parsed.totals == {FAILED: 19, PASSED: 338, SKIPPED: 24} == parsed.lines
    assert sum(status == SKIPPED for status in parsed.statuses.values()) == 24
    assert parsed.statuses["lib/matplotlib/tests/test_legend.py::test_legend_auto1[png]"] == FAILED
