"""Where image inputs come from on the host: repositories, interpreters and wheelhouses.

Nothing is pulled from a container registry. Repositories come from a local cache of bare clones
(`owner__repo.git`), or are cloned from GitHub when online; CPython builds for old versions come
from the host (pyenv); Python packages are downloaded on the host into a wheelhouse that the
image build installs from with the network off.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

from swe_monkeys.paths import cache_dir
from swe_monkeys.errors import SweMonkeysError


class SourceError(SweMonkeysError, RuntimeError):
    """An image input that cannot be had (no repository, no interpreter, a failed download)."""


def default_repo_cache() -> Path:
    return Path(os.environ.get("SWE_MONKEYS_REPO_CACHE") or cache_dir() / "repos")


def find_repo(repo: str, repo_cache: Path, *, allow_clone: bool = False) -> Path:
    """The bare clone of `owner/name` in the cache, cloned from GitHub if allowed and missing."""
    owner, _, name = repo.partition("/")
    for candidate in (f"{owner}__{name}.git", f"{owner}__{name}", f"{owner}/{name}.git"):
        path = repo_cache / candidate
        if path.is_dir():
            return usable_git_dir(path)
    if not allow_clone:
        raise SourceError(f"repository {repo} is not in the repo cache {repo_cache} "
                          f"(expected {repo_cache / (owner + '__' + name + '.git')}); "
                          "add a bare clone there or pass --clone to fetch it from GitHub")
    import git

    target = repo_cache / f"{owner}__{name}.git"
    repo_cache.mkdir(parents=True, exist_ok=True)
    try:
        git.Repo.clone_from(f"https://github.com/{repo}.git", target, bare=True)
    except git.GitCommandError as exc:
        shutil.rmtree(target, ignore_errors=True)
        raise SourceError(f"could not clone {repo} from GitHub: {exc.stderr.strip()[-300:]}") from exc
    return target


def usable_git_dir(path: Path) -> Path:
    """`path`, or when git does not take it for a repository because a copy dropped its empty
    `refs/` folder (a read-only mirror copied without empty directories), a view of it that git
    does: a cached folder with copies of its small files, a link to its objects and an empty
    `refs/`. The mirror is never written."""
    if (path / "refs").is_dir() or not (path / "objects").is_dir() or not (path / "HEAD").is_file():
        return path
    view = cache_dir() / "git-views" / hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    if not (view / "refs").is_dir():
        tmp = view.with_name(view.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / "refs" / "heads").mkdir(parents=True)
        (tmp / "refs" / "tags").mkdir()
        for part in path.iterdir():  # HEAD must be a file (git refuses a HEAD link outside refs/)
            if part.is_file() and part.stat().st_size < 1 << 20:
                shutil.copyfile(part, tmp / part.name)
            else:
                (tmp / part.name).symlink_to(part.resolve())
        try:
            tmp.rename(view)
        except OSError:  # another process made it first
            shutil.rmtree(tmp, ignore_errors=True)
    return view


def export_tree(repo_path: Path, commit: str, dest: Path) -> None:
    """Write the tree of `commit` (no history) into dest."""
    proc = subprocess.run(["git", "--git-dir", str(repo_path), "archive", "--format=tar", commit],
                          capture_output=True)
    if proc.returncode != 0:
        raise SourceError(f"commit {commit} not found in {repo_path}: "
                          f"{proc.stderr.decode(errors='replace').strip()[-200:]}")
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(dest, filter="tar")


def read_file_at(repo_path: Path, commit: str, path: str) -> str | None:
    """One file's text at a commit, or None when it does not exist there."""
    proc = subprocess.run(["git", "--git-dir", str(repo_path), "show", f"{commit}:{path}"],
                          capture_output=True)
    return proc.stdout.decode("utf-8", "replace") if proc.returncode == 0 else None


def find_python(version: str) -> Path:
    """A host CPython install prefix for `version` ("3.9"): pyenv's, or from SWE_MONKEYS_PYTHONS."""
    roots = [Path(p) for p in os.environ.get("SWE_MONKEYS_PYTHONS", "").split(os.pathsep) if p]
    pyenv = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    roots.append(Path(pyenv) / "versions")
    found = []
    for root in roots:
        for prefix in root.glob(f"{version}.*"):
            if (prefix / "bin" / f"python{version}").exists() and prefix.name.count(".") == 2:
                found.append(prefix)
    if not found:
        raise SourceError(f"needs a CPython {version} build on the host (pyenv install {version}, or a prefix "
                          f"under SWE_MONKEYS_PYTHONS); none found in {', '.join(map(str, roots))}")
    return max(found, key=lambda p: tuple(int(x) for x in p.name.split(".") if x.isdigit()))


def host_interpreter(python: str) -> str:
    """The host interpreter that downloads wheels for an image whose python is `python`."""
    if python == "system":
        python = "3.11"  # Debian bookworm's python3, the base image's
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == python:
        return sys.executable
    return str(find_python(python) / "bin" / f"python{python}")


# The last pip for interpreters that newer pips dropped (old pips may not skip a wheel whose
# Requires-Python excludes them when it comes from a local find-links folder).
_NEWEST_PIP = {"2.7": "pip<21", "3.6": "pip<22", "3.7": "pip<24.1"}


def downloader(python: str) -> str:
    """A host interpreter with a current pip for `python`: a cached venv whose pip was upgraded.

    pyenv's old CPythons ship old pips (3.6 has pip 18, which knows neither manylinux2010 wheels
    nor a real resolver); the venv gets the newest pip that still supports that interpreter."""
    exe = host_interpreter(python)
    if exe == sys.executable:
        return exe
    venv = cache_dir() / "downloaders" / f"py{python}"
    bin_python = venv / "bin" / "python"
    if (venv / ".complete").exists():
        return str(bin_python)
    shutil.rmtree(venv, ignore_errors=True)
    for cmd in ([exe, "-m", "venv", str(venv)],
                [str(bin_python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-U",
                 _NEWEST_PIP.get(python, "pip")]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SourceError(f"could not make a pip for python {python}: {proc.stderr.strip()[-400:]}")
    (venv / ".complete").write_text("")
    return str(bin_python)


def wheelhouse(python: str, packages: list[str]) -> Path:
    """A cached folder of wheels/sdists for `packages` (and build tools), downloaded on the host."""
    wanted = sorted(set(packages) | {"pip", "setuptools", "wheel"})
    key = hashlib.sha256(f"{python}\n{chr(10).join(wanted)}".encode()).hexdigest()[:16]
    path = cache_dir() / "wheelhouses" / f"py{python}-{key}"
    if (path / ".complete").exists():
        return path
    tmp = path.with_name(path.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    # Build tools unpinned: the newest that supports the interpreter; the spec's pins win.
    pinned = {p.split("==")[0].lower() for p in packages}
    args = list(packages) + [t for t in ("pip", "setuptools", "wheel") if t not in pinned]
    proc = subprocess.run([downloader(python), "-m", "pip", "download", "-q", "--disable-pip-version-check",
                           "-d", str(tmp), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SourceError(f"pip download for python {python} failed: {proc.stderr.strip()[-600:]}")
    (tmp / ".complete").write_text("\n".join(args))
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)
    return path
