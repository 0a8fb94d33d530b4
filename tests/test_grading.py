"""Log parsing and grading on real-looking pytest logs, hostile ones included (no Docker)."""

from __future__ import annotations

from swe_monkeys.swebench.grading import grade
from swe_monkeys.swebench.parsers import parse_pytest
from swe_monkeys.swebench.spec import EnvSpec
from swe_monkeys.types import Status, SWEInstance

INST = SWEInstance(instance_id="o__r-1", repo="o/r", base_commit="0" * 40, patch="", test_patch="x",
                   version="1", fail_to_pass=("tests/test_a.py::test_new", "tests/test_a.py::test_p[a-b]"),
                   pass_to_pass=("tests/test_a.py::test_old",))
SPEC = EnvSpec(repo="o/r", version="1", timeout=60)


def log(lines: list[str], summary: str) -> str:
    return "\n".join(["============================= test session starts ==============================",
                      "platform linux -- Python 3.11.2, pytest-8.3.3, pluggy-1.5.0", "rootdir: /testbed",
                      "collected 3 items", "", "tests/test_a.py ...                                      [100%]", "",
                      "=========================== short test summary info ============================",
                      *lines, summary])


ALL_PASS = log(["PASSED tests/test_a.py::test_new", "PASSED tests/test_a.py::test_p[a-b]",
                "PASSED tests/test_a.py::test_old"], "============================== 3 passed in 0.05s ===============================")


def report(text: str, exit_code: int | None = 0, **extra) -> dict:
    return {"ok": True, "apply_method": "git apply", "apply_tries": [{}], "test_patch_ok": True, "reverted": [],
            "log": text, "exit_code": exit_code, "timed_out": False, **extra}


def test_parse_pytest_statuses_and_totals():
    text = log(["PASSED tests/test_a.py::test_old", "FAILED tests/test_a.py::test_new - AssertionError: 1 != 2",
                "ERROR tests/test_a.py::test_p[a-b] - RuntimeError", "SKIPPED [2] tests/test_a.py:9: no db",
                "XFAIL tests/test_a.py::test_x - reason"],
               "=========== 1 failed, 1 passed, 2 skipped, 1 xfailed, 1 error in 0.31s ===========")
    parsed = parse_pytest(text)
    assert parsed.statuses == {"tests/test_a.py::test_old": "PASSED", "tests/test_a.py::test_new": "FAILED",
                               "tests/test_a.py::test_p[a-b]": "ERROR", "tests/test_a.py::test_x": "XFAIL"}
    assert parsed.totals == {"FAILED": 1, "PASSED": 1, "SKIPPED": 2, "XFAIL": 1, "ERROR": 1}
    assert parsed.suite_ran


def test_old_pytest_summary_in_seconds():
    parsed = parse_pytest("PASSED testing/test_x.py::test_y\n===== 1 passed in 0.12 seconds =====")
    assert parsed.suite_ran and parsed.totals == {"PASSED": 1}


def test_all_pass_is_resolved():
    assert grade(report(ALL_PASS), INST, SPEC).status is Status.RESOLVED


def test_failing_f2p_is_unresolved():
    text = log(["FAILED tests/test_a.py::test_new - assert 0", "PASSED tests/test_a.py::test_p[a-b]",
                "PASSED tests/test_a.py::test_old"], "==== 1 failed, 2 passed in 0.1s ====")
    verdict = grade(report(text, 1), INST, SPEC)
    assert verdict.status is Status.UNRESOLVED and "test_new" in verdict.reason


def test_skipped_f2p_is_a_failure_but_skipped_p2p_is_tolerated():
    skipped_f2p = report(ALL_PASS.replace("PASSED tests/test_a.py::test_new", "SKIPPED tests/test_a.py::test_new"))
    assert grade(skipped_f2p, INST, SPEC).status is Status.UNRESOLVED
    text = log(["PASSED tests/test_a.py::test_new", "PASSED tests/test_a.py::test_p[a-b]",
                "SKIPPED tests/test_a.py::test_old"], "==== 2 passed, 1 skipped in 0.1s ====")
    assert grade(report(text), INST, SPEC).status is Status.RESOLVED


def test_missing_test_is_a_failure():
    text = log(["PASSED tests/test_a.py::test_new", "PASSED tests/test_a.py::test_old"], "==== 2 passed in 0.1s ====")
    assert grade(report(text), INST, SPEC).status is Status.UNRESOLVED


def test_fake_passed_lines_then_exit_1():
    # A candidate prints PASSED lines for every test, then exits 1: the exit code betrays it.
    assert "exit code 1" in grade(report(ALL_PASS, 1), INST, SPEC).reason


def test_forged_pass_beside_real_failure_takes_the_worst():
    text = log(["PASSED tests/test_a.py::test_new", "PASSED tests/test_a.py::test_p[a-b]",
                "PASSED tests/test_a.py::test_old", "FAILED tests/test_a.py::test_new - assert 0"],
               "==== 1 failed, 3 passed in 0.1s ====")
    verdict = grade(report(text, 1), INST, SPEC)
    assert verdict.status is Status.UNRESOLVED and verdict.tests["tests/test_a.py::test_new"] == "FAILED"


def test_extra_passed_lines_disagree_with_totals():
    text = ALL_PASS.replace("PASSED tests/test_a.py::test_old", "PASSED tests/test_a.py::test_old\n"
                            "PASSED tests/test_a.py::test_new")
    assert "disagree" in grade(report(text), INST, SPEC).reason


def test_no_evidence_the_suite_ran():
    # os._exit(0) at import: exit 0, a clean log, and no summary line.
    verdict = grade(report("collecting ... \n", 0), INST, SPEC)
    assert verdict.status is Status.UNRESOLVED and "no evidence" in verdict.reason


def test_timeout_and_infra_and_apply_failure():
    assert grade(report("", None, timed_out=True), INST, SPEC).status is Status.UNRESOLVED
    assert grade({"ok": False, "error": "boom"}, INST, SPEC).status is Status.INFRA_ERROR
    failed = {"ok": True, "apply_method": None, "apply_tries": [{"method": "git apply", "exit_code": 1, "output": "x"}]}
    assert grade(failed, INST, SPEC).status is Status.APPLY_FAILED
    assert grade(report(ALL_PASS, test_patch_ok=False), INST, SPEC).status is Status.INFRA_ERROR


def test_parser_is_total_on_garbage():
    garbage = "\x00\xff PASSED \n=== in s ===\nFAILED\n" + "x" * 10000 + "\x1b[31mPASSED a::b\x1b[0m"
    parse_pytest(garbage)  # must not raise


SYMPY_LOG = """============================= test process starts ==============================
executable:         /opt/venv/bin/python  (3.9.18-final-0) [CPython]
architecture:       64-bit
cache:              no
ground types:       python
random seed:        12345678
hash randomization: on (PYTHONHASHSEED=123)

sympy/functions/elementary/tests/test_hyperbolic.py[3]
test_sinh ok
test_coth F
test_acoth f                                                                [FAIL]

________________________________________________________________________________
____ sympy/functions/elementary/tests/test_hyperbolic.py:test_coth _____
Traceback (most recent call last):
AssertionError

== tests finished: 1 passed, 1 failed, 1 expected to fail, in 0.52 seconds ===
DO *NOT* COMMIT!
"""


def test_parse_sympy():
    from swe_monkeys.swebench.parsers import parse_sympy

    parsed = parse_sympy(SYMPY_LOG)
    assert parsed.statuses == {"test_sinh": "PASSED", "test_coth": "FAILED", "test_acoth": "XFAIL"}
    assert parsed.suite_ran and parsed.totals == {"PASSED": 1, "FAILED": 1, "XFAIL": 1}
    inst = SWEInstance(instance_id="sympy__sympy-1", repo="sympy/sympy", base_commit="0" * 40, patch="",
                       test_patch="x", version="1.1", fail_to_pass=("test_coth",), pass_to_pass=("test_sinh",))
    spec = EnvSpec(repo="sympy/sympy", version="1.1", parser="sympy")
    assert grade(report(SYMPY_LOG, 1), inst, spec).status is Status.UNRESOLVED
    fixed = SYMPY_LOG.replace("test_coth F", "test_coth ok").replace("1 passed, 1 failed", "2 passed")
    assert grade(report(fixed, 0), inst, spec).status is Status.RESOLVED


def test_progress_markers_in_a_pytest_pass_to_pass_list_are_not_graded():
    """SWE-bench's lists for some pytest instances hold "[100%]" and "[": no log can name them."""
    from swe_monkeys.swebench.grading import not_a_test

    assert not_a_test("[100%]", "pytest") and not_a_test("[", "pytest")
    assert not_a_test("[100%]------------------------------", "pytest")
    assert not not_a_test("testing/test_x.py::test_a[1]", "pytest") and not not_a_test("t/test_x.py", "pytest")
    assert not not_a_test("test_sympify", "sympy")  # other runners' names are not pytest ids


def test_fail_fast_runs_only_where_gold_says_it_can_pay():
    from swe_monkeys.swebench.grading import GoldStatuses

    # flask-4992's test_config.py: the whole file takes about as long as pytest's start
    assert not GoldStatuses({}, first={}, seconds={"first": 0.25, "full": 0.29}).fail_fast_pays()
    # a long suite whose FAIL_TO_PASS tests are quick: fail fast saves most of the run
    assert GoldStatuses({}, first={}, seconds={"first": 0.4, "full": 9.6}).fail_fast_pays()
    # a record made before timings were kept, or a gold run without the first pass: as before
    assert GoldStatuses({}, first={}).fail_fast_pays()
    assert GoldStatuses({}, first=None, seconds={"full": 1.0}).fail_fast_pays()


def test_gold_record_round_trip():
    from swe_monkeys.swebench.grading import GoldStatuses

    gold = GoldStatuses({"t::a": "PASSED"}, first={"t::a": "PASSED"}, detail={"reason": "ok"},
                        seconds={"first": 0.3, "full": 2.0})
    again = GoldStatuses.from_record(gold.record())
    assert (again.statuses, again.first, again.seconds) == (gold.statuses, gold.first, gold.seconds)
    assert GoldStatuses.from_record({"statuses": {}, "first": None}).seconds == {}  # an old record
