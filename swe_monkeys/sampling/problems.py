"""What the sampling phase samples for: a problem is an id and a prompt.

Tasks (SWE-bench, math, code) build Problems from their datasets; `swe-monkeys sample` reads them
from a prompt file, one JSON object a line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from swe_monkeys.sampling.protocol import Prompt
from swe_monkeys.errors import SweMonkeysError


class ProblemsFileError(SweMonkeysError, ValueError):
    """A prompts file that cannot be read as problems."""


@dataclass(frozen=True)
class Problem:
    id: str
    prompt: Prompt


def load_problems(path: Path) -> list[Problem]:
    """A JSONL (or JSON list) of {"id": ..., "prompt": str | messages | {"text": ...}}."""
    text = Path(path).read_text()
    if text.lstrip().startswith("["):
        rows = json.loads(text)
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    problems = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or "id" not in row or not ({"prompt", "messages"} & set(row)):
            raise ProblemsFileError(f"{path}: entry {i + 1} needs an id and a prompt (or messages)")
        problems.append(Problem(str(row["id"]), Prompt.from_json(row.get("prompt", row.get("messages")))))
    if len({p.id for p in problems}) != len(problems):
        raise ProblemsFileError(f"{path}: problem ids are not unique")
    return problems
