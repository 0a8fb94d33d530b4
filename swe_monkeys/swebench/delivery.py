"""What a run delivers is what was judged: a selected patch without the paths the harness put back.

Before the tests run, the harness puts back what a candidate may not change (test files, tool
configuration, interpreter start-up hooks...: rules.REVERT_RULES, the test patch's paths, symlinks
leaving the tree) and reports them (`Verdict.reverted`). A resolved verdict was reached without
those changes, so a winner printed or exported with them would deliver edits nobody judged (a
weakened test, a tox.ini that skips a suite). `delivered_patch` drops their file diffs; the caller
says so with `dropped_note`.
"""

from __future__ import annotations

import re

from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from swe_monkeys.swebench.normalise import clean_patch, file_change

_GIT_HEADER = re.compile(r"^diff --git ", re.M)


def _file_texts(text: str, files: PatchSet) -> list[str]:
    """Each file diff's own text. Cut at git's per-file headers where every file has one, so what
    is kept is byte for byte what was applied (unidiff's str() loses a binary diff's payload)."""
    starts = [m.start() for m in _GIT_HEADER.finditer(text)]
    if len(starts) == len(files):
        starts[0] = 0  # anything before the first header goes with the first file
        return [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]
    return [str(pf) for pf in files]


def _why(path: str, whys: dict[str, str]) -> str | None:
    """Why the harness put the path back: it, or a directory above it, is in the reverted list."""
    parts = path.split("/")
    for n in range(len(parts), 0, -1):
        why = whys.get("/".join(parts[:n]))
        if why is not None:
            return why
    return None


def delivered_patch(patch: str, reverted: list[dict]) -> tuple[str, list[tuple[str, str]]]:
    """(the patch without the file diffs of paths the harness put back, [(path, why)] dropped).

    A file diff goes when any of its paths was put back (a rename onto a test file included). With
    nothing put back, the patch comes back unchanged."""
    whys = {item["path"]: item.get("why") or "put back" for item in reverted or ()
            if isinstance(item, dict) and item.get("path")}
    if not whys or not patch.strip():
        return patch, []
    text = clean_patch(patch)
    try:
        files = PatchSet(text)
    except UnidiffParseError:
        return patch, []  # intake refuses it: such a patch never had a verdict to deliver
    kept, dropped = [], []
    for pf, own in zip(files, _file_texts(text, files)):
        hit = next(((p, why) for p in file_change(pf).paths if (why := _why(p, whys)) is not None), None)
        if hit is not None:
            dropped.append(hit)
        else:
            kept.append(own)
    return ("".join(kept), dropped) if dropped else (patch, [])


def dropped_note(dropped: list[tuple[str, str]]) -> str:
    """'2 paths put back by the harness were dropped: tests/test_x.py (test file), tox.ini (...)'."""
    if not dropped:
        return ""
    n = len(dropped)
    listed = ", ".join(f"{path} ({why})" for path, why in dropped)
    return f"{n} path{'s' if n != 1 else ''} put back by the harness {'were' if n != 1 else 'was'} dropped: {listed}"
