"""How the block parser reads what weak models write: other markers, a file name in the fence or in a
sentence, fences inside the markers, a missing end marker, a cut-off tail, repeated blocks."""

from __future__ import annotations

import pytest

from swe_monkeys.swebench.edit_blocks import RULES, EditParseError
from swe_monkeys.swebench.edit_parsing import parse_blocks, path_in_words
from swe_monkeys.swebench.edits import completion_to_patch, parse_edit_blocks

FILES = {"pkg/mod.py": "def f(x):\n    return x + 1\n\n\ndef g(y):\n    return y\n", "README.md": "hello\n"}
ALL = frozenset(RULES)


def read(path: str):
    return FILES.get(path)


@pytest.mark.parametrize("opening, closing", [
    ("<<<<<<< ORIGINAL", ">>>>>>> UPDATED"),
    ("<<<<<<< search", ">>>>>>> replace"),
    ("<<<< SEARCH", ">>>> REPLACE"),
    ("<<<<<<<<<<< SEARCH", ">>>>>>>>>>> REPLACE"),
    ("<<<<<<<SEARCH:", ">>>>>>>REPLACE"),
])
def test_marker_variants(opening, closing):
    text = f"### pkg/mod.py\n{opening}\n    return x + 1\n=======\n    return x + 2\n{closing}\n"
    out = completion_to_patch(text, read)
    assert out.ok and out.rules == ("marker_variants",)
    assert completion_to_patch(text, read, disabled={"marker_variants"}).status in ("no_edits", "parse_error")
    with pytest.raises(EditParseError):
        parse_edit_blocks(text)  # the strict grammar stays strict


def test_five_to_nine_marker_characters_were_always_accepted():
    text = "### pkg/mod.py\n<<<<< SEARCH\n    return x + 1\n=====\n    return x + 2\n>>>>>>>>> REPLACE\n"
    assert completion_to_patch(text, read, disabled=ALL).ok
    assert completion_to_patch(text, read).rules == ()


def test_a_doctest_prompt_in_replace_is_not_an_end_marker():
    text = "### pkg/mod.py\n<<<<<<< SEARCH\ndef g(y):\n=======\ndef g(y):\n    \"\"\"\n>>> replace\n    \"\"\"\n" \
           ">>>>>>> REPLACE\n"
    blocks, fired = parse_blocks(text, ALL)
    assert blocks[0].replace.count(">>> replace") == 1 and fired == set()


@pytest.mark.parametrize("fence", ["```python pkg/mod.py", "```pkg/mod.py", "```python:pkg/mod.py",
                                   "``` python title=pkg/mod.py"])
def test_the_path_in_the_fence_info_string(fence):
    text = f"Here is my fix.\n\n{fence}\n<<<<<<< SEARCH\n    return y\n=======\n    return -y\n>>>>>>> REPLACE\n```\n"
    out = completion_to_patch(text, read)
    assert out.ok and out.files == ("pkg/mod.py",) and out.rules == ("fence_info_path",)
    off = completion_to_patch(text, read, disabled={"fence_info_path", "path_by_content"})
    assert off.status == "parse_error" and "names no file" in off.reason


def test_the_path_inside_a_sentence():
    text = ("To fix this, edit `pkg/mod.py` like so:\n```python\n<<<<<<< SEARCH\n    return y\n=======\n"
            "    return -y\n>>>>>>> REPLACE\n```\n")
    out = completion_to_patch(text, read)
    assert out.ok and out.rules == ("prose_path",)
    assert path_in_words("Move code from pkg/a.py to pkg/b.py:") is None  # two names: not a guess
    assert path_in_words("Python 3.11 is fine, see e.g. the docs.") is None
    assert path_in_words("In **calc/parser.py**, change:") == "calc/parser.py"


def test_fences_inside_the_markers_are_dropped():
    text = ("### pkg/mod.py\n<<<<<<< SEARCH\n```python\n    return y\n```\n=======\n```python\n    return -y\n```\n"
            ">>>>>>> REPLACE\n")
    out = completion_to_patch(text, read)
    assert out.ok and out.rules == ("inner_fences",) and "+    return -y\n" in out.patch
    assert "```" not in out.patch
    assert completion_to_patch(text, read, disabled={"inner_fences"}).status == "apply_failed"


def test_a_missing_end_marker_at_the_end_of_the_text():
    text = "### pkg/mod.py\n<<<<<<< SEARCH\n    return y\n=======\n    return -y\n"
    out = completion_to_patch(text, read)
    assert out.ok and out.rules == ("unterminated_block",)
    off = completion_to_patch(text, read, disabled={"unterminated_block"})
    assert off.status == "parse_error" and "no >>>>>>> REPLACE end (cut off?)" in off.reason


def test_a_missing_end_marker_ends_at_the_closing_fence_even_before_another_block():
    text = ("```python\n### pkg/mod.py\n<<<<<<< SEARCH\n    return y\n=======\n    return -y\n```\n\nAnd also:\n"
            "```python\n### pkg/mod.py\n<<<<<<< SEARCH\n    return x + 1\n=======\n    return x + 2\n"
            ">>>>>>> REPLACE\n```\n")
    out = completion_to_patch(text, read)
    assert out.ok and out.rules == ("unterminated_block",)
    assert "+    return -y\n" in out.patch and "+    return x + 2\n" in out.patch and "And also" not in out.patch


def test_a_missing_end_marker_with_no_fence_before_the_next_block_is_refused():
    text = ("### pkg/mod.py\n<<<<<<< SEARCH\n    return y\n=======\n    return -y\n### pkg/mod.py\n<<<<<<< SEARCH\n"
            "    return x + 1\n=======\n    return x + 2\n>>>>>>> REPLACE\n")
    out = completion_to_patch(text, read)
    assert out.status == "parse_error" and "no >>>>>>> REPLACE end" in out.reason


def test_a_cut_off_last_block_is_dropped_but_a_cut_off_only_block_is_not():
    whole = "### pkg/mod.py\n<<<<<<< SEARCH\n    return y\n=======\n    return -y\n>>>>>>> REPLACE\n"
    out = completion_to_patch(whole + "\n### pkg/mod.py\n<<<<<<< SEARCH\n    return x +", read)
    assert out.ok and out.rules == ("cut_off_tail",)
    only = completion_to_patch("I think the fix is here:\n### pkg/mod.py\n<<<<<<< SEARCH\ndef f(x):\n", read)
    assert only.status == "parse_error" and "divider" in only.reason
    off = completion_to_patch(whole + "<<<<<<< SEARCH\n    return x +", read, disabled={"cut_off_tail"})
    assert off.status == "parse_error"


def test_a_block_repeated_verbatim_is_applied_once():
    one = "```python\n### pkg/mod.py\n<<<<<<< SEARCH\n    return y\n=======\n    return -y\n>>>>>>> REPLACE\n```\n"
    looping = "Here is the fix:\n" + one + "\nHere is the fix again:\n" + one + "\n" + one
    out = completion_to_patch(looping, read)
    assert out.ok and out.rules == ("duplicate_blocks",)
    off = completion_to_patch(looping, read, disabled={"duplicate_blocks"})
    assert off.status == "apply_failed" and "not found" in off.reason


def test_with_no_rule_the_parser_is_the_strict_one():
    text = "### pkg/mod.py\n<<<<<<< SEARCH\n    return y\n=======\n    return -y\n>>>>>>> REPLACE\n"
    assert parse_blocks(text, frozenset())[0] == parse_edit_blocks(text) == parse_blocks(text, ALL)[0]
    with pytest.raises(EditParseError, match="names no file"):
        parse_blocks("<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n")
    blocks, _ = parse_blocks("<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n", ALL)
    assert blocks[0].path == ""  # left for path_by_content to resolve


def test_an_unsafe_path_in_a_fence_is_refused():
    text = "```python ../../etc/evil.py\n<<<<<<< SEARCH\nx\n=======\ny\n>>>>>>> REPLACE\n```\n"
    out = completion_to_patch(text, read)
    assert out.status == "parse_error" and "unsafe file path" in out.reason
    rooted = completion_to_patch(text.replace("../../etc", "/etc"), read)  # no name read: nothing to edit
    assert rooted.status == "apply_failed" and "names no file" in rooted.reason


def test_an_unknown_rule_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown edit rule.*valid: marker_variants"):
        completion_to_patch("x", read, disabled={"fuzzy"})


def test_a_loop_cut_off_inside_a_repeats_replace_is_dropped_not_applied_twice():
    one = "### pkg/mod.py\n<<<<<<< SEARCH\n    return y\n=======\n    return -y\n>>>>>>> REPLACE\n\n"
    out = completion_to_patch(one * 2 + "### pkg/mod.py\n<<<<<<< SEARCH\n    return y\n=======\n    return -", read)
    assert out.ok and out.rules == ("cut_off_tail", "duplicate_blocks") and "+    return -y\n" in out.patch
    other = completion_to_patch(one + "### pkg/mod.py\n<<<<<<< SEARCH\n    return x + 1\n=======\n    return x + 2",
                                read)
    assert other.ok and other.rules == ("unterminated_block",) and "+    return x + 2\n" in other.patch


def test_fences_inside_the_markers_of_a_markdown_file_are_content():
    readme = {"README.md": "# calc\n\n```python\nevaluate('1 + 1')\n```\n"}
    text = ("### README.md\n<<<<<<< SEARCH\n```python\nevaluate('1 + 1')\n```\n=======\n```python\n"
            "evaluate('2 ** 3 ** 2')  # 512\n```\n>>>>>>> REPLACE\n")
    out = completion_to_patch(text, readme.get)
    assert out.ok and out.rules == () and "+evaluate('2 ** 3 ** 2')  # 512\n" in out.patch


def test_one_rule_name_as_a_plain_string_is_one_name():
    text = "### pkg/mod.py\n<<<<<<< ORIGINAL\n    return y\n=======\n    return -y\n>>>>>>> UPDATED\n"
    assert completion_to_patch(text, read, disabled="marker_variants").status == "no_edits"
