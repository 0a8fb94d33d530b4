"""Canonical forms for patch intake and deduplication: model output -> diff text, diff header
-> repository paths (and whether a candidate may write them), file content -> a form without
what cannot change behaviour.

Provides `clean_patch`, `split_lines`, `diff_path`, `file_change` (a unidiff file entry as
`FileChange`), `refusal` / `created_symlinks` (paths no apply strategy may see),
`normalise_content` and its remembered `content_digest`. `patches.py` builds intake, in-memory
application and the dedup keys on top of these.
"""

from __future__ import annotations

import ast
import hashlib
import re
import threading
from typing import NamedTuple

FENCE = "```"
# git writes every header line with "\n"; a header ending in "\r\n" means the whole text went
# through a CRLF conversion (a Windows clipboard, an API), and no hunk would match an LF tree.
_CRLF_HEADER = re.compile(r"^(diff --git |--- |\+\+\+ |@@ ).*\r\n", re.MULTILINE)
_GIT_ESCAPES = {b"a": b"\a", b"b": b"\b", b"t": b"\t", b"n": b"\n", b"v": b"\v", b"f": b"\f",
                b"r": b"\r", b'"': b'"', b"\\": b"\\"}


def split_lines(text: str) -> list[str]:
    """Lines with their "\\n" kept, split on "\\n" only.

    str.splitlines would also split on form feeds and other separators that Python sources
    contain, and then no hunk would match the file it was made from.
    """
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def _diff_start(lines: list[str]) -> int | None:
    """Index of the first line that opens a file diff, or None."""
    for i, line in enumerate(lines):
        if line.startswith("diff --git "):
            return i
        # "--- " alone could be prose (a markdown rule, a bullet); a real header has "+++ " next.
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            return i
    return None


def _unfence(text: str) -> str:
    """The diff-bearing parts of markdown-fenced model output; `text` itself when unfenced.

    Fence lines must start at column 0: a diff line never does (it starts with " ", "+", "-"),
    so a fence inside a changed markdown file ("+```python") is not taken for one.
    """
    lines = split_lines(text)
    fences = [i for i, line in enumerate(lines) if line.startswith(FENCE)]
    if not fences:
        return text
    bounds = [-1, *fences, len(lines)]
    segments = [lines[a + 1:b] for a, b in zip(bounds, bounds[1:])]
    # Odd segments lie inside fences. Prefer those; a lone closing fence (the model's prompt
    # opened it) leaves the diff in an even segment, which is taken when no fenced one has a diff.
    fenced = [s for s in segments[1::2] if _diff_start(s) is not None]
    chosen = fenced or [s for s in segments if _diff_start(s) is not None]
    if not chosen:
        # Fences around nothing ("```diff\n```") are a model's way of saying "no change".
        return "" if not "".join(map("".join, segments)).strip() else text
    blocks = ["".join(s) for s in chosen]
    return "".join(b if b.endswith("\n") else b + "\n" for b in blocks)


def clean_patch(text: str) -> str:
    """The diff inside typical model output; idempotent, and byte-identical for a clean diff.

    Removes markdown fences (``` / ```diff) and the text outside them, prose before the first
    file header, CRLF line endings when the headers carry them, and adds a missing final newline.
    Nothing else changes: whitespace inside hunks is the tree's, and git apply is exact about it.
    """
    if _CRLF_HEADER.search(text):
        text = text.replace("\r\n", "\n")
    lines = split_lines(_unfence(text))
    start = _diff_start(lines)
    if start is not None:
        lines = lines[start:]
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"  # even a blank-looking tail: " " is the context line of an empty line
    return "".join(lines)


def _unquote(body: str) -> str:
    """Undo git's C-style quoting of a path ("a/caf\\303\\251.py" -> "a/café.py")."""

    def one(match: re.Match[bytes]) -> bytes:
        esc = match.group(1)
        return bytes([int(esc, 8) & 0xFF]) if len(esc) == 3 else _GIT_ESCAPES.get(esc, esc)

    raw = re.sub(rb"\\([0-7]{3}|.)", one, body.encode("utf-8", "surrogateescape"), flags=re.DOTALL)
    return raw.decode("utf-8", "replace")


def diff_path(name: str | None, prefixed: bool = True) -> str | None:
    """The repository path a diff header names; None for /dev/null (an absent side).

    `prefixed` strips git's "a/" / "b/" (header lines); "rename from" lines carry no prefix.
    """
    if name is None:
        return None
    name = name.rstrip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = _unquote(name[1:-1])
    if name == "/dev/null":
        return None
    return name[2:] if prefixed and name[:2] in ("a/", "b/") else name


class FileChange(NamedTuple):
    """One file entry of a diff, in repository paths (None: the side is /dev/null)."""

    source: str | None
    target: str | None
    copy: bool  # "copy from/to": the source stays
    binary: bool

    @property
    def paths(self) -> list[str]:
        return list(dict.fromkeys(p for p in (self.source, self.target) if p is not None))


def file_change(pf) -> FileChange:
    """Paths of a unidiff PatchedFile; git's rename/copy lines win over the ambiguous header."""
    source, target, copy = diff_path(pf.source_file), diff_path(pf.target_file), False
    for line in pf.patch_info or ():
        for word in ("rename", "copy"):
            if line.startswith(f"{word} from "):
                source, copy = diff_path(line[len(word) + 6:], prefixed=False), word == "copy"
            elif line.startswith(f"{word} to "):
                target = diff_path(line[len(word) + 4:], prefixed=False)
    return FileChange(source, target, copy, bool(pf.is_binary_file))


MAX_PATH_CHARS = 512


def _unsafe_path(path: str) -> str | None:
    """Why a path may not be written by a candidate, or None."""
    if not path:
        return "a file header names no path"
    if len(path) > MAX_PATH_CHARS or any(c in path for c in "\n\r\0"):
        return f"path {path[:80]!r}... is too long or holds a line break"
    if path.startswith("/"):
        return f"absolute path {path!r}"
    parts = path.split("/")
    if ".." in parts:
        return f"path {path!r} leaves the repository"
    if ".git" in parts:
        return f"path {path!r} is inside .git (git runs its hooks and config commands as root)"
    return None


def refusal(pf, change: FileChange, symlinks: set[str]) -> str | None:
    """Why one file entry may not be applied at all, or None.

    git apply refuses all of these, but `patch` (the apply chain's last resort) follows them out
    of the checkout: they are refused here, before any strategy gets a chance to.
    """
    named = {*change.paths, diff_path(pf.source_file), diff_path(pf.target_file)} - {None}
    for path in sorted(named) or [""]:
        problem = _unsafe_path(path) or next(
            (f"path {path!r} lies beneath {link!r}, a symlink the same patch creates"
             for link in symlinks if path.startswith(link + "/")), None)
        if problem:
            return problem
    return None


def created_symlinks(files, changes: list[FileChange]) -> set[str]:
    """Paths a diff creates as symlinks (git mode 120000)."""
    modes = ("new file mode 120000", "new mode 120000")
    return {c.target for pf, c in zip(files, changes)
            if c.target and any(line.startswith(modes) for line in pf.patch_info or ())}


AST_LOCK = threading.Lock()


def normalise_content(path: str, content: str | None) -> str | None:
    """A file's content without what cannot change what runs, so equal behaviour gets one key.

    Two candidates under one key share one verdict, so the key must be computed on what will
    actually run: Python files go through ast (comments and layout vanish there), parsed from
    their *bytes* so that a PEP 263 coding cookie is honoured as Python honours it (a
    `unicode_escape` cookie turns a comment into code: read as text, that code would vanish from
    the key and share gold's verdict). Docstrings stay: they are `__doc__` at run time (click's
    help text, doctests). A Python file that does not parse, and every other file, is kept as it
    is: whitespace in a data file or a template can be what a test compares.
    """
    if content is None:
        return None
    if path.endswith(".py"):
        try:
            # One thread at a time: CPython 3.11's ast is not thread-safe (concurrent parses in the
            # sampling threads raise "SystemError: AST constructor recursion depth mismatch").
            with AST_LOCK:
                return ast.unparse(ast.parse(content.encode("utf-8", "surrogatepass")))
        # A cookie naming an unknown codec, null bytes and lone surrogates raise ValueError or
        # LookupError, hostile nesting RecursionError: keep the text itself, never crash intake.
        except (SyntaxError, ValueError, LookupError, RecursionError, MemoryError):
            pass
    return content


# sha256 of (path, content) -> digest of its normalised form. Duplicate candidates produce the
# same new contents, and ast round trips of a 100 kB module take ~0.1 s each: 250 of them add up.
_DIGESTS: dict[str, str | None] = {}


def content_digest(path: str, content: str | None) -> str | None:
    """sha256 of `normalise_content(path, content)`, remembered across calls; None stays None."""
    if content is None:
        return None
    seen = hashlib.sha256(f"{path}\0{content}".encode("utf-8", "surrogatepass")).hexdigest()
    if seen not in _DIGESTS:
        if len(_DIGESTS) >= 4096:
            _DIGESTS.clear()  # bounded: a long verify run must not grow without limit
        _DIGESTS[seen] = hashlib.sha256(normalise_content(path, content).encode(
            "utf-8", "surrogatepass")).hexdigest()
    return _DIGESTS[seen]
