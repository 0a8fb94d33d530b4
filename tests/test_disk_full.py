"""A full disk under the run store (issue 27): the run stops with one line, nothing half-written, and
the same command finishes it with the samples and verdicts of an undisturbed run.

The disk is real: a tmpfs of a few MiB mounted for the test (root only; skipped, with the reason,
elsewhere) and grown afterwards with `mount -o remount,size=...`. The runs are real `sweep --task
gsm8k` runs of a FAKE scripted model, judged in process (no engine, no `../shared`).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from swe_monkeys.store.run_store import RunStore
from tests.cli_helpers import invoke, nothing_real  # noqa: F401 (nothing_real: an autouse fixture)

SCRIPT = ["The answer is 2.", "#### 4", "no idea", "The answer is 6.", "The answer is 8.", "no", "#### 10", "no"]


@pytest.fixture
def small_disk(tmp_path):
    """A mount point and a function that (re)sizes the tmpfs mounted there."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    point = tmp_path / "disk"
    point.mkdir()
    mounted = []

    def size(megabytes: float) -> Path:
        options = f"size={int(megabytes * 1024)}k"
        cmd = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)]
        if mounted:
            cmd = ["mount", "-o", f"remount,{options}", str(point)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(True)
        return point

    yield size
    if mounted:
        subprocess.run(["umount", "-l", str(point)], check=False)


def dataset(tmp_path: Path, problems: int) -> tuple[Path, Path]:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    rows = [{"question": f"Question {i}: what is {2 * (i % 6 + 1)}?", "answer": f"#### {2 * (i % 6 + 1)}"}
            for i in range(problems)]
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (data / "train.jsonl").write_text(json.dumps({"question": "What is 1?", "answer": "#### 1"}) + "\n")
    fake = tmp_path / "fake.json"
    fake.write_text(json.dumps(SCRIPT))
    return data, fake


def sweep(data: Path, fake: Path, run: Path, k: int):
    return invoke("sweep", "--task", "gsm8k", "--dataset", data, "--run", run, "--fake", fake, "-k", k, "-q")


def table(run: Path) -> list[tuple]:
    with RunStore(run) as store:
        rows = store.sample_table()
    return sorted((r["problem_id"], r["sample_idx"], r["status"], r["resolved"]) for r in rows)


def test_too_little_room_stops_before_writing_and_the_same_command_finishes(tmp_path, small_disk):
    data, fake = dataset(tmp_path, 6)
    reference = tmp_path / "reference"
    assert sweep(data, fake, reference, 8).exit_code == 0

    run = small_disk(4) / "run"  # 4 MiB: under the 64 MiB a run keeps in hand
    stopped = sweep(data, fake, run, 8)
    assert stopped.exit_code == 1, stopped.output
    lines = stopped.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "MiB free, under the 64 MiB" in lines[-1], stopped.stderr
    assert "run the same command to continue" in lines[-1] and "Traceback" not in stopped.output
    with RunStore(run) as store:  # what is there is a valid store (quick_check on open), nothing judged
        assert store.verdicts() == {}

    small_disk(200)  # room made
    finished = sweep(data, fake, run, 8)
    assert finished.exit_code == 0, finished.output
    assert table(run) == table(reference)


def test_a_write_sqlite_finds_no_room_for_is_undone_and_the_same_command_finishes(tmp_path, small_disk, monkeypatch):
    data, fake = dataset(tmp_path, 60)
    reference = tmp_path / "reference"
    assert sweep(data, fake, reference, 40).exit_code == 0

    monkeypatch.setenv("SWE_MONKEYS_MIN_FREE_MB", "0")  # no margin: SQLite itself meets the full disk
    disk = small_disk(32)
    run = disk / "run"
    ballast = disk / "ballast"
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    ballast.write_bytes(b"\0" * (free - 160 * 1024))  # about 160 KiB left: less than the run needs
    stopped = sweep(data, fake, run, 40)
    assert stopped.exit_code == 1, stopped.output
    last = stopped.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and ("no room left" in last or "no space left" in last), stopped.stderr
    assert "Traceback" not in stopped.output
    ballast.unlink()
    with RunStore(run) as store:  # valid (quick_check), and what it holds is what an undisturbed run holds
        kept = store.sample_table()
    assert {(r["problem_id"], r["sample_idx"]) for r in kept} < {row[:2] for row in table(reference)}
    judged = {(r["problem_id"], r["sample_idx"], r["status"], r["resolved"]) for r in kept if r["status"]}
    assert judged <= set(table(reference))

    finished = sweep(data, fake, run, 40)
    assert finished.exit_code == 0, finished.output
    assert table(run) == table(reference)


def test_a_damaged_store_is_an_error_naming_it(tmp_path):
    run = tmp_path / "run"
    with RunStore(run) as store:
        store.add_problems([{"id": f"p-{i}", "x": "y" * 4000} for i in range(50)])
    path = run / RunStore.FILENAME
    data = bytearray(path.read_bytes())
    data[4096 * 2: 4096 * 4] = b"\xff" * 8192  # two pages of the table overwritten
    path.write_bytes(bytes(data))
    result = invoke("show", run)
    assert result.exit_code == 1, result.output
    assert "is damaged (SQLite:" in result.stderr and "Traceback" not in result.output
