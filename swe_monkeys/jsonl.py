"""JSON Lines, read one way everywhere: blank lines skipped, and a broken line (or bytes that are not
UTF-8) is one clear error naming the place and the line number (datasets, task files and imported
samples all use this)."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path
from typing import Any


def read_text(path: Path, error: type[Exception] = ValueError) -> str:
    """A file's text (a .gz unpacked): what cannot be read is `error(f"{path}: cannot read (...)")`."""
    try:
        data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        raise error(f"{path}: cannot read ({exc})") from None
    return decode_utf8(data, str(path), error, unpacked=path.name.endswith(".gz"))


def decode_utf8(data: bytes, where: str, error: type[Exception] = ValueError, unpacked: bool = False) -> str:
    """The bytes as text; bytes that are not UTF-8 are `error(f"{where}: line N: not UTF-8 (byte K: ...)")`
    (decoding with errors="replace" turned them into U+FFFD inside an answer or a prompt, silently)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"{where}: line {line}: not UTF-8 (byte {exc.start}{' of the unpacked text' if unpacked else ''}: "
                    f"{data[exc.start:exc.end]!r}, {exc.reason})") from None


def parse_jsonl(text: str, where: str, error: type[Exception] = ValueError,
                unit: str = "row") -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; `error(f"{where}: {unit} N: ...")` for a bad one.
    Lines end at "\\n" only, as JSON Lines says: str.splitlines also splits at U+2028, U+0085 and
    the like, which JSON allows unescaped inside a string, and so broke a valid row in two."""
    rows = []
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise error(f"{where}: {unit} {number}: not JSON ({getattr(exc, 'msg', exc)})") from None
        if not isinstance(row, dict):
            raise error(f"{where}: {unit} {number}: not a JSON object")
        rows.append((number, row))
    return rows
