"""Edit blocks -> in-memory edits -> unified diff, on hand-made text and on the example projects."""

from __future__ import annotations

from pathlib import Path

import pytest
from unidiff import PatchSet

from swe_monkeys.examples import EXAMPLES_DIR
from swe_monkeys.swebench.edits import (
    EditApplyError, EditParseError, apply_edits, completion_to_patch, parse_edit_blocks, unified_diff,
)
from swe_monkeys.swebench.fake import overlay_completion
from swe_monkeys.swebench.patches import apply_in_memory, intake, normalised_key

FILES = {"pkg/mod.py": "def f(x):\n    return x + 1\n\n\ndef g(y):\n    return y\n", "README.md": "hello\n"}


def read(path: str):
    return FILES.get(path)


def test_parses_agentless_and_aider_shapes():
    text = ("I will fix it.\n\n```python\n### pkg/mod.py\n<<<<<<< SEARCH\n    return x + 1\n=======\n"
            "    return x + 2\n>>>>>>> REPLACE\n```\n\npkg/mod.py\n```python\n<<<<<<< SEARCH\n    return y\n=======\n"
            "    return -y\n>>>>>>> REPLACE\n```\n")
    blocks = parse_edit_blocks(text)
    assert [(b.path, b.search, b.replace) for b in blocks] == [
        ("pkg/mod.py", "    return x + 1\n", "    return x + 2\n"), ("pkg/mod.py", "    return y\n", "    return -y\n")]


def test_a_block_without_a_path_reuses_the_previous_one():
    text = ("File: `pkg/mod.py`\n<<<<<<< SEARCH\n    return x + 1\n=======\n    return 0\n>>>>>>> REPLACE\n\n"
            "<<<<<<< SEARCH\n    return y\n=======\n    return 1\n>>>>>>> REPLACE\n")
    assert [b.path for b in parse_edit_blocks(text)] == ["pkg/mod.py", "pkg/mod.py"]


@pytest.mark.parametrize("text, message", [
    ("just prose, no edits", "no SEARCH/REPLACE"),
    ("<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n", "names no file"),
    ("### a.py\n<<<<<<< SEARCH\nx\n=======\ny\n", "no >>>>>>> REPLACE"),
    ("### a.py\n<<<<<<< SEARCH\nx\n>>>>>>> REPLACE\n", "no ======= divider"),
    ("### ../../etc/passwd\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n", "unsafe file path"),
    ("### /etc/passwd\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n", "unsafe file path"),
])
def test_malformed_completions_say_why(text, message):
    with pytest.raises(EditParseError, match=message.replace("*", r"\*")):
        parse_edit_blocks(text)


def test_apply_and_diff_round_trip_through_apply_in_memory():
    blocks = parse_edit_blocks("### pkg/mod.py\n<<<<<<< SEARCH\n    return x + 1\n=======\n    return x + 2\n"
                               ">>>>>>> REPLACE\n### pkg/new.py\n<<<<<<< SEARCH\n=======\nVALUE = 1\n>>>>>>> REPLACE\n")
    old, new = apply_edits(blocks, read)
    patch = unified_diff(old, new)
    assert patch.startswith("diff --git a/pkg/mod.py b/pkg/mod.py\n--- a/pkg/mod.py\n+++ b/pkg/mod.py\n")
    assert "new file mode 100644\n--- /dev/null\n+++ b/pkg/new.py" in patch
    assert len(PatchSet(patch)) == 2 and intake(patch).ok
    assert apply_in_memory(patch, read) == new


def test_trailing_whitespace_is_forgiven_but_ambiguity_and_absence_are_not():
    loose = parse_edit_blocks("### pkg/mod.py\n<<<<<<< SEARCH\n    return x + 1   \n=======\n    return 3\n"
                              ">>>>>>> REPLACE\n")
    assert "return 3" in apply_edits(loose, read)[1]["pkg/mod.py"]
    files = {"a.py": "x = 1\nx = 1\n"}
    twice = parse_edit_blocks("### a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n")
    with pytest.raises(EditApplyError, match="2 times"):
        apply_edits(twice, files.get)
    with pytest.raises(EditApplyError, match="not found"):
        apply_edits(parse_edit_blocks("### a.py\n<<<<<<< SEARCH\ny = 1\n=======\n\n>>>>>>> REPLACE\n"), files.get)
    with pytest.raises(EditApplyError, match="does not exist"):
        apply_edits(parse_edit_blocks("### b.py\n<<<<<<< SEARCH\ny\n=======\n\n>>>>>>> REPLACE\n"), files.get)


def test_a_file_without_final_newline_gets_the_marker():
    files = {"a.py": "x = 1"}
    out = completion_to_patch("### a.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n", files.get)
    assert out.ok and "\\ No newline at end of file" in out.patch
    assert apply_in_memory(out.patch, files.get) == {"a.py": "x = 2\n"}


def test_completion_outcomes_are_values():
    assert completion_to_patch("no edits here", read).status == "no_edits"
    assert completion_to_patch("### a.py\n<<<<<<< SEARCH\nx\n", read).status == "parse_error"
    bad = "### pkg/mod.py\n<<<<<<< SEARCH\nnot there\n=======\n\n>>>>>>> REPLACE\n"
    assert completion_to_patch(bad, read).status == "apply_failed"
    same = "### pkg/mod.py\n<<<<<<< SEARCH\n    return y\n=======\n    return y\n>>>>>>> REPLACE\n"
    assert completion_to_patch(same, read).status == "no_change"


@pytest.mark.parametrize("name", ["calc", "daterange", "slugkit"])
def test_edit_blocks_from_the_fix_overlay_reproduce_the_gold_patch(name, examples):
    example = examples[name]
    base = EXAMPLES_DIR / name / "base"

    def read_base(path: str):
        p = base / path
        return p.read_text() if p.is_file() else None

    outcome = completion_to_patch(overlay_completion(base, EXAMPLES_DIR / name / "fix", "Here is the fix."),
                                  read_base)
    assert outcome.ok, outcome.reason
    assert normalised_key(outcome.patch, read_base) == normalised_key(example.instance.patch, read_base)
    fixed = {str(p.relative_to(EXAMPLES_DIR / name / "fix")): p.read_text()
             for p in Path(EXAMPLES_DIR / name / "fix").rglob("*") if p.is_file()}
    assert apply_in_memory(outcome.patch, read_base) == fixed
