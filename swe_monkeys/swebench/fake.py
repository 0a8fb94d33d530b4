"""Edit-block completions for tests and dry runs of SWE-bench: what a model that fixes an issue writes.

`edit_blocks_for(before, after)` writes the SEARCH/REPLACE blocks that turn one file tree into
another, and `overlay_completion(base, overlay)` does it for an example's overlay folder, so a
FAKE sampler's script (sampling/fake.py) can be made from an example's `fix/` overlay.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Mapping


def _file_blocks(path: str, before: str, after: str) -> list[str]:
    """Blocks with 2 lines of context per change; the whole file when a SEARCH would be ambiguous."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    out = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(2):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        search, replace = "".join(a[i1:i2]), "".join(b[j1:j2])
        if not search.strip() or before.count(search) != 1:
            return [_block(path, before, after)]
        out.append(_block(path, search, replace))
    return out


def _block(path: str, search: str, replace: str) -> str:
    tail = "" if not search or search.endswith("\n") else "\n"
    rtail = "" if not replace or replace.endswith("\n") else "\n"
    return f"### {path}\n<<<<<<< SEARCH\n{search}{tail}=======\n{replace}{rtail}>>>>>>> REPLACE\n"


def edit_blocks_for(before: Mapping[str, str], after: Mapping[str, str], prose: str = "") -> str:
    """A completion whose edit blocks turn the files `before` into `after` (same keys or new files)."""
    blocks = []
    for path in sorted(after):
        old = before.get(path)
        if old == after[path]:
            continue
        blocks += [_block(path, "", after[path])] if old is None else _file_blocks(path, old, after[path])
    return (prose + "\n\n" if prose else "") + "```python\n" + "\n".join(blocks) + "```\n"


def overlay_completion(base_dir: Path, overlay_dir: Path, prose: str = "") -> str:
    """Edit blocks for an example overlay folder (files of `overlay_dir` replacing those of `base_dir`)."""
    after = {str(p.relative_to(overlay_dir)): p.read_text() for p in sorted(Path(overlay_dir).rglob("*"))
             if p.is_file()}
    before = {k: (Path(base_dir) / k).read_text() for k in after if (Path(base_dir) / k).is_file()}
    return edit_blocks_for(before, after, prose)
