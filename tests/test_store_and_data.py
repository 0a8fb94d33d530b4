"""Run store (real SQLite), dataset and prediction loading, specs, registries (no Docker)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from swe_monkeys.registry import Registry, UnknownName
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.swebench.dataset import DatasetError, load_instances, load_predictions
from swe_monkeys.swebench.spec import SpecError, load_spec, supported
from swe_monkeys.swebench.checker import majority
from swe_monkeys.types import Candidate, Status, SWEInstance, Verdict
from tests.conftest import LITE

ROW = {"instance_id": "o__r-1", "repo": "o/r", "base_commit": "a" * 40, "patch": "", "test_patch": "t",
       "version": "1.0", "FAIL_TO_PASS": json.dumps(["t::a"]), "PASS_TO_PASS": "[]"}


def test_store_survives_reopen_and_keeps_first_candidate(tmp_path):
    store = RunStore(tmp_path)
    store.add_problems([{"id": "o__r-1", "prompt": {"text": ""}, "data": {"instance": ROW}}])
    cid = store.add_candidate(Candidate("o__r-1", "p1", "m", 0))
    assert store.add_candidate(Candidate("o__r-1", "other", "m", 0)) == cid
    store.add_verdict(cid, Verdict(Status.RESOLVED, reason="ok", log="the log"))
    store.add_candidate(Candidate("o__r-1", "p2", "m", 1))
    store.close()
    again = RunStore(tmp_path)
    assert [c.content for _, c in again.candidates()] == ["p1", "p2"]
    assert [c.index for _, c in again.candidates(unverified_only=True)] == [1]
    assert again.verdicts()[cid].resolved
    assert (tmp_path / "logs" / f"{cid}.log").read_text() == "the log"
    assert again.next_index("o__r-1") == 2
    rows = again.sample_table()
    assert rows[0]["resolved"] is True and rows[1]["status"] is None


def test_infra_errors_are_retried(tmp_path):
    store = RunStore(tmp_path)
    cid = store.add_candidate(Candidate("o__r-1", "p", "m", 0))
    store.add_verdict(cid, Verdict(Status.INFRA_ERROR, reason="docker"))
    assert store.drop_infra_errors() == 1
    assert [c for c, _ in store.candidates(unverified_only=True)] == [cid]


def test_instances_from_json_jsonl_gz_and_parquet(tmp_path):
    (tmp_path / "a.jsonl").write_text(json.dumps(ROW) + "\n")
    (tmp_path / "a.json").write_text(json.dumps([ROW]))
    with gzip.open(tmp_path / "a.jsonl.gz", "wt") as f:
        f.write(json.dumps(ROW) + "\n")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([ROW]), tmp_path / "a.parquet")
    for name in ("a.jsonl", "a.json", "a.jsonl.gz", "a.parquet"):
        (inst,) = load_instances(tmp_path / name)
        assert inst.fail_to_pass == ("t::a",) and inst.pass_to_pass == ()


def test_broken_rows_name_file_and_row(tmp_path):
    bad = dict(ROW, FAIL_TO_PASS="not json")
    (tmp_path / "b.jsonl").write_text(json.dumps(ROW) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(DatasetError, match="row 2"):
        load_instances(tmp_path / "b.jsonl")
    (tmp_path / "a.jsonl").write_text(json.dumps(ROW) + "\n")
    with pytest.raises(DatasetError, match="no instance matches"):
        load_instances(tmp_path / "a.jsonl", ["x"])


def test_predictions_number_candidates_per_instance(tmp_path):
    lines = [{"instance_id": "a", "model_patch": "1"}, {"instance_id": "b", "model_patch": ""},
             {"instance_id": "a", "model_patch": "2", "model_name_or_path": "m"}]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    preds = load_predictions(tmp_path / "p.jsonl")
    assert [(p.problem_id, p.index, p.content) for p in preds] == [("a", 0, "1"), ("b", 0, ""), ("a", 1, "2")]
    (tmp_path / "q.jsonl").write_text('{"model_patch": "x"}\n')
    with pytest.raises(DatasetError, match="line 1: missing instance_id"):
        load_predictions(tmp_path / "q.jsonl")


@pytest.mark.skipif(not LITE.exists(), reason=f"SWE-bench Lite data not found at {LITE}")
def test_shared_lite_folder_loads():
    instances = load_instances(LITE)
    assert len(instances) == 300
    assert load_instances(LITE, ["pallets__flask-*"])[0].repo == "pallets/flask"


def test_specs_are_data_and_errors_list_alternatives():
    assert ("pallets/flask", "2.3") in supported()
    spec = load_spec("pallets/flask", "2.3")
    assert spec.parser == "pytest" and spec.user == "swe"
    with pytest.raises(SpecError, match="2.3"):
        load_spec("pallets/flask", "0.1")
    with pytest.raises(SpecError, match="specs exist for"):
        load_spec("nobody/nothing", "1")


def test_registry_is_lazy_and_lists_names():
    reg = Registry("thing", {"json": "json:dumps"})
    assert reg.get("json") is json.dumps
    with pytest.raises(UnknownName, match="valid: json"):
        reg.get("yaml")


def test_majority_vote_over_runs():
    runs = [Verdict(Status.RESOLVED), Verdict(Status.UNRESOLVED, reason="f"), Verdict(Status.RESOLVED)]
    assert majority(runs).resolved and majority(runs).runs == 3
    runs = [Verdict(Status.RESOLVED), Verdict(Status.UNRESOLVED, reason="f"), Verdict(Status.INFRA_ERROR)]
    assert not majority(runs).resolved


def test_import_is_light():
    code = ("import sys, swe_monkeys, swe_monkeys.cli; "
            "print(sorted(m for m in ('docker', 'scipy', 'vllm', 'matplotlib', 'git') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_store_written_before_the_one_vocabulary_still_opens(tmp_path):
    """SWE-bench runs used to have an `instances` table, `instance_id` candidates and edit_status /
    patch_key metas: opening one migrates it, and verify/report see the same samples and verdicts."""
    import sqlite3

    db = sqlite3.connect(tmp_path / RunStore.FILENAME)
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE instances (instance_id TEXT PRIMARY KEY, row TEXT NOT NULL);
        CREATE TABLE candidates (id INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, idx INTEGER NOT NULL,
          model TEXT NOT NULL DEFAULT '', content TEXT NOT NULL, prompt_tokens INTEGER NOT NULL DEFAULT 0,
          completion_tokens INTEGER NOT NULL DEFAULT 0, seconds REAL NOT NULL DEFAULT 0,
          meta TEXT NOT NULL DEFAULT '{}', created_at REAL NOT NULL, UNIQUE (instance_id, idx));
        CREATE TABLE verdicts (candidate_id INTEGER PRIMARY KEY, status TEXT NOT NULL, resolved INTEGER NOT NULL,
          summary TEXT NOT NULL, dedup_key TEXT NOT NULL DEFAULT '', log_path TEXT NOT NULL DEFAULT '',
          seconds REAL NOT NULL DEFAULT 0, created_at REAL NOT NULL);""")
    db.execute("INSERT INTO instances VALUES (?, ?)", ("o__r-1", json.dumps(ROW)))
    db.execute("INSERT INTO candidates (instance_id, idx, content, meta, created_at) VALUES (?, 0, 'p', ?, 0)",
               ("o__r-1", json.dumps({"edit_status": "ok", "patch_key": "k1", "completion": "c"})))
    db.execute("INSERT INTO verdicts VALUES (1, 'resolved', 1, ?, 'k1', '', 0, 0)",
               (json.dumps({"status": "resolved", "reason": "ok"}),))
    db.commit()
    db.close()
    with RunStore(tmp_path) as store:
        (cid, cand), = store.candidates()
        assert (cand.problem_id, cand.content) == ("o__r-1", "p")
        assert store.sample_table()[0]["meta"] == {"extract_status": "ok", "content_key": "k1", "completion": "c"}
        assert store.problems()[0]["data"]["instance"]["instance_id"] == "o__r-1"
        assert store.get_meta("task") == "swebench" and store.verdicts()[cid].resolved
    with RunStore(tmp_path) as again:  # opening twice changes nothing more
        assert len(again.candidates()) == 1 and again.get_meta("task") == "swebench"


def _open_cache(path: str) -> str:
    from swe_monkeys.store.verdict_cache import VerdictCache

    VerdictCache(path).get("k")
    return "ok"


def test_many_processes_open_a_new_verdict_cache_at_once(tmp_path):
    """Verification actors on one machine open the same new cache together: none may fail with
    "database is locked" (a Ray test once lost an actor to it)."""
    import multiprocessing

    path = str(tmp_path / "verdicts.sqlite")
    with multiprocessing.get_context("spawn").Pool(8) as pool:
        assert pool.map(_open_cache, [path] * 16) == ["ok"] * 16
