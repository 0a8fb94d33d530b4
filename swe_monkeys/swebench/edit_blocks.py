"""The nouns shared by the edit modules: `EditBlock`, the edit error types and the recovery rules.

A weak model's answer is rarely a well-formed SEARCH/REPLACE block that copies the file exactly. Each
way of recovering what it meant is a named rule (`RULES`, in the order they are reported); every rule
is on by default and any can be switched off (`active_rules(disabled)`), so a report can count how
many samples each rule saved and an ablation can turn one off. A rule never guesses between two
readings: a tolerant match that fits two places, or a file name that fits two files, is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable
from swe_monkeys.errors import SweMonkeysError

ReadFile = Callable[[str], "str | None"]

RULES: dict[str, str] = {
    # How the answer is written (edit_parsing.py)
    "marker_variants": "markers spelled otherwise: ORIGINAL/UPDATED, other case, 4 or 10+ marker characters",
    "fence_info_path": "the file name sits in the fence's info string (```python calc/parser.py)",
    "prose_path": "the file name sits inside a sentence above the block (In `calc/parser.py`, change:)",
    "inner_fences": "``` lines wrapped around SEARCH or REPLACE inside the markers are dropped (not in .md/.rst/.txt)",
    "unterminated_block": "a block without its >>>>>>> REPLACE ends at its closing fence or at the end of the text",
    "cut_off_tail": "a last block cut off (before its divider, or in a repeat's REPLACE) is dropped after others",
    "duplicate_blocks": "a block repeated verbatim (a looping model) is applied once",
    # Other answer shapes (edit_answers.py)
    "diff_answer": "a unified diff instead of blocks: hunks applied by their text, headers' line numbers ignored",
    "whole_file": "a fenced whole new file for a small file the repository has, under its path",
    "function_answer": "fenced whole functions or methods replace the one definition of each name in the shown files",
    # Which file (edit_paths.py)
    "path_by_name": "a file name that does not exist resolves to the one known file it names loosely",
    "path_by_content": "a block with no (or no resolvable) file goes to the one shown file holding its SEARCH text",
    "skip_missing_file": "a block for a file that does not exist and cannot be resolved is dropped if others apply",
    # Where in the file (edit_matching.py)
    "trailing_whitespace": "SEARCH matches ignoring trailing whitespace",
    "indentation": "SEARCH matches but for a uniform indentation offset; REPLACE is re-indented by it",
    "blank_lines": "SEARCH matches ignoring blank lines (extra, missing, leading or trailing)",
    "elision": "'...' lines elide code the same way in SEARCH and REPLACE; the pieces between apply in order",
}


def active_rules(disabled: Iterable[str] = frozenset()) -> frozenset[str]:
    """Every rule but the disabled ones; an unknown name lists the valid ones."""
    disabled = frozenset([disabled] if isinstance(disabled, str) else disabled)  # "elision" is one name
    unknown = sorted(disabled - RULES.keys())
    if unknown:
        raise UnknownRule(f"unknown edit rule(s) {', '.join(unknown)}; valid: {', '.join(RULES)}")
    return frozenset(RULES) - disabled


def ordered(rules: Iterable[str]) -> tuple[str, ...]:
    """Rule names in the order of `RULES` (stable in stored metas and reports)."""
    fired = set(rules)
    return tuple(name for name in RULES if name in fired)


class UnknownRule(SweMonkeysError, ValueError):
    """A recovery rule name that does not exist (the message lists the valid ones)."""


class EditParseError(ValueError):
    """A completion holds no edit block, or a block is cut short or names no file."""


class NoEditsError(EditParseError):
    """A completion with nothing that reads as an edit at all."""


class EditApplyError(ValueError):
    """An edit whose SEARCH text is not in the file exactly once, or whose file cannot be told."""


class AmbiguousEditError(EditApplyError):
    """A tolerant match that fits two places, or a file name that fits two files: never a guess."""


class MissingFileError(EditApplyError):
    """Edits to a file that does not exist (and resolves to none), SEARCH non-empty: nothing to apply to.

    Weak models copy the prompt's own format example (`### calc/example.py`, `def area(r)`) this way.
    """


@dataclass(frozen=True)
class EditBlock:
    path: str  # "" when the answer named no file (resolved by its SEARCH text, or refused)
    search: str  # empty: create the file (or prepend to an empty one)
    replace: str
