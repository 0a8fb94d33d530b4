"""What the sampling phase samples for: a problem is an id and a prompt.

Tasks (SWE-bench, math, code) build Problems from their datasets; `swe-monkeys sample` reads them
from a prompt file, one JSON object a line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from swe_monkeys.errors import SweMonkeysError
from swe_monkeys.jsonl import parse_jsonl
from swe_monkeys.sampling.protocol import Prompt


class ProblemsFileError(SweMonkeysError, ValueError):
    """A prompts file that cannot be read as problems."""


@dataclass(frozen=True)
class Problem:
    id: str
    prompt: Prompt


def load_problems(path: Path) -> list[Problem]:
    """A JSONL (or JSON list) of {"id": ..., "prompt": str | messages | {"text": ...}}. A file that
    cannot be read and an entry that is not a problem are a ProblemsFileError naming the entry."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemsFileError(f"{path}: cannot read ({exc})") from None
    if text.lstrip().startswith("["):
        try:
            rows, unit = list(enumerate(json.loads(text), 1)), "entry"
        except ValueError as exc:
            raise ProblemsFileError(f"{path}: not JSON ({exc})") from None
    else:
        rows, unit = parse_jsonl(text, str(path), ProblemsFileError, unit="line"), "line"
    problems = []
    for number, row in rows:
        if not isinstance(row, dict) or "id" not in row or not ({"prompt", "messages"} & set(row)):
            raise ProblemsFileError(f"{path}: {unit} {number} needs an id and a prompt (or messages)")
        try:
            prompt = Prompt.from_json(row.get("prompt", row.get("messages")))
        except (ValueError, KeyError, TypeError) as exc:  # e.g. a message without a role
            raise ProblemsFileError(f"{path}: {unit} {number}: not a prompt ({exc!s})") from None
        problems.append(Problem(str(row["id"]), prompt))
    if len({p.id for p in problems}) != len(problems):
        raise ProblemsFileError(f"{path}: problem ids are not unique")
    return problems
