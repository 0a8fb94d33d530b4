"""sympy's bin/test parser on real logs (tests/data/logs/sympy_*) and on summaries as bin/test centres
and wraps them, plus forged and truncated logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from swe_monkeys.swebench.parsers import ERROR, FAILED, PASSED, SKIPPED, XFAIL, XPASS, parse_sympy
from swe_monkeys.swebench.selecting import select_args

LOGS = Path(__file__).parent / "data" / "logs"


def centred(text: str, width: int = 80) -> str:
    """sympy's PyTestReporter.finish + write_center, as in sympy/testing/runtests.py."""
    line, pos = "", 0
    for item in text.split("|"):
        if pos + len(item) > width:
            line, pos = line + "\n", 0
        line, pos = line + item, pos + len(item)
    line = f" {line} "
    idx = (width - len(line)) // 2
    return "=" * idx + line + "=" * (width - idx - len(line))


SHORT = centred("tests finished: 12 passed, |1 failed, |in 0.51 seconds")
LONG = centred("tests finished: 4170 passed, |120 skipped, |43 expected to fail, |1 expected to fail but passed, |"
               "in 312.39 seconds")


def test_short_summary_is_framed_in_equals_signs():
    assert SHORT.startswith("=====") and SHORT.endswith("=")
    parsed = parse_sympy(f"test_a ok\n{SHORT}\n")
    assert parsed.suite_ran and parsed.totals == {PASSED: 12, FAILED: 1} and not parsed.problem


def test_long_summary_wraps_and_has_no_frame():
    assert "\n" in LONG and not LONG.startswith("=")
    parsed = parse_sympy(f"test_a ok\n\n{LONG}\n")
    assert parsed.suite_ran and not parsed.problem
    assert parsed.totals == {PASSED: 4170, SKIPPED: 120, XFAIL: 43, XPASS: 1}


def test_long_summary_on_one_line_without_frame():
    text = "tests finished: 3100 passed, 12 skipped, 40 expected to fail, 2 exceptions, in 130.20 seconds"
    parsed = parse_sympy(text)
    assert parsed.suite_ran and parsed.totals == {PASSED: 3100, SKIPPED: 12, XFAIL: 40, ERROR: 2}


def test_result_lines_skips_with_reasons_and_file_markers():
    log = "\n".join([
        "sympy/printing/tests/test_ccode.py[3] ",
        "test_ccode_sqrt ok",
        "test_ccode_slow Slow w",
        "test_ccode_numpy requires numpy s",
        "test_ccode_none  - s",
        "test_ccode_timeout Timeout T",
        "test_ccode_hang T",
        "test_ccode_xfail f",
        "test_ccode_xpass X",
        "test_ccode_sinc F                                                        [FAIL]",
        "test_ccode_exc E",
        "test_ccode_last ok                                                         [OK]",
        centred("tests finished: 2 passed, |1 failed, |4 skipped, |1 expected to fail, |"
                "1 expected to fail but passed, |2 exceptions, |in 1.00 seconds")])
    parsed = parse_sympy(log)
    assert parsed.statuses == {
        "test_ccode_sqrt": PASSED, "test_ccode_slow": SKIPPED, "test_ccode_numpy": SKIPPED,
        "test_ccode_none": SKIPPED, "test_ccode_timeout": SKIPPED, "test_ccode_hang": ERROR,
        "test_ccode_xfail": XFAIL, "test_ccode_xpass": XPASS, "test_ccode_sinc": FAILED, "test_ccode_exc": ERROR,
        "test_ccode_last": PASSED}
    assert parsed.lines[PASSED] == parsed.totals[PASSED] == 2
    assert parsed.lines[FAILED] == parsed.totals[FAILED] == 1


def test_unreadable_summary_is_a_problem_not_silence():
    parsed = parse_sympy("test_a ok\n===== tests finished: lots passed, in no time =====\n")
    assert not parsed.suite_ran and parsed.totals is None
    assert parsed.problem.startswith("could not parse the summary: tests finished: lots passed")


def test_forged_summary_before_the_real_one_does_not_win():
    forged = centred("tests finished: 9 passed, |in 0.01 seconds")
    real = centred("tests finished: 1 passed, |1 failed, |in 0.50 seconds")
    parsed = parse_sympy(f"{forged}\ntest_a ok\ntest_b F\n{real}\n")
    assert parsed.totals == {PASSED: 1, FAILED: 1} and parsed.statuses["test_b"] == FAILED


def test_forged_ok_line_does_not_hide_a_failure():
    parsed = parse_sympy("test_b F\ntest_b ok\n" + centred("tests finished: 0 passed, |1 failed, |in 0.1 seconds"))
    assert parsed.statuses["test_b"] == FAILED


def test_truncated_log_has_no_evidence():
    parsed = parse_sympy("sympy/core/tests/test_basic.py[22] \ntest_a ok\ntest_b ok\n")
    assert not parsed.suite_ran and not parsed.problem and parsed.totals is None


@pytest.mark.parametrize("text", ["", "\x00\xff" * 50, "tests finished:", "tests finished: in", "=" * 5000,
                                  "test_ ok\n" * 3, "tests finished: 1 passed, \n\n\n"])
def test_total_on_hostile_text(text):
    parse_sympy(text)


def test_select_args_files_then_k_names():
    assert select_args("sympy", ["test_ccode_sinc", "test_x"], ["sympy/printing/tests/test_ccode.py"]) == \
        ["sympy/printing/tests/test_ccode.py", "-k", "test_ccode_sinc", "test_x"]
    assert select_args("sympy", ["test_ccode_sinc"], []) is None
    assert select_args("sympy", ["not a name"], ["a.py"]) is None


@pytest.mark.parametrize("name", sorted(p.name for p in LOGS.glob("sympy_*.log")))
def test_real_logs(name):
    """Real bin/test runs: every result line agrees with the summary bin/test printed."""
    parsed = parse_sympy((LOGS / name).read_text())
    assert parsed.suite_ran and not parsed.problem
    for status in (PASSED, FAILED):
        assert parsed.lines.get(status, 0) == parsed.totals.get(status, 0), status


def test_real_long_run_with_wrapped_summary_and_wrapped_outcomes():
    """sympy 1.7's bin/test over sympy/core and sympy/sets: the summary is too long to centre and
    wraps; names that reach column 80 get their outcome on the next line."""
    text = (LOGS / "sympy_1.7_core_sets_long.log").read_text()
    assert "\n1 expected to fail but passed, in 842.82 seconds" in text
    parsed = parse_sympy(text)
    assert parsed.totals == {PASSED: 1990, SKIPPED: 71, XFAIL: 45, XPASS: 1} == parsed.lines
    assert parsed.statuses["test_sympy__physics__quantum__shor__CMod"] == SKIPPED


def test_wrapped_outcome_letters():
    log = "\n".join(["test_a abstract class ", "s", "test_b", "ok", "test_c Timeout", "T", "test_d", "T",
                     "test_e", "unrelated", "ok",
                     centred("tests finished: 1 passed, |2 skipped, |1 exceptions, |in 1.0 seconds")])
    parsed = parse_sympy(log)
    assert parsed.statuses == {"test_a": SKIPPED, "test_b": PASSED, "test_c": SKIPPED, "test_d": ERROR}
