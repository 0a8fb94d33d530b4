"""The run store: one SQLite file per run directory holding problems, candidates and verdicts.

Every write is its own transaction (WAL journal), so a process killed at any point loses at most
the candidate it was working on, and the next run continues from what is recorded. Phases talk
only through this file: sampling appends candidates, verifying appends verdicts, reporting reads.
One vocabulary for every task: a problem (`problem_id`, its TaskProblem as JSON), a candidate's
`content`, and the meta keys `extract_status` / `extract_reason` / `content_key`. Stores written
before that (SWE-bench runs had an `instances` table and `edit_status` / `patch_key` metas) are
migrated when opened.

A full disk stops the run before SQLite meets it: a write is refused, with one clear error, when the
run's file system has less than SWE_MONKEYS_MIN_FREE_MB (64) free (looked at every 2 s of writing);
and a write SQLite itself finds no room for ("database or disk is full") is rolled back and becomes
the same error. Either way what was committed before stays, and the same command continues once
there is room. Opening a store checks it (`PRAGMA quick_check`): a damaged file is an error naming
it, never a run that silently misses rows.

A resolved verdict of a task with a flagger (FLAGGERS) is stored with the flags that task's static
reading of the candidate found (SWE-bench: swebench/tamper_flags.py, runtime-tampering primitives
the patch adds) in `verdicts.flags`, a JSON list: a signal shown beside the verdict, never part of
it. NULL means not read (not resolved, a task without a flagger, or a store written before the
column, which opening adds).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from swe_monkeys.errors import SweMonkeysError
from swe_monkeys.registry import Registry
from swe_monkeys.types import Candidate, Verdict

# Task name -> "module:function" (candidate content -> flags with `to_json()`), imported only when a
# verdict of that task resolves: `import swe_monkeys` stays light.
FLAGGERS = Registry("flagger", {"swebench": "swe_monkeys.swebench.tamper_flags:flag_patch"})

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS problems (
  problem_id TEXT PRIMARY KEY, row TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS candidates (
  id INTEGER PRIMARY KEY,
  problem_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  model TEXT NOT NULL DEFAULT '',
  content TEXT NOT NULL,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  seconds REAL NOT NULL DEFAULT 0,
  meta TEXT NOT NULL DEFAULT '{}',
  created_at REAL NOT NULL,
  UNIQUE (problem_id, idx));
CREATE TABLE IF NOT EXISTS verdicts (
  candidate_id INTEGER PRIMARY KEY REFERENCES candidates(id),
  status TEXT NOT NULL,
  resolved INTEGER NOT NULL,
  summary TEXT NOT NULL,
  dedup_key TEXT NOT NULL DEFAULT '',
  log_path TEXT NOT NULL DEFAULT '',
  seconds REAL NOT NULL DEFAULT 0,
  created_at REAL NOT NULL,
  flags TEXT);
"""


MIN_FREE_ENV = "SWE_MONKEYS_MIN_FREE_MB"
FREE_CHECK_EVERY_S = 2.0


class StoreFull(SweMonkeysError):
    """No room left (or too little) under a run store: nothing half-written, the same command continues."""


class StoreDamaged(SweMonkeysError):
    """A run store SQLite finds damaged."""


def min_free_bytes() -> int:
    return int(float(os.environ.get(MIN_FREE_ENV, "64")) * 2**20)


class RunStore:
    """A run directory: `run.sqlite` plus `logs/`. Safe to share between threads."""

    FILENAME = "run.sqlite"

    def __init__(self, run_dir: str | Path):
        self.dir = Path(run_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "logs").mkdir(exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.dir / self.FILENAME, check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            problems = [row[0] for row in self._db.execute("PRAGMA quick_check")]
        except sqlite3.OperationalError:  # locked, or no room: not damage
            self._db.close()
            raise
        except sqlite3.DatabaseError as exc:  # SQLITE_CORRUPT, SQLITE_NOTADB
            problems = [str(exc)]
        if problems != ["ok"]:
            self._db.close()
            raise StoreDamaged(f"{self.dir / self.FILENAME} is damaged (SQLite: {'; '.join(problems[:3])}): "
                               "copy what it holds with `sqlite3 FILE .recover` or start a new run")
        self._free_checked = 0.0
        with self._full_is_an_error():
            _migrate(self._db)
            self._db.executescript(SCHEMA)
            _add_flags_column(self._db)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._full_is_an_error():
            self._check_free()
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _check_free(self) -> None:
        now = time.monotonic()
        if now - self._free_checked < FREE_CHECK_EVERY_S:
            return
        free, need = shutil.disk_usage(self.dir).free, min_free_bytes()
        if free < need:
            raise StoreFull(f"{self.dir}: {free / 2**20:.1f} MiB free, under the {need / 2**20:.0f} MiB a run keeps "
                            f"in hand ({MIN_FREE_ENV}); what was recorded is kept: make room and run the same "
                            "command to continue")
        self._free_checked = now

    @contextmanager
    def _full_is_an_error(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.OperationalError as exc:
            if "full" not in str(exc):
                raise
            raise StoreFull(f"{self.dir}: no room left (SQLite: {exc}); the write was undone and what was "
                            "recorded before is kept: make room and run the same command to continue") from None

    def _query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- meta ---------------------------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    # -- problems: TaskProblem.to_json() rows (a SWE-bench problem's data is its instance row) -------
    def add_problems(self, rows: list[dict[str, Any]]) -> None:
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO problems VALUES (?, ?)", [(r["id"], json.dumps(r)) for r in rows])

    def problems(self) -> list[dict[str, Any]]:
        return [json.loads(r[0]) for r in self._query("SELECT row FROM problems ORDER BY rowid")]

    # -- candidates ---------------------------------------------------------------------------
    def add_candidate(self, candidate: Candidate, *, prompt_tokens: int = 0, completion_tokens: int = 0,
                      seconds: float = 0.0, meta: dict | None = None) -> int:
        """Record a candidate at (problem, index); re-adding the same index keeps the first."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO candidates (problem_id, idx, model, content, prompt_tokens,"
                " completion_tokens, seconds, meta, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (candidate.problem_id, candidate.index, candidate.model, candidate.content, prompt_tokens,
                 completion_tokens, seconds, json.dumps(meta or {}), time.time()))
            row = db.execute("SELECT id FROM candidates WHERE problem_id = ? AND idx = ?",
                             (candidate.problem_id, candidate.index)).fetchone()
        return int(row[0])

    def update_candidate_meta(self, candidate_id: int, extra: dict[str, Any]) -> None:
        """Merge keys into one candidate's meta (a reward score added after sampling)."""
        with self._tx() as db:
            row = db.execute("SELECT meta FROM candidates WHERE id = ?", (candidate_id,)).fetchone()
            if row is None:
                raise KeyError(f"no candidate {candidate_id}")
            db.execute("UPDATE candidates SET meta = ? WHERE id = ?",
                       (json.dumps({**json.loads(row[0]), **extra}), candidate_id))

    def candidate_metas(self, ids: Any = None) -> dict[int, dict[str, Any]]:
        """Candidate id -> meta, for all candidates or only those in `ids`."""
        if ids is None:
            return {r[0]: json.loads(r[1]) for r in self._query("SELECT id, meta FROM candidates")}
        ids, out = list(ids), {}
        for start in range(0, len(ids), 500):  # SQLite caps the parameters of one statement
            chunk = ids[start:start + 500]
            rows = self._query(f"SELECT id, meta FROM candidates WHERE id IN ({','.join('?' * len(chunk))})",
                               tuple(chunk))
            out.update((r[0], json.loads(r[1])) for r in rows)
        return out

    def remove_candidates(self, ids: list[int]) -> None:
        """Forget candidates (and their verdicts): a predictions file whose line changed no longer has them."""
        with self._tx() as db:
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                marks = ",".join("?" * len(chunk))
                db.execute(f"DELETE FROM verdicts WHERE candidate_id IN ({marks})", tuple(chunk))
                db.execute(f"DELETE FROM candidates WHERE id IN ({marks})", tuple(chunk))

    def next_index(self, problem_id: str) -> int:
        rows = self._query("SELECT COALESCE(MAX(idx) + 1, 0) FROM candidates WHERE problem_id = ?", (problem_id,))
        return int(rows[0][0])

    def candidates(self, *, unverified_only: bool = False) -> list[tuple[int, Candidate]]:
        sql = ("SELECT c.id, c.problem_id, c.idx, c.model, c.content FROM candidates c"
               + (" LEFT JOIN verdicts v ON v.candidate_id = c.id WHERE v.candidate_id IS NULL" if unverified_only
                  else "") + " ORDER BY c.problem_id, c.idx")
        return [(r[0], Candidate(problem_id=r[1], index=r[2], model=r[3], content=r[4])) for r in self._query(sql)]

    # -- verdicts -----------------------------------------------------------------------------
    def add_verdict(self, candidate_id: int, verdict: Verdict, *, dedup_key: str = "") -> str:
        """Record a verdict (and its log beside the store); infra errors are kept but retried later.

        Returns the log's absolute path ("" without a log); a verdict served from the cross-run
        cache carries the path of the log it was judged with (`log_ref`) instead of a log."""
        log_path = verdict.log_ref
        if verdict.log:
            path = self.dir / "logs" / f"{candidate_id}.log"
            path.write_text(verdict.log, errors="replace")
            log_path = str(path.resolve())
        flags = self._flags(candidate_id) if verdict.resolved else None
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO verdicts (candidate_id, status, resolved, summary, dedup_key, log_path,"
                       " seconds, created_at, flags) VALUES (?,?,?,?,?,?,?,?,?)",
                       (candidate_id, verdict.status.value, int(verdict.resolved), json.dumps(verdict.summary()),
                        dedup_key, log_path, verdict.seconds, time.time(),
                        None if flags is None else json.dumps(flags)))
        return log_path

    def _flags(self, candidate_id: int) -> list[dict[str, Any]] | None:
        """The run's task's static flags on a resolved candidate's content (None: the task has no flagger)."""
        task = self.get_meta("task")
        if task not in FLAGGERS.names():
            return None
        rows = self._query("SELECT content FROM candidates WHERE id = ?", (candidate_id,))
        return [flag.to_json() for flag in FLAGGERS.get(task)(rows[0][0])] if rows else None

    def drop_infra_errors(self) -> int:
        """Forget infra-error verdicts so that the next verify retries those candidates."""
        with self._tx() as db:
            return db.execute("DELETE FROM verdicts WHERE status = 'infra_error'").rowcount

    def drop_verdicts(self, candidate_ids: list[int]) -> int:
        """Forget these candidates' verdicts (judged under settings the run no longer uses)."""
        with self._tx() as db:
            return sum(db.execute("DELETE FROM verdicts WHERE candidate_id = ?", (cid,)).rowcount
                       for cid in candidate_ids)

    def verdicts(self) -> dict[int, Verdict]:
        out = {}
        for cid, summary, log_path in self._query("SELECT candidate_id, summary, log_path FROM verdicts"):
            out[cid] = Verdict.from_summary(json.loads(summary))
            out[cid].log_ref = log_path if not log_path or log_path.startswith("/") else str(self.dir / log_path)
        return out

    def verdicts_by_key(self) -> dict[tuple[str, str], Verdict]:
        """(problem, dedup key) -> a verdict already reached for it (infra errors and keyless ones excepted)."""
        rows = self._query("SELECT c.problem_id, v.dedup_key, v.summary FROM verdicts v JOIN candidates c"
                           " ON c.id = v.candidate_id WHERE v.status != 'infra_error' AND v.dedup_key != ''"
                           " GROUP BY c.problem_id, v.dedup_key")
        return {(r[0], r[1]): Verdict.from_summary(json.loads(r[2])) for r in rows}

    def dedup_keys(self) -> dict[int, str]:
        """Candidate id -> the normalised-patch key it was judged under ("" for intake verdicts)."""
        return dict(self._query("SELECT candidate_id, dedup_key FROM verdicts"))

    def sample_table(self) -> list[dict[str, Any]]:
        """One row per candidate: the table the pure metrics work on (status None = not verified)."""
        rows = self._query(
            "SELECT c.problem_id, c.idx, c.model, v.status, v.resolved, c.prompt_tokens, c.completion_tokens,"
            " c.seconds, COALESCE(v.seconds, 0), c.meta, v.flags, json_extract(v.summary, '$.strict')"
            " FROM candidates c"
            " LEFT JOIN verdicts v ON v.candidate_id = c.id ORDER BY c.problem_id, c.idx")
        keys = ("problem_id", "sample_idx", "model", "status", "resolved", "prompt_tokens", "completion_tokens",
                "sample_seconds", "verify_seconds")
        out = []
        for r in rows:
            row = dict(zip(keys, r[:9]))
            row["resolved"] = bool(row["resolved"]) if row["status"] is not None else None
            row["meta"] = json.loads(r[9])
            row["flags"] = None if r[10] is None else json.loads(r[10])  # tamper flags of a resolved one
            row["strict"] = json.loads(r[11]) if r[11] else None  # SWE-bench --strict: the re-check's record
            out.append(row)
        return out


def _add_flags_column(db: sqlite3.Connection) -> None:
    """A store written before verdict flags gets the column (NULL: not read), so it stays readable."""
    if "flags" not in {r[1] for r in db.execute("PRAGMA table_info(verdicts)")}:
        db.execute("ALTER TABLE verdicts ADD COLUMN flags TEXT")


_OLD_META_KEYS = {"edit_status": "extract_status", "edit_reason": "extract_reason", "patch_key": "content_key"}


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a store written before the one vocabulary up to date (idempotent, one transaction)."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    columns = {r[1] for r in db.execute("PRAGMA table_info(candidates)")} if "candidates" in tables else set()
    if "instance_id" not in columns and "instances" not in tables:
        return
    db.execute("BEGIN IMMEDIATE")
    if "instance_id" in columns:
        db.execute("ALTER TABLE candidates RENAME COLUMN instance_id TO problem_id")
        for cid, meta in db.execute("SELECT id, meta FROM candidates").fetchall():
            old = json.loads(meta)
            new = {_OLD_META_KEYS.get(k, k): v for k, v in old.items()}
            if new != old:
                db.execute("UPDATE candidates SET meta = ? WHERE id = ?", (json.dumps(new), cid))
    if "instances" in tables:
        db.execute("CREATE TABLE IF NOT EXISTS problems (problem_id TEXT PRIMARY KEY, row TEXT NOT NULL)")
        for instance_id, row in db.execute("SELECT instance_id, row FROM instances").fetchall():
            problem = {"id": instance_id, "prompt": {"text": ""}, "data": {"instance": json.loads(row)}}
            db.execute("INSERT OR IGNORE INTO problems VALUES (?, ?)", (instance_id, json.dumps(problem)))
        db.execute("INSERT OR IGNORE INTO meta VALUES ('task', ?)", (json.dumps("swebench"),))
        db.execute("DROP TABLE instances")
    db.execute("COMMIT")
