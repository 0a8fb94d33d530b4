"""Reading task datasets: JSONL files (gzipped or not) with one clear error per broken row, and the
Hugging Face hub through the optional `datasets` package (online only; offline it says so)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from swe_monkeys.jsonl import parse_jsonl, read_text
from swe_monkeys.tasks import TaskError


def read_rows(path: Path) -> list[dict[str, Any]]:
    """JSON objects of a .jsonl or .jsonl.gz file; a broken line, or one that is not UTF-8, is a
    TaskError naming file and line (of the unpacked text for a .gz)."""
    return [row for _, row in parse_jsonl(read_text(path, TaskError), str(path), TaskError)]


def hub_rows(dataset: str, config: Optional[str], split: str) -> list[dict[str, Any]]:
    try:
        import datasets
    except ImportError:
        raise TaskError(f"loading {dataset} from Hugging Face needs the `datasets` package (pip install "
                        "datasets); or pass a local file") from None
    try:
        return [dict(r) for r in datasets.load_dataset(dataset, config, split=split)]
    except Exception as exc:  # offline, hub down, no cache: one line, not a traceback
        detail = str(exc).splitlines()[0][:200] if str(exc) else "no detail"
        raise TaskError(f"cannot load {dataset} from Hugging Face ({type(exc).__name__}: {detail}); "
                        "offline? pass a local file instead") from None
