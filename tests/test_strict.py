"""Strict re-checks (issue 24), pure parts: the test-file rule, the comparison, gold's per-file records,
the strict statuses of a graded run, the store's settling, and the verdict's record on disk."""

from __future__ import annotations

import json

import pytest

from swe_monkeys.swebench.spec import EnvSpec
from swe_monkeys.swebench.strict import compare
from swe_monkeys.swebench.strict.compare import StrictRun
from swe_monkeys.swebench.strict.files import (imported_modules, is_test_file, module_names, strict_args,
                                               strict_test_files)
from swe_monkeys.swebench.strict.runs import GoldRecords, RepoTree, StrictJudge, changed_paths, owner
from swe_monkeys.types import Status, SWEInstance, Verdict


def files_of(tree: dict[str, str], changed, own=(), **kw):
    return strict_test_files(tree, tree.get, changed, own, **kw)


# -- the rule ----------------------------------------------------------------------------------
def test_test_files_are_collected_modules_outside_test_inputs():
    assert is_test_file("tests/migrations/test_autodetector.py")
    assert is_test_file("tests/queries/tests.py")
    assert is_test_file("sympy/core/tests/test_basic.py")
    assert is_test_file("tests/checkers/unittest_base.py")
    assert is_test_file("testing/io/saferepr_test.py")
    assert not is_test_file("tests/admin_views/admin.py")  # a helper module of Django's tests
    assert not is_test_file("testing/example_scripts/acceptance/test_x.py")  # input of pytest's own tests
    assert not is_test_file("tests/functional/t/test_compile.py")  # pylint's functional inputs
    assert not is_test_file("src/pkg/test_utils.py")  # no test folder
    assert not is_test_file("tests/test_x.txt")


def test_module_names_drop_a_source_root_and_init():
    assert module_names("src/_pytest/pathlib.py") == ["src._pytest.pathlib", "_pytest.pathlib"]
    assert module_names("django/db/__init__.py") == ["django.db"]
    assert module_names("README.md") == []


def test_imports_every_form_and_relative_ones_resolved():
    text = ("import a.b.c as d\nfrom x.y import (z,\n    w)\nfrom ..basic import Basic\nfrom . import helpers\n"
            "def f():\n    import late.module\n")
    got = imported_modules(text, "sympy/core/tests/test_basic.py")
    assert {"a.b.c", "x.y", "x.y.z", "x.y.w", "sympy.core.basic", "sympy.core.tests.helpers", "late.module"} <= got


def test_imports_of_a_file_for_another_python_are_read_by_line():
    text = 'print "python 2"\nfrom calc.tokens import tokenize\nimport calc.parser, calc.nodes as n\n'
    assert {"calc.tokens", "calc.tokens.tokenize", "calc.parser", "calc.nodes"} <= imported_modules(text, "t/test_a.py")


TREE = {
    "calc/__init__.py": "", "calc/tokens.py": "", "calc/parser.py": "", "calc/nodes.py": "",
    "tests/test_tokens.py": "from calc.tokens import tokenize\n",
    "tests/test_parser.py": "from calc.parser import parse\nfrom calc import tokens\n",
    "tests/test_nodes.py": "import calc.nodes\n",
    "tests/test_cli.py": "from calc.cli import main  # mentions tokens in a comment only\n",
    "tests/test_evaluator.py": "from calc import evaluate\n",
}


def test_rule_own_files_always_then_named_then_importing():
    got = files_of(TREE, ["calc/tokens.py"], own=["tests/test_evaluator.py"])
    assert got.files == ["tests/test_evaluator.py", "tests/test_tokens.py", "tests/test_parser.py"]
    assert got.why == {"tests/test_evaluator.py": "own", "tests/test_tokens.py": "named",
                       "tests/test_parser.py": "imports"}  # `from calc import tokens` names calc.tokens
    assert got.left_out == 0


def test_rule_follows_no_changed_test_file_and_no_file_that_is_not_python():
    assert files_of(TREE, ["tests/test_nodes.py", "README.md"], own=["tests/test_cli.py"]).files == ["tests/test_cli.py"]


def test_rule_names_sympy_django_and_pytest_layouts():
    tree = {"sympy/core/basic.py": "", "sympy/core/tests/test_basic.py": "",
            "django/db/migrations/autodetector.py": "", "tests/migrations/test_autodetector.py": "",
            "django/utils/html.py": "", "tests/utils_tests/test_html.py": "", "tests/other/test_html.py": "",
            "src/_pytest/pathlib.py": "", "testing/test_pathlib.py": "",
            "django/core/validators.py": "", "tests/validators/tests.py": "", "tests/validators/test_more.py": "",
            "tests/validators/sub/tests.py": "", "django/core/mail/__init__.py": "", "tests/mail/tests.py": ""}
    assert files_of(tree, ["sympy/core/basic.py"]).files == ["sympy/core/tests/test_basic.py"]
    assert files_of(tree, ["django/db/migrations/autodetector.py"]).files == ["tests/migrations/test_autodetector.py"]
    assert files_of(tree, ["django/utils/html.py"]).files == ["tests/utils_tests/test_html.py"]
    assert files_of(tree, ["src/_pytest/pathlib.py"]).files == ["testing/test_pathlib.py"]
    assert files_of(tree, ["django/core/validators.py"]).files == ["tests/validators/test_more.py",
                                                                   "tests/validators/tests.py"]
    assert files_of(tree, ["django/core/mail/__init__.py"]).files == ["tests/mail/tests.py"]


def test_rule_caps_the_wider_files_nearest_first_and_counts_the_rest():
    tree = {"pkg/sub/mod.py": ""}
    tree.update({f"tests/far{i}/test_x{i}.py": "import pkg.sub.mod\n" for i in range(5)})
    tree["pkg/sub/tests/test_near.py"] = "from pkg.sub import mod\n"
    got = files_of(tree, ["pkg/sub/mod.py"], own=["tests/own/test_own.py"], cap=3)
    assert got.files[:2] == ["tests/own/test_own.py", "pkg/sub/tests/test_near.py"]
    assert len(got.files) == 4 and got.left_out == 3


def test_full_mode_is_every_test_file():
    got = files_of(TREE, ["calc/tokens.py"], own=["tests/test_evaluator.py"], mode="full")
    assert set(got.files) == {p for p in TREE if p.startswith("tests/")} and got.files[0] == "tests/test_evaluator.py"


def test_strict_args_as_paths_or_django_labels():
    files = ["tests/queries/tests.py", "tests/migrations/test_x.py", "django/contrib/admin/tests.py"]
    assert strict_args(EnvSpec("django/django", "3.0", test_args="labels"), files) == ["queries.tests",
                                                                                       "migrations.test_x"]
    assert strict_args(EnvSpec("o/r", "1"), files + ["a.txt"]) == files


def test_changed_paths_leave_out_what_was_put_back():
    patch = ("--- a/calc/tokens.py\n+++ b/calc/tokens.py\n@@ -1 +1 @@\n-a\n+b\n"
             "--- a/tests/test_x.py\n+++ b/tests/test_x.py\n@@ -1 +1 @@\n-a\n+b\n")
    assert changed_paths(patch, [{"path": "tests/test_x.py", "why": "test file"}]) == ["calc/tokens.py"]
    assert changed_paths("not a diff\n@@ nonsense", []) == []


# -- the comparison ----------------------------------------------------------------------------
GOLD = {"t::a": "PASSED", "t::b": "FAILED", "t::c": "SKIPPED", "t::d": "PASSED"}


def test_a_test_passing_under_gold_only_is_a_regression_other_differences_are_not():
    flags = compare.differing(GOLD, {"t::a": "FAILED", "t::b": "PASSED", "t::c": "SKIPPED", "t::e": "PASSED"})
    assert flags == {"t::a": ("PASSED", "FAILED"), "t::b": ("FAILED", "PASSED"), "t::d": ("PASSED", "MISSING"),
                     "t::e": ("MISSING", "PASSED")}
    record = compare.outcome(flags, compared=5)
    assert record["status"] == compare.REGRESSION
    assert [r["test"] for r in record["regressions"]] == ["t::a", "t::d"]  # a test gone is a regression too
    assert record["counts"] == {"regressions": 2, "differences": 2, "unstable": 0}


def test_differences_without_a_regression_and_no_difference():
    assert compare.outcome(compare.differing(GOLD, {**GOLD, "t::b": "PASSED"}))["status"] == compare.DIFFERS
    assert compare.outcome(compare.differing(GOLD, dict(GOLD)))["status"] == compare.OK
    assert compare.is_regression(("PASSED", "SKIPPED")) and not compare.is_regression(("XFAIL", "FAILED"))


def test_a_flag_stands_only_when_both_sides_repeat_it():
    flags = {"t::a": ("PASSED", "FAILED"), "t::b": ("PASSED", "FAILED"), "t::c": ("FAILED", "PASSED")}
    kept, unstable = compare.confirmed(flags, gold_again={"t::a": "PASSED", "t::b": "PASSED", "t::c": "PASSED"},
                                       candidate_again={"t::a": "FAILED", "t::b": "PASSED", "t::c": "PASSED"})
    assert kept == {"t::a": ("PASSED", "FAILED")} and sorted(unstable) == ["t::b", "t::c"]
    record = compare.outcome(kept, unstable, confirmed_by_rerun=True)
    assert record["status"] == compare.REGRESSION and record["unstable"] == ["t::b", "t::c"] and record["confirmed"]


def test_unbelievable_runs_and_the_line_for_people():
    assert compare.unbelievable("guard: tampering", "candidate")["status"] == compare.REGRESSION
    gold = compare.unbelievable("test run exceeded 60s", "gold")
    assert gold["status"] == compare.UNCHECKED and gold["retry"]
    line = compare.strict_line(compare.outcome({"id:a.T.test_x": ("PASSED", "ERROR")}))
    assert line == "strict_regression: 1 regression (a.T.test_x)"  # unittest's id, as runtests.py says it


# -- gold's records and the judge, with scripted runs ------------------------------------------
def test_owner_of_a_test_by_runner():
    files = ["tests/test_a.py", "tests/queries/tests.py"]
    assert owner("tests/test_a.py::T::test_x[1]", files, "pytest") == "tests/test_a.py"
    assert owner("tests/test_b.py::test_y", files, "pytest") is None
    assert owner("id:queries.tests.QTests.test_q", files, "django") == "tests/queries/tests.py"
    assert owner("test_q", files, "sympy") is None


INST = SWEInstance("o__r-1", "o/r", "base", "GOLD PATCH", "", "1", ("tests/test_own.py::test_f",), ())
CANDIDATE = "--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1 +1 @@\n-a\n+b\n"
WIDE_TREE = {"pkg/mod.py": "", "tests/test_own.py": "", "tests/test_mod.py": "import pkg.mod\n",
             "tests/test_other.py": "import pkg.other\n"}


class ScriptedRuns:
    """A fake of the runner's fresh runs: statuses per (side, run number, file), and the calls made."""

    def __init__(self, statuses: dict[str, dict[str, str]], flaky: dict[str, str] = {}):
        self.statuses, self.flaky, self.calls = statuses, flaky, []

    def __call__(self, inst, spec, patch, files, timeout) -> StrictRun:
        side = "gold" if patch == inst.patch else "candidate"
        self.calls.append((side, tuple(files)))
        n = sum(1 for s, _ in self.calls if s == side)
        got = {t: s for t, s in self.statuses[side].items() if t.split("::")[0] in files}
        if n > 1:
            got.update({t: s for t, s in self.flaky.items() if t.split("::")[0] in files and side == "candidate"})
        return StrictRun(list(files), got, tree_key="gold-tree" if side == "gold" else "cand-tree")


def judge(cache=None) -> StrictJudge:
    return StrictJudge(INST, EnvSpec("o/r", "1"), "changed", RepoTree(tuple(WIDE_TREE), WIDE_TREE),
                       ["tests/test_own.py"], "", GoldRecords(cache, "key"))


def resolved(tree_key="cand-tree") -> Verdict:
    return Verdict(Status.RESOLVED, tree_key=tree_key)


def test_a_confirmed_regression_names_its_test_and_gold_runs_each_file_once():
    runs = ScriptedRuns({"gold": {"tests/test_own.py::test_f": "PASSED", "tests/test_mod.py::test_m": "PASSED"},
                         "candidate": {"tests/test_own.py::test_f": "PASSED", "tests/test_mod.py::test_m": "FAILED"}})
    j = judge()
    first = runs(INST, None, CANDIDATE, ["tests/test_own.py", "tests/test_mod.py"], 1)
    record = j.check(runs, CANDIDATE, resolved(), first)
    assert record["status"] == compare.REGRESSION and record["confirmed"]
    assert record["regressions"] == [{"test": "tests/test_mod.py::test_m", "gold": "PASSED", "candidate": "FAILED"}]
    assert record["files"] == ["tests/test_own.py", "tests/test_mod.py"] and record["mode"] == "changed"
    # gold ran the two files once, then once more to confirm; the candidate once more (own file for canaries)
    assert runs.calls[1:] == [("gold", ("tests/test_own.py", "tests/test_mod.py")),
                              ("candidate", ("tests/test_own.py", "tests/test_mod.py")),
                              ("gold", ("tests/test_own.py", "tests/test_mod.py"))]
    again = ScriptedRuns(runs.statuses)
    j.check(again, CANDIDATE, resolved(), first)
    assert [c for c in again.calls if c[0] == "gold"] == []  # cached per file: gold never runs twice


def test_a_regression_the_second_run_does_not_repeat_is_unstable_not_flagged():
    runs = ScriptedRuns({"gold": {"tests/test_own.py::test_f": "PASSED", "tests/test_mod.py::test_m": "PASSED"},
                         "candidate": {"tests/test_own.py::test_f": "PASSED", "tests/test_mod.py::test_m": "FAILED"}},
                        flaky={"tests/test_mod.py::test_m": "PASSED"})
    first = runs(INST, None, CANDIDATE, ["tests/test_own.py", "tests/test_mod.py"], 1)
    record = judge().check(runs, CANDIDATE, resolved(), first)
    assert record["status"] == compare.OK and record["unstable"] == ["tests/test_mod.py::test_m"]


def test_gold_is_strict_ok_by_construction():
    runs = ScriptedRuns({"gold": {"tests/test_own.py::test_f": "PASSED"}, "candidate": {}})
    j = judge()
    j.gold_tree = "gold-tree"
    assert j.files_for(INST.patch, {"tree_key": "gold-tree"}) is None  # no strict run at all
    record = j.check(runs, INST.patch, resolved("gold-tree"), None)
    assert record["status"] == compare.OK and "by construction" in record["reason"] and runs.calls == []


def test_gold_tree_learnt_from_its_strict_run():
    runs = ScriptedRuns({"gold": {"tests/test_own.py::test_f": "PASSED"}, "candidate": {}})
    record = judge().check(runs, INST.patch, resolved("gold-tree"),
                           StrictRun(["tests/test_own.py", "tests/test_mod.py"], {}))  # would differ: but it is gold
    assert record["status"] == compare.OK and "by construction" in record["reason"]


def test_an_unbelievable_gold_run_leaves_the_candidate_unchecked_and_is_not_kept():
    runs = ScriptedRuns({"gold": {}, "candidate": {}})
    runs_problem = lambda *a: StrictRun(list(a[3]), problem="guard: tampering")  # noqa: E731
    j = judge()
    record = j.check(runs_problem, CANDIDATE, resolved(), StrictRun(["tests/test_own.py"], {}))
    assert record["status"] == compare.UNCHECKED and record["retry"]
    assert j.records.load()["runs"] == [] and runs.calls == []


def test_gold_records_live_in_the_cache(tmp_path):
    from swe_monkeys.store.verdict_cache import VerdictCache

    cache = VerdictCache(tmp_path / "c.sqlite")
    runs = ScriptedRuns({"gold": {"tests/test_own.py::test_f": "PASSED"},
                         "candidate": {"tests/test_own.py::test_f": "PASSED"}})
    judge(cache).check(runs, CANDIDATE, resolved(), runs(INST, None, CANDIDATE, ["tests/test_own.py"], 1))
    record = cache.get_gold("key")
    assert record["runs"][0]["files"] == ["tests/test_own.py"] and record["tree_key"] == "gold-tree"


# -- the record on disk ------------------------------------------------------------------------
def test_verdict_summary_keeps_the_strict_record_and_reads_old_ones():
    v = Verdict(Status.RESOLVED, strict={"status": compare.OK, "mode": "changed"})
    assert Verdict.from_summary(json.loads(json.dumps(v.summary()))).strict == v.strict
    old = {"status": "resolved", "reason": "r"}  # written before strict existed
    assert Verdict.from_summary(old).strict == {} and "strict" not in Verdict(Status.RESOLVED).summary()


@pytest.mark.parametrize("mode,dropped", [("changed", 2), ("full", 3), (None, 0)])
def test_settling_drops_resolved_verdicts_without_the_mode_asked(tmp_path, mode, dropped):
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks.judging import settle_strict
    from swe_monkeys.types import Candidate

    with RunStore(tmp_path / "run") as store:
        ids = [store.add_candidate(Candidate("p", f"patch {i}", "m", i)) for i in range(4)]
        store.add_verdict(ids[0], Verdict(Status.RESOLVED), dedup_key="k0")
        store.add_verdict(ids[1], Verdict(Status.RESOLVED), dedup_key="k0")  # shares k0: goes with it
        store.add_verdict(ids[2], Verdict(Status.RESOLVED, strict={"status": "strict_ok", "mode": "changed"}),
                          dedup_key="k2")
        store.add_verdict(ids[3], Verdict(Status.UNRESOLVED), dedup_key="k3")
        assert settle_strict(store, mode) == dropped
        assert ids[3] in store.verdicts()


# -- a strict run graded as the judged run is ------------------------------------------------------
def _pytest_log(lines: list[str], summary: str) -> str:
    return "\n".join(["============================= test session starts ==============================",
                      "collected 3 items", "", "=========================== short test summary info ====",
                      *lines, summary])


CANARY = {"file": "tests/test_a.py", "name": "test_values_edge"}
RECORDS = [["PASSED", "tests/test_a.py::test_x"], ["FAILED", "tests/test_b.py::test_y"],
           ["FAILED", "tests/test_a.py::test_values_edge"]]
LOG = _pytest_log(["PASSED tests/test_a.py::test_x", "FAILED tests/test_b.py::test_y",
                   "FAILED tests/test_a.py::test_values_edge"], "======= 2 failed, 1 passed in 0.1s =======")


def strict_result(**extra) -> dict:
    return {"ok": True, "log": LOG, "exit_code": 1, "records": RECORDS, "canaries": [CANARY], "guard": "ok", **extra}


def test_run_statuses_are_the_guards_records_without_canaries():
    from swe_monkeys.swebench.grading import run_statuses

    statuses, problem = run_statuses(strict_result(), EnvSpec("o/r", "1"), 60)
    assert problem == "" and statuses == {"tests/test_a.py::test_x": "PASSED", "tests/test_b.py::test_y": "FAILED"}


@pytest.mark.parametrize("extra,why", [
    ({"guard": "tampering: runner rebound"}, "guard: tampering"),
    ({"records": RECORDS[:2] + [["PASSED", "tests/test_a.py::test_values_edge"]]}, "must fail was passed"),
    ({"records": RECORDS[:2]}, "never recorded"),
    ({"timed_out": True}, "exceeded 60s"),
    ({"truncated": True, "output_bytes": 9}, "output cap"),
    ({"exit_code": 0}, "exit code 0 but"),
    ({"ok": False, "error": "boom"}, "harness: boom"),
])
def test_a_tampered_or_cut_strict_run_is_not_believed(extra, why):
    from swe_monkeys.swebench.grading import run_statuses

    assert why in run_statuses(strict_result(**extra), EnvSpec("o/r", "1"), 60)[1]


def test_a_log_claiming_better_than_the_records_is_not_believed_and_worse_is():
    from swe_monkeys.swebench.grading import run_statuses

    forged = LOG.replace("FAILED tests/test_b.py::test_y", "PASSED tests/test_b.py::test_y")
    statuses, _ = run_statuses(strict_result(log=forged), EnvSpec("o/r", "1"), 60)
    assert statuses["tests/test_b.py::test_y"] == "FAILED"
    worse = LOG.replace("PASSED tests/test_a.py::test_x", "ERROR tests/test_a.py::test_x")
    assert run_statuses(strict_result(log=worse), EnvSpec("o/r", "1"), 60)[0]["tests/test_a.py::test_x"] == "ERROR"


def test_unittest_tests_are_compared_by_their_ids():
    from swe_monkeys.swebench.grading import run_statuses

    log = ("test_q (queries.tests.QTests) ... ok\ntest_values_edge (queries.tests.QTests) ... FAIL\n\n"
           "======================================================================\n"
           "FAIL: test_values_edge (queries.tests.QTests)\n------\nAssertionError\n\n"
           "----------------------------------------------------------------------\nRan 2 tests in 0.1s\n\n"
           "FAILED (failures=1)\n")
    records = [["PASSED", "test_q (queries.tests.QTests)"], ["PASSED", "id:queries.tests.QTests.test_q"],
               ["FAILED", "test_values_edge (queries.tests.QTests)"],
               ["FAILED", "id:queries.tests.QTests.test_values_edge"]]
    canary = {"file": "tests/queries/tests.py", "cls": "QTests", "name": "test_values_edge"}
    statuses, problem = run_statuses({"ok": True, "log": log, "exit_code": 1, "records": records,
                                      "canaries": [canary]}, EnvSpec("django/django", "3.0", parser="django"), 60)
    assert problem == "" and statuses == {"id:queries.tests.QTests.test_q": "PASSED"}


def test_strict_on_another_task_is_a_usage_error(tmp_path):
    from typer.testing import CliRunner

    from swe_monkeys.cli import app

    fake = tmp_path / "fake.json"
    fake.write_text('["42"]')
    result = CliRunner().invoke(app, ["sweep", "--task", "gsm8k", "--run", str(tmp_path / "run"), "--fake", str(fake),
                                      "--strict"])
    assert result.exit_code == 2 and "not for gsm8k" in result.output
    assert not (tmp_path / "run").exists()
