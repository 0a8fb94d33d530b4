"""Cache keys hold everything that decides a verdict: the one declared list of judging files, the
spec, the dataset row's judging fields and the limits (swebench/judging_files.py)."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from swe_monkeys.sandbox.docker_sandbox import Limits
from swe_monkeys.swebench import judging_files
from swe_monkeys.swebench.checker import gold_key
from swe_monkeys.swebench.judging_files import JUDGING_FILES, NOT_JUDGING_SWEBENCH, judgement_key
from swe_monkeys.swebench.runner import CANDIDATE_HARNESS
from swe_monkeys.swebench.spec import EnvSpec
from swe_monkeys.types import SWEInstance

ROOT = Path(__file__).resolve().parents[1]
INST = SWEInstance(instance_id="o__r-1", repo="o/r", base_commit="abc", patch="gold", test_patch="tests",
                   version="1.0", fail_to_pass=("t::a",), pass_to_pass=("t::b",), problem_statement="issue")
SPEC = EnvSpec(repo="o/r", version="1.0")


def _swebench_imports(path: Path) -> set[str]:
    """Modules of swe_monkeys (as project paths) that a module imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module] if isinstance(node, ast.ImportFrom) and node.module else (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [])
        for name in names:
            if name.startswith("swe_monkeys.swebench."):
                found.add(name.replace(".", "/") + ".py")
    return found


def test_every_harness_file_is_declared_and_what_is_shipped_is_hashed():
    harness = {f"harness/{p.name}" for p in (ROOT / "harness").glob("*.py")}
    undeclared = harness - set(JUDGING_FILES) - set(NOT_JUDGING_SWEBENCH)
    assert not undeclared, f"add to judging_files.JUDGING_FILES (or NOT_JUDGING_SWEBENCH, with why): {undeclared}"
    assert {f"harness/{name}" for name in CANDIDATE_HARNESS.files} == {p for p in JUDGING_FILES
                                                                         if p.startswith("harness/")}
    assert all((ROOT / p).is_file() for p in JUDGING_FILES)


def test_every_swebench_module_the_judging_code_imports_is_declared():
    """What runner.py, grading.py and checker.py import from swe_monkeys.swebench, and so on down."""
    todo, seen = ["swe_monkeys/swebench/runner.py", "swe_monkeys/swebench/grading.py",
                  "swe_monkeys/swebench/checker.py"], set()
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo += [p for p in _swebench_imports(ROOT / path) if (ROOT / p).is_file()]
    # Intake decides verdicts that are never cached; the text it hands on is keyed by what it became.
    intake = {"swe_monkeys/swebench/patches.py", "swe_monkeys/swebench/normalise.py"}
    missing = seen - set(JUDGING_FILES) - intake
    assert not missing, f"add to judging_files.JUDGING_FILES: {missing}"


@pytest.mark.parametrize("change", [
    lambda i, s, lim: (i, replace(s, timeout=s.timeout + 1), lim),
    lambda i, s, lim: (i, replace(s, test_cmd=s.test_cmd + " -x"), lim),
    lambda i, s, lim: (i, replace(s, test_args="ids"), lim),
    lambda i, s, lim: (i, replace(s, parser="django"), lim),
    lambda i, s, lim: (i, replace(s, env={"A": "1"}), lim),
    lambda i, s, lim: (i, replace(s, run_as_root=True), lim),
    lambda i, s, lim: (replace(i, test_patch="tests2"), s, lim),
    lambda i, s, lim: (replace(i, fail_to_pass=("t::a", "t::c")), s, lim),
    lambda i, s, lim: (replace(i, pass_to_pass=()), s, lim),
    lambda i, s, lim: (replace(i, base_commit="def"), s, lim),
    lambda i, s, lim: (replace(i, patch="gold2"), s, lim),
    lambda i, s, lim: (i, s, replace(lim, output_cap=lim.output_cap // 2)),
    lambda i, s, lim: (i, s, replace(lim, cpus=2.0)),
], ids=["timeout", "test_cmd", "test_args", "parser", "env", "user", "test_patch", "FAIL_TO_PASS",
        "PASS_TO_PASS", "base_commit", "gold", "output_cap", "cpus"])
def test_what_decides_a_verdict_changes_the_keys(change):
    inst, spec, limits = change(INST, SPEC, Limits())
    assert judgement_key(inst, spec, limits) != judgement_key(INST, SPEC, Limits())
    assert gold_key(inst, spec, "img", limits) != gold_key(INST, SPEC, "img", Limits())


def test_what_decides_no_verdict_leaves_the_keys():
    assert judgement_key(replace(INST, problem_statement="other", hints_text="h"), SPEC, Limits(memory="8g")) == \
        judgement_key(INST, SPEC, Limits())  # the memory limit is the spec's mem_limit, which is in the spec


def test_a_judging_files_bytes_change_the_keys(tmp_path, monkeypatch):
    before = judgement_key(INST, SPEC, Limits())
    for name in JUDGING_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    monkeypatch.setattr(judging_files, "PROJECT_ROOT", tmp_path)
    judging_files.code_version.cache_clear()
    try:
        assert judgement_key(INST, SPEC, Limits()) == before
        for name in ("swe_monkeys/swebench/parsers_django.py", "swe_monkeys/swebench/selecting.py",
                     "harness/tree.py"):
            original = (tmp_path / name).read_bytes()
            (tmp_path / name).write_bytes(original + b"\n# changed\n")
            judging_files.code_version.cache_clear()
            assert judgement_key(INST, SPEC, Limits()) != before, name
            (tmp_path / name).write_bytes(original)
    finally:
        judging_files.code_version.cache_clear()
