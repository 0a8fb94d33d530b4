"""Which file an edit meant when the name it gives is missing or slightly wrong.

`files` is what the prompt showed the model; only those are candidates, and only a unique one is
taken: a name or a SEARCH text that fits two files is refused (`AmbiguousEditError`), never guessed.
- `resolve_by_name(path, files)`: another case, a missing or extra folder prefix, `a/`/`b/` or `./`
  prefixes, backslashes, the same file name in another folder (tried in that order, strictest first);
- `resolve_by_content(search, read_file, files, active)`: the one shown file holding the SEARCH text.
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional

from swe_monkeys.swebench.edit_blocks import AmbiguousEditError, ReadFile
from swe_monkeys.swebench.edit_matching import holds


def _norm(path: str, given: bool) -> str:
    path = path.replace("\\", "/").strip().strip("/").lower()
    # Only the model's name carries diff prefixes; a repository may well have a folder named "a".
    while given and (path.startswith("./") or (path.startswith(("a/", "b/")) and "/" in path[2:])):
        path = path[2:]
    return path


def _base(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def resolve_by_name(path: str, files: Iterable[str]) -> Optional[str]:
    """The one known file `path` names loosely; None when none does."""
    want = _norm(path, given=True)
    known = [(f, _norm(f, given=False)) for f in dict.fromkeys(files)]
    tiers: list[tuple[str, Callable[[str], bool]]] = [
        ("same name, other case", lambda k: k == want),
        ("a folder prefix missing", lambda k: k.endswith("/" + want)),
        ("a folder prefix too many", lambda k: want.endswith("/" + k)),
        ("same file name, other folder", lambda k: _base(k) == _base(want)),
    ]
    for how, fits in tiers:
        hits = [f for f, k in known if fits(k)]
        if len(hits) == 1:
            return hits[0]
        if hits:
            names = ", ".join(sorted(hits)[:4])
            raise AmbiguousEditError(f"{path}: no such file, and the name fits {len(hits)} files ({how}): {names}")
    return None


def resolve_by_content(search: str, read_file: ReadFile, files: Iterable[str],
                       active: frozenset[str]) -> Optional[str]:
    """The one shown file whose text holds `search` (under the active matching tolerances); None if none."""
    holders = []
    for path in dict.fromkeys(files):
        content = read_file(path)
        if content is not None and holds(content, search, active):
            holders.append(path)
    if len(holders) > 1:
        names = ", ".join(sorted(holders)[:4])
        raise AmbiguousEditError(f"the SEARCH text of an edit with no usable file name is in {len(holders)} "
                                 f"files: {names}")
    return holders[0] if holders else None
