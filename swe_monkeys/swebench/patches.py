"""Host-side patch intake: what a candidate diff is, before any container sees it.

Provides (the rules of what a candidate may change are in rules.py)
- `intake(patch) -> PatchIntake`: empty / malformed / tests-only verdicts, and the cleaned diff;
- `apply_in_memory(patch, read_file)`: a diff applied to file contents, exact like `git apply`;
- `exact_key`, `normalised_key`, `dedup`: keys under which duplicate candidates are judged once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Callable

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from swe_monkeys.swebench.normalise import (
    FileChange, clean_patch, content_digest, created_symlinks, file_change, refusal, split_lines,
)
from swe_monkeys.swebench.rules import MAX_PATCH_BYTES, MAX_PATCH_FILES, is_test_path
from swe_monkeys.types import Status

ReadFile = Callable[[str], "str | None"]

def _over_bounds(text: str, files=()) -> str:
    if len(text) > MAX_PATCH_BYTES:
        return f"the patch is over {MAX_PATCH_BYTES >> 20} MiB"
    if len(files) > MAX_PATCH_FILES:
        return f"the patch changes {len(files)} files (at most {MAX_PATCH_FILES})"
    return ""


@dataclass(frozen=True)
class PatchIntake:
    """What intake made of one candidate. `status` None means: verify `patch`."""

    status: Status | None
    reason: str
    patch: str  # the cleaned diff, the one to apply
    source_files: tuple[str, ...] = ()
    test_files: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status is None


def _changes_something(pf, change: FileChange) -> bool | None:
    """True if the entry changes the tree, False if its hunks are all context, None if it has none."""
    if change.binary or change.source != change.target or any(
            line.startswith("old mode ") for line in pf.patch_info or ()):
        return True
    if not len(pf):
        return None
    return any(hunk.added or hunk.removed for hunk in pf)


def intake(patch: str) -> PatchIntake:
    """Classify and clean one candidate patch before it is deduplicated and verified."""
    if not patch or not patch.strip():
        return PatchIntake(Status.EMPTY, "empty patch", "")
    if _over_bounds(patch):
        return PatchIntake(Status.MALFORMED, f"refused: {_over_bounds(patch)}", "")
    text = clean_patch(patch)
    if not text.strip():
        return PatchIntake(Status.EMPTY, "nothing but markdown fences", "")
    try:
        files = PatchSet(text)
    except UnidiffParseError as exc:
        return PatchIntake(Status.MALFORMED, f"unparseable diff: {exc}", text)
    if not files:
        return PatchIntake(Status.MALFORMED, "no file diffs", text)
    too_big = _over_bounds(text, files)
    if too_big:
        return PatchIntake(Status.MALFORMED, f"refused: {too_big}", text)
    changes = [file_change(pf) for pf in files]
    sources: dict[str, None] = {}
    tests: dict[str, None] = {}
    symlinks = created_symlinks(files, changes)
    for pf, change in zip(files, changes):
        problem = refusal(pf, change, symlinks)
        if problem:
            return PatchIntake(Status.MALFORMED, f"refused: {problem}", text)
        if _changes_something(pf, change) is None:
            return PatchIntake(Status.MALFORMED, f"{change.paths[0]}: a file header with no hunk "
                               "(is the '@@ -a,b +c,d @@' line missing or unreadable?)", text)
        for path in change.paths:
            (tests if is_test_path(path) else sources)[path] = None
    if not any(_changes_something(pf, change) for pf, change in zip(files, changes)):
        return PatchIntake(Status.EMPTY, "every hunk is context only", text)
    src, tst = tuple(sources), tuple(tests)
    if not src:
        return PatchIntake(Status.TESTS_ONLY, f"changes only test files and tool configuration: {', '.join(tst)}",
                           text, src, tst)
    binary = [c.target or c.source for c in changes if c.binary]
    note = f"binary diff for {', '.join(binary)} (only git can apply it)" if binary else ""
    return PatchIntake(None, note, text, src, tst)


class PatchApplyError(Exception):
    """A diff that does not apply exactly (offsets allowed, no fuzz) to the given contents."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}" if path else reason)
        self.path, self.reason = path, reason


def _hunk_sides(hunk) -> tuple[list[str], list[str]]:
    """The lines a hunk expects (context and removed) and leaves (context and added)."""
    before: list[str] = []
    after: list[str] = []
    last = ""
    for line in hunk:
        kind, value = line.line_type, line.value
        if kind == "\\":
            # "\ No newline at end of file" belongs to the line before it: that line ends the
            # file on its side(s) without "\n", and only then matches a file that lacks one.
            for side, kinds in ((before, " -"), (after, " +")):
                if last and last in kinds and side and side[-1].endswith("\n"):
                    side[-1] = side[-1][:-1]
            continue
        if kind not in (" ", "-", "+"):
            continue  # unidiff keeps blank lines trailing a hunk as lines of no type
        value = value if value.endswith("\n") else value + "\n"
        if kind in " -":
            before.append(value)
        if kind in " +":
            after.append(value)
        last = kind
    return before, after


def _find(lines: list[str], before: list[str], expected: int, lowest: int) -> int | None:
    """Where `before` occurs exactly, nearest to `expected` first, not before `lowest`."""
    highest = len(lines) - len(before)
    if not before:
        # A hunk without context has nothing to search with: it goes where its header says.
        return expected if lowest <= expected <= len(lines) else None
    expected = min(max(expected, lowest), highest)
    for delta in range(max(expected - lowest, highest - expected) + 1):
        for pos in (expected - delta, expected + delta) if delta else (expected,):
            if lowest <= pos <= highest and lines[pos] == before[0] and lines[pos:pos + len(before)] == before:
                return pos
    return None


def _apply_hunks(old: str, pf, path: str) -> str:
    lines, out = split_lines(old), []
    done = offset = 0
    for number, hunk in enumerate(pf, 1):
        before, after = _hunk_sides(hunk)
        # "-12,0" inserts after line 12; "-12,3" starts at line 12 (index 11).
        start = hunk.source_start - 1 if before else hunk.source_start
        pos = _find(lines, before, start + offset, done)
        if pos is None:
            raise PatchApplyError(path, f"hunk #{number} (@@ -{hunk.source_start},{hunk.source_length} "
                                        f"+{hunk.target_start},{hunk.target_length} @@) does not match")
        offset = pos - start  # as in patch: a later hunk is looked for where the last one moved to
        out += lines[done:pos] + after
        done = pos + len(before)
    return "".join(out + lines[done:])


def _old_content(pf, change: FileChange, now: ReadFile) -> str:
    """The content the entry's hunks apply to; raises where git apply would refuse the entry."""
    source, target = change.source, change.target
    name = target or source
    if not name:
        raise PatchApplyError("", "a file header names no path")
    if change.binary:
        raise PatchApplyError(name, "binary diff: only git can apply it")
    old = now(source) if source is not None else None
    # A traditional diff may create a file from "--- a/x" with one "@@ -0,0" hunk, as git allows.
    creates = source is None or (old is None and len(pf) == 1 and pf[0].source_length == 0)
    if old is None and not creates:
        raise PatchApplyError(name, "the file does not exist")
    if target is not None and target != source and now(target) is not None:
        raise PatchApplyError(target, "the diff creates this file, but it already exists")
    return old or ""


def apply_in_memory(patch: str, read_file: ReadFile) -> dict[str, str | None]:
    """New contents of every path `patch` changes (None: deleted); `read_file(path)` gives the old.

    Exact context matching with the position searched around the header's line, as git apply
    and patch do, but no fuzz. Raises PatchApplyError where the diff does not apply.
    """
    try:
        files = PatchSet(patch)
    except UnidiffParseError as exc:
        raise PatchApplyError("", f"unparseable diff: {exc}") from exc
    changed: dict[str, str | None] = {}
    current = functools.lru_cache(maxsize=None)(read_file)

    def now(path: str) -> str | None:
        return changed[path] if path in changed else current(path)

    for pf in files:
        change = file_change(pf)
        source, target = change.source, change.target
        new = _apply_hunks(_old_content(pf, change, now), pf, target or source or "")
        if target is None:
            if new:
                raise PatchApplyError(source or "", "the diff deletes the file but leaves lines in it")
            changed[source or ""] = None
            continue
        if source is not None and source != target and not change.copy:
            changed[source] = None
        changed[target] = new
    return changed


def _digest(kind: str, payload: object) -> str:
    # ASCII JSON: a lone surrogate (JSON allows "\ud800" in a prediction) must not crash a key.
    return hashlib.sha256(json.dumps([kind, payload]).encode()).hexdigest()


def exact_key(patch: str) -> str:
    """sha256 of the cleaned patch text (UTF-8, lone surrogates passed through)."""
    return hashlib.sha256(clean_patch(patch).encode("utf-8", "surrogatepass")).hexdigest()


def _diff_text_items(text: str) -> object:
    """A patch's diff text without what cannot change what git applies: the fallback key.

    Kept: per file its paths and hunks (start line and lengths, then context and +/- lines as
    they are). Dropped: section headers, index lines, file order. Where a hunk lands can depend
    on its start line (its context may occur twice) and whitespace inside a string literal or a
    data file is behaviour, so neither is dropped: two such diffs are not alike.
    Lines unidiff left outside every hunk but shaped like hunk lines stay too: `git apply
    --recount` applies what a miscounted header cut off, so two such diffs are not alike.
    """
    try:
        files = PatchSet(text)
    except UnidiffParseError:
        return text
    if any(pf.is_binary_file for pf in files):
        return text  # the binary data is not in unidiff's model: only identical text is alike
    entries, used = [], set()
    for pf in files:
        change = file_change(pf)
        hunks = []
        for hunk in pf:
            used.update(line.diff_line_no for line in hunk)
            hunks.append([hunk.source_start, hunk.source_length, hunk.target_length,
                          [line.line_type + line.value for line in hunk if line.line_type in " +-\\"]])
        if not all(is_test_path(p) for p in change.paths):
            entries.append([change.source, change.target, change.copy, hunks])
    stray = [line for no, line in enumerate(split_lines(text), 1)
             if no not in used and line[:1] in " +-" and not line.startswith(("--- ", "+++ "))]
    entries.sort(key=lambda e: (e[0] or "", e[1] or ""))
    return [entries, stray]


def normalised_key(patch: str, read_file: ReadFile | None = None) -> str:
    """A key under which patches with the same effect on the source files are judged once.

    With `read_file` and a patch that applies exactly: sha256 over the (path, normalised new
    content) of the changed files (`normalise_content`: Python through ast, comments and layout
    dropped; other files as they are; deleted files as None). Otherwise a key over the diff text
    (`_diff_text_items`). Paths the harness puts back (test files, tool configuration) are left
    out of both: they cannot tell two candidates apart.
    """
    text = clean_patch(patch)
    if read_file is not None:
        try:
            changed = apply_in_memory(text, read_file)
        except PatchApplyError:
            pass
        else:
            items = sorted([path, content_digest(path, content)]
                           for path, content in changed.items() if not is_test_path(path))
            return _digest("content", items)
    return _digest("diff", _diff_text_items(text))


def dedup(patches: list[str], read_file: ReadFile | None = None) -> dict[str, list[int]]:
    """Normalised key -> indices of the patches under it, keys and indices in first-seen order."""
    reader = functools.lru_cache(maxsize=None)(read_file) if read_file is not None else None
    groups: dict[str, list[int]] = {}
    for index, patch in enumerate(patches):
        groups.setdefault(normalised_key(patch, reader), []).append(index)
    return groups
