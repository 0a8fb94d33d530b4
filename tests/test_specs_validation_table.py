"""validation_table: merging validation rows per (instance, spec hash) and rendering the coverage table."""

from __future__ import annotations

import pytest

from swe_monkeys.swebench.spec import EnvSpec
from swe_monkeys.swebench.validation_table import (coverage_table, is_validated, merge_rows, read_rows, spec_hash,
                                                  write_rows)


def row(instance="o__r-1", h="h1", gold=3, runs=3, empty=0, flaky=(), date="2026-01-01", log_dir="runs/a",
        empty_runs=1, seconds=10.0, reason=""):
    return {"instance": instance, "spec_hash": h, "gold_resolved": gold, "runs": runs, "empty_resolved": empty,
            "empty_runs": empty_runs, "flaky_tests": list(flaky), "date": date, "seconds": seconds, "reason": reason,
            "log_dir": log_dir}


def test_same_key_adds_up_and_new_spec_hash_is_a_new_row():
    rows = merge_rows([row()], [row(gold=1, runs=2, flaky=["t1"], date="2026-02-01", log_dir="runs/b"),
                                row(h="h2", gold=0, runs=1)])
    assert rows[0] == row(gold=4, runs=5, flaky=["t1"], date="2026-02-01", log_dir="runs/b", empty_runs=2,
                          seconds=20.0)
    assert rows[1]["spec_hash"] == "h2" and len(rows) == 2
    assert not is_validated(rows[1]) and not is_validated(rows[0])  # 4 of 5 gold runs resolved
    assert is_validated(row())


def test_an_older_row_does_not_replace_the_date():
    rows = merge_rows([row(date="2026-03-01", log_dir="new")], [row(date="2026-01-01", log_dir="old")])
    assert (rows[0]["date"], rows[0]["log_dir"]) == ("2026-03-01", "new")


def test_incomplete_rows_are_refused():
    with pytest.raises(ValueError, match="runs"):
        merge_rows([], [{"instance": "x", "spec_hash": "h", "gold_resolved": 1, "empty_resolved": 0, "date": "d"}])


def test_round_trip(tmp_path):
    path = tmp_path / "validation.jsonl"
    write_rows([row(), row(instance="o__r-2")], path)
    assert read_rows(path) == [row(), row(instance="o__r-2")]
    assert read_rows(tmp_path / "missing.jsonl") == []


def test_spec_hash_follows_every_field():
    a, b = EnvSpec(repo="o/r", version="1"), EnvSpec(repo="o/r", version="1", timeout=1)
    assert spec_hash(a) == spec_hash(EnvSpec(repo="o/r", version="1")) != spec_hash(b)


def test_coverage_table_counts_only_current_validations():
    instances = [{"repo": "o/r", "version": "1", "instance_id": "o__r-1"},
                 {"repo": "o/r", "version": "1", "instance_id": "o__r-2"},
                 {"repo": "o/r", "version": "2", "instance_id": "o__r-3"},
                 {"repo": "p/q", "version": "1", "instance_id": "p__q-1"}]
    rows = [row(), row(instance="o__r-2", h="old"), row(instance="p__q-1", empty=1)]
    table = coverage_table(rows, instances, [("o/r", "1"), ("p/q", "1")], current={"o__r-1": "h1", "o__r-2": "new"})
    assert table.splitlines()[2:] == ["| o/r | 3 | 2 | 1 |", "| p/q | 1 | 1 | 0 |", "| all | 4 | 3 | 1 |"]


def test_an_instance_whose_empty_patch_never_ran_is_not_validated_and_done_follows_the_spec():
    from swe_monkeys.swebench.validation_table import done
    assert not is_validated(row(empty_runs=0))
    rows = [row(runs=3)]
    assert done(rows, "o__r-1", "h1", 3) and not done(rows, "o__r-1", "h2", 3) and not done(rows, "o__r-1", "h1", 5)


def test_flaky_tests_are_those_whose_status_changed():
    from swe_monkeys.swebench.validation import flaky_tests
    runs = [{"a": "PASSED", "b": "PASSED", "c": "FAILED"}, {"a": "PASSED", "b": "FAILED", "c": "FAILED"},
            {"a": "PASSED", "c": "FAILED", "d": "PASSED"}]
    assert flaky_tests(runs) == ["b", "d"]
    assert flaky_tests([]) == []


def test_the_readme_block_is_replaced_between_its_markers():
    from swe_monkeys.swebench.validation_table import replace_block
    text = "a\n<!-- coverage-table -->\nold\n<!-- /coverage-table -->\nb\n"
    assert replace_block(text, "| t |\n") == "a\n<!-- coverage-table -->\n| t |\n<!-- /coverage-table -->\nb\n"
    with pytest.raises(ValueError, match="coverage-table"):
        replace_block("no markers", "x")


def test_the_readme_table_is_the_one_the_validation_table_makes():
    """README.md's coverage table is generated (`swe-monkeys specs DATASET --readme README.md`)."""
    from pathlib import Path

    from swe_monkeys.swebench.dataset import load_instances
    from swe_monkeys.swebench.spec import current_specs
    from tests.conftest import LITE

    if not LITE.exists():
        pytest.skip(f"SWE-bench Lite data not found at {LITE}")
    rows, current = [i.to_row() for i in load_instances(LITE)], current_specs()
    assert all((r["repo"], str(r["version"])) in current for r in rows), "an instance without a spec"
    from swe_monkeys.swebench.validation_table import coverage_block, load_notes

    from swe_monkeys.swebench.spec import instance_overrides

    table = coverage_block(read_rows(), rows, current, load_notes(), instance_overrides())
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert table in readme, "README's coverage table is stale: run swe-monkeys specs DATASET --readme README.md"


def test_exceptions_list_the_cause_or_the_rows_reason_and_the_time():
    from swe_monkeys.swebench.validation_table import exceptions

    rows = [row(seconds=1800.0), row(instance="o__r-2", gold=0, reason="gold: FAIL_TO_PASS t: FAILED", seconds=1800.0),
            row(instance="o__r-3", gold=0), row(instance="o__r-4", h="old", gold=0)]
    text = exceptions(rows, {"o__r-1": "h1", "o__r-2": "h1", "o__r-3": "h1", "o__r-4": "new"},
                      {"o__r-3": "needs the network"})
    assert "The 3 instances judged with today's specs took 1.0 h" in text
    assert text.splitlines()[-2:] == ["- `o__r-2`: gold: FAIL_TO_PASS t: FAILED", "- `o__r-3`: needs the network"]


def test_every_note_names_a_dataset_instance():
    from swe_monkeys.swebench.validation_table import load_notes

    assert all("__" in instance and why.strip() for instance, why in load_notes().items())


def _record_many(path, name, count):
    from swe_monkeys.swebench.validation_table import record_row

    for n in range(count):
        record_row({"instance": f"{name}-{n}", "spec_hash": "h", "gold_resolved": 1, "runs": 1,
                    "empty_resolved": 0, "date": "2026-12-07"}, path)


def test_rows_recorded_at_once_by_several_processes_are_all_kept(tmp_path):
    """Two validations writing one table at once (two processes): neither loses the other's rows."""
    import multiprocessing

    from swe_monkeys.swebench.validation_table import read_rows

    table = tmp_path / "validation.jsonl"
    procs = [multiprocessing.get_context("fork").Process(target=_record_many, args=(table, name, 25))
             for name in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert all(p.exitcode == 0 for p in procs)
    assert sorted(r["instance"] for r in read_rows(table)) == sorted(f"{x}-{n}" for x in "ab" for n in range(25))


def test_record_row_replace_drops_only_that_specs_old_row(tmp_path):
    from swe_monkeys.swebench.validation_table import read_rows, record_row

    table = tmp_path / "t.jsonl"
    base = {"gold_resolved": 1, "runs": 1, "empty_resolved": 0, "date": "2026-12-07"}
    record_row({"instance": "i", "spec_hash": "old", **base}, table)
    record_row({"instance": "i", "spec_hash": "new", **base}, table)
    record_row({"instance": "i", "spec_hash": "new", **base, "gold_resolved": 0}, table, replace=True)
    rows = {(r["instance"], r["spec_hash"]): r for r in read_rows(table)}
    assert rows[("i", "old")]["runs"] == 1 and rows[("i", "new")]["gold_resolved"] == 0
