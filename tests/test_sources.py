"""Repo cache entries: a bare mirror copied without its empty `refs/` folder still works."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from swe_monkeys.images.sources import export_tree, find_repo


def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def test_a_mirror_without_refs_folder_is_read_through_a_view(tmp_path, monkeypatch):
    monkeypatch.setenv("SWE_MONKEYS_CACHE", str(tmp_path / "cache"))
    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", cwd=work)
    (work / "a.txt").write_text("hello\n")
    git("add", "a.txt", cwd=work)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one", cwd=work)
    commit = git("rev-parse", "HEAD", cwd=work)
    cache = tmp_path / "repos"
    cache.mkdir()
    mirror = cache / "o__r.git"
    git("clone", "-q", "--bare", str(work), str(mirror))
    git("--git-dir", str(mirror), "pack-refs", "--all")
    shutil.rmtree(mirror / "refs")  # what a copy that drops empty folders leaves
    for p in [mirror, *mirror.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        found = find_repo("o/r", cache)
        assert found != mirror and (found / "refs").is_dir()
        export_tree(found, commit, tmp_path / "out")
        assert (tmp_path / "out" / "a.txt").read_text() == "hello\n"
        assert not (mirror / "refs").exists()  # the mirror itself was not written
        assert find_repo("o/r", cache) == found  # the view is made once
    finally:
        for p in [mirror, *mirror.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
