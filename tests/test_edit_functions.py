"""Rule `function_answer`: a fenced whole function replaces the one definition of its name."""

from __future__ import annotations

from swe_monkeys.examples import EXAMPLES_DIR
from swe_monkeys.swebench.edits import completion_to_patch
from swe_monkeys.swebench.patches import apply_in_memory

BASE = EXAMPLES_DIR / "unitconv" / "base"
SHOWN = ("unitconv/temperature.py", "unitconv/length.py")


def read(path: str):
    p = BASE / path
    return p.read_text() if p.is_file() else None


FIXED = '''The bug is operator precedence. Here is the fixed function:

```python
def fahrenheit_to_celsius(fahrenheit):
    """Degrees Fahrenheit to degrees Celsius."""
    return (fahrenheit - 32) * 5 / 9
```
'''


def test_a_fenced_function_replaces_its_one_definition():
    out = completion_to_patch(FIXED, read, files=SHOWN)
    assert out.ok and out.rules == ("function_answer",) and out.files == ("unitconv/temperature.py",)
    after = apply_in_memory(out.patch, read)["unitconv/temperature.py"]
    assert "    return (fahrenheit - 32) * 5 / 9\n" in after
    assert "def celsius_to_kelvin(celsius):" in after  # the rest of the file kept
    assert completion_to_patch(FIXED, read, files=SHOWN, disabled={"function_answer"}).status == "no_edits"


def test_a_method_keeps_its_class_indentation(tmp_path):
    src = "class A:\n    def f(self):\n        return 1\n\n    def g(self):\n        return 2\n"
    files = {"pkg/a.py": src}
    answer = "```python\ndef g(self):\n    return 3\n```\n"
    out = completion_to_patch(answer, files.get, files=tuple(files))
    assert out.ok
    assert apply_in_memory(out.patch, files.get)["pkg/a.py"] == src.replace("return 2", "return 3")


def test_a_name_defined_twice_or_nowhere_is_not_placed_by_a_guess():
    files = {"a.py": "def f():\n    return 1\n", "b.py": "def f():\n    return 2\n"}
    twice = completion_to_patch("```python\ndef f():\n    return 9\n```\n", files.get, files=tuple(files))
    assert twice.status == "no_edits"
    nowhere = completion_to_patch("```python\ndef h():\n    return 9\n```\n", files.get, files=tuple(files))
    assert nowhere.status == "no_edits"
    assert "a fenced function whose name is defined once in the shown files" in nowhere.reason  # what was tried


def test_an_unchanged_function_is_no_change_and_unparseable_blocks_are_skipped():
    same = read("unitconv/temperature.py").split("\n\n\n")[2]  # fahrenheit_to_celsius, as it is
    assert same.startswith("def fahrenheit_to_celsius")
    assert completion_to_patch(f"```python\n{same}\n```\n", read, files=SHOWN).status == "no_change"
    broken = "```python\ndef fahrenheit_to_celsius(f:\n    return\n```\n"
    assert completion_to_patch(broken, read, files=SHOWN).status == "no_edits"


def test_decorated_definitions_and_prompt_echoes():
    src = "import functools\n\n\n@functools.cache\ndef f(x):\n    return x\n"
    files = {"m.py": src}
    answer = "```python\n>>> f(2)\n@functools.cache\ndef f(x):\n    return x + 1\n```\n"
    out = completion_to_patch(answer, files.get, files=("m.py",))
    assert out.ok
    assert apply_in_memory(out.patch, files.get)["m.py"] == src.replace("return x\n", "return x + 1\n")


def test_an_answer_cut_off_by_the_token_limit_gives_its_whole_definitions():
    files = {"m.py": "def a():\n    return 1\n\n\ndef b():\n    return 2\n\n\ndef c():\n    return 3\n"}
    cut = "Fixed:\n\n```python\ndef a():\n    return 10\n\ndef b():\n    return 20\n\ndef c():\n    ret"
    out = completion_to_patch(cut, files.get, files=("m.py",))
    after = apply_in_memory(out.patch, files.get)["m.py"]
    assert "return 10" in after and "return 20" in after and "return 3" in after  # c is cut off: left alone
    ends_whole = "```python\ndef a():\n    return 10\n\ndef b():\n    return 20\n"  # no closing fence
    after = apply_in_memory(completion_to_patch(ends_whole, files.get, files=("m.py",)).patch, files.get)["m.py"]
    assert "return 10" in after and "return 2\n" in after  # the last definition may be cut short: dropped
    broken = "```python\ndef a():\n    return 10\n\nthis line is prose\n\ndef b():\n    return 20\n```\n"
    after = apply_in_memory(completion_to_patch(broken, files.get, files=("m.py",)).patch, files.get)["m.py"]
    assert "return 10" in after and "return 20" in after  # a closed block: each definition that parses


def test_a_class_cut_off_in_a_method_gives_its_whole_methods():
    src = "class P:\n    def a(self):\n        return 1\n\n    def b(self):\n        return 2\n"
    files = {"p.py": src}
    cut = "```python\nclass P:\n    def a(self):\n        return 10\n\n    def b(self):\n        ret"
    out = completion_to_patch(cut, files.get, files=("p.py",))
    assert out.ok and apply_in_memory(out.patch, files.get)["p.py"] == src.replace("return 1\n", "return 10\n")
