"""SEARCH/REPLACE blocks read out of a completion, as written or as a weak model writes them.

`parse_blocks(text, active) -> (blocks, rules fired)`. With no rule active this is the strict grammar
(`edits.parse_edit_blocks`): a path line among the three lines above `<<<<<<< SEARCH` (5-9 marker
characters), `=======`, `>>>>>>> REPLACE`. The parsing rules of edit_blocks.RULES widen it: other
marker words, a file name in the fence info string or in a sentence, fences inside the markers, a
missing end marker, a cut-off last block, repeated blocks.
"""

from __future__ import annotations

import re

from swe_monkeys.swebench.edit_blocks import EditBlock, EditParseError, NoEditsError

_SEARCH = re.compile(r"^\s*<{5,9} ?SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9} ?REPLACE\s*$")
# 4+ characters: ">>> " is a doctest prompt, and a REPLACE part may hold doctests.
_LOOSE_SEARCH = re.compile(r"^\s*<{4,}\s*(?:SEARCH|ORIGINAL)\s*:?\s*$", re.I)
_LOOSE_REPLACE = re.compile(r"^\s*>{4,}\s*(?:REPLACE|UPDATED)\s*:?\s*$", re.I)
_FENCE = re.compile(r"^\s*```")
_BARE_FENCE = re.compile(r"^\s*```\s*$")
# Files where a ``` line is content, not a model's wrapping: inner_fences leaves their blocks alone.
_DOC_SUFFIXES = (".md", ".markdown", ".rst", ".txt")
# What may surround a path on its own line: "### ", "File: ", backticks, bold markers, a colon.
_PATH_DECOR = re.compile(r"^(?:#+\s*|[-*]\s+)?(?:file(?:name)?\s*:\s*)?[`*]*(?P<path>[^`*\s]+?)[`*]*:?$", re.I)
# A file name inside other words: dotted name with a source-like extension, optional folders.
_PATH_TOKEN = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-][\w.-]*\.(?:py|pyi|pyx|pxd|cfg|toml|ini|txt|md|rst|"
                         r"ya?ml|json|js|ts|c|h|cc|cpp|hpp|rs|go|java|sh))(?![\w/-])")


def clean_path(line: str) -> str | None:
    """The file name a line consists of ("### calc/parser.py", "`a/b.py`:"), or None."""
    match = _PATH_DECOR.match(line.strip())
    if not match:
        return None
    path = match.group("path").strip().removeprefix("./")
    if path.startswith(("a/", "b/")) and "/" in path[2:]:
        path = path[2:]
    if "/" not in path and "." not in path:
        return None  # a lone word ("python", "Here") is not a file name
    return path


def check_path(path: str) -> None:
    # The diff must stay inside the repository: an absolute path or ".." would escape it.
    if path.startswith("/") or any(part in ("..", "") for part in path.split("/")):
        raise EditParseError(f"unsafe file path {path!r}")


def path_in_words(line: str) -> str | None:
    """The one file name inside a sentence or fence info string ("In `calc/parser.py`, change:")."""
    found = {m.removeprefix("./") for m in _PATH_TOKEN.findall(line.replace("`", " ").replace("*", " "))}
    return found.pop() if len(found) == 1 else None  # two names: which one is meant is a guess


def _marker(line: str, active: frozenset[str]) -> tuple[str, bool] | None:
    """("search" | "divider" | "replace", needed marker_variants) for a marker line, else None."""
    for kind, strict, loose in (("search", _SEARCH, _LOOSE_SEARCH), ("replace", _REPLACE, _LOOSE_REPLACE)):
        if strict.match(line):
            return kind, False
        if "marker_variants" in active and loose.match(line):
            return kind, True
    return ("divider", False) if _DIVIDER.match(line) else None


def path_above(lines: list[str], i: int, active: frozenset[str]) -> tuple[str | None, str | None]:
    """(file name, rule that found it) from the few lines above a SEARCH marker."""
    for back in range(i - 1, max(-1, i - 4), -1):
        line = lines[back]
        if not line.strip():
            continue
        if _FENCE.match(line):
            info = line.strip().lstrip("`")
            if "fence_info_path" in active and (path := path_in_words(info.replace(":", " "))):
                return path, "fence_info_path"
            continue
        if named := clean_path(line):
            return named, None
        if "prose_path" in active and (path := path_in_words(line)):
            return path, "prose_path"
        return None, None
    return None, None


def _strip_inner_fences(part: list[str]) -> list[str]:
    """SEARCH or REPLACE lines without the ``` fence lines a model wrapped around them."""
    start = 1 if part and _FENCE.match(part[0]) else 0
    end = len(part) - 1 if len(part) > start and _BARE_FENCE.match(part[-1]) else len(part)
    return part[start:end]


def _join(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


class _Scanner:
    """One pass over the lines; `fired` collects the rules the text needed."""

    def __init__(self, text: str, active: frozenset[str]):
        self.lines = text.replace("\r\n", "\n").split("\n")
        self.active, self.fired = active, set()
        self.open_end = False  # the last block ran to the end of the text: no end marker, no fence

    def marker(self, j: int) -> str | None:
        found = _marker(self.lines[j], self.active)
        if found and found[1]:
            self.fired.add("marker_variants")
        return found[0] if found else None

    def search_part(self, i: int) -> tuple[list[str], int] | None:
        """SEARCH lines after the marker at i and the divider's index; None when the text ends first."""
        part, j = [], i + 1
        while j < len(self.lines):
            kind = self.marker(j)
            if kind == "divider":
                return part, j
            if kind:
                raise EditParseError(f"edit block at line {i + 1} has no ======= divider")
            part.append(self.lines[j])
            j += 1
        return None

    def replace_part(self, i: int, j: int) -> tuple[list[str], int]:
        """REPLACE lines after the divider at j and the index of the line after the block."""
        part, k = [], j + 1
        while k < len(self.lines):
            kind = self.marker(k)
            if kind == "replace":
                return part, k + 1
            if kind == "search":
                return self._unterminated(i, part, k, "has no >>>>>>> REPLACE end")
            part.append(self.lines[k])
            k += 1
        return self._unterminated(i, part, k, "has no >>>>>>> REPLACE end (cut off?)")

    def _unterminated(self, i: int, part: list[str], k: int, why: str) -> tuple[list[str], int]:
        # A model that forgets the end marker usually still closes its fence; without a fence only
        # the end of the text can end the block (another SEARCH marker would swallow the next path).
        fence = next((n for n, line in enumerate(part) if _BARE_FENCE.match(line)), None)
        at_end = k >= len(self.lines)
        if "unterminated_block" not in self.active or (fence is None and not at_end):
            raise EditParseError(f"edit block at line {i + 1} {why}")
        if fence is None:
            self.open_end = True  # counted (or dropped as a loop's cut-off repeat) by parse_blocks
            return part, k
        self.fired.add("unterminated_block")
        return part[:fence], k - len(part) + fence + 1


def parse_blocks(text: str, active: frozenset[str] = frozenset()) -> tuple[list[EditBlock], set[str]]:
    """The completion's blocks in order and the parsing rules they needed (a block without a path
    line reuses the last path; with `path_by_content` active a block before any path gets path "")."""
    scan = _Scanner(text, active)
    blocks: list[EditBlock] = []
    path: str | None = None
    i = 0
    while i < len(scan.lines):
        if scan.marker(i) != "search":
            i += 1
            continue
        named, rule = path_above(scan.lines, i, active)
        if named:
            scan.fired.update([rule] if rule else [])
            check_path(named)
        path = named or path
        if path is None and "path_by_content" not in active:
            raise EditParseError(f"edit block at line {i + 1} names no file")
        found = scan.search_part(i)
        if found is None:
            if blocks and "cut_off_tail" in active:
                scan.fired.add("cut_off_tail")
                break
            raise EditParseError(f"edit block at line {i + 1} has no ======= divider")
        search, j = found
        replace, i = scan.replace_part(i, j)
        if "inner_fences" in active and not (path or "").lower().endswith(_DOC_SUFFIXES):
            unfenced = _strip_inner_fences(search), _strip_inner_fences(replace)
            if unfenced != (search, replace):
                scan.fired.add("inner_fences")
                search, replace = unfenced
        blocks.append(EditBlock(path or "", _join(search), _join(replace)))
    if not blocks:
        raise NoEditsError("no SEARCH/REPLACE edit block in the completion")
    if scan.open_end:
        _open_ended_tail(blocks, active, scan.fired)
    return drop_repeats(blocks, active, scan.fired), scan.fired


def _open_ended_tail(blocks: list[EditBlock], active: frozenset[str], fired: set[str]) -> None:
    """The last block ran to the end of the text. A looping model cut off by max_tokens inside a repeat's
    REPLACE leaves a block whose SEARCH an earlier block already replaced: it is dropped (`cut_off_tail`),
    else it would fail the whole answer. Any other such block is taken as it is (`unterminated_block`)."""
    last = blocks[-1]
    if "cut_off_tail" in active and any((b.path, b.search) == (last.path, last.search) for b in blocks[:-1]):
        blocks.pop()
        fired.add("cut_off_tail")
    else:
        fired.add("unterminated_block")


def drop_repeats(blocks: list[EditBlock], active: frozenset[str], fired: set[str]) -> list[EditBlock]:
    """The blocks with verbatim repeats left out (rule `duplicate_blocks`): a looping model's second
    copy of a block would otherwise find its SEARCH text already replaced, failing the whole answer."""
    if "duplicate_blocks" not in active:
        return blocks
    kept = list(dict.fromkeys(blocks))
    if len(kept) < len(blocks):
        fired.add("duplicate_blocks")
    return kept
