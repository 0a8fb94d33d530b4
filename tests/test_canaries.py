"""Canaries and the guard's records, without Docker: planting keeps a test file valid and adds a test
that fails under each runner's own rules; the host knows the canary by the runner's name for it;
the guard's records are believed only with one end record, the run's nonce, nothing after it and
no tampering; grading takes statuses from the records (the log can only make them worse)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from swe_monkeys.swebench import canaries as host
from swe_monkeys.swebench.grading import grade
from swe_monkeys.swebench.spec import EnvSpec
from swe_monkeys.types import Status, SWEInstance

HARNESS = Path(__file__).resolve().parents[1] / "harness"


def _harness_module(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", HARNESS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def plant(tmp_path, monkeypatch):
    module = _harness_module("canaries")
    monkeypatch.setattr(module, "TESTBED", str(tmp_path))
    return module.plant


PYTEST_FILE = textwrap.dedent('''\
    import os

    def test_parse_range_basic():
        assert 1 == 1

    class TestRangeSet:
        def test_add_nested_range(self):
            assert True

    def test_gaps_within_month():
        assert os.sep
''')


def _run_pytest(root: Path, ids: list[str]) -> str:
    proc = subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", *ids], cwd=root,
                          capture_output=True, text=True)
    return proc.stdout


def test_pytest_canaries_fail_and_look_like_their_neighbours(tmp_path, plant):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_ranges.py").write_text(PYTEST_FILE)
    planted = plant({"tests/test_ranges.py": ["TestRangeSet"]}, "pytest", count=3)
    assert len(planted) == 3 and len({c["name"] for c in planted}) == 3
    words = {"parse", "range", "basic", "add", "nested", "gaps", "within", "month"} | set(
        "case simple issue values args result types empty edge more".split())
    for canary in planted:
        assert canary["name"].startswith("test_") and set(canary["name"][5:].split("_")) <= words | {""}
    ids = [host.test_id(c, "pytest") for c in planted]
    out = _run_pytest(tmp_path, ids + ["tests/test_ranges.py::test_parse_range_basic"])
    for test in ids:
        assert f"FAILED {test}" in out, out
    assert "PASSED tests/test_ranges.py::test_parse_range_basic" in out


def test_unittest_canaries_go_into_a_named_test_class(tmp_path, plant):
    (tmp_path / "tests" / "auth_tests").mkdir(parents=True)
    (tmp_path / "tests" / "auth_tests" / "test_validators.py").write_text(textwrap.dedent('''\
        import unittest

        def helper():
            return 1

        class UsernameValidatorsTests(unittest.TestCase):
            def test_ascii_validator(self):
                self.assertEqual(helper(), 1)

            @unittest.skipIf(False, "never")
            def test_unicode_validator(self):
                pass
        '''))
    planted = plant({"tests/auth_tests/test_validators.py": ["UsernameValidatorsTests"]}, "unittest", count=2)
    assert planted and all(c["cls"] == "UsernameValidatorsTests" for c in planted)
    names = [host.test_id(c, "django") for c in planted]
    assert all(n.endswith(" (auth_tests.test_validators.UsernameValidatorsTests)") for n in names)
    proc = subprocess.run([sys.executable, "-m", "unittest", "-v", "test_validators"],
                          cwd=tmp_path / "tests" / "auth_tests", capture_output=True, text=True)
    for canary in planted:
        assert f"{canary['name']} (test_validators.UsernameValidatorsTests" in proc.stderr
    assert proc.stderr.count("... FAIL") == len(planted) and "test_ascii_validator" in proc.stderr


def test_among_async_tests_the_canary_is_async_and_fails_when_awaited(tmp_path, plant):
    """Django 3.1+ awaits async test methods; a forgery of that (the coroutine never run, so the
    test "passes") would leave a sync canary failing but shows on an async one."""
    (tmp_path / "test_asgi.py").write_text(textwrap.dedent('''\
        import unittest

        class ASGITest(unittest.IsolatedAsyncioTestCase):
            async def test_get_asgi_application(self):
                self.assertEqual(1, 1)

            def helper(self):
                return 1
        '''))
    planted = plant({"test_asgi.py": ["ASGITest"]}, "unittest", count=2)
    text = (tmp_path / "test_asgi.py").read_text()
    assert planted and all(f"async def {c['name']}(self):" in text for c in planted)
    proc = subprocess.run([sys.executable, "-m", "unittest", "-v", "test_asgi"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.stderr.count("... FAIL") == len(planted), proc.stderr


def test_a_file_that_does_not_parse_gets_no_canary(tmp_path, plant):
    (tmp_path / "test_x.py").write_text("def test_(:\n")
    assert plant({"test_x.py": []}, "pytest") == []
    assert host.canary_problem([], "pytest", {}) == "no canary could be planted in the test files"


def test_canary_plan_per_runner():
    spec = EnvSpec(repo="a/b", version="1")
    inst = SWEInstance(instance_id="x", repo="a/b", base_commit="c", patch="", test_patch="", problem_statement="",
                       version="1", fail_to_pass=["tests/t.py::TestA::test_x[1]"], pass_to_pass=["tests/u.py::test_y"])
    assert host.plan(inst, spec, ["tests/t.py", "tests/u.py", "README"])["targets"] == {
        "tests/t.py": ["TestA"], "tests/u.py": []}
    django = EnvSpec(repo="django/django", version="3.0", parser="django")
    inst = replace(inst, fail_to_pass=("test_ascii (auth_tests.test_validators.UsernameValidatorsTests)",
                                        "A docstring."), pass_to_pass=())
    assert host.plan(inst, django, ["tests/auth_tests/test_validators.py"]) == {
        "style": "unittest", "targets": {"tests/auth_tests/test_validators.py": ["UsernameValidatorsTests"]}}


def test_a_canary_must_be_recorded_failing():
    canary = {"file": "tests/t.py", "name": "test_gaps_nested", "cls": ""}
    assert host.canary_problem([canary], "pytest", {"tests/t.py::test_gaps_nested": "FAILED"}) == ""
    assert host.canary_problem([canary], "pytest", {"tests/t.py::test_gaps_nested[1]": "ERROR"}) == ""
    for status in ("PASSED", "SKIPPED", "XFAIL"):
        assert "must fail was" in host.canary_problem([canary], "pytest", {"tests/t.py::test_gaps_nested": status})
    assert "never recorded" in host.canary_problem([canary], "pytest", {})
    django = {"file": "tests/a/test_b.py", "name": "test_q", "cls": "C"}
    assert host.canary_problem([django], "django", {"id:a.test_b.C.test_q": "FAILED"}) == ""
    assert "passed" in host.canary_problem([django], "django", {"id:a.test_b.C.test_q": "PASSED"})


@pytest.fixture
def judge_records(monkeypatch):
    monkeypatch.syspath_prepend(str(HARNESS))  # unsafe_tests imports its siblings, as in the container
    return _harness_module("unsafe_tests").judge_records


def test_records_are_believed_only_with_one_end_carrying_the_nonce(judge_records):
    body = "R\tPASSED\tt::a\nR\tFAILED\tt::canary\n"
    assert judge_records(body + "E\tn0nce\t\n", "n0nce") == ("ok", [("PASSED", "t::a"), ("FAILED", "t::canary")])
    assert judge_records(body, "n0nce")[0].startswith("missing")
    assert judge_records(body + "E\tforged\t\n", "n0nce")[0] == "forged guard report"
    assert judge_records(body + "E\tn0nce\t\nR\tPASSED\tt::canary\n", "n0nce")[0].startswith("tampered: 1 records after")
    assert judge_records(body + "E\tn0nce\t\nE\tn0nce\t\n", "n0nce")[0].startswith("tampered")
    assert judge_records("T\tsys.settrace by code from x.py\n" + body + "E\tn0nce\t\n", "n0nce")[0] == \
        "tampered: sys.settrace by code from x.py"
    assert judge_records(body + "E\tn0nce\tTestCase.run from a file written by the candidate\n", "n0nce")[0] == \
        "tampered: TestCase.run from a file written by the candidate"
    assert judge_records(body + "E\tn0nce\t\n", "n0nce", overflow=True)[0].startswith("tampered")


def _instance() -> SWEInstance:
    return SWEInstance(instance_id="x", repo="a/b", base_commit="c", patch="", test_patch="", problem_statement="",
                       version="1", fail_to_pass=["t.py::test_a"], pass_to_pass=["t.py::test_b"])


def _result(records, log_status="PASSED", **extra):
    log = (f"{log_status} t.py::test_a\nPASSED t.py::test_b\nFAILED t.py::test_gaps_nested\n"
           "==== 1 failed, 2 passed in 0.1s ====\n")
    return {"ok": True, "apply_method": "git apply", "apply_tries": [{}], "test_patch_ok": True, "exit_code": 1,
            "log": log, "guard": "ok", "records": records,
            "canaries": [{"file": "t.py", "name": "test_gaps_nested", "cls": ""}], **extra}


def test_grading_takes_statuses_from_the_records_and_the_log_only_makes_them_worse():
    spec, inst = EnvSpec(repo="a/b", version="1"), _instance()
    honest = [("PASSED", "t.py::test_a"), ("PASSED", "t.py::test_b"), ("FAILED", "t.py::test_gaps_nested")]
    assert grade(_result(honest), inst, spec).status is Status.RESOLVED
    # A log that says PASSED does not stand for a record that says FAILED, or for none.
    failed = [("FAILED", "t.py::test_a")] + honest[1:]
    assert grade(_result(failed), inst, spec).status is Status.UNRESOLVED
    assert "MISSING" in grade(_result(honest[1:]), inst, spec).reason
    # The log can make a recorded pass worse.
    assert grade(_result(honest, log_status="FAILED"), inst, spec).status is Status.UNRESOLVED
    # A canary recorded passing: tampered, whatever the rest says.
    forged = honest[:2] + [("PASSED", "t.py::test_gaps_nested")]
    assert "must fail was passed" in grade(_result(forged), inst, spec).reason
    assert "truncated log never resolves" in grade(_result(honest, truncated=True), inst, spec).reason
    assert grade(_result(honest, guard="missing: no end"), inst, spec).reason.startswith("guard: missing")
    assert "disk bound" in grade(_result(honest, disk_exceeded=True), inst, spec).reason


def test_pytest3_instance_nodes_are_named_as_the_datasets_name_them():
    spec, inst = EnvSpec(repo="a/b", version="1"), _instance()
    inst = replace(inst, fail_to_pass=("t.py::TestA::test_a",), pass_to_pass=())
    records = [("PASSED", "t.py::TestA::()::test_a"), ("FAILED", "t.py::test_gaps_nested")]
    result = _result(records)
    result["log"] = "PASSED t.py::TestA::test_a\nFAILED t.py::test_gaps_nested\n==== 1 failed, 1 passed in 0.1s ====\n"
    assert grade(result, inst, spec).status is Status.RESOLVED
