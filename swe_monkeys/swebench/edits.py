"""Search/replace edit blocks (the Aider / Agentless answer format) -> a unified diff.

A model answers a repair prompt with blocks like

    ### calc/parser.py
    <<<<<<< SEARCH
    old lines, copied exactly
    =======
    new lines
    >>>>>>> REPLACE

Weak models rarely write that exactly, so `completion_to_patch` recovers what they meant through named
rules (edit_blocks.RULES: marker and fence variants, a wrong or missing file name, tolerant matching,
elided code, diff and whole-file answers), each recorded in `EditOutcome.rules` and each able to be
switched off; a match or a file name that fits two places is refused, never guessed.

Provides
- `parse_edit_blocks(text) -> list[EditBlock]`: the strict grammar, no rule (raises `EditParseError`);
- `extract_edits(text, read_file, files, active) -> (blocks, rules)`: blocks, diffs or whole files;
- `apply_edits(blocks, read_file, files=(), disabled=()) -> (old, new)` in memory (raises `EditApplyError`);
- `unified_diff(old, new)`: `git diff`-shaped text (a/ b/ prefixes) checked with unidiff;
- `completion_to_patch(text, read_file, files=(), disabled=()) -> EditOutcome`: never raises for a bad
  *completion*; a sample that does not parse or apply is a value with its reason (it still counts).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Mapping

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from swe_monkeys.swebench.edit_answers import diff_blocks, whole_file_blocks
from swe_monkeys.swebench.edit_functions import function_blocks
from swe_monkeys.swebench.edit_blocks import (  # noqa: F401 (re-exported: the names callers know)
    RULES, AmbiguousEditError, EditApplyError, EditBlock, EditParseError, MissingFileError, NoEditsError,
    ReadFile, active_rules, ordered,
)
from swe_monkeys.swebench.edit_matching import replace_once
from swe_monkeys.swebench.edit_parsing import drop_repeats, parse_blocks
from swe_monkeys.swebench.edit_paths import resolve_by_content, resolve_by_name


@dataclass(frozen=True)
class EditOutcome:
    """What one completion became.

    `status`: ok / no_edits / parse_error / apply_failed / missing_file (every edit is to a file that
    does not exist, SEARCH non-empty: typically a copy of the prompt's format example) / no_change.
    `rules`: the recovery rules the completion needed (on a failure: those that took it as far as it got).
    """

    status: str
    patch: str = ""
    reason: str = ""
    files: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def parse_edit_blocks(text: str) -> list[EditBlock]:
    """Every SEARCH/REPLACE block of a completion, in order; a block without a path line reuses the last."""
    return parse_blocks(text)[0]


def extract_edits(text: str, read_file: ReadFile, files: Iterable[str],
                  active: frozenset[str]) -> tuple[list[EditBlock], set[str]]:
    """The completion's edits as blocks: SEARCH/REPLACE blocks, else a diff, else whole files, else
    whole functions."""
    try:
        return parse_blocks(text, active)
    except NoEditsError:
        if "diff_answer" in active and (blocks := diff_blocks(text)):
            fired = {"diff_answer"}
            return drop_repeats(blocks, active, fired), fired
        if "whole_file" in active:
            blocks, fired = whole_file_blocks(text, read_file, files, active)
            if blocks:
                return blocks, fired
        if "function_answer" in active and (blocks := function_blocks(text, read_file, files)):
            return blocks, {"function_answer"}
        tried = [what for rule, what in _FALLBACKS if rule in active]
        if not tried:
            raise
        raise NoEditsError("no SEARCH/REPLACE edit block in the completion, nor " + ", nor ".join(tried)) from None


_FALLBACKS = (("diff_answer", "a unified diff"), ("whole_file", "a whole file of the shown ones"),
              ("function_answer", "a fenced function whose name is defined once in the shown files"))


def _target(block: EditBlock, read_file: ReadFile, files: tuple[str, ...], active: frozenset[str],
            edited: Mapping[str, str]) -> tuple[str, set[str]]:
    """The file a block edits and the path rules that needed; raises when it cannot be told."""
    if block.path and (block.path in edited or not block.search.strip() or read_file(block.path) is not None):
        return block.path, set()
    if block.path and "path_by_name" in active and (hit := resolve_by_name(block.path, files)):
        return hit, {"path_by_name"}
    if block.search.strip() and "path_by_content" in active:
        # Against the text as the blocks before left it: a later block may search what an earlier one wrote.
        def current(path: str) -> str | None:
            return edited[path] if path in edited else read_file(path)

        if hit := resolve_by_content(block.search, current, files, active):
            return hit, {"path_by_content"}
    if not block.path:
        raise EditApplyError("an edit block names no file, and its SEARCH text is in none of the files shown")
    raise MissingFileError(f"{block.path}: the file does not exist at the base commit (a copy of the "
                           "prompt's format example?)")


def apply_blocks(blocks: list[EditBlock], read_file: ReadFile, files: Iterable[str] = (),
                 active: frozenset[str] = frozenset(RULES)
                 ) -> tuple[dict[str, str | None], dict[str, str], set[str]]:
    """(old contents, new contents, rules used) of every file the blocks touch; old is None for a new
    file. Blocks apply in order, each to the text the ones before it left."""
    files = tuple(files)
    old: dict[str, str | None] = {}
    new: dict[str, str] = {}
    fired: set[str] = set()
    skipped: list[MissingFileError] = []
    for block in blocks:
        try:
            path, how = _target(block, read_file, files, active, new)
        except MissingFileError as exc:
            if "skip_missing_file" not in active:
                raise
            skipped.append(exc)
            continue
        if path not in old:
            old[path] = read_file(path)
            new[path] = old[path] or ""
        new[path], used = replace_once(new[path], block.search, block.replace, active, path)
        fired |= how | used
    if skipped and not new:
        raise skipped[0]
    return old, new, fired | ({"skip_missing_file"} if skipped else set())


def apply_edits(blocks: list[EditBlock], read_file: ReadFile, files: Iterable[str] = (),
                disabled: Iterable[str] = frozenset()) -> tuple[dict[str, str | None], dict[str, str]]:
    """(old contents, new contents) of every file the blocks touch; old is None for a new file."""
    old, new, _ = apply_blocks(blocks, _cached(read_file), files, active_rules(disabled))
    return old, new


def _cached(read_file: ReadFile) -> ReadFile:
    # Resolving a file name or a SEARCH text reads the shown files again and again (git show each time).
    memo: dict[str, str | None] = {}

    def read(path: str) -> str | None:
        if path not in memo:
            memo[path] = read_file(path)
        return memo[path]
    return read


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


def completion_to_patch(text: str, read_file: ReadFile, *, files: Iterable[str] = (),
                        disabled: Iterable[str] = frozenset()) -> EditOutcome:
    """A model's completion as a patch, or the reason it is none (status not "ok").

    `files`: the paths the prompt showed (for resolving a missing or wrong file name); `disabled`:
    recovery rules to switch off (edit_blocks.RULES; an unknown name raises ValueError).
    """
    active, read, files = active_rules(disabled), _cached(read_file), tuple(files)
    try:
        blocks, fired = extract_edits(text, read, files, active)
    except NoEditsError as exc:
        return EditOutcome("no_edits", reason=str(exc))
    except EditParseError as exc:
        return EditOutcome("parse_error", reason=str(exc))
    except EditApplyError as exc:  # two different whole-file answers for one file
        return EditOutcome("apply_failed", reason=str(exc))
    try:
        old, new, used = apply_blocks(blocks, read, files, active)
    except MissingFileError as exc:
        return EditOutcome("missing_file", reason=str(exc), rules=ordered(fired))
    except EditApplyError as exc:
        return EditOutcome("apply_failed", reason=str(exc), rules=ordered(fired))
    rules = ordered(fired | used)
    try:
        patch = unified_diff(old, new)
    except UnidiffParseError as exc:
        return EditOutcome("parse_error", reason=f"diff not parseable: {exc}", rules=rules)
    if not patch:
        return EditOutcome("no_change", reason="the edits change nothing", rules=rules)
    return EditOutcome("ok", patch=patch, files=tuple(sorted(p for p in new if (old[p] or "") != new[p])),
                       rules=rules)
