"""Answers that are not SEARCH/REPLACE blocks, read as blocks: unified diffs and whole files.

- `diff_blocks(text)` (rule `diff_answer`): each hunk of a `--- a/x` / `+++ b/x` diff becomes a block
  whose SEARCH is the hunk's context and removed lines and whose REPLACE is its context and added
  lines. The `@@` line numbers are ignored (weak models get them wrong); the block goes through the
  same tolerant, unique-or-refused matching as any other. A blank line inside a hunk is blank context.
  A context line that lost its prefix before more changes refuses the diff rather than drop them.
- `whole_file_blocks(text, read_file, files, active)` (rule `whole_file`): a closed fence under a path
  the repository has (or a "[start of X]" ... "[end of X]" region, the shape the prompt shows files
  in), for a file of at most `WHOLE_FILE_MAX_LINES` lines, whose body keeps most of the file's lines
  in order (so a snippet is not taken for the whole file) and elides nothing.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import Iterable, Iterator, Optional

from swe_monkeys.swebench.edit_blocks import AmbiguousEditError, EditBlock, EditParseError, ReadFile
from swe_monkeys.swebench.edit_matching import is_elision
from swe_monkeys.swebench.edit_parsing import check_path, path_above
from swe_monkeys.swebench.edit_paths import resolve_by_name

WHOLE_FILE_MAX_LINES = 300  # beyond this a model rewriting the whole file loses or garbles lines
WHOLE_FILE_MIN_KEPT = 0.6  # share of the old lines the answer must keep, in order
_FENCE = re.compile(r"^\s*```")
_BARE_FENCE = re.compile(r"^\s*```\s*$")
_SHOWN = re.compile(r"^\[start of (?P<path>[^\]\s]+)\]$")


def _diff_path(header: str) -> Optional[str]:
    """The path of a `---`/`+++` header (timestamp and a/ b/ prefix dropped); None for /dev/null."""
    words = header.split("\t")[0].split()
    path = words[0] if words else ""
    if path == "/dev/null":
        return None
    path = path.removeprefix("./")
    return path[2:] if path.startswith(("a/", "b/")) and "/" in path[2:] else path


def _is_header(lines: list[str], i: int) -> bool:
    return lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")


def _hunk_goes_on(lines: list[str], k: int) -> bool:
    """Whether changed lines follow before the next blank line, fence, hunk or file: then the line
    before them is a context line that lost its prefix, and stopping there would drop changes."""
    while k < len(lines) and lines[k].strip() and not _FENCE.match(lines[k]) and not lines[k].startswith("@@") \
            and not _is_header(lines, k):
        if lines[k][:1] in ("-", "+"):
            return True
        k += 1
    return False


def _hunks(lines: list[str], i: int) -> tuple[list[tuple[str, str]], int]:
    """(SEARCH, REPLACE) of each hunk from line i on, and where this file's part of the diff ends."""
    hunks: list[tuple[str, str]] = []
    body: list[tuple[str, str]] = []

    def flush() -> None:
        while body and body[-1][0] == " " and not body[-1][1].strip():
            body.pop()  # blank context at a hunk's end is usually the blank line after the diff
        if any(tag != " " for tag, _ in body):
            hunks.append(("".join(t + "\n" for tag, t in body if tag != "+"),
                          "".join(t + "\n" for tag, t in body if tag != "-")))
        body.clear()

    while i < len(lines) and not _is_header(lines, i):
        line = lines[i]
        if line.startswith("@@"):
            flush()
        elif line[:1] in (" ", "-", "+"):
            body.append((line[0], line[1:]))
        elif line == "":
            body.append((" ", ""))
        elif not line.startswith("\\"):  # "\ No newline at end of file" is skipped; anything else ends it
            if _hunk_goes_on(lines, i + 1):
                raise EditParseError(f"diff line {i + 1} has no ' ', '-' or '+' prefix: {line[:60]!r}")
            break
        i += 1
    flush()
    return hunks, i


def diff_blocks(text: str) -> list[EditBlock]:
    """The blocks of every file in a unified diff answer, in order (empty when there is no diff)."""
    lines = text.replace("\r\n", "\n").split("\n")
    blocks: list[EditBlock] = []
    i = 0
    while i < len(lines):
        if not _is_header(lines, i):
            i += 1
            continue
        old, new = _diff_path(lines[i][4:]), _diff_path(lines[i + 1][4:])
        if new is None:
            raise EditParseError(f"the diff deletes {old}: not an edit this scaffold applies")
        check_path(new)
        hunks, i = _hunks(lines, i + 2)
        for search, replace in hunks:
            if old is not None and not search.strip():
                raise EditParseError(f"{new}: a diff hunk with no context or removed lines cannot be placed")
            blocks.append(EditBlock(new, search if old is not None else "", replace))
    return blocks


def _looks_whole(old: str, body: list[str]) -> bool:
    before = old.splitlines()
    if len(before) > WHOLE_FILE_MAX_LINES or any(is_elision(line) for line in body):
        return False
    kept = sum(m.size for m in SequenceMatcher(None, before, body, autojunk=False).get_matching_blocks())
    return kept >= WHOLE_FILE_MIN_KEPT * len(before)


def _regions(lines: list[str], active: frozenset[str]) -> Iterator[tuple[Optional[str], Optional[str], list[str]]]:
    """(path, rule that found it, body) of each closed fence, and of each "[start of X]" ... "[end of X]"
    region (the prompt shows files that way, and weak models answer in the shape they were shown)."""
    i = 0
    while i < len(lines):
        shown = _SHOWN.match(lines[i].strip())
        if shown:
            end = f"[end of {shown['path']}]"
            close = next((k for k in range(i + 1, len(lines)) if lines[k].strip() == end), None)
        elif _FENCE.match(lines[i]):
            close = next((k for k in range(i + 1, len(lines)) if _BARE_FENCE.match(lines[k])), None)
        else:
            i += 1
            continue
        if close is None:
            return  # an unclosed region may be a cut-off file: never taken for a whole one
        body = lines[i + 1:close]
        path, rule = (shown["path"], None) if shown else path_above(lines, i + 1, active)
        inner = _SHOWN.match(body[0].strip()) if body else None
        if inner and body[-1].strip() == f"[end of {inner['path']}]":
            path, rule, body = inner["path"], None, body[1:-1]
        yield path, rule, body
        i = close + 1


def whole_file_blocks(text: str, read_file: ReadFile, files: Iterable[str],
                      active: frozenset[str]) -> tuple[list[EditBlock], set[str]]:
    """One block (old file -> new file) per whole new file in the answer, and the rules that needed."""
    found: dict[str, str] = {}
    blocks, fired = [], {"whole_file"}
    for path, rule, body in _regions(text.replace("\r\n", "\n").split("\n"), active):
        try:
            check_path(path or "")
        except EditParseError:
            continue
        old = read_file(path)
        if old is None and "path_by_name" in active and (resolved := resolve_by_name(path, files)):
            path, rule, old = resolved, "path_by_name", read_file(resolved)
        if old is None or not _looks_whole(old, body):
            continue
        new = "".join(line + "\n" for line in body)
        if path in found and found[path] != new:
            raise AmbiguousEditError(f"{path}: two different whole-file answers")
        if path not in found:
            found[path] = new
            blocks.append(EditBlock(path, old, new))
            fired.update([rule] if rule else [])
    return blocks, fired
