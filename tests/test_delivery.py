"""What a run delivers is what was judged: the paths the harness put back leave the winning patch."""

from __future__ import annotations

import json

from unidiff import PatchSet

from swe_monkeys.store.run_store import RunStore
from swe_monkeys.swebench.delivery import delivered_patch, dropped_note
from swe_monkeys.tasks.swebench import delivered, export_predictions
from swe_monkeys.types import Candidate, Status, Verdict

FIX = """diff --git a/calc/core.py b/calc/core.py
--- a/calc/core.py
+++ b/calc/core.py
@@ -1,2 +1,2 @@
 a = 1
-b = 2
+b = 3
"""
TEST = """diff --git a/tests/test_x.py b/tests/test_x.py
--- a/tests/test_x.py
+++ b/tests/test_x.py
@@ -1 +1 @@
-assert f() == 3
+assert True
"""
TOX = """diff --git a/tox.ini b/tox.ini
new file mode 100644
--- /dev/null
+++ b/tox.ini
@@ -0,0 +1,2 @@
+[pytest]
+addopts = -k nothing
"""
BINARY = """diff --git a/calc/logo.png b/calc/logo.png
new file mode 100644
index 0000000..1111111
GIT binary patch
literal 5
McmZQzWMXCn00Nc&0RR91

literal 0
HcmV?d00001

"""
REVERTED = [{"path": "tests", "why": "test file"}, {"path": "tests/test_x.py", "why": "test file"},
            {"path": "tox.ini", "why": "pytest configuration"}]


def test_put_back_paths_are_dropped_and_named():
    patch, dropped = delivered_patch(FIX + TEST + TOX, REVERTED)
    assert patch == FIX
    assert dropped == [("tests/test_x.py", "test file"), ("tox.ini", "pytest configuration")]
    assert dropped_note(dropped) == ("2 paths put back by the harness were dropped: tests/test_x.py (test file), "
                                     "tox.ini (pytest configuration)")
    assert dropped_note(dropped[:1]) == "1 path put back by the harness was dropped: tests/test_x.py (test file)"


def test_a_path_under_a_put_back_directory_goes_and_the_rest_is_kept_byte_for_byte():
    patch, dropped = delivered_patch(BINARY + TEST + FIX, [{"path": "tests", "why": "test file"}])
    assert patch == BINARY + FIX and "GIT binary patch" in patch  # kept as it was, not re-serialised
    assert dropped == [("tests/test_x.py", "test file")]
    assert [pf.path for pf in PatchSet(patch)] == ["calc/logo.png", "calc/core.py"]


def test_nothing_put_back_leaves_the_patch_as_it_is():
    fenced = f"```diff\n{FIX}```\n"
    assert delivered_patch(fenced, []) == (fenced, [])
    assert delivered_patch(fenced, [{"path": "other.py", "why": "test file"}]) == (fenced, [])
    assert delivered_patch("", REVERTED) == ("", [])


def test_the_export_and_the_winner_come_from_the_verdicts_in_the_run(tmp_path):
    with RunStore(tmp_path / "run") as store:
        won = store.add_candidate(Candidate("p1", FIX + TOX, "m", 0))
        clean = store.add_candidate(Candidate("p2", FIX, "m", 0))
        store.add_verdict(won, Verdict(Status.RESOLVED, reverted=REVERTED[2:]))
        store.add_verdict(clean, Verdict(Status.RESOLVED))
        picks = {"p1": Candidate("p1", FIX + TOX, "m", 0), "p2": Candidate("p2", FIX, "m", 0), "p3": None}
        patches = delivered(store, picks)
    assert patches == {"p1": (FIX, "1 path put back by the harness was dropped: tox.ini (pytest configuration)"),
                       "p2": (FIX, ""), "p3": ("", "")}
    out = tmp_path / "preds.jsonl"
    assert export_predictions(patches, out, "m") == 3
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["model_patch"] for r in rows] == [FIX, FIX, ""]
