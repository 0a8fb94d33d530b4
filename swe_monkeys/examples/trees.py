"""Deterministic git commits and diffs made from folders: the plumbing behind the examples.

`commit_folder` turns a folder into the single commit of a bare repository; `OverlayDiffer` turns
an overlay folder (only the changed files, in full) into the unified diff `git diff` would print.
Only git plumbing is used, with a throwaway index and object store, so nothing is checked out and
a candidate's blobs never land in the shared bare repository.

Determinism: the author, committer, dates, file modes and config are all fixed (user and system
git config are ignored, content filters are off), so the same files give the same commit sha on
every machine and every run.

Overlay conventions, beside the files themselves, at the overlay's root:
  DELETE    repository paths to delete, one a line
  SYMLINKS  symbolic links to create, one a line: "path -> target" (kept as data, so that no
            real link pointing out of the package ever sits in the source tree)
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path, PurePosixPath
from swe_monkeys.errors import SweMonkeysError

META_FILES = ("DELETE", "SYMLINKS")
SKIPPED_DIRS = {"__pycache__", ".pytest_cache", ".git"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")
NULL_SHA = "0" * 40
FIXED_IDENTITY = {
    "GIT_AUTHOR_NAME": "swe-monkeys examples",
    "GIT_AUTHOR_EMAIL": "examples@swe-monkeys.invalid",
    "GIT_AUTHOR_DATE": "1704067200 +0000",  # 2024-01-01T00:00:00Z
    "GIT_COMMITTER_NAME": "swe-monkeys examples",
    "GIT_COMMITTER_EMAIL": "examples@swe-monkeys.invalid",
    "GIT_COMMITTER_DATE": "1704067200 +0000",
}


class TreeError(SweMonkeysError, RuntimeError):
    """A git command failed, or an overlay names a path no repository may hold."""


def git(git_dir: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    """Run git on `git_dir` with user/system config ignored; returns stdout."""
    full_env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
                "LC_ALL": "C", "GIT_DIR": str(git_dir), **(env or {})}
    full_env.pop("GIT_WORK_TREE", None)  # an inherited work tree would make plumbing touch it
    proc = subprocess.run(["git", *args], input=stdin, capture_output=True, text=True, env=full_env)
    if proc.returncode != 0:
        raise TreeError(f"git {' '.join(args[:3])} failed in {git_dir}: {proc.stderr.strip()[-500:]}")
    return proc.stdout


def checked_path(path: str) -> str:
    """A normalised repository path; absolute paths, '..' and .git components are refused."""
    pure = PurePosixPath(path.strip())
    if not pure.parts or pure.is_absolute() or any(p in ("..", ".", ".git", "") for p in pure.parts):
        raise TreeError(f"not a valid repository path: {path!r}")
    return pure.as_posix()


def folder_entries(folder: Path, *, overlay: bool) -> list[tuple[str, Path]]:
    """(repository path, file) for every file under folder, sorted; caches are skipped."""
    entries = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        for name in filenames:
            rel = Path(dirpath, name).relative_to(folder).as_posix()
            if name.endswith(SKIPPED_SUFFIXES) or (overlay and rel in META_FILES):
                continue
            entries.append((rel, Path(dirpath, name)))
    return sorted(entries)


def _hash_files(git_dir: Path, files: list[Path], env: dict[str, str]) -> list[str]:
    if not files:
        return []
    # --no-filters: the bytes on disk are the blob, whatever attributes or autocrlf would say.
    out = git(git_dir, "hash-object", "-w", "--no-filters", "--stdin-paths",
              stdin="".join(f"{f}\n" for f in files), env=env)
    return out.split()


def _stage(git_dir: Path, entries: list[tuple[str, str, str]], env: dict[str, str]) -> str:
    """Apply (mode, sha, path) entries to the index in env (mode "0" deletes); returns the tree."""
    if entries:
        info = "".join(f"{mode} {sha}\t{path}\n" for mode, sha, path in entries)
        git(git_dir, "update-index", "--add", "--replace", "--index-info", stdin=info, env=env)
    return git(git_dir, "write-tree", env=env).strip()


def commit_folder(git_dir: Path, folder: Path, message: str) -> str:
    """Make `git_dir` a bare repository whose main branch is one commit of `folder`; returns its sha.

    Idempotent: an existing repository is updated in place and ends with the same sha.
    """
    git_dir.parent.mkdir(parents=True, exist_ok=True)
    if not (git_dir / "HEAD").is_file():
        subprocess.run(["git", "init", "-q", "--bare", str(git_dir)], check=True, capture_output=True,
                       env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull})
    entries = folder_entries(folder, overlay=False)
    with tempfile.TemporaryDirectory(prefix="swe-monkeys-index-") as scratch:
        env = {"GIT_INDEX_FILE": str(Path(scratch, "index"))}
        shas = _hash_files(git_dir, [f for _, f in entries], env)
        tree = _stage(git_dir, [("100644", sha, rel) for (rel, _), sha in zip(entries, shas)], env)
    commit = git(git_dir, "commit-tree", "--no-gpg-sign", tree, "-m", message, env=FIXED_IDENTITY).strip()
    git(git_dir, "update-ref", "refs/heads/main", commit)
    git(git_dir, "symbolic-ref", "HEAD", "refs/heads/main")
    return commit


class OverlayDiffer:
    """Diffs of base vs base+overlay for one commit; a context manager owning a scratch store.

    New blobs go to a scratch object directory that borrows the repository's objects as an
    alternate, and the scratch directory is removed on exit.
    """

    def __init__(self, git_dir: Path, base_commit: str):
        self.git_dir, self.base_commit = git_dir, base_commit
        self._scratch: tempfile.TemporaryDirectory | None = None
        self._env: dict[str, str] = {}

    def __enter__(self) -> "OverlayDiffer":
        self._scratch = tempfile.TemporaryDirectory(prefix="swe-monkeys-overlay-")
        root = Path(self._scratch.name)
        (root / "objects").mkdir()
        self._env = {"GIT_INDEX_FILE": str(root / "index"), "GIT_OBJECT_DIRECTORY": str(root / "objects"),
                     "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(self.git_dir.resolve() / "objects")}
        return self

    def __exit__(self, *exc: object) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def diff(self, overlay: Path) -> str:
        """The unified diff (a/ b/ prefixes, as in SWE-bench patches) that the overlay makes."""
        if self._scratch is None:
            raise TreeError("OverlayDiffer used outside its `with` block")
        if not overlay.is_dir():
            raise TreeError(f"no overlay folder at {overlay}")
        git(self.git_dir, "read-tree", self.base_commit, env=self._env)
        files = folder_entries(overlay, overlay=True)
        links = self._symlinks(overlay)
        link_files = []
        for i, (_, target) in enumerate(links):
            link_files.append(Path(self._scratch.name, f"link-{i}"))
            link_files[-1].write_bytes(target.encode())  # a link's blob is its target, no newline
        shas = _hash_files(self.git_dir, [f for _, f in files] + link_files, self._env)
        entries = [("100644", sha, rel) for (rel, _), sha in zip(files, shas)]
        entries += [("120000", sha, path) for (path, _), sha in zip(links, shas[len(files):])]
        entries += [("0", NULL_SHA, path) for path in self._listed(overlay / "DELETE")]
        tree = _stage(self.git_dir, entries, self._env)
        return git(self.git_dir, "diff-tree", "-p", "-r", "--no-renames", "--no-color", "--no-ext-diff",
                   "--src-prefix=a/", "--dst-prefix=b/", f"{self.base_commit}^{{tree}}", tree, env=self._env)

    @staticmethod
    def _listed(path: Path) -> list[str]:
        return [checked_path(line) for line in meta_lines(path)]

    @staticmethod
    def _symlinks(overlay: Path) -> list[tuple[str, str]]:
        links = []
        for line in meta_lines(overlay / "SYMLINKS"):
            path, sep, target = line.partition(" -> ")
            if not sep or not target.strip():
                raise TreeError(f"{overlay / 'SYMLINKS'}: expected 'path -> target', got {line!r}")
            links.append((checked_path(path), target.strip()))
        return links


def meta_lines(path: Path) -> list[str]:
    """The non-blank, non-comment lines of an overlay's DELETE or SYMLINKS file (none if absent)."""
    if not path.is_file():
        return []
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip() and not ln.strip().startswith("#")]
