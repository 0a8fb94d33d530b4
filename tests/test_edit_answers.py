"""Answers that are not SEARCH/REPLACE blocks: unified diffs (applied by their text) and whole files."""

from __future__ import annotations

import pytest

from swe_monkeys.examples import EXAMPLES_DIR
from swe_monkeys.swebench.edit_answers import WHOLE_FILE_MAX_LINES, diff_blocks
from swe_monkeys.swebench.edit_blocks import EditBlock, EditParseError
from swe_monkeys.swebench.edits import completion_to_patch
from swe_monkeys.swebench.patches import apply_in_memory

BASE = EXAMPLES_DIR / "calc" / "base"
SHOWN = ("calc/parser.py", "calc/errors.py", "calc/nodes.py")


def read(path: str):
    p = BASE / path
    return p.read_text() if p.is_file() else None


# The gold change of parse_term as a model writes a diff: made-up line numbers, blank context lines
# without their leading space, prose after it.
DIFF = """I found the bug. Here is a patch:

```diff
--- a/calc/parser.py
+++ b/calc/parser.py
@@ -1,7 +1,7 @@
     def parse_term(self):
-        node = self.parse_power()
+        node = self.parse_unary()
         while True:
             token = self.accept("*", "/", "//", "%")
             if token is None:
                 return node
-            node = BinOp(token.value, node, self.parse_power())
+            node = BinOp(token.value, node, self.parse_unary())

```

This makes the power bind tighter.
"""


def test_a_diff_answer_applies_by_its_text_not_its_line_numbers():
    out = completion_to_patch(DIFF, read, files=SHOWN)
    assert out.ok and out.rules == ("diff_answer",) and out.files == ("calc/parser.py",)
    after = apply_in_memory(out.patch, read)["calc/parser.py"]
    assert "    def parse_term(self):\n        node = self.parse_unary()\n" in after
    assert "@@ -64,12 +64,12 @@" in out.patch  # the headers are ours, recomputed
    off = completion_to_patch(DIFF, read, disabled={"diff_answer"})
    assert off.status == "no_edits"


def test_diff_hunks_become_blocks_in_order():
    text = ("--- calc/nodes.py\t2024-01-01\n+++ calc/nodes.py\t2024-01-02\n@@ -1 +1 @@\n-a\n+b\n \n@@ @@\n c\n-d\n"
            "\\ No newline at end of file\n--- /dev/null\n+++ b/calc/new.py\n@@ -0,0 +1,2 @@\n+X = 1\n+Y = 2\n")
    assert diff_blocks(text) == [EditBlock("calc/nodes.py", "a\n", "b\n"), EditBlock("calc/nodes.py", "c\nd\n", "c\n"),
                                 EditBlock("calc/new.py", "", "X = 1\nY = 2\n")]
    assert diff_blocks("no diff here\n--- just a rule\n") == []


def test_a_diff_with_miscopied_indentation_uses_the_matching_rules_too():
    text = ("--- a/calc/parser.py\n+++ b/calc/parser.py\n@@ -70,3 +70,3 @@\n def parse_power(self):\n"
            "-    node = self.parse_unary()\n+    node = self.parse_call()\n     while self.accept(\"**\"):\n")
    out = completion_to_patch(text, read)
    assert out.ok and out.rules == ("diff_answer", "indentation")
    assert "        node = self.parse_call()\n" in apply_in_memory(out.patch, read)["calc/parser.py"]


def test_a_diff_hunk_that_fits_two_places_is_refused():
    text = "--- a/calc/parser.py\n+++ b/calc/parser.py\n@@ -1,2 +1,2 @@\n-                return node\n+    return\n"
    out = completion_to_patch(text, read)
    assert out.status == "apply_failed" and "occurs" in out.reason


@pytest.mark.parametrize("text, message", [
    ("--- a/calc/nodes.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n", "deletes calc/nodes.py"),
    ("--- a/calc/nodes.py\n+++ b/calc/nodes.py\n@@ -1 +1,2 @@\n+import os\n", "no context"),
    ("--- a/x.py\n+++ b/../../x.py\n@@ -1 +1 @@\n-a\n+b\n", "unsafe file path"),
])
def test_diffs_this_scaffold_does_not_apply_say_why(text, message):
    with pytest.raises(EditParseError, match=message):
        diff_blocks(text)
    assert completion_to_patch(text, read).status == "parse_error"


def test_a_new_file_by_diff():
    text = "```diff\n--- /dev/null\n+++ b/calc/power.py\n@@ -0,0 +1 @@\n+POWER = '**'\n```\n"
    out = completion_to_patch(text, read)
    assert out.ok and "new file mode 100644" in out.patch and apply_in_memory(out.patch, read)["calc/power.py"] \
        == "POWER = '**'\n"


ERRORS = read("calc/errors.py")


def _whole(path: str, content: str, above: str = "### {path}\n```python\n") -> str:
    return "Here is the complete updated file:\n\n" + above.format(path=path) + content + "```\n"


def test_a_whole_small_file_under_its_path_replaces_it():
    changed = ERRORS.replace("class EvalError(CalcError):", "class EvalError(CalcError, ArithmeticError):")
    assert changed != ERRORS
    out = completion_to_patch(_whole("calc/errors.py", changed), read, files=SHOWN)
    assert out.ok and out.rules == ("whole_file",)
    assert apply_in_memory(out.patch, read)["calc/errors.py"] == changed
    in_fence = completion_to_patch(_whole("calc/errors.py", changed, "```python calc/errors.py\n"), read)
    assert in_fence.ok and in_fence.rules == ("fence_info_path", "whole_file")
    shown_shape = completion_to_patch(f"[start of calc/errors.py]\n{changed}[end of calc/errors.py]\n", read)
    assert shown_shape.ok and shown_shape.rules == ("whole_file",)
    assert completion_to_patch(_whole("calc/errors.py", changed), read, disabled={"whole_file"}).status == "no_edits"


def test_a_whole_file_under_a_wrong_case_name():
    changed = ERRORS.replace("class EvalError(CalcError):", "class EvalError(CalcError, ArithmeticError):")
    out = completion_to_patch(_whole("Calc/Errors.py", changed), read, files=SHOWN)
    assert out.ok and out.rules == ("whole_file", "path_by_name") and out.files == ("calc/errors.py",)


def test_what_is_not_a_whole_file_is_not_taken_for_one():
    snippet = "    def parse_power(self):\n        node = self.parse_call()\n        return node\n"
    assert completion_to_patch(_whole("calc/parser.py", snippet), read).status == "no_edits"
    elided = ERRORS.replace("class EvalError(CalcError):", "# ... rest of code ...\nclass EvalError(CalcError):")
    assert completion_to_patch(_whole("calc/errors.py", elided), read).status == "no_edits"
    unclosed = _whole("calc/errors.py", ERRORS.replace("Error", "Err")).removesuffix("```\n")
    assert completion_to_patch(unclosed, read).status == "no_edits"
    assert completion_to_patch(_whole("calc/nope.py", ERRORS), read).status == "no_edits"


def test_a_big_file_is_never_answered_whole():
    big = "".join(f"X{n} = {n}\n" for n in range(WHOLE_FILE_MAX_LINES + 1))
    files = {"big.py": big}
    assert completion_to_patch(_whole("big.py", big.replace("X1 =", "Y1 =")), files.get).status == "no_edits"
    small = "".join(f"X{n} = {n}\n" for n in range(WHOLE_FILE_MAX_LINES))
    assert completion_to_patch(_whole("big.py", small.replace("X1 =", "Y1 =")), {"big.py": small}.get).ok


def test_two_different_whole_files_for_one_path_are_refused_but_a_repeat_is_not():
    one = ERRORS.replace("class EvalError(CalcError):", "class EvalError(CalcError, ArithmeticError):")
    two = ERRORS.replace("class ParseError(CalcError):", "class ParseError(CalcError, SyntaxError):")
    assert one != two != ERRORS
    out = completion_to_patch(_whole("calc/errors.py", one) + _whole("calc/errors.py", two), read)
    assert out.status == "apply_failed" and "two different whole-file answers" in out.reason
    assert completion_to_patch(_whole("calc/errors.py", one) * 2, read).ok


def test_a_file_quoted_unchanged_is_no_change():
    assert completion_to_patch(_whole("calc/errors.py", ERRORS), read).status == "no_change"


def test_a_context_line_that_lost_its_prefix_refuses_the_diff_rather_than_drop_changes():
    broken = ("--- a/calc/parser.py\n+++ b/calc/parser.py\n@@ -113,2 +113,2 @@\ndef parse(text):\n"
              "-    return Parser(text).parse_statement()\n+    return Parser(text.strip()).parse_statement()\n")
    with pytest.raises(EditParseError, match="no ' ', '-' or '\\+' prefix"):
        diff_blocks(broken)
    bullets_after = DIFF.replace("This makes the power bind tighter.", "- binds tighter\n- right-associative")
    assert completion_to_patch(bullets_after, read).ok
