"""Tolerant SEARCH matching (trailing whitespace, indentation, blank lines, elided code): each rule
rescues what a weak model miscopies, is recorded, can be switched off, and never picks between two places."""

from __future__ import annotations

import pytest

from swe_monkeys.examples import EXAMPLES_DIR
from swe_monkeys.swebench.edit_blocks import RULES, AmbiguousEditError, EditApplyError
from swe_monkeys.swebench.edit_matching import replace_once
from swe_monkeys.swebench.edits import completion_to_patch
from swe_monkeys.swebench.patches import apply_in_memory

PARSER = (EXAMPLES_DIR / "calc" / "base" / "calc" / "parser.py").read_text()
ALL = frozenset(RULES)
TWO_CLASSES = "class A:\n    def f(self):\n        pass\n\n\nclass B:\n    def f(self):\n        pass\n"


def read(path: str):
    return {"calc/parser.py": PARSER, "two.py": TWO_CLASSES}.get(path)


def block(search: str, replace: str, path: str = "calc/parser.py") -> str:
    return f"### {path}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


def new_parser(outcome) -> str:
    assert outcome.ok, outcome.reason
    return apply_in_memory(outcome.patch, read)["calc/parser.py"]


def test_trailing_whitespace_is_the_rule_it_always_was():
    out = completion_to_patch(block("    def parse_power(self):  \n", "    def parse_pow(self):\n"), read)
    assert out.rules == ("trailing_whitespace",) and "    def parse_pow(self):\n" in new_parser(out)
    off = completion_to_patch(block("    def parse_power(self):  \n", "x\n"), read, disabled={"trailing_whitespace"})
    assert off.status == "apply_failed" and "not found" in off.reason


def test_search_copied_without_the_method_indent_is_found_and_replace_reindented():
    # A 0.5B model copies a method flush left; its REPLACE is flush left the same way.
    search = "def parse_power(self):\n    node = self.parse_unary()\n    while self.accept(\"**\"):\n"
    replace = "def parse_power(self):\n    node = self.parse_call()\n    if self.accept(\"**\"):\n"
    out = completion_to_patch(block(search, replace), read)
    assert out.rules == ("indentation",)
    assert "    def parse_power(self):\n        node = self.parse_call()\n        if self.accept(\"**\"):\n" \
        in new_parser(out)


def test_search_indented_too_deep_is_outdented():
    search = "            def parse_unary(self):\n                token = self.accept(\"+\", \"-\")\n"
    replace = "            def parse_unary(self):\n                token = self.accept(\"-\")\n"
    assert "    def parse_unary(self):\n        token = self.accept(\"-\")\n" in \
        new_parser(completion_to_patch(block(search, replace), read))


def test_indentation_tolerance_refuses_two_places_and_can_be_switched_off():
    out = completion_to_patch(block("def f(self):\n    pass\n", "def f(self):\n    return 1\n", "two.py"), read)
    assert out.status == "apply_failed" and "occurs 2 times (ignoring indentation)" in out.reason
    with pytest.raises(AmbiguousEditError):
        replace_once(TWO_CLASSES, "def f(self):\n    pass\n", "", ALL, "two.py")
    search = "def parse_power(self):\n    node = self.parse_unary()\n"
    off = completion_to_patch(block(search, search.replace("unary", "call")), read, disabled={"indentation"})
    assert off.status == "apply_failed"


def test_a_missing_blank_line_and_a_spurious_leading_one_are_forgiven():
    search = "\n            node = BinOp(token.value, node, self.parse_power())\n    def parse_power(self):\n"
    replace = "\n            node = BinOp(token.value, node, self.parse_unary())\n    def parse_power(self):\n"
    out = completion_to_patch(block(search, replace), read)
    assert out.rules == ("blank_lines",)
    after = new_parser(out)
    # REPLACE keeps neither the leading blank line SEARCH had too nor any blank line SEARCH lacked.
    assert "node = BinOp(token.value, node, self.parse_unary())\n    def parse_power(self):\n" in after
    assert "%\")\n            if token is None:\n                return node\n\n            node" not in after
    assert completion_to_patch(block(search, replace), read, disabled={"blank_lines"}).status == "apply_failed"


def test_blank_lines_and_indentation_combine():
    # Dedented by four spaces throughout, and the blank line between the methods dropped.
    search = "        node = BinOp(token.value, node, self.parse_power())\ndef parse_power(self):\n"
    out = completion_to_patch(block(search, search.replace("power())", "unary())")), read)
    assert out.rules == ("indentation", "blank_lines")
    assert "            node = BinOp(token.value, node, self.parse_unary())\n" in new_parser(out)
    off = completion_to_patch(block(search, search), read, disabled={"indentation"})
    assert off.status == "apply_failed" and "not found" in off.reason


def test_blank_line_tolerance_refuses_two_places():
    content = "a = 1\n\nb = 2\nc = 3\na = 1\nb = 2\n"
    with pytest.raises(AmbiguousEditError, match="2 times .ignoring blank lines"):
        replace_once(content, "a = 1\n\n\nb = 2\n", "", ALL, "x.py")


def test_elided_code_in_both_parts_applies_piece_by_piece():
    search = ("    def parse_term(self):\n        node = self.parse_power()\n        # ... rest of code ...\n"
              "            node = BinOp(token.value, node, self.parse_power())\n")
    replace = search.replace("parse_power()", "parse_unary()")
    out = completion_to_patch(block(search, replace), read)
    assert out.rules == ("elision",)
    after = new_parser(out)
    assert "        node = self.parse_unary()\n        while True:\n" in after  # the elided middle is kept
    assert "# ... rest of code ..." not in after and after.count("self.parse_unary()") == PARSER.count(
        "self.parse_unary()") + 2


def test_bare_dots_elide_too_and_combine_with_indentation():
    search = "def parse_call(self):\n    node = self.parse_atom()\n...\n    return node\n\ndef parse_atom(self):\n"
    replace = "def parse_call(self):\n    node = self.parse_atom()  # atom first\n...\n    return node\n\n" \
              "def parse_atom(self):\n"
    out = completion_to_patch(block(search, replace), read)
    assert set(out.rules) == {"elision", "indentation"}
    assert "        node = self.parse_atom()  # atom first\n" in new_parser(out)


def test_elision_that_differs_between_the_parts_or_places_nothing_is_refused():
    search = "    def parse_term(self):\n        ...\n            node = BinOp(token.value, node, self.parse_power())\n"
    no_dots = "    def parse_term(self):\n            node = BinOp(token.value, node, self.parse_unary())\n"
    assert completion_to_patch(block(search, no_dots), read).status == "apply_failed"
    dangling = completion_to_patch(block("...\n", "...\nimport os\n"), read)
    assert dangling.status == "apply_failed"
    assert completion_to_patch(block(search, search.replace("power()", "unary()")), read,
                               disabled={"elision"}).status == "apply_failed"


def test_a_real_ellipsis_line_matches_exactly_before_any_elision():
    stub = "class P(Protocol):\n    def f(self):\n        ...\n\n    def g(self):\n        ...\n"
    g = "    def g(self):\n"
    new, used = replace_once(stub, g + "        ...\n", g + "        return 1\n", ALL, "p.py")
    assert used == set() and new.endswith("    def g(self):\n        return 1\n")


def test_an_elided_piece_that_is_ambiguous_is_refused():
    search = "    def parse_expr(self):\n...\n                return node\n"
    with pytest.raises(EditApplyError, match="times"):
        replace_once(PARSER, search, search.replace("return node", "return (node)"), ALL, "calc/parser.py")


def test_blocks_apply_in_order_each_to_what_the_one_before_left():
    first = block("def parse_power(self):\n    node = self.parse_unary()\n",
                  "def parse_power(self):\n    node = self.parse_call()\n")  # flush left: indentation rule
    second = block("        node = self.parse_call()\n        while self.accept(\"**\"):\n",  # text the first wrote
                   "        node = self.parse_call()\n        if self.accept(\"**\"):\n")
    out = completion_to_patch(first + "\nand then\n\n" + second, read)
    assert out.rules == ("indentation",)
    assert "    def parse_power(self):\n        node = self.parse_call()\n        if self.accept(\"**\"):\n" \
        in new_parser(out)
    swapped = completion_to_patch(second + first, read)
    assert swapped.status == "apply_failed" and "not found" in swapped.reason
