"""The harness's key of an applied tree (harness/tree.py `applied_key`) on real git repositories,
and the harness refusing an op it does not know (run_candidate.handle)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swe_monkeys.swebench.patches import normalised_key

HARNESS = Path(__file__).resolve().parents[1] / "harness"
HARNESS_MODULES = ("tree", "reach", "pytest_setup", "kill_user", "unsafe_tests", "run_candidate")


@pytest.fixture
def harness(monkeypatch):
    """The harness modules, imported from harness/ as the container imports them, then forgotten."""
    saved = {name: sys.modules.pop(name) for name in HARNESS_MODULES if name in sys.modules}
    monkeypatch.syspath_prepend(str(HARNESS))
    yield {name: importlib.import_module(name) for name in ("tree", "run_candidate")}
    for name in HARNESS_MODULES:
        sys.modules.pop(name, None)
    sys.modules.update(saved)


def git(repo: Path, *args: str, stdin: str | None = None) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], input=stdin, text=True, capture_output=True,
                          check=True).stdout


@pytest.fixture
def repo(tmp_path, harness, monkeypatch):
    """A committed repository whose manifest the harness takes, and a function keying a patch:
    applied with git apply (as the harness does), keyed, then the tree put back."""
    root = tmp_path / "testbed"
    root.mkdir()
    blocks = (["f%d\n" % i for i in range(1, 5)] + ["x = 1\n", "y = 2\n", "z = 3\n"] + ["g%d\n" % i for i in range(8, 17)]
              + ["x = 1\n", "y = 2\n", "z = 3\n"] + ["h%d\n" % i for i in range(20, 24)])
    (root / "m.py").write_text("".join(blocks))
    (root / "run.sh").write_text("echo hi\n")
    (root / "notes.txt").write_text("hello\n")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "base")
    tree = harness["tree"]
    monkeypatch.setattr(tree, "GIT", ["git", f"--git-dir={root}/.git"])
    manifest = tree.Manifest(str(root))

    def key(patch: str | None = None, change=None) -> str:
        if patch is not None:
            git(root, "apply", "-", stdin=patch)
        if change is not None:
            change(root)
        try:
            return tree.applied_key(manifest)
        finally:
            assert manifest.reset() == []

    return root, key


TIE = ("diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -{n},3 +{n},3 @@\n x = 1\n-y = 2\n+y = 20\n z = 3\n")


def test_a_hunk_is_keyed_where_git_put_it(repo):
    root, key = repo
    read = lambda path: git(root, "show", f"HEAD:{path}")  # noqa: E731
    # The context occurs at lines 5 and 17; a header saying 11 is as far from both. git searches
    # forward first and changes line 18; the in-memory applier searches backward first (line 6).
    tie, first, second = TIE.format(n=11), TIE.format(n=5), TIE.format(n=17)
    assert normalised_key(tie, read) == normalised_key(first, read)  # the host's re-derivation
    assert key(tie) == key(second) != key(first)  # what git did
    assert key(tie) != key()  # and a change at all


def test_a_symlink_is_not_a_file_holding_its_target(repo):
    _, key = repo
    as_link = key(change=lambda root: os.symlink("notes.txt", root / "alias"))
    as_file = key(change=lambda root: (root / "alias").write_text("notes.txt"))
    assert as_link != as_file
    # ... and the same holds where a committed file is replaced.
    swapped = key(change=lambda root: ((root / "run.sh").unlink(), os.symlink("echo hi\n", root / "run.sh")))
    rewritten = key(change=lambda root: (root / "run.sh").write_text("echo hi\n"))
    assert swapped != rewritten == key()


def test_a_mode_change_changes_the_key(repo):
    _, key = repo
    mode = "diff --git a/run.sh b/run.sh\nold mode 100644\nnew mode 100755\n"
    assert key(mode) != key()
    assert key(change=lambda root: os.chmod(root / "run.sh", 0o755)) == key(mode)


def test_every_byte_on_disk_counts_python_included(repo):
    """A comment or a blank line is a different tree: a test that reads source text (sympy's
    code-quality test, a traceback's line number) can judge it differently."""
    _, key = repo
    write = lambda text: lambda root: (root / "m.py").write_bytes(text)  # noqa: E731
    assert key(change=write(b"x = 1\n")) != key(change=write(b"x = 1  # a comment\n\n"))
    assert key(change=write(b"x = 1\n")) != key(change=write(b"x = 2\n"))
    assert key(change=write(b"x = 1\n")) == key(change=write(b"x = 1\n"))
    # Not Python: every byte counts.
    notes = lambda text: lambda root: (root / "notes.txt").write_text(text)  # noqa: E731
    assert key(change=notes("hello \n")) != key(change=notes("hello\n")) == key()


def test_removed_and_added_files_count(repo):
    _, key = repo
    assert len({key(), key(change=lambda r: (r / "notes.txt").unlink()),
                key(change=lambda r: (r / "new.txt").write_text("")),
                key(change=lambda r: (r / "d").mkdir())}) == 3  # an empty directory is nothing to git


def test_an_unknown_op_is_refused_and_runs_nothing(harness, monkeypatch):
    rc = harness["run_candidate"]
    ran = []
    monkeypatch.setattr(rc, "unsafe_run_tests", lambda job, extra: ran.append(job) or {})
    for op in ("rnu", "Run", None, "", "__class__"):
        reply = rc.handle(object(), {"op": op, "cmd": "true", "args": [], "user": "root"})
        assert reply["ok"] is False and "unknown op" in reply["error"], reply
    assert ran == []
    assert set(rc.OPS) == {"ready", "prepare", "run", "reset"}
    assert rc.handle(object(), {"op": "ready"})["ok"] is True
