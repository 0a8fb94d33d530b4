"""JSON Lines, read one way everywhere: blank lines skipped, and a broken line is one clear error
naming the place and the line number (datasets, task files and imported samples all use this)."""

from __future__ import annotations

import json
from typing import Any


def parse_jsonl(text: str, where: str, error: type[Exception] = ValueError,
                unit: str = "row") -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; `error(f"{where}: {unit} N: ...")` for a bad one."""
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
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
