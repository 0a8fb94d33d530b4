"""In-container harness: judge one candidate patch in a warm instance container.

Runs as root inside the container with the standard library of the image's python3 only. It
never decides "resolved": it reports facts (which apply strategy worked, what was reverted, the
test command's exit code and its capped log) as one JSON object on stdout, and the host grades.

Trust boundary: the candidate's code runs only in the test step, as the unprivileged user of the
job, in its own session, with a wall-clock limit. Everything else here runs as root, so a
candidate can neither kill the harness nor write into its output stream.

Usage: python3 run_candidate.py JOB.json
"""

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import time

from test_run import kill_user_processes, run_tests

TESTBED = "/testbed"
GIT = ["git", "-c", "core.hooksPath=/dev/null", "-c", "advice.detachedHead=false"]
APPLY_CHAIN = (
    ("git apply", GIT + ["apply", "--verbose", "--whitespace=nowarn"]),
    ("git apply --3way", GIT + ["apply", "--verbose", "--3way", "--whitespace=nowarn"]),
    ("git apply --recount --ignore-whitespace", GIT + ["apply", "--verbose", "--recount", "--ignore-whitespace"]),
    ("patch --fuzz=5", ["patch", "--batch", "--fuzz=5", "-p1", "--no-backup-if-mismatch", "-i"]),
)
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
WORK = "/opt/swe-monkeys/work"  # root-only: the test user cannot read or swap the patches
MARK = "@@SWE-MONKEYS-RESULT@@"


def sh(cmd, timeout=300, stdin=None):
    """Run a trusted command as root; returns (exit code, output)."""
    p = subprocess.run(cmd, cwd=TESTBED, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def wipe_scratch():
    for d in SCRATCH_DIRS:
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            path = os.path.join(d, name)
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                try:
                    os.unlink(path)
                except OSError:
                    pass


def reset_pristine():
    """Back to the image's pristine commit (every file the image had, installed state included)."""
    rc1, out1 = sh(GIT + ["reset", "--hard", "-q", "HEAD"])
    rc2, out2 = sh(GIT + ["clean", "-ffdxq"])
    if rc1 or rc2:
        raise RuntimeError("reset failed: " + out1 + out2)


def fix_ownership(user, since):
    """Give files changed since `since` back to the test user with sane modes.

    A candidate may chmod 000 its files (git ignores non-exec mode bits, so reset keeps them)
    and files restored by root-run git are root-owned: both would make the next run fail.
    """
    pw = pwd.getpwnam(user)
    os.chown(TESTBED, pw.pw_uid, pw.pw_gid)  # os.walk below sees only what is inside it
    os.chmod(TESTBED, 0o755)
    for root, dirs, files in os.walk(TESTBED):
        if root == TESTBED and ".git" in dirs:
            dirs.remove(".git")
        for name in dirs + files:
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            if st.st_ctime < since or os.path.islink(path) or "__pycache__" in path:
                continue
            os.chown(path, pw.pw_uid, pw.pw_gid)
            os.chmod(path, (st.st_mode & 0o7777) | (0o755 if os.path.isdir(path) else 0o644))


def apply_candidate(patch_path):
    """Try each strategy of the chain from a pristine tree; returns (method or None, tries)."""
    tries = []
    for name, cmd in APPLY_CHAIN:
        rc, out = sh(cmd + [patch_path], timeout=120)
        tries.append({"method": name, "exit_code": rc, "output": out[-2000:]})
        if rc == 0:
            return name, tries
        reset_pristine()
    return None, tries


def changed_paths():
    rc, out = sh(GIT + ["status", "--porcelain=v1", "-z", "--untracked-files=all"])
    entries, paths = out.split("\0"), []
    i = 0
    while i < len(entries):
        entry = entries[i]
        if len(entry) > 3:
            paths.append(entry[3:])
            if entry[0] in "RC":  # renames carry the source path as the next entry
                i += 1
                paths.append(entries[i])
        i += 1
    return paths


def revert_paths(paths):
    """Restore tracked paths to the pristine commit and delete untracked ones."""
    for path in paths:
        full = os.path.join(TESTBED, path)
        rc, _ = sh(GIT + ["cat-file", "-e", "HEAD:" + path])
        if rc == 0:
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            sh(GIT + ["checkout", "HEAD", "--", path])
        elif os.path.lexists(full):
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            else:
                os.unlink(full)


PYTEST_SECTIONS = {"pyproject.toml": "[tool.pytest.ini_options]", "setup.cfg": "[tool:pytest]"}


def section(text, header):
    """The lines of one INI/TOML section (from its header to the next header)."""
    out, inside = [], False
    for line in text.splitlines():
        if line.strip().startswith("["):
            inside = line.strip() == header
        if inside:
            out.append(line.rstrip())
    return out


def pytest_config_changed(path):
    """A candidate may edit pyproject.toml or setup.cfg, but not the pytest settings in them
    (addopts = -p some_plugin would let its own code report the run)."""
    header = PYTEST_SECTIONS.get(os.path.basename(path))
    if header is None:
        return False
    rc, before = sh(GIT + ["show", "HEAD:" + path])
    try:
        with open(os.path.join(TESTBED, path), errors="replace") as f:
            after = f.read()
    except OSError:
        return True
    return section(before if rc == 0 else "", header) != section(after, header)


def must_revert(path, job, patterns):
    """Test files, pytest settings and symlinks leaving the repo are not the candidate's to change."""
    if path in job["test_files"] or any(p.search(path) for p in patterns) or pytest_config_changed(path):
        return True
    if os.path.basename(path).startswith("swe_monkeys_guard"):
        return True  # would shadow the guard plugin (python -m pytest puts the repo first on sys.path)
    full = os.path.join(TESTBED, path)
    if os.path.islink(full):
        target = os.path.realpath(full)
        return not (target == TESTBED or target.startswith(TESTBED + os.sep))
    return False


def judge(job):
    t0 = time.monotonic()
    pw = pwd.getpwnam(job["user"])
    if not kill_user_processes(pw.pw_uid):
        raise RuntimeError("could not stop the previous candidate's processes")
    wipe_scratch()
    reset_pristine()
    result = {"apply_method": None, "apply_tries": [], "reverted": []}
    if job["patch_path"]:
        method, tries = apply_candidate(job["patch_path"])
        result.update(apply_method=method, apply_tries=tries)
        if method is None:
            return result
    patterns = [re.compile(p) for p in job["test_path_patterns"]]
    result["reverted"] = [p for p in changed_paths() if must_revert(p, job, patterns)]
    revert_paths(result["reverted"])
    rc, out = sh(GIT + ["apply", "--verbose", job["test_patch_path"]])
    result["test_patch_ok"], result["test_patch_output"] = rc == 0, out[-2000:]
    if rc != 0:
        return result
    stamp = "/opt/swe-monkeys/ownership.stamp"
    fix_ownership(job["user"], os.stat(stamp).st_mtime if os.path.exists(stamp) else 0.0)
    with open(stamp, "w"):
        pass
    result["setup_seconds"] = round(time.monotonic() - t0, 3)
    result.update(run_tests(job))
    return result


def handle(job):
    """One job -> one report. Patch texts travel inside the job; they are written to files here."""
    os.makedirs(WORK, mode=0o700, exist_ok=True)
    job = dict(job)
    job["patch_path"] = ""
    if job.get("patch"):
        job["patch_path"] = os.path.join(WORK, "candidate.patch")
        with open(job["patch_path"], "w") as f:
            f.write(job["patch"])
    job["test_patch_path"] = os.path.join(WORK, "test.patch")
    with open(job["test_patch_path"], "w") as f:
        f.write(job["test_patch"])
    try:
        result = judge(job)
        result["ok"] = True
    except Exception as exc:  # reported to the host as an infrastructure error, never as a verdict
        result = {"ok": False, "error": "%s: %s" % (type(exc).__name__, exc)}
    return result


def main():
    """--serve: one JSON job per stdin line, one marked JSON report per stdout line, until EOF."""
    if sys.argv[1:] == ["--serve"]:
        jobs = sys.stdin
    else:
        with open(sys.argv[1]) as f:
            jobs = [f.read().replace("\n", " ")]
    for line in jobs:
        if not line.strip():
            continue
        result = handle(json.loads(line))
        sys.stdout.write(MARK + json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
