"""Cross-run caches in one SQLite file: verdicts by content, gold statuses, flaky-instance records.

A verdict is keyed by (instance, normalised patch hash, image digest, harness version): the same
candidate judged again in any run costs nothing, and any change of the image or of the judging
code (harness, parsers, grading) makes a new key instead of serving a stale verdict.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import threading
import time
from pathlib import Path

from swe_monkeys.paths import cache_dir
from swe_monkeys.types import Verdict

SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (key TEXT PRIMARY KEY, summary TEXT NOT NULL, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS validations (
  instance_id TEXT NOT NULL, image_id TEXT NOT NULL, runs INTEGER NOT NULL,
  gold_resolved INTEGER NOT NULL, empty_resolved INTEGER NOT NULL, flaky INTEGER NOT NULL,
  detail TEXT NOT NULL, created_at REAL NOT NULL, PRIMARY KEY (instance_id, image_id));
CREATE TABLE IF NOT EXISTS gold (key TEXT PRIMARY KEY, record TEXT NOT NULL, created_at REAL NOT NULL);
"""


def verdict_key(instance_id: str, patch_key: str, image_id: str, harness_version: str) -> str:
    return hashlib.sha256("\0".join((instance_id, patch_key, image_id, harness_version)).encode()).hexdigest()


def _set_up(db: sqlite3.Connection, tries: int = 60) -> None:
    """WAL mode and the schema. Several processes opening a new cache at once (verification actors
    on one machine) can meet "database is locked" here: switching to WAL does not wait on SQLite's
    busy timeout, so it is retried."""
    for attempt in range(tries):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(0.05 + random.random() * 0.2)


class VerdictCache:
    """The cache file (default ~/.cache/swe-monkeys/verdicts.sqlite); thread-safe."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else cache_dir() / "verdicts.sqlite"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        _set_up(self._db)

    def get(self, key: str) -> Verdict | None:
        with self._lock:
            row = self._db.execute("SELECT summary FROM verdicts WHERE key = ?", (key,)).fetchone()
        return Verdict.from_summary(json.loads(row[0])) if row else None

    def put(self, key: str, verdict: Verdict) -> None:
        if not verdict.status.is_judgement:
            return  # an infra error is retried next time, never served from the cache
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?)",
                             (key, json.dumps(verdict.summary()), time.time()))

    def get_gold(self, key: str) -> dict | None:
        """The gold patch's per-test statuses recorded under key (instance, image, harness), or None."""
        with self._lock:
            row = self._db.execute("SELECT record FROM gold WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def put_gold(self, key: str, record: dict) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO gold VALUES (?, ?, ?)", (key, json.dumps(record), time.time()))

    def record_validation(self, instance_id: str, image_id: str, runs: int, gold_resolved: int,
                          empty_resolved: int, detail: dict) -> bool:
        """Store a validation; an instance is flaky when gold or empty was not decided the same way every run."""
        flaky = 0 < gold_resolved < runs or 0 < empty_resolved < runs
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO validations VALUES (?,?,?,?,?,?,?,?)",
                             (instance_id, image_id, runs, gold_resolved, empty_resolved, int(flaky),
                              json.dumps(detail), time.time()))
        return flaky

    def is_flaky(self, instance_id: str, image_id: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT flaky FROM validations WHERE instance_id = ? AND image_id = ?",
                                   (instance_id, image_id)).fetchone()
        return bool(row and row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
