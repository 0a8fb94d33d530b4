"""Reading SWE-bench instances and predictions.

Instances: JSON (a list of rows), JSONL or parquet, optionally gzipped, or a directory holding
`test.*` (the layout of shared/data/swe-bench-lite); or `lite` / `verified` / `full` from the
Hugging Face hub through `datasets` (imported only then; offline it says so). Predictions:
SWE-bench's JSONL (`instance_id`, `model_name_or_path`, `model_patch`), any number of lines per
instance. Bad input raises DatasetError naming the file and line; nothing is half-loaded.
"""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path
from typing import Any, Iterable

from swe_monkeys.jsonl import parse_jsonl, read_text
from swe_monkeys.types import Candidate, SWEInstance
from swe_monkeys.errors import SweMonkeysError

SUFFIXES = (".jsonl", ".json", ".parquet")
HF_DATASETS = {"lite": "princeton-nlp/SWE-bench_Lite", "verified": "princeton-nlp/SWE-bench_Verified",
               "full": "princeton-nlp/SWE-bench"}


class DatasetError(SweMonkeysError, ValueError):
    """A file that cannot be read as instances or predictions."""


def _resolve(path: Path) -> Path:
    if path.is_dir():
        for name in ("test.jsonl.gz", "test.jsonl", "test.json.gz", "test.json", "test.parquet"):
            if (path / name).exists():
                return path / name
        raise DatasetError(f"{path}: a directory needs a test.jsonl[.gz] / test.json[.gz] / test.parquet file")
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    return path


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a JSON / JSONL / parquet file (gz allowed)."""
    return [row for _, row in numbered_rows(path)[1]]


def numbered_rows(path: str | Path, unit: str = "row") -> tuple[str, list[tuple[int, dict[str, Any]]]]:
    """(what a number counts, [(number, row)]): in a JSONL file `unit` N is line N of the file (blank
    lines count), in a JSON list or a parquet file row N is the Nth row."""
    path = _resolve(Path(path))
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    if name.endswith(".parquet"):
        try:
            import pyarrow.parquet as pq

            return "row", list(enumerate(pq.read_table(path).to_pylist(), 1))
        except Exception as exc:
            raise DatasetError(f"{path}: not a readable parquet file ({exc})") from exc
    text = _read_text(path)
    if name.endswith(".json"):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise DatasetError(f"{path}: invalid JSON ({exc})") from exc
        if isinstance(data, dict):  # one instance, as `solve instance.json` takes it
            data = [data]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise DatasetError(f"{path}: expected a JSON object or a list of objects")
        return "row", list(enumerate(data, 1))
    return unit, parse_jsonl(text, str(path), DatasetError, unit=unit)


def _read_text(path: Path) -> str:
    """The file's text. Bytes that are not UTF-8 are an error naming their line and byte offset: the
    decoder's message alone leaves the reader counting lines by hand."""
    return read_text(path, DatasetError)


def load_instances(path: str | Path, select: Iterable[str] | None = None) -> list[SWEInstance]:
    """Instances of a file, optionally only those whose id matches one of `select` (ids or globs)."""
    instances = _instances(read_rows(path), str(path))
    if select:
        patterns = list(select)
        chosen = [i for i in instances if any(fnmatch.fnmatchcase(i.instance_id, p) for p in patterns)]
        unknown = [p for p in patterns if not any(fnmatch.fnmatchcase(i.instance_id, p) for i in instances)]
        if unknown:
            raise DatasetError(f"{path}: no instance matches {', '.join(unknown)}")
        instances = chosen
    return instances


def _hub_rows(name: str) -> list[dict[str, Any]]:
    try:
        import datasets
    except ImportError:
        raise DatasetError(f"--dataset {name} needs the `datasets` package (pip install datasets), "
                           "or pass a local instances file") from None
    try:
        return list(datasets.load_dataset(HF_DATASETS[name], split="test"))
    except Exception as exc:  # offline, hub down, no cache: one line, not a traceback
        raise DatasetError(f"cannot load {HF_DATASETS[name]} from Hugging Face ({type(exc).__name__}: "
                           f"{str(exc).splitlines()[0][:200] if str(exc) else 'no detail'}); offline? "
                           "pass a local instances file instead") from None


def dataset_instances(dataset: str) -> list[SWEInstance]:
    """Every instance of a hub name (lite / verified / full) or of a local file or folder."""
    if dataset not in HF_DATASETS:
        return load_instances(Path(dataset))
    return _instances(_hub_rows(dataset), HF_DATASETS[dataset])


def _instances(rows: list[dict[str, Any]], where: str) -> list[SWEInstance]:
    instances = []
    for number, row in enumerate(rows, 1):
        try:
            instances.append(SWEInstance.from_row(row))
        except (ValueError, TypeError) as exc:
            raise DatasetError(f"{where}: row {number}: {exc}") from exc
    return instances


def load_predictions(path: str | Path) -> list[Candidate]:
    """Predictions, numbered per instance in file order (index 0, 1, ... for each instance).

    A row without a `model_patch` string (missing or null) is an error naming its line, not an empty
    patch: judged as empty it would count as a failed candidate and hide a broken file (an empty
    patch is written ""). A file without predictions is an error too: a run of nothing would pass
    for a result, and would drop the candidates of the run it was pointed at."""
    seen: dict[str, int] = {}
    out = []
    unit, rows = numbered_rows(path, unit="line")
    for number, row in rows:
        instance_id = row.get("instance_id")
        patch = row.get("model_patch")
        if not isinstance(instance_id, str) or not instance_id:
            raise DatasetError(f"{path}: {unit} {number}: missing instance_id")
        if patch is None:
            raise DatasetError(f"{path}: {unit} {number}: no model_patch (null or missing; an empty patch is \"\")")
        if not isinstance(patch, str):
            raise DatasetError(f"{path}: {unit} {number}: model_patch must be a string")
        index = seen.get(instance_id, 0)
        seen[instance_id] = index + 1
        out.append(Candidate(problem_id=instance_id, content=patch, index=index,
                             model=str(row.get("model_name_or_path") or "")))
    if not out:
        raise DatasetError(f"{path}: no predictions (SWE-bench JSONL: instance_id, model_name_or_path, model_patch)")
    return out
