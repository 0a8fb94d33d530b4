"""Completions for the calc issue written the way a 0.5B model writes them (chatter, the prompt's example
copied, flush-left code, forgotten end markers, loops cut off by max_tokens), and what each became."""

from __future__ import annotations

import re

from swe_monkeys.examples import EXAMPLES_DIR
from swe_monkeys.swebench.edit_blocks import RULES
from swe_monkeys.swebench.edit_stats import edit_outcome_table
from swe_monkeys.swebench.edits import completion_to_patch
from swe_monkeys.swebench.patches import apply_in_memory, intake
from swe_monkeys.swebench.prompting import load_template

BASE = EXAMPLES_DIR / "calc" / "base"
SHOWN = ("calc/parser.py", "calc/evaluator.py", "calc/nodes.py", "calc/tokens.py", "calc/errors.py")


def read(path: str):
    p = BASE / path
    return p.read_text() if p.is_file() else None


EXAMPLE = re.search(r"```python\n.*?```", load_template("swebench_repair").template, re.S).group(0)

FLUSH_LEFT_NO_END = '''To fix the issue, we need to modify the `parse_power` method in `calc/parser.py`.

```python
<<<<<<< SEARCH
def parse_power(self):
    node = self.parse_unary()
    while self.accept("**"):
        node = BinOp("**", node, self.parse_unary())
    return node
=======
def parse_power(self):
    node = self.parse_unary()
    if self.accept("**"):
        node = BinOp("**", node, self.parse_power())
    return node
```

This change makes the power operator right-associative.'''

LOOPING = "### calc/parser.py\n```python\n<<<<<<< SEARCH\n        while self.accept(\"**\"):\n=======\n" \
          "        if self.accept(\"**\"):\n>>>>>>> REPLACE\n```\n\n" * 3 + \
          "### calc/parser.py\n```python\n<<<<<<< SEARCH\n        while self.acc"

ORIGINAL_UPDATED = '''Sure, I can help with that! The problem is in parser.py.

parser.py
<<<<<<< ORIGINAL
    def parse_unary(self):
        token = self.accept("+", "-")
=======
    def parse_unary(self):
        # unary minus binds looser than **
        token = self.accept("+", "-")
>>>>>>> UPDATED
'''

DIFF = '''Here is the diff:

```diff
--- a/calc/parser.py
+++ b/calc/parser.py
@@ -73,5 +73,5 @@
     def parse_power(self):
         node = self.parse_unary()
-        while self.accept("**"):
-            node = BinOp("**", node, self.parse_unary())
+        if self.accept("**"):
+            node = BinOp("**", node, self.parse_power())
         return node
```
'''

ELIDED = '''### calc/parser.py
```python
<<<<<<< SEARCH
class Parser:
    # ... existing code ...
    def parse_power(self):
        node = self.parse_unary()
        while self.accept("**"):
=======
class Parser:
    # ... existing code ...
    def parse_power(self):
        node = self.parse_unary()
        if self.accept("**"):
>>>>>>> REPLACE
```'''

NO_EDIT = "The issue is caused by the grammar in calc/parser.py. You should make `**` right-associative by " \
          "changing the loop into recursion. Let me know if you need more help!"

CASES = {  # completion -> (status, rules)
    "example copied": (f"Here is the fix:\n\n{EXAMPLE}\n", "missing_file", ()),
    "example and a real edit": (f"{EXAMPLE}\n\n{FLUSH_LEFT_NO_END}", "ok",
                                ("prose_path", "unterminated_block", "skip_missing_file", "indentation")),
    "flush left, no end marker": (FLUSH_LEFT_NO_END, "ok", ("prose_path", "unterminated_block", "indentation")),
    "looping then cut off": (LOOPING, "ok", ("cut_off_tail", "duplicate_blocks")),
    "ORIGINAL/UPDATED, short name": (ORIGINAL_UPDATED, "ok", ("marker_variants", "path_by_name")),
    "diff": (DIFF, "ok", ("diff_answer",)),
    "elided": (ELIDED, "ok", ("elision",)),
    "no edit": (NO_EDIT, "no_edits", ()),
}


def test_each_weak_answer_becomes_what_it_should_with_the_rules_it_needed():
    for name, (text, status, rules) in CASES.items():
        out = completion_to_patch(text, read, files=SHOWN)
        assert (out.status, out.rules) == (status, rules), (name, out.reason)
        if out.ok:
            assert intake(out.patch).ok and out.files == ("calc/parser.py",)


def test_the_recovered_edits_are_the_ones_meant():
    after = apply_in_memory(completion_to_patch(FLUSH_LEFT_NO_END, read, files=SHOWN).patch, read)["calc/parser.py"]
    assert "    def parse_power(self):\n        node = self.parse_unary()\n        if self.accept(\"**\"):\n" \
           "            node = BinOp(\"**\", node, self.parse_power())\n        return node\n" in after
    assert "```" not in after and "right-associative." not in after
    for text in (LOOPING, DIFF, ELIDED):
        new = apply_in_memory(completion_to_patch(text, read, files=SHOWN).patch, read)["calc/parser.py"]
        assert new.count("if self.accept(\"**\"):") == 1 and "while self.accept(\"**\")" not in new


def test_the_strict_scaffold_lost_every_one_of_them():
    strict = [completion_to_patch(text, read, files=SHOWN, disabled=RULES) for text, *_ in CASES.values()]
    table = edit_outcome_table(strict)
    assert table["applied"] == 0 and table["status"]["no_edits"]["count"] == 3  # ORIGINAL/UPDATED, diff, prose
    rescued = edit_outcome_table([completion_to_patch(text, read, files=SHOWN) for text, *_ in CASES.values()])
    assert (rescued["applied"], rescued["applied_exact"], rescued["rescued"]) == (6, 0, 6)
    assert rescued["status"]["missing_file"]["count"] == 1 and rescued["applied_by_rule"]["indentation"] == 2
