"""Which file an edit meant: a slightly wrong name, no name at all, a copy of the prompt's own example."""

from __future__ import annotations

import re

import pytest

from swe_monkeys.examples import EXAMPLES_DIR
from swe_monkeys.swebench.edit_blocks import AmbiguousEditError
from swe_monkeys.swebench.edit_paths import resolve_by_name
from swe_monkeys.swebench.edits import completion_to_patch
from swe_monkeys.swebench.patches import apply_in_memory
from swe_monkeys.swebench.prompting import load_template

BASE = EXAMPLES_DIR / "calc" / "base"
SHOWN = ("calc/parser.py", "calc/evaluator.py", "calc/nodes.py", "calc/tokens.py")


def read(path: str):
    p = BASE / path
    return p.read_text() if p.is_file() and ".." not in path else None


def edit(path: str, search: str = "    def parse_power(self):\n",
         replace: str = "    def parse_power(self):  # right-associative\n") -> str:
    head = f"### {path}\n" if path else ""
    return f"{head}<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n"


@pytest.mark.parametrize("written", ["parser.py", "src/calc/parser.py", "Calc/Parser.py", "lib/parser.py",
                                     "calc\\parser.py", "./calc/PARSER.py"])
def test_a_slightly_wrong_file_name_resolves_to_the_one_shown_file(written):
    out = completion_to_patch(edit(written), read, files=SHOWN)
    assert out.ok and out.files == ("calc/parser.py",) and out.rules == ("path_by_name",)
    assert "# right-associative" in apply_in_memory(out.patch, read)["calc/parser.py"]


def test_without_the_shown_files_a_wrong_name_is_a_missing_file():
    out = completion_to_patch(edit("parser.py"), read)
    assert out.status == "missing_file" and "parser.py: the file does not exist" in out.reason
    off = completion_to_patch(edit("parser.py"), read, files=SHOWN, disabled={"path_by_name", "path_by_content"})
    assert off.status == "missing_file"


def test_a_name_that_fits_two_files_is_refused():
    files = SHOWN + ("docs/parser.py",)
    with pytest.raises(AmbiguousEditError, match="fits 2 files"):
        resolve_by_name("parser.py", files)
    out = completion_to_patch(edit("parser.py"), read, files=files)
    assert out.status == "apply_failed" and "fits 2 files" in out.reason
    # The strictest reading decides: "calc/parser.py" in another case is one file, however many parser.py exist.
    assert resolve_by_name("CALC/parser.py", files) == "calc/parser.py"


def test_a_repository_folder_named_a_is_not_a_diff_prefix():
    assert resolve_by_name("a/x.py", ["a/x.py", "b/x.py"]) == "a/x.py"
    assert resolve_by_name("a/pkg/x.py", ["pkg/x.py", "lib/y.py"]) == "pkg/x.py"


def test_a_block_with_no_file_name_goes_to_the_one_shown_file_holding_its_search_text():
    out = completion_to_patch("Change this:\n\n" + edit(""), read, files=SHOWN)
    assert out.ok and out.files == ("calc/parser.py",) and out.rules == ("path_by_content",)
    flush_left = "def parse_power(self):\n    node = self.parse_unary()\n"
    indented = completion_to_patch(edit("", flush_left, flush_left.replace("unary", "call")), read, files=SHOWN)
    assert indented.ok and set(indented.rules) == {"path_by_content", "indentation"}


def test_a_wrong_name_that_fits_nothing_falls_back_to_the_search_text():
    out = completion_to_patch(edit("calc/power.py"), read, files=SHOWN)
    assert out.ok and out.files == ("calc/parser.py",) and out.rules == ("path_by_content",)


def test_search_text_in_two_shown_files_or_in_none_is_refused():
    # parser.py and tokens.py both import ParseError this way.
    line = "from calc.errors import ParseError\n"
    shared = completion_to_patch(edit("", line, line + "import math\n"), read, files=SHOWN)
    assert shared.status == "apply_failed" and "in 2 files: calc/parser.py, calc/tokens.py" in shared.reason
    nowhere = completion_to_patch(edit("", "not in any file\n", "x\n"), read, files=SHOWN)
    assert nowhere.status == "apply_failed" and "names no file" in nowhere.reason
    off = completion_to_patch(edit(""), read, files=SHOWN, disabled={"path_by_content"})
    assert off.status == "parse_error" and "names no file" in off.reason


def _prompt_example() -> str:
    """The format example of the repair prompt, as a model copies it."""
    template = load_template("swebench_repair").template
    return re.search(r"```python\n(.*?)```", template, re.S).group(0)


def test_a_copy_of_the_prompts_format_example_is_its_own_status():
    example = _prompt_example()
    assert "### calc/example.py" in example and "def area(r)" in example
    for answer in (example, f"Sure! Here is the fix:\n\n{example}\n\nThis uses math.pi.", example + example):
        out = completion_to_patch(answer, read, files=SHOWN)
        assert out.status == "missing_file" and "calc/example.py: the file does not exist" in out.reason
        assert completion_to_patch(answer, read).status == "missing_file"


def test_the_example_copied_beside_a_real_edit_is_dropped():
    answer = f"For example:\n{_prompt_example()}\nNow the real fix:\n```python\n{edit('calc/parser.py')}```\n"
    out = completion_to_patch(answer, read, files=SHOWN)
    assert out.ok and out.files == ("calc/parser.py",) and out.rules == ("skip_missing_file",)
    off = completion_to_patch(answer, read, files=SHOWN, disabled={"skip_missing_file"})
    assert off.status == "missing_file"


def test_a_new_file_is_still_created_under_the_name_given():
    out = completion_to_patch(edit("calc/power.py", "", "def power(a, b):\n    return a ** b\n"), read, files=SHOWN)
    assert out.ok and out.files == ("calc/power.py",) and out.rules == ()
    assert "new file mode 100644" in out.patch


def test_a_nameless_block_may_search_what_an_earlier_block_wrote():
    first = edit("", "    def parse_power(self):\n", "    def parse_exponent(self):\n")
    second = edit("", "    def parse_exponent(self):\n", "    def parse_exponent(self):  # right-associative\n")
    out = completion_to_patch(first + second, read, files=SHOWN)
    assert out.ok and out.rules == ("path_by_content",)
    assert "    def parse_exponent(self):  # right-associative\n" in apply_in_memory(out.patch, read)["calc/parser.py"]
