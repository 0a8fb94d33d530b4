"""Search/replace edit blocks (the Aider / Agentless answer format) -> a unified diff.

A model answers a repair prompt with blocks like

    ### calc/parser.py
    <<<<<<< SEARCH
    old lines, copied exactly
    =======
    new lines
    >>>>>>> REPLACE

Provides
- `parse_edit_blocks(text) -> list[EditBlock]` (raises `EditParseError`);
- `apply_edits(blocks, read_file) -> {path: new content}` in memory (raises `EditApplyError`);
- `unified_diff(old, new)`: `git diff`-shaped text (a/ b/ prefixes) checked with unidiff;
- `completion_to_patch(text, read_file) -> EditOutcome`: never raises for a bad *completion*; a
  sample that does not parse or apply is a value with its reason (it still counts as a sample).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Callable, Mapping

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

ReadFile = Callable[[str], "str | None"]

_SEARCH = re.compile(r"^\s*<{5,9} ?SEARCH\s*$")
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9} ?REPLACE\s*$")
_FENCE = re.compile(r"^\s*```")
# What may surround a path on its own line: "### ", "File: ", backticks, bold markers, a colon.
_PATH_DECOR = re.compile(r"^(?:#+\s*|[-*]\s+)?(?:file(?:name)?\s*:\s*)?[`*]*(?P<path>[^`*\s]+?)[`*]*:?$", re.I)


class EditParseError(ValueError):
    """A completion holds no edit block, or a block is cut short or names no file."""


class EditApplyError(ValueError):
    """An edit block whose SEARCH text is not in the file (or the file is missing)."""


@dataclass(frozen=True)
class EditBlock:
    path: str
    search: str  # empty: create the file (or prepend to an empty one)
    replace: str


@dataclass(frozen=True)
class EditOutcome:
    """What one completion became. `status` is ok / no_edits / parse_error / apply_failed / no_change."""

    status: str
    patch: str = ""
    reason: str = ""
    files: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _clean_path(line: str) -> str | None:
    match = _PATH_DECOR.match(line.strip())
    if not match:
        return None
    path = match.group("path").strip().removeprefix("./")
    if path.startswith(("a/", "b/")) and "/" in path[2:]:
        path = path[2:]
    if "/" not in path and "." not in path:
        return None  # a lone word ("python", "Here") is not a file name
    return path


def _check_path(path: str) -> None:
    # The diff must stay inside the repository: an absolute path or ".." would escape it.
    if path.startswith("/") or any(part in ("..", "") for part in path.split("/")):
        raise EditParseError(f"unsafe file path {path!r}")


def parse_edit_blocks(text: str) -> list[EditBlock]:
    """Every SEARCH/REPLACE block of a completion, in order; a block without a path line reuses the last."""
    lines = text.replace("\r\n", "\n").split("\n")
    blocks: list[EditBlock] = []
    path: str | None = None
    i = 0
    while i < len(lines):
        if not _SEARCH.match(lines[i]):
            i += 1
            continue
        named = None
        for back in range(i - 1, max(-1, i - 4), -1):  # the path is on one of the few lines above
            line = lines[back]
            if not line.strip() or _FENCE.match(line):
                continue
            named = _clean_path(line)
            break
        path = named or path
        if path is None:
            raise EditParseError(f"edit block at line {i + 1} names no file")
        _check_path(path)
        search, replace, j = [], [], i + 1
        while j < len(lines) and not _DIVIDER.match(lines[j]):
            if _SEARCH.match(lines[j]) or _REPLACE.match(lines[j]):
                raise EditParseError(f"edit block at line {i + 1} has no ======= divider")
            search.append(lines[j])
            j += 1
        if j >= len(lines):
            raise EditParseError(f"edit block at line {i + 1} has no ======= divider")
        j += 1
        while j < len(lines) and not _REPLACE.match(lines[j]):
            if _SEARCH.match(lines[j]):
                raise EditParseError(f"edit block at line {i + 1} has no >>>>>>> REPLACE end")
            replace.append(lines[j])
            j += 1
        if j >= len(lines):
            raise EditParseError(f"edit block at line {i + 1} has no >>>>>>> REPLACE end (cut off?)")
        blocks.append(EditBlock(path, _join(search), _join(replace)))
        i = j + 1
    if not blocks:
        raise EditParseError("no SEARCH/REPLACE edit block in the completion")
    return blocks


def _join(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _replace_once(content: str, block: EditBlock) -> str:
    if not block.search.strip():
        return block.replace + content if not content.strip() else content + block.replace
    count = content.count(block.search)
    if count == 1:
        return content.replace(block.search, block.replace, 1)
    if count > 1:
        raise EditApplyError(f"{block.path}: SEARCH text occurs {count} times; it must be unique")
    # Models often drop trailing spaces: match line by line ignoring trailing whitespace.
    have = content.splitlines(keepends=True)
    want = [line.rstrip() for line in block.search.splitlines()]
    hits = [k for k in range(len(have) - len(want) + 1)
            if [line.rstrip() for line in have[k:k + len(want)]] == want]
    if len(hits) != 1:
        first = block.search.strip().splitlines()[0][:60]
        what = "not found" if not hits else f"occurs {len(hits)} times (ignoring trailing spaces)"
        raise EditApplyError(f"{block.path}: SEARCH text {what}: {first!r}...")
    k = hits[0]
    return "".join(have[:k]) + block.replace + "".join(have[k + len(want):])


def apply_edits(blocks: list[EditBlock], read_file: ReadFile) -> tuple[dict[str, str | None], dict[str, str]]:
    """(old contents, new contents) of every file the blocks touch; old is None for a new file."""
    old: dict[str, str | None] = {}
    new: dict[str, str] = {}
    for block in blocks:
        if block.path not in old:
            old[block.path] = read_file(block.path)
            if old[block.path] is None and block.search.strip():
                raise EditApplyError(f"{block.path}: the file does not exist at the base commit")
            new[block.path] = old[block.path] or ""
        new[block.path] = _replace_once(new[block.path], block)
    return old, new


def _file_diff(path: str, before: str | None, after: str) -> str:
    a, b = (before or "").splitlines(keepends=True), after.splitlines(keepends=True)
    body = list(difflib.unified_diff(a, b, "/dev/null" if before is None else f"a/{path}", f"b/{path}", n=3))
    out = [f"diff --git a/{path} b/{path}\n"] + (["new file mode 100644\n"] if before is None else [])
    for line in body:
        if line.startswith(("---", "+++")):
            out.append(line.rstrip("\t\n") + "\n")  # difflib puts a tab before an empty date
        elif line.endswith("\n"):
            out.append(line)
        else:
            out.append(line + "\n\\ No newline at end of file\n")
    return "".join(out)


def unified_diff(old: Mapping[str, str | None], new: Mapping[str, str]) -> str:
    """A unified diff of the changed files (sorted by path), validated by unidiff."""
    text = "".join(_file_diff(p, old[p], new[p]) for p in sorted(new) if (old[p] or "") != new[p]
                   or (old[p] is None and new[p]))
    if text:
        PatchSet(text)  # raises UnidiffParseError: a bug here, never the model's fault
    return text


def completion_to_patch(text: str, read_file: ReadFile) -> EditOutcome:
    """A model's completion as a patch, or the reason it is none (status not "ok")."""
    try:
        blocks = parse_edit_blocks(text)
    except EditParseError as exc:
        status = "no_edits" if "no SEARCH/REPLACE" in str(exc) else "parse_error"
        return EditOutcome(status, reason=str(exc))
    try:
        old, new = apply_edits(blocks, read_file)
    except EditApplyError as exc:
        return EditOutcome("apply_failed", reason=str(exc))
    try:
        patch = unified_diff(old, new)
    except UnidiffParseError as exc:
        return EditOutcome("parse_error", reason=f"diff not parseable: {exc}")
    if not patch:
        return EditOutcome("no_change", reason="the edits change nothing")
    return EditOutcome("ok", patch=patch, files=tuple(sorted(p for p in new if (old[p] or "") != new[p])))
