"""Instances for `solve` and `sweep`, the sweep's coverage table and its predictions export.

- `resolve_instances(dataset, select)`: `lite` / `verified` / `full` from Hugging Face `datasets`
  (imported only then; offline it says so), or a local JSON/JSONL/parquet file or folder; `select`
  holds ids, globs or a Python slice of the dataset order ("0:10").
- `coverage_table(store)`: per instance samples, valid edits, unique patches, resolved, covered,
  and whether the oracle-free pick (selection.py) is right.
- `export_predictions(store, path)`: SWE-bench predictions JSONL, one selected patch per instance.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any, Iterable

from swe_monkeys.store.run_store import RunStore
from swe_monkeys.swebench.dataset import DatasetError, load_instances
from swe_monkeys.swebench.selection import select
from swe_monkeys.types import SWEInstance

HF_DATASETS = {"lite": "princeton-nlp/SWE-bench_Lite", "verified": "princeton-nlp/SWE-bench_Verified",
               "full": "princeton-nlp/SWE-bench"}
_SLICE = re.compile(r"^(-?\d*):(-?\d*)$")


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


def resolve_instances(dataset: str, select_: Iterable[str] = ()) -> list[SWEInstance]:
    """The chosen instances of a dataset name or file, in dataset order."""
    patterns = [p for p in select_ if p]
    slices = [p for p in patterns if _SLICE.match(p)]
    globs = [p for p in patterns if not _SLICE.match(p)]
    if dataset in HF_DATASETS:
        where, instances = HF_DATASETS[dataset], []
        for number, row in enumerate(_hub_rows(dataset), 1):
            try:
                instances.append(SWEInstance.from_row(row))
            except (ValueError, TypeError) as exc:
                raise DatasetError(f"{where}: row {number}: {exc}") from exc
    else:
        where, instances = dataset, load_instances(Path(dataset))
    unknown = [g for g in globs if not any(fnmatch.fnmatchcase(i.instance_id, g) for i in instances)]
    if unknown:
        raise DatasetError(f"{where}: no instance matches {', '.join(unknown)}")
    if patterns:  # the union of what the ids/globs and the slices select, in dataset order
        chosen = {i.instance_id for i in instances if any(fnmatch.fnmatchcase(i.instance_id, g) for g in globs)}
        for s in slices:
            a, b = _SLICE.match(s).groups()
            chosen |= {i.instance_id for i in instances[slice(int(a) if a else None, int(b) if b else None)]}
        instances = [i for i in instances if i.instance_id in chosen]
    if not instances:
        raise DatasetError(f"{dataset}: no instances selected")
    return instances


def coverage_table(store: RunStore) -> list[dict[str, Any]]:
    """One row per instance: what was sampled, what the oracle says, and what selection picked."""
    picks = select(store)
    verdicts = store.verdicts()
    ids = {(c.instance_id, c.index): cid for cid, c in store.candidates()}
    stats: dict[str, dict[str, Any]] = {}
    for row in store.sample_table():
        s = stats.setdefault(row["problem_id"], {"valid": 0, "keys": set(), "verified": 0})
        meta = row["meta"] or {}
        s["valid"] += meta.get("edit_status") == "ok"
        s["verified"] += row["status"] is not None
        if meta.get("patch_key"):
            s["keys"].add(meta["patch_key"])
    rows = []
    for instance_id, sel in picks.items():
        s = stats.get(instance_id, {"valid": 0, "keys": set(), "verified": 0})
        picked = None
        if sel.candidate is not None:
            v = verdicts.get(ids[(instance_id, sel.candidate.index)])
            picked = bool(v and v.resolved)
        rows.append({"instance_id": instance_id, "samples": sel.samples, "valid": s["valid"],
                     "unique": len(s["keys"]), "verified": s["verified"], "resolved": sel.resolved,
                     "covered": sel.covered, "picked": None if sel.candidate is None else sel.candidate.index,
                     "cluster": sel.cluster, "filtered": sel.filtered, "picked_resolved": picked})
    return rows


def export_predictions(store: RunStore, path: Path, model_name: str = "") -> int:
    """Write SWE-bench predictions (the selected patch; "" when none survived); returns the lines."""
    model = model_name or str(store.get_meta("model") or "swe-monkeys")
    picks = select(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for instance_id, sel in picks.items():
            f.write(json.dumps({"instance_id": instance_id, "model_name_or_path": model,
                                "model_patch": sel.candidate.patch if sel.candidate else ""}) + "\n")
    return len(picks)
