"""Well-formed blocks need no rule, and give byte for byte the patches they gave before the rules existed.

The digests were taken from `completion_to_patch` at commit 5664d20 (before any recovery rule), so a
rule that changes what a well-formed answer becomes fails here, whether the rules are on or off.
"""

from __future__ import annotations

import hashlib

import pytest

from swe_monkeys.examples import EXAMPLES_DIR
from swe_monkeys.swebench.edit_blocks import RULES
from swe_monkeys.swebench.edits import completion_to_patch
from swe_monkeys.swebench.fake import overlay_completion

FILES = {"pkg/mod.py": "def f(x):\n    return x + 1\n\n\ndef g(y):\n    return y\n", "README.md": "hello\n",
         "pkg/tail.py": "x = 1"}
HAND_MADE = {
    "fenced_two_blocks_one_file": (
        "I will fix it.\n\n```python\n### pkg/mod.py\n<<<<<<< SEARCH\n    return x + 1\n=======\n    return x + 2\n"
        ">>>>>>> REPLACE\n```\n\n```python\n### pkg/mod.py\n<<<<<<< SEARCH\n    return y\n=======\n    return -y\n"
        ">>>>>>> REPLACE\n```\n", "ab1558297d3ac835"),
    "new_file_and_edit": (
        "### pkg/mod.py\n<<<<<<< SEARCH\ndef g(y):\n=======\ndef g(y, z=0):\n>>>>>>> REPLACE\n### pkg/new.py\n"
        "<<<<<<< SEARCH\n=======\nVALUE = 1\n>>>>>>> REPLACE\n", "e19199e8aeefe9cf"),
    "no_final_newline": (
        "### pkg/tail.py\n<<<<<<< SEARCH\nx = 1\n=======\nx = 2\n>>>>>>> REPLACE\n", "415a6f513039dace"),
    "two_files": (
        "File: `README.md`\n<<<<<<< SEARCH\nhello\n=======\nhello, world\n>>>>>>> REPLACE\n\n**pkg/mod.py**\n"
        "<<<<<<< SEARCH\ndef f(x):\n    return x + 1\n=======\ndef f(x):\n    return x - 1\n>>>>>>> REPLACE\n",
        "f09170cdde231bdf"),
}
OVERLAYS = {
    "calc/fix": "60c1ca640d0299f5", "calc/candidates/wrong": "25db60abe4b614bd",
    "calc/candidates/breaks_p2p": "8940e9535dd8ac62", "calc/candidates/gold_with_noise": "59932fbbb7a01d35",
    "calc/candidates/partial": "d1487d78bc1e627e", "calc/candidates/edits_tests": "e3fc1229b3e445f1",
    "daterange/fix": "a4863c28bb173b6d", "daterange/candidates/wrong": "042191b46a25d7d6",
    "daterange/candidates/breaks_p2p": "1b5ed4804082f5b2", "daterange/candidates/gold_with_noise": "6cc2c1a6dad71730",
    "daterange/candidates/partial": "0a33667c889866bf", "daterange/candidates/edits_tests": "61dabc0aa87b2ec6",
    "slugkit/fix": "31ac8369471ffc47", "slugkit/candidates/wrong": "d7a5e1036927b9db",
    "slugkit/candidates/breaks_p2p": "1e7dfb45c39b36f5", "slugkit/candidates/gold_with_noise": "37ccd77179e7a72f",
    "slugkit/candidates/partial": "5559fdd5b2dd17ec", "slugkit/candidates/edits_tests": "d17f481db98eb58d",
}
SWITCHES = {"all rules on": frozenset(), "all rules off": frozenset(RULES)}


def digest(patch: str) -> str:
    return hashlib.sha256(patch.encode()).hexdigest()[:16]


@pytest.mark.parametrize("switch", SWITCHES)
@pytest.mark.parametrize("name", HAND_MADE)
def test_hand_made_well_formed_blocks_give_the_same_bytes(name, switch):
    text, expected = HAND_MADE[name]
    out = completion_to_patch(text, FILES.get, files=tuple(FILES), disabled=SWITCHES[switch])
    assert out.ok and out.rules == () and digest(out.patch) == expected


@pytest.mark.parametrize("switch", SWITCHES)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_example_overlays_give_the_same_bytes(overlay, switch):
    name, _, folder = overlay.partition("/")
    base = EXAMPLES_DIR / name / "base"

    def read(path: str):
        p = base / path
        return p.read_text() if p.is_file() else None

    text = overlay_completion(base, EXAMPLES_DIR / name / folder, "Here is the fix.")
    shown = tuple(str(p.relative_to(base)) for p in base.rglob("*.py"))
    out = completion_to_patch(text, read, files=shown, disabled=SWITCHES[switch])
    assert out.ok and out.rules == () and digest(out.patch) == OVERLAYS[overlay]


def test_the_old_trailing_space_fallback_is_now_a_named_rule_with_the_same_bytes():
    text = "### pkg/mod.py\n<<<<<<< SEARCH\n    return x + 1   \n=======\n    return 3\n>>>>>>> REPLACE\n"
    out = completion_to_patch(text, FILES.get)
    assert out.rules == ("trailing_whitespace",) and digest(out.patch) == "456172c0c03ea747"
