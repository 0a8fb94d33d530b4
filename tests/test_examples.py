"""The shipped example instances are right: bugs, fixes, candidates and the hostile corpus (no Docker).

The example projects' own test suites run here, on the host, with this interpreter's pytest: that
is safe, they are our code. The hostile corpus is only turned into diffs and parsed, never applied
or run here (its payloads are also inert where they are stored, and pytest is kept out of it).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import unidiff

from swe_monkeys.examples import EXAMPLES_DIR, Example, load_metadata, materialise, names, overlay_patch
from swe_monkeys.examples.corpus import load_corpus
from swe_monkeys.examples.trees import TreeError
from swe_monkeys.swebench.spec import load_spec

HOSTILE = Path(__file__).parent / "data" / "hostile"
NAMED_CANDIDATES = {"gold", "empty", "wrong", "partial", "edits_tests", "breaks_p2p", "gold_with_noise", "malformed"}
RESULT_LINE = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (.+?)(?: - .*)?$")
# Attacks the brief asks the corpus to cover, by entry name.
REQUIRED_HOSTILE = {"fork_bomb", "infinite_loop", "sleep_past_timeout", "network_probe", "write_outside",
                    "delete_tests_runtime", "delete_tests_in_patch", "conftest_force_pass", "root_conftest_addopts",
                    "fake_passed_exit1", "exit0_at_import", "gigabyte_output", "kill_runner", "chmod_000",
                    "pytest_internals_patch", "disk_fill", "memory_bomb", "sitecustomize", "symlink_escape",
                    "path_traversal"}


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


def judged_files(example: Example) -> list[str]:
    return sorted(f.path for f in unidiff.PatchSet(example.instance.test_patch))


def checkout(example: Example, where: Path, *patches: str, reset_tests: bool = False) -> Path:
    """A clone at the base commit with `patches` applied by `git apply`, in order.

    reset_tests restores the test patch's files to the base commit after the first patch, as the
    verifier does before it applies the test patch.
    """
    where.mkdir(parents=True, exist_ok=True)
    repo = where / "repo"
    git("clone", "-q", str(example.git_dir), str(repo), cwd=where)
    for i, patch in enumerate(patches):
        if not patch:
            continue
        (where / f"{i}.diff").write_text(patch)
        git("apply", "--whitespace=nowarn", str(where / f"{i}.diff"), cwd=repo)
        if reset_tests and i == 0:
            git("checkout", "HEAD", "--", *judged_files(example), cwd=repo)
    return repo


def run_suite(example: Example, repo: Path) -> dict[str, str]:
    """Run the test patch's files as the spec does; returns test id -> outcome from `pytest -rA`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if (repo / "src").is_dir():  # the src layout is pip-installed in its image; a path does here
        env["PYTHONPATH"] = str(repo / "src")
    cmd = [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", *judged_files(example)]
    out = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, env=env, timeout=120).stdout
    results = {}
    for line in out.splitlines():
        match = RESULT_LINE.match(line)
        if match:
            results[match.group(2)] = match.group(1)
    assert results, f"no test results in:\n{out[-3000:]}"
    return results


@pytest.fixture(scope="module")
def materialised(tmp_path_factory) -> dict[str, Example]:
    return {ex.name: ex for ex in materialise(tmp_path_factory.mktemp("cache"))}


@pytest.fixture(params=["calc", "daterange", "slugkit"])
def example(request, materialised) -> Example:
    return materialised[request.param]


# -- the data and the loader ---------------------------------------------------------------------
def test_names_and_specs():
    assert names() == ["calc", "daterange", "slugkit", "unitconv"]
    for name in names():
        meta = load_metadata(name)
        spec = load_spec(meta["repo"], meta["version"])
        assert "pytest==8.3.3" in spec.pip_packages
        assert meta["repo"].startswith("swe-monkeys/") and meta["instance_id"].startswith("swe-monkeys__")
    src_layout = [n for n in names() if (EXAMPLES_DIR / n / "base" / "src").is_dir()]
    assert src_layout, "one project must need a real `pip install -e .`"
    assert all("pip install" in load_spec(f"swe-monkeys/{n}", "1.0").install for n in src_layout)


def test_materialise_is_deterministic_and_leaves_no_scratch(tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    first = materialise(tmp_path / "a")
    again = materialise(tmp_path / "a")
    other = materialise(tmp_path / "b", ["slugkit", "calc"])
    shas = {ex.name: ex.instance.base_commit for ex in first}
    assert shas == {ex.name: ex.instance.base_commit for ex in again}
    assert {ex.name: ex.instance.base_commit for ex in other} == {n: shas[n] for n in ("slugkit", "calc")}
    assert [ex.candidates for ex in first] == [ex.candidates for ex in again]
    for ex in first:
        assert ex.git_dir == tmp_path / "a" / f"swe-monkeys__{ex.name}.git"
        assert git("rev-parse", "main", cwd=ex.git_dir).strip() == ex.instance.base_commit
        assert git("rev-list", "--count", "main", cwd=ex.git_dir).strip() == "1"
    assert not list(scratch.iterdir()), "materialise left scratch files behind"


def test_unknown_example_lists_valid_ones(tmp_path):
    from swe_monkeys.registry import UnknownName

    with pytest.raises(UnknownName, match="valid: calc, daterange, slugkit"):  # one line on the command line
        materialise(tmp_path, ["nope"])


def test_instance_fields(example):
    inst = example.instance
    assert re.fullmatch(r"[0-9a-f]{40}", inst.base_commit)
    assert inst.patch == example.candidates["gold"] and inst.patch.startswith("diff --git a/")
    assert inst.test_patch.startswith("diff --git a/") and inst.problem_statement.strip()
    assert inst.fail_to_pass and inst.pass_to_pass and not set(inst.fail_to_pass) & set(inst.pass_to_pass)
    assert all(t.split("::")[0] in judged_files(example) for t in inst.fail_to_pass + inst.pass_to_pass)
    assert all(f.startswith("tests/") for f in judged_files(example))
    assert not any(f.path.startswith("tests/") for f in unidiff.PatchSet(inst.patch))


def test_candidates(example):
    cands = example.candidates
    assert NAMED_CANDIDATES <= set(cands)
    assert cands["empty"] == "" and all(cands[n] for n in NAMED_CANDIDATES - {"empty"})
    assert cands["gold_with_noise"] != cands["gold"]
    for name in NAMED_CANDIDATES - {"empty", "malformed"}:
        assert unidiff.PatchSet(cands[name]), name
    with pytest.raises(unidiff.UnidiffParseError):
        unidiff.PatchSet(cands["malformed"])
    edited = {f.path for f in unidiff.PatchSet(cands["edits_tests"])}
    assert edited & set(judged_files(example)) and edited - set(judged_files(example))


def test_parametrized_ids_are_covered(materialised):
    ids = [t for ex in materialised.values() for t in ex.instance.fail_to_pass + ex.instance.pass_to_pass]
    assert any(re.search(r"\[[^\]]*-[^\]]*\]$", t) for t in ids)


# -- the bug, the fix and the candidates, proven by running the project's tests --------------------
def test_base_with_test_patch_fails_exactly_fail_to_pass(example, tmp_path):
    results = run_suite(example, checkout(example, tmp_path, example.instance.test_patch))
    inst = example.instance
    assert set(results) == set(inst.fail_to_pass) | set(inst.pass_to_pass), "the lists must name every test run"
    assert all(results[t] == "FAILED" for t in inst.fail_to_pass)
    assert all(results[t] == "PASSED" for t in inst.pass_to_pass)


@pytest.mark.parametrize("candidate", ["gold", "gold_with_noise"])
def test_gold_passes_everything(example, tmp_path, candidate):
    inst = example.instance
    results = run_suite(example, checkout(example, tmp_path, example.candidates[candidate], inst.test_patch))
    assert all(results.get(t) == "PASSED" for t in inst.fail_to_pass + inst.pass_to_pass), results


@pytest.mark.parametrize("candidate", ["wrong", "partial"])
def test_wrong_and_partial_fail_a_fail_to_pass_test(example, tmp_path, candidate):
    inst = example.instance
    results = run_suite(example, checkout(example, tmp_path, example.candidates[candidate], inst.test_patch))
    failed = [t for t in inst.fail_to_pass if results.get(t) != "PASSED"]
    assert failed
    if candidate == "partial":
        assert len(failed) < len(inst.fail_to_pass), "a partial fix passes some FAIL_TO_PASS tests"


def test_breaks_p2p_fixes_the_bug_but_breaks_an_old_test(example, tmp_path):
    inst = example.instance
    results = run_suite(example, checkout(example, tmp_path, example.candidates["breaks_p2p"], inst.test_patch))
    assert all(results.get(t) == "PASSED" for t in inst.fail_to_pass)
    assert any(results.get(t) != "PASSED" for t in inst.pass_to_pass)


def test_edits_tests_fools_only_a_verifier_that_keeps_the_edits(example, tmp_path):
    inst = example.instance
    fooled = run_suite(example, checkout(example, tmp_path / "kept", example.candidates["edits_tests"]))
    assert all(fooled.get(t) == "PASSED" for t in inst.fail_to_pass + inst.pass_to_pass)
    judged = run_suite(example, checkout(example, tmp_path / "reset", example.candidates["edits_tests"],
                                         inst.test_patch, reset_tests=True))
    assert any(judged.get(t) != "PASSED" for t in inst.fail_to_pass)


def test_malformed_does_not_apply(example, tmp_path):
    repo = checkout(example, tmp_path)
    (tmp_path / "m.diff").write_text(example.candidates["malformed"])
    check = subprocess.run(["git", "apply", "--check", str(tmp_path / "m.diff")], cwd=repo, capture_output=True)
    assert check.returncode != 0


def test_overlay_conventions(materialised, tmp_path):
    calc = materialised["calc"]
    overlay = tmp_path / "overlay"
    (overlay / "calc").mkdir(parents=True)
    (overlay / "calc" / "extra.py").write_text("X = 1\n")
    (overlay / "DELETE").write_text("# comments are fine\ntests/test_cli.py\n")
    (overlay / "SYMLINKS").write_text("calc/link -> ../README.md\n")
    files = {f.path: f for f in unidiff.PatchSet(overlay_patch(calc, overlay))}
    assert set(files) == {"calc/extra.py", "tests/test_cli.py", "calc/link"}
    assert files["calc/extra.py"].is_added_file and files["tests/test_cli.py"].is_removed_file
    (overlay / "DELETE").write_text("../outside\n")
    with pytest.raises(TreeError, match="not a valid repository path"):
        overlay_patch(calc, overlay)


# -- the hostile corpus: diffs only, never applied or run here ------------------------------------
@pytest.fixture(scope="module")
def corpus(materialised):
    return load_corpus(HOSTILE, materialised.values())


def test_hostile_corpus_diffs_parse(corpus):
    assert len(corpus) >= 18 and len({e.name for e in corpus}) == len(corpus)
    assert REQUIRED_HOSTILE <= {e.name for e in corpus}
    for entry in corpus:
        assert entry.description and entry.defence, entry.name
        if entry.malformed:
            with pytest.raises(unidiff.UnidiffParseError):
                unidiff.PatchSet(entry.patch)
            continue
        assert entry.patch.strip(), entry.name
        assert len(unidiff.PatchSet(entry.patch)) >= 1, entry.name


def test_hostile_markers_are_absent_on_this_host(corpus):
    for entry in corpus:
        if entry.host_marker:
            assert entry.host_marker.startswith("/tmp/swe-monkeys-hostile-escape-"), entry.name
            assert not os.path.lexists(entry.host_marker), f"{entry.name} escaped onto this host"


def test_hostile_corpus_folder_matches_its_index(corpus):
    folders = {p.name for p in HOSTILE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == {e.name for e in corpus}
    for path in HOSTILE.glob("*/candidate.patch"):
        assert [p.name for p in path.parent.iterdir()] == ["candidate.patch"], "a literal patch stands alone"


def test_hostile_python_is_guarded_where_stored():
    """Payload modules are inert at their stored path (parsed here, never imported).

    A module without the guard (a partial fix or harmless change some entries carry) may import
    only its own project and pure standard modules, and may not reach for open/exec/eval/__import__.
    """
    allowed = {"calc", "daterange", "slugkit", "re", "math", "operator", "dataclasses", "typing",
               "unicodedata", "calendar", "datetime", "__future__"}
    for path in HOSTILE.rglob("*.py"):
        if path.parent == HOSTILE:
            continue  # the corpus's own conftest, which keeps pytest out
        source = path.read_text()
        tree = ast.parse(source, str(path))
        if '_LIVE = "/data/hostile/" not in __file__' in source:
            continue
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert {m.split(".")[0] for m in imported} <= allowed, f"{path} needs the _LIVE guard"
        called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
        assert not called & {"open", "exec", "eval", "__import__", "compile"}, f"{path} needs the _LIVE guard"
