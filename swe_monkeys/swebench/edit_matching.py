"""Where a block's SEARCH text goes in a file, tolerant of how weak models copy code.

`replace_once(content, search, replace, active, where) -> (new content, rules used)` tries the exact
text first, then each active tolerance in turn (all of them ignore trailing whitespace):
`trailing_whitespace`, `indentation` (one uniform offset; REPLACE is shifted by it), `blank_lines`
(blank lines anywhere ignored), then `elision` ("..." lines splitting SEARCH and REPLACE the same way).
The first tolerance that finds the text anywhere decides: one place is applied, two or more are
refused, since the next looser tolerance could only find more places, never fewer.
"""

from __future__ import annotations

import re
from typing import Callable, Optional

from swe_monkeys.swebench.edit_blocks import AmbiguousEditError, EditApplyError

# A line that stands for code left out: "...", "# ... rest of code ...", "// existing code".
_ELIDED = re.compile(r"^\s*(?:\.\.\.|…|(?:#|//)\s*.*(?:\.\.\.|…).*|"
                     r"(?:#|//)\s*(?:the\s+)?(?:rest of|existing|remaining|unchanged)\b.*)$", re.I)

Offset = tuple[str, int]  # (whitespace, +1: the file has it in front of SEARCH's lines; -1: SEARCH has it extra)
Hit = tuple[int, int, Offset]  # file lines [start, end) and the indentation offset


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def _offset(have: str, want: str) -> Optional[Offset]:
    """How `want` (a SEARCH line) is indented against `have` (a file line), both right-stripped."""
    if have.lstrip() != want.lstrip():
        return None
    h, w = _indent(have), _indent(want)
    if h == w:
        return ("", 0)
    if h.endswith(w):
        return (h[:len(h) - len(w)], 1)
    if w.endswith(h):
        return (w[:len(w) - len(h)], -1)
    return None


def _same_offset(pairs: list[tuple[str, str]]) -> Optional[Offset]:
    """The one offset every (file line, SEARCH line) pair shares; blank lines must pair with blank lines."""
    shared = None
    for have, want in pairs:
        if not have.strip() or not want.strip():
            if have.strip() or want.strip():
                return None
            continue
        off = _offset(have, want)
        if off is None or (shared is not None and off != shared):
            return None
        shared = off
    return shared or ("", 0)


def _trailing(have: list[str], want: list[str]) -> list[Hit]:
    n = len(want)
    return [(k, k + n, ("", 0)) for k in range(len(have) - n + 1) if have[k:k + n] == want]


def _indentation(have: list[str], want: list[str]) -> list[Hit]:
    n, first = len(want), next((t for t, line in enumerate(want) if line.strip()), 0)
    hits = []
    for k in range(len(have) - n + 1):
        if have[k + first].lstrip() != want[first].lstrip():
            continue  # cheap rejection before the line-by-line check
        off = _same_offset(list(zip(have[k:k + n], want)))
        if off and off[0]:
            hits.append((k, k + n, off))
    return hits


def _blank_lines(have: list[str], want: list[str], shift: bool) -> list[Hit]:
    where = [n for n, line in enumerate(have) if line.strip()]
    solid = [line for line in want if line.strip()]
    m, hits = len(solid), []
    for s in range(len(where) - m + 1):
        if have[where[s]].lstrip() != solid[0].lstrip():
            continue
        off = _same_offset([(have[where[s + t]], solid[t]) for t in range(m)])
        if off and (shift or not off[0]):
            hits.append((where[s], where[s + m - 1] + 1, off))
    return hits


def _reindent(text: str, off: Offset) -> str:
    pad, sign = off
    if not pad:
        return text
    out = []
    for line in text.splitlines(keepends=True):
        if not line.strip():
            out.append(line)
        elif sign > 0:
            out.append(pad + line)
        else:
            out.append(line[len(pad):] if line.startswith(pad) else line.lstrip(" \t"))
    return "".join(out)


def _trim_blank_edges(search: str, replace: str) -> str:
    """REPLACE without the blank lines at its edges that SEARCH had too (they matched nothing)."""
    s, r = search.splitlines(keepends=True), replace.splitlines(keepends=True)

    def blanks(lines: list[str]) -> int:
        return next((n for n, line in enumerate(lines) if line.strip()), len(lines))

    head = min(blanks(s), blanks(r))
    tail = min(blanks(s[::-1]), blanks(r[::-1]), len(r) - head)
    return "".join(r[head:len(r) - tail])


def _tiers(active: frozenset[str]) -> list[tuple[str, str, Callable[[list[str], list[str]], list[Hit]]]]:
    tiers = [("trailing_whitespace", "ignoring trailing spaces", _trailing),
             ("indentation", "ignoring indentation", _indentation),
             ("blank_lines", "ignoring blank lines",
              lambda have, want: _blank_lines(have, want, "indentation" in active))]
    return [tier for tier in tiers if tier[0] in active]


def replace_once(content: str, search: str, replace: str, active: frozenset[str],
                 where: str) -> tuple[str, set[str]]:
    """`content` with SEARCH replaced at its one place, and the matching rules that needed."""
    if not search.strip():
        return (replace + content if not content.strip() else content + replace), set()
    count = content.count(search)
    if count == 1:
        return content.replace(search, replace, 1), set()
    if count > 1:
        raise AmbiguousEditError(f"{where}: SEARCH text occurs {count} times; it must be unique")
    if not content.endswith("\n") and (content + "\n").endswith(search):
        # An exact copy of a last line that has no newline: a block cannot say "no newline".
        return content[:len(content) + 1 - len(search)] + replace, set()
    lines = content.splitlines(keepends=True)
    # Every tolerance ignores trailing whitespace, unless that rule itself is off.
    cut = str.rstrip if "trailing_whitespace" in active else (lambda line: line.rstrip("\r\n"))
    have, want = [cut(line) for line in lines], [cut(line) for line in search.splitlines()]
    for rule, how, find in _tiers(active):
        hits = find(have, want)
        if len(hits) > 1:
            raise AmbiguousEditError(f"{where}: SEARCH text occurs {len(hits)} times ({how}): {_first(search)!r}...")
        if hits:
            start, end, off = hits[0]
            used = {rule} | ({"indentation"} if off[0] else set())
            new = _trim_blank_edges(search, replace) if rule == "blank_lines" else replace
            return "".join(lines[:start]) + _reindent(new, off) + "".join(lines[end:]), used
    if "elision" in active:
        elided = _replace_elided(content, search, replace, active, where)
        if elided is not None:
            return elided
    raise EditApplyError(f"{where}: SEARCH text not found: {_first(search)!r}...")


def holds(content: str, search: str, active: frozenset[str]) -> bool:
    """Whether SEARCH is in `content` at least once under the active tolerances."""
    try:
        replace_once(content, search, search, active, "")
    except AmbiguousEditError:
        return True
    except EditApplyError:
        return False
    return True


def _first(search: str) -> str:
    return search.strip().splitlines()[0][:60]


def is_elision(line: str) -> bool:
    """Whether a line stands for code left out ("...", "# ... rest of code ...")."""
    return bool(_ELIDED.match(line.strip()))


def _split_elided(text: str) -> tuple[list[str], list[str]]:
    """(pieces between elision lines, the elision lines stripped)."""
    pieces, marks, current = [], [], []
    for line in text.splitlines(keepends=True):
        if is_elision(line):
            pieces.append("".join(current))
            marks.append(line.strip())
            current = []
        else:
            current.append(line)
    return pieces + ["".join(current)], marks


def _replace_elided(content: str, search: str, replace: str, active: frozenset[str],
                    where: str) -> Optional[tuple[str, set[str]]]:
    s_pieces, s_marks = _split_elided(search)
    r_pieces, r_marks = _split_elided(replace)
    if not s_marks or s_marks != r_marks:
        return None  # no elision, or SEARCH and REPLACE elide differently: the pieces do not pair
    used, inner = {"elision"}, active - {"elision"}
    for s, r in zip(s_pieces, r_pieces):
        if not s.strip():
            if r.strip():
                raise EditApplyError(f"{where}: REPLACE adds lines beside '...' with no SEARCH lines to place them")
            continue
        content, more = replace_once(content, s, r, inner, where)
        used |= more
    return content, used
