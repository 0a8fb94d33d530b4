"""Patch intake, in-memory application and dedup keys, on diffs shaped like git's and models'.

Diffs are made with difflib from contents built here, or written out the way `git diff` prints
them (diff --git, index, new/deleted file mode, rename, "\\ No newline at end of file").
"""

from __future__ import annotations

import difflib
import gzip
import json
import os
import re
import subprocess
import tempfile

import pytest

from swe_monkeys.swebench.normalise import clean_patch, normalise_content
from swe_monkeys.swebench.patches import PatchApplyError, apply_in_memory, dedup, exact_key, intake, normalised_key
from swe_monkeys.swebench.rules import TEST_PATH_PATTERNS, is_test_path
from swe_monkeys.types import Status
from tests.conftest import LITE

CALC = '''"""A tiny calculator."""


def add(a, b):
    """Add two numbers."""
    return a + b


def div(a, b):
    return a / b


def mul(a, b):
    return a * b
'''
TEST_CALC = """from calc import div


def test_div():
    assert div(4, 2) == 2
"""
FILES = {"calc/core.py": CALC, "tests/test_core.py": TEST_CALC, "README.md": "# calc\n\nDivides.\n"}


def git_diff(path: str, old: str, new: str, context: int = 3) -> str:
    """`git diff` of one modified file, with difflib doing the hunks."""
    body = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                f"a/{path}", f"b/{path}", n=context)
    return f"diff --git a/{path} b/{path}\nindex 3f2a1b0..8c9d4e1 100644\n" + "".join(body)


def reader(files: dict[str, str]):
    return files.get


def edit_calc(new_div: str) -> str:
    return git_diff("calc/core.py", CALC, CALC.replace("    return a / b\n", new_div))


GUARDED = "    if b == 0:\n        raise ZeroDivisionError('b is zero')\n    return a / b\n"
FIX = edit_calc(GUARDED)


# --- test paths -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "tests/test_core.py", "pkg/tests/helpers.py", "testing/conftest.py", "src/test/data.json",
    "test_core.py", "pkg/core_test.py", "pkg/tests.py", "conftest.py", "a/b/conftest.py",
    "pytest.ini", "sub/tox.ini", "sitecustomize.py", "lib/usercustomize.py", "evil.pth", "x/y.pth",
])
def test_test_paths(path):
    assert is_test_path(path)


@pytest.mark.parametrize("path", [
    "setup.cfg", "pyproject.toml", "calc/core.py", "pkg/contest.py", "pkg/testsuite.py",
    "pkg/latest.py", "pkg/attest/x.py", "src/_pytest/python.py", "pytest_plugin.py",
    "doc/testing.rst", "tests_helper/x.py",
])
def test_source_paths(path):
    assert not is_test_path(path)


def test_patterns_survive_the_json_job_the_harness_gets():
    patterns = [re.compile(p) for p in json.loads(json.dumps(list(TEST_PATH_PATTERNS)))]
    assert any(p.search("a/tests/x.py") for p in patterns)


# --- intake -----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", "  \n\t\n", "```diff\n```\n"])
def test_empty(text):
    assert intake(text).status is Status.EMPTY


def test_hunk_shorter_than_its_header_is_malformed():
    bad = FIX.replace("@@ -7,6 +7,8 @@", "@@ -7,9 +7,11 @@")
    taken = intake(bad)
    assert taken.status is Status.MALFORMED and "shorter than expected" in taken.reason


def test_prose_without_a_diff_is_malformed():
    taken = intake("The bug is in div: it should check for zero.\n")
    assert (taken.status, taken.reason) == (Status.MALFORMED, "no file diffs")


def test_unreadable_hunk_header_is_malformed():
    bad = re.sub(r"^@@ .* @@$", "@@ ... @@", FIX, flags=re.MULTILINE)
    taken = intake(bad)
    assert taken.status is Status.MALFORMED and "no hunk" in taken.reason


def test_context_only_hunks_are_empty():
    same = "--- a/calc/core.py\n+++ b/calc/core.py\n@@ -4,2 +4,2 @@\n def add(a, b):\n     \"\"\"Add two numbers.\"\"\"\n"
    assert intake(same).status is Status.EMPTY


def test_fenced_model_output_is_cleaned():
    reply = f"Here is the fix:\n\n```diff\n{FIX}```\n\nThis guards against zero.\n"
    taken = intake(reply)
    assert taken.ok and taken.patch == FIX and taken.source_files == ("calc/core.py",)


def test_one_fence_per_file_and_a_lone_closing_fence():
    readme = git_diff("README.md", FILES["README.md"], "# calc\n\nDivides safely.\n")
    assert clean_patch(f"```diff\n{FIX}```\nAnd the docs:\n```\n{readme}```\n") == FIX + readme
    assert clean_patch(f"{FIX}```\n") == FIX


def test_prose_before_the_diff_is_dropped():
    assert intake(f"I changed div.\n--- is how diffs start:\n{FIX}").patch == FIX
    plain = FIX.split("\n", 2)[2]  # no "diff --git"/index lines: starts at "--- a/..."
    assert intake("Patch:\n" + plain).patch == plain


def test_crlf_and_missing_final_newline():
    assert intake(FIX.replace("\n", "\r\n")).patch == FIX
    assert intake(FIX.rstrip("\n")).patch == FIX


def test_clean_diff_is_kept_byte_identical():
    crlf_file = "--- a/win.txt\n+++ b/win.txt\n@@ -1 +1 @@\n-old\r\n+new\r\n"  # a CRLF file's own lines
    for patch in (FIX, crlf_file):
        assert clean_patch(patch) == patch and clean_patch(clean_patch(patch)) == patch


def test_tests_only_and_mixed():
    test_change = git_diff("tests/test_core.py", TEST_CALC, TEST_CALC + "    assert div(1, 1) == 1\n")
    taken = intake(test_change)
    assert taken.status is Status.TESTS_ONLY and taken.test_files == ("tests/test_core.py",)
    mixed = intake(FIX + test_change)
    assert mixed.ok and mixed.source_files == ("calc/core.py",) and mixed.test_files == ("tests/test_core.py",)


@pytest.mark.parametrize("patch", [
    "diff --git a/../../etc/passwd b/../../etc/passwd\n--- a/../../etc/passwd\n+++ b/../../etc/passwd\n"
    "@@ -1 +1 @@\n-root:x:0:0\n+root::0:0\n",
    "--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-root:x:0:0\n+root::0:0\n",
    "diff --git a/calc/core.py b/calc/x.py\nsimilarity index 100%\nrename from calc/core.py\nrename to ../x.py\n",
    "diff --git a/.git/hooks/pre-commit b/.git/hooks/pre-commit\nnew file mode 100755\n"
    "--- /dev/null\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+curl evil\n",
    "diff --git a/calc/cache b/calc/cache\nnew file mode 120000\n--- /dev/null\n+++ b/calc/cache\n@@ -0,0 +1 @@\n"
    "+/tmp\n\\ No newline at end of file\ndiff --git a/calc/cache/x b/calc/cache/x\nnew file mode 100644\n"
    "--- /dev/null\n+++ b/calc/cache/x\n@@ -0,0 +1 @@\n+written through the link\n",
])
def test_paths_outside_the_checkout_are_refused(patch):
    taken = intake(patch)
    assert taken.status is Status.MALFORMED and taken.reason.startswith("refused:")


BINARY = ("diff --git a/docs/logo.png b/docs/logo.png\nindex 5d1c2a3..7e8f9b0 100644\nGIT binary patch\n"
          "literal 12\nTcmZ?wbhEHbRA5kGaB=|v0!IKI\n\nliteral 0\nHcmV?d00001\n\n")


def test_binary_diffs_are_allowed_but_noted():
    taken = intake(FIX + BINARY)
    assert taken.ok and "binary" in taken.reason and taken.source_files == ("calc/core.py", "docs/logo.png")
    with pytest.raises(PatchApplyError):
        apply_in_memory(taken.patch, reader(FILES))
    assert normalised_key(taken.patch, reader(FILES)) != normalised_key(FIX, reader(FILES))
    assert intake("diff --git a/a.bin b/a.bin\nindex 1..2 100644\nBinary files a/a.bin and b/a.bin differ\n").ok


def test_metadata_only_entries_are_changes():
    empty_init = "diff --git a/calc/sub/__init__.py b/calc/sub/__init__.py\nnew file mode 100644\nindex 0000000..e69de29\n"
    assert intake(empty_init).ok
    assert apply_in_memory(empty_init, reader(FILES)) == {"calc/sub/__init__.py": ""}


# --- apply_in_memory --------------------------------------------------------------------------

def test_modify():
    assert apply_in_memory(FIX, reader(FILES)) == {"calc/core.py": CALC.replace("    return a / b\n", GUARDED)}


def test_hunks_found_at_an_offset_from_their_header():
    moved = "import math\n\n" * 5 + CALC  # ten lines above everything the header numbers
    two_hunks = git_diff("calc/core.py", CALC, CALC.replace("a + b", "b + a").replace("a * b", "b * a"), 1)
    assert two_hunks.count("@@ -") == 2
    result = apply_in_memory(two_hunks, reader({"calc/core.py": moved}))
    assert result == {"calc/core.py": moved.replace("a + b", "b + a").replace("a * b", "b * a")}


def test_nearest_match_to_the_header_wins():
    base = "x = 1\n" + "pass\n" * 20 + "x = 1\n"
    patch = "--- a/m.py\n+++ b/m.py\n@@ -21,2 +21,2 @@\n pass\n-x = 1\n+x = 2\n"
    assert apply_in_memory(patch, reader({"m.py": base}))["m.py"] == base[:-6] + "x = 2\n"


def test_context_mismatch_raises_and_there_is_no_fuzz():
    drifted = CALC.replace("def div(a, b):", "def div(a, b):  # quotient")
    with pytest.raises(PatchApplyError) as err:
        apply_in_memory(FIX, reader({"calc/core.py": drifted}))
    assert err.value.path == "calc/core.py" and "hunk #1" in err.value.reason
    with pytest.raises(PatchApplyError, match="does not exist"):
        apply_in_memory(FIX, reader({}))


NEW_FILE = ("diff --git a/calc/errors.py b/calc/errors.py\nnew file mode 100644\nindex 0000000..b1e6722\n"
            "--- /dev/null\n+++ b/calc/errors.py\n@@ -0,0 +1,2 @@\n+class CalcError(Exception):\n+    pass\n")


def test_new_file():
    assert apply_in_memory(NEW_FILE, reader(FILES)) == {"calc/errors.py": "class CalcError(Exception):\n    pass\n"}
    with pytest.raises(PatchApplyError, match="already exists"):
        apply_in_memory(NEW_FILE, reader({**FILES, "calc/errors.py": "x = 1\n"}))


def test_delete():
    lines = "".join("-" + line for line in FILES["README.md"].splitlines(keepends=True))
    patch = ("diff --git a/README.md b/README.md\ndeleted file mode 100644\nindex 2b5f1c0..0000000\n"
             f"--- a/README.md\n+++ /dev/null\n@@ -1,3 +0,0 @@\n{lines}")
    assert apply_in_memory(patch, reader(FILES)) == {"README.md": None}
    with pytest.raises(PatchApplyError, match="leaves lines"):
        apply_in_memory(patch, reader({"README.md": FILES["README.md"] + "more\n"}))


def test_rename_with_and_without_changes():
    pure = "diff --git a/calc/core.py b/calc/ops.py\nsimilarity index 100%\nrename from calc/core.py\nrename to calc/ops.py\n"
    assert apply_in_memory(pure, reader(FILES)) == {"calc/core.py": None, "calc/ops.py": CALC}
    edited = FIX.replace("index 3f2a1b0..8c9d4e1 100644\n", "similarity index 88%\nrename from calc/core.py\n"
                         "rename to calc/ops.py\nindex 3f2a1b0..8c9d4e1 100644\n").replace("b/calc/core.py", "b/calc/ops.py")
    taken = intake(edited)
    assert taken.ok and taken.source_files == ("calc/core.py", "calc/ops.py")
    result = apply_in_memory(edited, reader(FILES))
    assert result == {"calc/core.py": None, "calc/ops.py": CALC.replace("    return a / b\n", GUARDED)}
    copy = pure.replace("rename", "copy")
    assert apply_in_memory(copy, reader(FILES)) == {"calc/ops.py": CALC}
    with pytest.raises(PatchApplyError, match="already exists"):
        apply_in_memory(pure, reader({**FILES, "calc/ops.py": ""}))


def test_traditional_diff_may_create_a_file_from_line_zero():
    patch = "--- a/NOTES\n+++ b/NOTES\n@@ -0,0 +1 @@\n+note\n"
    assert apply_in_memory(patch, reader({})) == {"NOTES": "note\n"}
    assert apply_in_memory(patch, reader({"NOTES": "old\n"})) == {"NOTES": "note\nold\n"}


def test_no_newline_at_end_of_file():
    base = {"VERSION": "1.0"}
    add_line = "--- a/VERSION\n+++ b/VERSION\n@@ -1 +1,2 @@\n-1.0\n\\ No newline at end of file\n+1.0\n+1.1\n"
    assert apply_in_memory(add_line, reader(base)) == {"VERSION": "1.0\n1.1\n"}
    drop_newline = "--- a/VERSION\n+++ b/VERSION\n@@ -1 +1 @@\n-1.0\n+2.0\n\\ No newline at end of file\n"
    assert apply_in_memory(drop_newline, reader({"VERSION": "1.0\n"})) == {"VERSION": "2.0"}
    with pytest.raises(PatchApplyError):  # the file does end in "\n": the marker says it must not
        apply_in_memory(add_line, reader({"VERSION": "1.0\n"}))


def test_lines_are_split_on_newline_only():
    base = {"m.py": "a = 1\n\x0c\nb = 2\n"}  # a form feed, as old Python sources have
    patch = "--- a/m.py\n+++ b/m.py\n@@ -3 +3 @@\n-b = 2\n+b = 3\n"
    assert apply_in_memory(patch, reader(base)) == {"m.py": "a = 1\n\x0c\nb = 3\n"}


# --- keys and dedup ---------------------------------------------------------------------------

NOISY = git_diff("calc/core.py", CALC, CALC.replace(
    "    return a / b\n", "    # zero has no inverse\n    if (b  ==  0):\n\n        raise ZeroDivisionError(\"b is zero\")   \n"
    "    return a / b  # true division\n"))
SEMANTIC = edit_calc("    if b == 0:\n        return None\n    return a / b\n")


def test_comments_and_layout_do_not_change_the_key_docstrings_and_data_whitespace_do():
    assert "+    # zero has no inverse" in NOISY
    assert normalised_key(FIX, reader(FILES)) == normalised_key(NOISY, reader(FILES))
    assert normalised_key(FIX, reader(FILES)) != normalised_key(SEMANTIC, reader(FILES))
    assert exact_key(FIX) != exact_key(NOISY)
    # A docstring is __doc__ at run time (doctests, click's help text): it is behaviour.
    redoc = git_diff("calc/core.py", CALC, CALC.replace('"""Add two numbers."""', '"""Sum; see div."""'))
    assert normalised_key(redoc, reader(FILES)) != normalised_key("", reader(FILES))
    # Whitespace in a data file or a template can be what a test compares.
    readme = FILES["README.md"]
    tidy, messy = (git_diff("README.md", readme, readme.replace("Divides.", new)) for new in
                   ("Divides safely.", "Divides safely.   \n\n"))
    assert normalised_key(tidy, reader(FILES)) != normalised_key(messy, reader(FILES))


def test_a_coding_cookie_is_read_as_python_reads_it():
    """`unicode_escape` turns a comment into code: read as UTF-8 text, the code vanished from the
    AST key, so gold plus hidden code shared gold's key (and its verdict)."""
    cookie = "# -*- coding: unicode_escape -*-\n"
    fixed = CALC.replace("    return a / b\n", "    if b == 0:\n        raise ZeroDivisionError('b is zero')\n"
                                                 "    return a / b\n")
    sneaky = cookie + fixed + "# harmless comment\\nimport os; os.environ['X'] = '1'\n"
    plain = cookie + fixed + "# harmless comment\n"
    key = normalise_content("calc/core.py", sneaky)
    assert "os.environ" in key  # the hidden line is code to Python, so it is in the key
    assert key != normalise_content("calc/core.py", plain)
    assert normalise_content("calc/core.py", "# coding: no-such-codec\nx = 1\n") == "# coding: no-such-codec\nx = 1\n"


def test_changes_to_test_files_do_not_change_the_key():
    test_change = git_diff("tests/test_core.py", TEST_CALC, TEST_CALC + "    assert div(1, 1) == 1\n")
    assert normalised_key(FIX + test_change, reader(FILES)) == normalised_key(FIX, reader(FILES))
    assert normalised_key(FIX + test_change) == normalised_key(FIX)


def test_fallback_key_keeps_start_lines_and_whitespace():
    renumbered = FIX.replace("@@ -7,6 +7,8 @@", "@@ -30,6 +31,8 @@")
    assert renumbered != FIX
    spaced = FIX.replace("raise ZeroDivisionError('b is zero')\n", "raise ZeroDivisionError('b is zero')  \n")
    # Where a hunk lands can depend on its start line; trailing whitespace can sit in a string.
    assert len({normalised_key(FIX), normalised_key(renumbered), normalised_key(spaced)}) == 3
    assert normalised_key(FIX) == normalised_key(FIX.replace("@@ -7,6 +7,8 @@", "@@ -7,6 +7,8 @@ def div(a, b):"))
    # The same added line at two places is two patches: context is part of the key.
    top = "--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,3 @@\n a = 1\n+check()\n b = 2\n"
    assert normalised_key(top) != normalised_key(top.replace(" a = 1", " c = 3").replace(" b = 2", " d = 4"))
    # A miscounted header cuts lines off the hunk that `git apply --recount` would still apply.
    cut = "--- a/m.py\n+++ b/m.py\n@@ -1,1 +1,2 @@\n a = 1\n+check()\n+check_again()\n"
    assert normalised_key(cut) != normalised_key(cut.replace("+check_again()\n", ""))
    assert normalised_key(FIX, reader({"calc/core.py": "other\n"})) == normalised_key(FIX)


def test_keys_are_taken_over_the_cleaned_patch():
    assert exact_key(f"```diff\n{FIX}```") == exact_key(FIX)
    assert normalised_key(f"```diff\n{FIX}```", reader(FILES)) == normalised_key(FIX, reader(FILES))


def test_python_that_does_not_parse_is_kept_as_it_is():
    assert normalise_content("a.py", "def f(:\n    pass   \n\n") == "def f(:\n    pass   \n\n"
    assert normalise_content("a.py", '"""Only a docstring."""\n') == "\"\"\"Only a docstring.\"\"\""
    assert normalise_content("a.py", None) is None


def test_hostile_text_never_crashes_a_key():
    lone = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-a = 1\n+a = '\ud800'\n"  # JSON allows a lone surrogate
    nested = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-a = 1\n+a = " + "(" * 5000 + ")" * 5000 + "\n"
    for patch in (lone, nested, "\x00" * 10):
        exact_key(patch), normalised_key(patch), normalised_key(patch, reader({"m.py": "a = 1\n"}))
        intake(patch)


def test_dedup_groups_in_first_seen_order():
    reads: list[str] = []

    def counting_reader(path):
        reads.append(path)
        return FILES.get(path)

    patches = [NOISY, SEMANTIC, f"```diff\n{FIX}```", NEW_FILE, SEMANTIC.replace("None", "0")]
    groups = dedup(patches, counting_reader)
    assert list(groups.values()) == [[0, 2], [1], [3], [4]]
    assert list(groups) == [normalised_key(p, reader(FILES)) for p in (NOISY, SEMANTIC, NEW_FILE, patches[4])]
    assert sorted(reads) == ["calc/core.py", "calc/errors.py"]  # each base file read once


# --- SWE-bench Lite: the real patches ---------------------------------------------------------

def lite_rows() -> list[dict]:
    if not (LITE / "test.jsonl.gz").exists():
        pytest.skip(f"SWE-bench Lite data not found at {LITE}")
    with gzip.open(LITE / "test.jsonl.gz", "rt") as f:
        return [json.loads(line) for line in f]


def test_lite_gold_patches_pass_intake_and_test_patches_are_tests_only():
    for row in lite_rows():
        gold, tests = intake(row["patch"]), intake(row["test_patch"])
        # A gold patch the verifier would refuse, or whose fix it would revert, is a bug here.
        assert gold.ok and gold.patch == row["patch"] and not gold.test_files, row["instance_id"]
        assert tests.status is Status.TESTS_ONLY, row["instance_id"]


def git_apply_cached(git_dir: str, commit: str, patch: str, paths) -> dict[str, str | None]:
    """What `git apply` makes of `patch` at `commit`, through a scratch index (no work tree)."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "GIT_INDEX_FILE": f"{scratch}/index"}
        git = ["git", "--git-dir", git_dir]
        subprocess.run([*git, "read-tree", commit], env=env, check=True)
        subprocess.run([*git, "apply", "--cached", "-"], env=env, input=patch.encode(), check=True)
        shown = {p: subprocess.run([*git, "show", f":{p}"], env=env, capture_output=True) for p in paths}
    return {p: r.stdout.decode() if r.returncode == 0 else None for p, r in shown.items()}


def test_apply_in_memory_agrees_with_git_apply_on_lite():
    mirrors = {"pallets/flask": "pallets+flask", "pytest-dev/pytest": "pytest-dev+pytest"}
    rows = [r for r in lite_rows() if r["repo"] in mirrors
            and (LITE.parents[2] / ".mirror" / mirrors[r["repo"]] / "repo").exists()]
    if not rows:
        pytest.skip("no bare clone of flask or pytest under ../.mirror")
    for row in rows:
        git_dir = str(LITE.parents[2] / ".mirror" / mirrors[row["repo"]] / "repo")

        def read(path, commit=row["base_commit"]):
            shown = subprocess.run(["git", "--git-dir", git_dir, "show", f"{commit}:{path}"], capture_output=True)
            return shown.stdout.decode() if shown.returncode == 0 else None

        for patch in (row["patch"], row["test_patch"]):
            mine = apply_in_memory(patch, read)
            assert mine == git_apply_cached(git_dir, row["base_commit"], patch, mine), row["instance_id"]


def test_intake_refuses_patches_beyond_sane_bounds():
    """50,000 new files once kept the harness busy past its limit: an infra error retried forever.
    Such a patch is refused at intake with a verdict that counts as wrong."""
    many = "".join(f"diff --git a/pkg/t{i}.py b/pkg/t{i}.py\nnew file mode 100644\n--- /dev/null\n+++ b/pkg/t{i}.py\n"
                   f"@@ -0,0 +1 @@\n+x = {i}\n" for i in range(300))
    taken = intake(FIX + many)
    assert taken.status is Status.MALFORMED and "at most" in taken.reason
    huge = FIX + "# " + "x" * (2 << 20) + "\n"
    assert intake(huge).status is Status.MALFORMED and "MiB" in intake(huge).reason
    assert intake("diff --git \"a/calc/x\\ny.py\" \"b/calc/x\\ny.py\"\nnew file mode 100644\n--- /dev/null\n"
                  "+++ \"b/calc/x\\ny.py\"\n@@ -0,0 +1 @@\n+a = 1\n").status is Status.MALFORMED
