"""Django's runtests.py parser on real logs (tests/data/logs/django_*) and on unittest's edge cases:
docstring descriptions, output between ' ... ' and the outcome, subtests, fixtures, forged and truncated logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from swe_monkeys.swebench.parsers import ERROR, FAILED, PASSED, SKIPPED, XFAIL
from swe_monkeys.swebench.parsers_django import django_labels, parse_django
from swe_monkeys.swebench.selecting import select_args

LOGS = Path(__file__).parent / "data" / "logs"

RUN = """Testing against Django installed in '/testbed/django'
Importing application basic
Skipping setup of unused database(s): other.
Operations to perform:
  Synchronize unmigrated apps: auth, basic, contenttypes, messages, sessions, staticfiles
  Apply all migrations: admin, sites
Running migrations:
  Applying admin.0001_initial... OK
System check identified no issues (0 silenced).
test_a (basic.tests.ModelTest) ... ok
test_b (basic.tests.ModelTest)
Saving twice keeps the pk. ... FAIL
test_c (basic.tests.ModelTest) ... skipped "Database doesn't support feature(s): can_defer"
test_d (basic.tests.ModelTest) ... expected failure
test_e (basic.tests.ModelTest) ... Internal Server Error: /x/
ok
test_f (basic.tests.ModelTest) ... test_g (basic.tests.ModelTest) ... ok
test_h (basic.tests.ModelTest) ... ERROR

======================================================================
ERROR: test_h (basic.tests.ModelTest)
----------------------------------------------------------------------
Traceback (most recent call last):
RuntimeError: boom

======================================================================
FAIL: test_b (basic.tests.ModelTest)
Saving twice keeps the pk.
----------------------------------------------------------------------
AssertionError: 1 != 2

======================================================================
FAIL: test_f (basic.tests.ModelTest) (n=1)
----------------------------------------------------------------------
AssertionError

======================================================================
FAIL: test_f (basic.tests.ModelTest) (n=2)
----------------------------------------------------------------------
AssertionError

----------------------------------------------------------------------
Ran 8 tests in 0.105s

FAILED (failures=3, errors=1, skipped=1, expected failures=1)
Destroying test database for alias 'default'...
"""


def test_statuses_docstrings_and_subtests():
    parsed = parse_django(RUN)
    assert parsed.statuses == {
        "test_a (basic.tests.ModelTest)": PASSED, "test_b (basic.tests.ModelTest)": FAILED,
        "Saving twice keeps the pk.": FAILED, "test_c (basic.tests.ModelTest)": SKIPPED,
        "test_d (basic.tests.ModelTest)": XFAIL, "test_e (basic.tests.ModelTest)": PASSED,
        "test_g (basic.tests.ModelTest)": PASSED, "test_h (basic.tests.ModelTest)": ERROR,
        "test_f (basic.tests.ModelTest)": FAILED}
    assert parsed.suite_ran and not parsed.problem


def test_totals_agree_with_the_lines():
    parsed = parse_django(RUN)
    # 8 run: 3 ok, 3 tests broken (b, f with two failing subtests, h), 1 skipped, 1 expected failure.
    assert parsed.totals == {PASSED: 3, FAILED: 3, ERROR: 1, SKIPPED: 1, XFAIL: 0 + 1}
    for status in (PASSED, FAILED, ERROR, SKIPPED, XFAIL):
        assert parsed.lines.get(status, 0) == parsed.totals[status], status


def test_python_311_names_and_subtest_lines():
    log = "\n".join([
        "test_x (app.tests.T.test_x) ... ok",
        "test_y (app.tests.T.test_y)",
        "Docstring y. ... ok",
        "test_z (app.tests.T.test_z) ... ",
        "  test_z (app.tests.T.test_z) (i=1) ... FAIL",
        "", "=" * 70, "FAIL: test_z (app.tests.T.test_z) (i=1)", "-" * 70, "AssertionError", "",
        "-" * 70, "Ran 3 tests in 0.01s", "", "FAILED (failures=1)"])
    parsed = parse_django(log)
    assert parsed.statuses == {"test_x (app.tests.T.test_x)": PASSED, "test_y (app.tests.T.test_y)": PASSED,
                               "Docstring y.": PASSED, "test_z (app.tests.T.test_z)": FAILED}
    assert parsed.totals[PASSED] == parsed.lines[PASSED] == 2 and parsed.lines[FAILED] == 1


def test_setupclass_error_is_no_test_run():
    log = "\n".join(["setUpClass (app.tests.T) ... ERROR", "test_a (app.tests.U) ... ok", "",
                     "ERROR: setUpClass (app.tests.T)", "-" * 70, "Ran 1 test in 0.01s", "", "FAILED (errors=1)"])
    parsed = parse_django(log)
    assert parsed.totals[PASSED] == parsed.lines[PASSED] == 1 and parsed.lines[ERROR] == 1


def test_unexpected_success_fails_the_run():
    log = "test_a (app.tests.T) ... unexpected success\n\nRan 1 test in 0.0s\n\nFAILED (unexpected successes=1)\n"
    parsed = parse_django(log)
    assert parsed.statuses == {"test_a (app.tests.T)": FAILED}
    assert parsed.totals[FAILED] == parsed.lines[FAILED] == 1 and parsed.totals[PASSED] == 0


def test_ok_summary_with_counts():
    parsed = parse_django("test_a (m.T) ... ok\ntest_b (m.T) ... skipped 'no'\n\n"
                          "Ran 2 tests in 0.1s\n\nOK (skipped=1)\n")
    assert parsed.totals == {PASSED: 1, FAILED: 0, ERROR: 0, SKIPPED: 1, XFAIL: 0}


def test_truncated_and_unreadable_summaries():
    assert not parse_django("test_a (m.T) ... ok\n").suite_ran
    cut = parse_django("test_a (m.T) ... ok\n\nRan 1 test in 0.1s\n")
    assert not cut.suite_ran and "no OK/FAILED line" in cut.problem
    odd = parse_django("test_a (m.T) ... ok\n\nRan 1 test in 0.1s\n\nOK (passed=lots)\n")
    assert not odd.suite_ran and odd.problem.startswith("could not parse the summary: OK (passed=lots)")


def test_forged_lines_do_not_hide_the_real_outcome():
    log = "\n".join(["test_a (m.T) ... FAIL", "test_a (m.T) ... ok", "Ran 9 tests in 0.1s", "OK",
                     "", "FAIL: test_a (m.T)", "-" * 70, "Ran 1 test in 0.1s", "", "FAILED (failures=1)"])
    parsed = parse_django(log)
    assert parsed.statuses["test_a (m.T)"] == FAILED and parsed.totals[FAILED] == 1
    # the forged "ok" line is counted, so it disagrees with the runner's own totals
    assert parsed.lines[PASSED] != parsed.totals[PASSED]


@pytest.mark.parametrize("text", ["", "\x00" * 100, " ... " * 1000, "Ran 5 tests in 1s\nOK (", "FAIL: \nERROR: ",
                                  "x (y) ... \nok\n" * 3, "Ran 99999999999999999999 tests in 1.0s\nOK"])
def test_total_on_hostile_text(text):
    parse_django(text)


def test_labels_from_test_files():
    assert django_labels(["tests/admin_views/tests.py", "tests/migrations/test_operations.py",
                          "tests/i18n/sampleproject/__init__.py", "tests/templates/x.html",
                          "tests/admin_views/tests.py"]) == \
        ["admin_views.tests", "migrations.test_operations", "i18n.sampleproject"]


def test_select_args_labels_from_names():
    assert select_args("django", ["test_a (admin_views.tests.T)", "test_b (a.b.C.test_b)"]) == \
        ["admin_views.tests.T.test_a", "a.b.C.test_b"]
    assert select_args("django", ["Saving twice keeps the pk."]) is None
    assert select_args("django", []) is None


@pytest.mark.parametrize("name", sorted(p.name for p in LOGS.glob("django_*.log")))
def test_real_logs(name):
    """Real runtests.py runs: every count agrees with the summary unittest printed."""
    parsed = parse_django((LOGS / name).read_text())
    assert parsed.suite_ran and not parsed.problem and parsed.statuses
    for status in (PASSED, FAILED, ERROR, SKIPPED):
        assert parsed.lines.get(status, 0) == parsed.totals.get(status, 0), status


def test_real_failures_with_subtests():
    """Django 3.0.14's own tests run in the django 3.0 env with django.utils.html.escape broken on
    purpose: 8 tests fail, 33 FAIL blocks (one per failing subtest), as unittest counts them."""
    parsed = parse_django((LOGS / "django_3.0_sdist_failures.log").read_text())
    assert parsed.statuses["test_escape (utils_tests.test_html.TestUtilsHtml)"] == FAILED
    assert parsed.totals[FAILED] == parsed.lines[FAILED] == 33
    assert parsed.totals[PASSED] == 14 and sum(s == FAILED for s in parsed.statuses.values()) == 8


def test_real_docstring_names_are_recorded_as_swe_bench_names_them():
    parsed = parse_django((LOGS / "django_3.0_sdist_ok.log").read_text())
    # a name from SWE-bench Lite's PASS_TO_PASS lists (django 3.0)
    name = "Admin inline should invoke local callable when its name is listed in readonly_fields"
    assert parsed.statuses[name] == PASSED
    assert parsed.totals == {PASSED: 313, FAILED: 0, ERROR: 0, SKIPPED: 30, XFAIL: 0}


def test_real_python_311_log():
    """Django 5.0.9's own tests in the django 5.0 env (Python 3.11: "(module.Class.method)" names,
    a failing subtest printed on its own indented line; its long value trimmed in the fixture)."""
    parsed = parse_django((LOGS / "django_5.0_sdist_subtest_failure.log").read_text())
    assert parsed.statuses["test_strip_tags (utils_tests.test_html.TestUtilsHtml.test_strip_tags)"] == FAILED
    assert parsed.totals == {PASSED: 147, FAILED: 1, ERROR: 0, SKIPPED: 14, XFAIL: 0}
    assert select_args("django", ["test_strip_tags (utils_tests.test_html.TestUtilsHtml.test_strip_tags)"]) == \
        ["utils_tests.test_html.TestUtilsHtml.test_strip_tags"]
