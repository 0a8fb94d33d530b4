"""The record of which SWE-bench instances were validated here, and the README's coverage table.

configs/swebench/validation.jsonl holds one row per (instance, spec hash): how often the gold patch
and the empty patch resolved over how many runs, which tests flipped between runs, when, and where
the logs are. A row is only evidence for the spec it was made with, so the hash is part of the key:
a changed spec starts a new row instead of inheriting the old one's verdicts. Pure functions: the
CLI (or a person) decides when to write.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Iterable

from swe_monkeys.paths import CONFIGS

TABLE = CONFIGS / "swebench" / "validation.jsonl"
NOTES = CONFIGS / "swebench" / "notes" / "validation.yaml"  # why an instance is not validated here
FIELDS = ("instance", "spec_hash", "gold_resolved", "runs", "empty_resolved", "empty_runs", "flaky_tests", "date",
          "seconds", "reason", "log_dir")
OPTIONAL = {"flaky_tests": [], "log_dir": "", "empty_runs": None, "seconds": 0.0, "reason": ""}


def spec_hash(spec) -> str:
    """A short hash of everything an EnvSpec says (so any change of the spec makes a new row)."""
    fields = asdict(spec)
    for late in ("instance", "loopback_hosts", "tarpits"):  # fields added later: a spec without
        if not fields.get(late):                            # them hashes as it did before they existed
            fields.pop(late, None)
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:12]


def read_rows(path: Path = TABLE) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_rows(rows: list[dict], path: Path = TABLE) -> None:
    path.write_text("".join(json.dumps({k: row.get(k) for k in FIELDS}) + "\n" for row in rows))


def record_row(row: dict, path: Path = TABLE, replace: bool = False) -> None:
    """Fold one finished row into the table on disk, under a lock and re-read first, so validations
    running at once (other processes, other workers) each keep every row. `replace`: the row
    replaces this spec's old row instead of adding to it (a re-judgement after the harness changed)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rows = read_rows(path)
        if replace:
            rows = [r for r in rows if (r["instance"], r["spec_hash"]) != (row["instance"], row["spec_hash"])]
        tmp = path.with_name(path.name + ".tmp")
        write_rows(merge_rows(rows, [row]), tmp)
        tmp.replace(path)


def merge_rows(rows: list[dict], new: Iterable[dict]) -> list[dict]:
    """Rows with `new` folded in: runs of the same (instance, spec_hash) add up, flaky tests are
    united, the newest date and log_dir win; other rows are kept as they were, in order."""
    out = [dict(row) for row in rows]
    index = {(row["instance"], row["spec_hash"]): i for i, row in enumerate(out)}
    for row in new:
        missing = set(FIELDS) - set(row) - set(OPTIONAL)
        if missing:
            raise ValueError(f"validation row lacks {sorted(missing)}: {row}")
        row = {**OPTIONAL, **row}
        if row["empty_runs"] is None:
            row["empty_runs"] = row["runs"]
        key = (row["instance"], row["spec_hash"])
        if key not in index:
            index[key] = len(out)
            out.append({k: row[k] for k in FIELDS})
            continue
        old = out[index[key]]
        for count in ("gold_resolved", "runs", "empty_resolved", "empty_runs"):
            old[count] = int(old.get(count) or 0) + int(row[count])
        old["seconds"] = round(float(old.get("seconds") or 0) + float(row["seconds"]), 1)
        old["flaky_tests"] = sorted(set(old.get("flaky_tests") or []) | set(row["flaky_tests"]))
        if str(row["date"]) >= str(old["date"]):
            old["date"], old["log_dir"] = row["date"], row["log_dir"] or old.get("log_dir", "")
            old["reason"] = row["reason"]
    return out


def is_validated(row: dict) -> bool:
    """Gold resolved every time and the empty patch never: the instance can tell right from wrong."""
    return (int(row["runs"]) > 0 and int(row["gold_resolved"]) == int(row["runs"])
            and int(row.get("empty_runs", row["runs"]) or 0) > 0 and int(row["empty_resolved"]) == 0)


def done(rows: list[dict], instance: str, spec: str, repeats: int) -> bool:
    """Validated enough already: this spec's row has `repeats` gold runs (decided either way)."""
    return any(r["instance"] == instance and r["spec_hash"] == spec and int(r["runs"]) >= repeats for r in rows)


def coverage_table(rows: list[dict], instances: Iterable[dict], supported: Iterable[tuple[str, str]],
                   current: dict[str, str] | None = None) -> str:
    """The README's markdown table: per repository, instances, how many have a spec, how many were
    validated here. `instances` are dataset rows (repo, version, instance_id); `current` maps an
    instance to its spec's hash today, so rows made with an older spec do not count."""
    have = set(supported)
    total, with_spec, validated = Counter(), Counter(), Counter()
    good = {row["instance"] for row in rows if is_validated(row)
            and (current is None or current.get(row["instance"]) == row["spec_hash"])}
    for inst in instances:
        repo = inst["repo"]
        total[repo] += 1
        with_spec[repo] += (repo, str(inst["version"])) in have
        validated[repo] += inst["instance_id"] in good
    lines = ["| repository | instances | with spec | validated here |", "|---|---:|---:|---:|"]
    lines += [f"| {repo} | {total[repo]} | {with_spec[repo]} | {validated[repo]} |" for repo in sorted(total)]
    lines.append(f"| all | {sum(total.values())} | {sum(with_spec.values())} | {sum(validated.values())} |")
    return "\n".join(lines) + "\n"


def load_notes(path: Path = NOTES) -> dict[str, str]:
    import yaml

    return {str(k): str(v) for k, v in (yaml.safe_load(path.read_text()) or {}).items()} if path.exists() else {}


def exceptions(rows: list[dict], current: dict[str, str], notes: dict[str, str]) -> str:
    """Markdown: the time the current rows took, and each instance whose row for its current spec
    is not validated, with its note (the cause) or else the row's own reason."""
    mine = [row for row in rows if current.get(row["instance"]) == row["spec_hash"]]
    hours = sum(float(row.get("seconds") or 0) for row in mine) / 3600
    lines = [f"\nThe {len(mine)} instances judged with today's specs took {hours:.1f} h of validation on this "
             "machine (the rows' seconds, summed). Not validated here:\n"]
    for row in sorted(mine, key=lambda r: r["instance"]):
        if not is_validated(row):
            why = notes.get(row["instance"]) or " ".join(str(row.get("reason") or "no reason recorded").split())[:200]
            lines.append(f"- `{row['instance']}`: {why}")
    return "\n".join(lines) + "\n"


def coverage_block(done: list[dict], instances: list[dict], current: dict, notes: dict[str, str],
                   overrides: dict | None = None) -> str:
    """The README's generated block: the coverage table and the exceptions, for dataset rows
    `instances`, validation rows `done` and the specs of today (`current`, by (repo, version);
    `overrides`, by instance id, for instances whose spec has an override of its own)."""
    overrides = overrides or {}
    hashes = {r["instance_id"]: spec_hash(overrides.get(r["instance_id"]) or current[(r["repo"], str(r["version"]))])
              for r in instances if (r["repo"], str(r["version"])) in current}
    return coverage_table(done, instances, current, hashes) + exceptions(done, hashes, notes)


MARK_START, MARK_END = "<!-- coverage-table -->", "<!-- /coverage-table -->"


def replace_block(text: str, table: str) -> str:
    """`text` with the block between the coverage-table markers replaced by `table`."""
    start, end = text.find(MARK_START), text.find(MARK_END)
    if start < 0 or end < start:
        raise ValueError(f"no {MARK_START} ... {MARK_END} block to replace")
    return text[:start + len(MARK_START)] + "\n" + table + text[end:]
