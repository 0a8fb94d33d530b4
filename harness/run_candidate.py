"""In-container harness: judge candidate patches, one at a time, in a container it resets between them.

Runs as root with the standard library of the image's python3 only. It never decides
"resolved": it reports facts (which apply strategy worked, what was reverted and why, the test
command's exit code, its capped log, the guard's word) as JSON lines, and the host grades.

Nothing a candidate leaves behind -- a process, a file in the tree or a scratch place, git
metadata, a kernel object -- may reach another candidate's judgement. Before reading any request
the harness takes the pristine state: the tree (tree.Manifest, ignored files included), every
place outside it a non-root user can write (reach.Reach), root's .git (reach.GitState), the
pristine environment's pytest plugins and the config files its pytest reads; and installs the
guard's loader. Then, per request:

  {"op": "ready"}         answered once that state is taken (the host asks while the container
                          waits for its candidate, so that work is off the clock);
  {"op": "prepare", ...}  apply the candidate with a fallback chain (the tree restored between
                          tries), put back what a candidate may not change (test files and their
                          directories, tool configuration, the test runner's own files, symlinks
                          leaving the tree), apply the instance's test_patch, plant canaries
                          (canaries.py: tests that must fail, reported back for grading), seal
                          new paths (root-owned; see tree.seal_new_paths) and write the list of
                          the candidate's paths for the guard;
  {"op": "run", ...}      run the test command (unsafe_tests.py); a second run for the same
                          candidate (fail fast: FAIL_TO_PASS first) starts after every task and
                          every file of the test user is gone;
  {"op": "reset"}         after a candidate: back to the pristine state, checked (see `reset`);
                          {"clean": false} and the host removes the container instead.
  Any other op is refused (ok false) and does nothing. prepare's reply carries "tree_key"
  (tree.applied_key): the applied tree, the only key the host shares a verdict under.

Trust boundary: the candidate's code runs only in a run, as the unprivileged user; root's git
reads no configuration the candidate could write (.gitattributes are put back before the test
patch, .git is root-owned and its path refused at intake).

Usage: python3 run_candidate.py --serve   (one JSON request per stdin line, one marked reply each)
"""

import glob
import json
import os
import pwd
import re
import subprocess
import sys
import time

import canaries
import pytest_setup
import reach
import tree
from kill_user import kill_uid
from unsafe_tests import unsafe_run_tests

TESTBED = tree.TESTBED
GIT = tree.GIT + ["--work-tree=" + TESTBED]
APPLY_CHAIN = (
    ("git apply", GIT + ["apply", "--verbose", "--whitespace=nowarn"]),
    ("git apply --3way", GIT + ["apply", "--verbose", "--3way", "--whitespace=nowarn"]),
    ("git apply --recount --ignore-whitespace", GIT + ["apply", "--verbose", "--recount", "--ignore-whitespace"]),
    ("patch --fuzz=5", ["patch", "--batch", "--fuzz=5", "-p1", "--no-backup-if-mismatch", "-i"]),
)
HOME = "/opt/swe-monkeys"
WORK = HOME + "/work"  # root-only: the test user cannot read or swap the patches
RUN_INFO = HOME + "/run/candidate-paths"  # root-owned, world-readable: what the guard needs to know
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
MARK = "@@SWE-MONKEYS-RESULT@@"
GUARD_PTH = ("import os, sys; exec(\"if os.environ.get('SWE_MONKEYS_GUARD_FDS') and 'swe_monkeys_guard' not in "
             "sys.modules:\\n import importlib.util as _u\\n _s = _u.spec_from_file_location('swe_monkeys_guard', "
             "'/opt/swe-monkeys/swe_monkeys_guard.py')\\n _m = _u.module_from_spec(_s)\\n "
             "sys.modules['swe_monkeys_guard'] = _m\\n _s.loader.exec_module(_m)\")\n")


class Pristine:
    """What the harness learns before any candidate content exists in the container."""

    def __init__(self):
        self.manifest = tree.Manifest()
        dirs = pytest_setup.site_dirs()
        self.plugins = pytest_setup.entry_point_plugins(dirs)
        self.config_names = pytest_setup.supported_names(dirs)
        self.rootdir_flag = pytest_setup.rootdir_option(dirs)
        self.test_files = set()
        self.runs = 0
        self.root_ran = False  # a candidate's code ran as root: this container judges nothing more
        for site in glob.glob("/opt/venv/lib/python*/site-packages"):
            # Loads the guard at interpreter start, by path, before any code of the tree runs.
            with open(os.path.join(site, "zzz-swe-monkeys-guard.pth"), "w") as f:
                f.write(GUARD_PTH)
        for d in (WORK, os.path.dirname(RUN_INFO)):
            os.makedirs(d, exist_ok=True)
        os.chmod(WORK, 0o700)
        self.reach = reach.Reach(skip=(TESTBED, HOME))
        self.git = reach.GitState(tree.GIT_DIR)

    def read_for_config(self, rel):
        """A file as the test run may see it: pristine, or pristine + test_patch for its files."""
        if rel in self.test_files:
            try:
                with open(os.path.join(TESTBED, rel), errors="replace") as f:
                    return f.read()
            except OSError:
                return None
        return self.manifest.pristine_text(rel)


def sh(cmd, timeout=300):
    """Run a trusted command as root in the tree; returns (exit code, output)."""
    p = subprocess.run(cmd, cwd=TESTBED, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def apply_candidate(state, patch_path):
    """Try each strategy of the chain from the pristine tree; returns (method or None, tries)."""
    tries = []
    for name, cmd in APPLY_CHAIN:
        rc, out = sh(cmd + [patch_path], timeout=120)
        tries.append({"method": name, "exit_code": rc, "output": out[-2000:]})
        if rc == 0:
            return name, tries
        modified, added, removed = state.manifest.changes()
        state.manifest.restore(modified + added + removed)
    return None, tries


def revert_reason(path, job, ancestors, patterns):
    """Why a path the candidate changed is put back, or None (it is the candidate's to change)."""
    if path in job["test_files"] or path in ancestors:
        return "test patch"
    for pattern, why in patterns:
        if pattern.search(path):
            return why
    full = os.path.join(TESTBED, path)
    if os.path.islink(full):
        target = os.path.realpath(full)
        if not (target == TESTBED or target.startswith(TESTBED + os.sep)):
            return "symlink out of the tree"
    return None


def prepare(state, job, result):
    t0 = time.monotonic()
    result.update(stage="apply", apply_method=None, apply_tries=[], reverted=[])
    state.test_files = set(job["test_files"])
    if job.get("patch"):
        path = os.path.join(WORK, "candidate.patch")
        with open(path, "w", errors="surrogateescape") as f:
            f.write(job["patch"])
        method, tries = apply_candidate(state, path)
        result.update(apply_method=method, apply_tries=tries)
        if method is None:
            return result
    result["stage"] = "revert"
    patterns = [(re.compile(p), why) for p, why in job["revert_patterns"]]
    ancestors = {"/".join(p.split("/")[:i]) for p in job["test_files"] for i in range(1, p.count("/") + 1)}
    modified, added, removed = state.manifest.changes()
    reverted = [(p, revert_reason(p, job, ancestors, patterns)) for p in modified + added + removed]
    reverted = [(p, why) for p, why in reverted if why]
    state.manifest.restore([p for p, _ in reverted])
    result["reverted"] = [{"path": p, "why": why} for p, why in reverted]
    result["tree_key"] = tree.applied_key(state.manifest)  # what the host shares and caches verdicts by
    modified, added, _ = state.manifest.changes()
    with open(RUN_INFO, "w", errors="surrogateescape") as f:
        f.writelines("M %s\n" % p for p in modified)
        f.writelines("A %s\n" % p for p in added)
    result["stage"] = "test_patch"
    test_patch = os.path.join(WORK, "test.patch")
    with open(test_patch, "w", errors="surrogateescape") as f:
        f.write(job["test_patch"])
    rc, out = sh(GIT + ["apply", "--verbose", test_patch])
    result["test_patch_ok"], result["test_patch_output"] = rc == 0, out[-2000:]
    if rc == 0:
        result["stage"] = "canaries"
        plan = job.get("canaries") or {}
        result["canaries"] = canaries.plant(plan.get("targets") or {}, plan.get("style", "pytest")) if plan else []
        result["stage"] = "seal"
        tree.seal_new_paths(state.manifest)
        result["stage"] = "prepared"
    result["setup_seconds"] = round(time.monotonic() - t0, 3)
    return result


def remove_user_files(state, uid):
    """Everything the test user created: in the tree (it can create but never change what it does
    not own), and whatever is new where the pristine survey found a non-root user could write."""
    state.reach.restore()  # what it cannot undo is the candidate's own, and the reset finds it
    for root, dirs, files in os.walk(TESTBED):
        if root == TESTBED and ".git" in dirs:
            dirs.remove(".git")
        for name in list(dirs) + files:
            path = os.path.join(root, name)
            try:
                if os.lstat(path).st_uid != uid:
                    continue
            except OSError:
                continue
            tree.remove_path(path)
            if name in dirs:
                dirs.remove(name)


def run(state, job, result):
    result["stage"] = "run"
    uid = pwd.getpwnam(job["user"]).pw_uid
    state.root_ran |= uid == 0
    if state.runs and uid:
        if not kill_uid(uid):
            raise RuntimeError("a process of the previous run could not be stopped")
        remove_user_files(state, uid)
    state.runs += 1
    extra = []
    if job.get("pytest"):
        extra += pytest_setup.harness_config(job["args"], state.config_names, state.read_for_config,
                                              rootdir_flag=state.rootdir_flag)
        if job.get("guard"):
            extra += ["-p", "swe_monkeys_guard"]
        for name in state.plugins:
            extra += ["-p", name]
    result.update(unsafe_run_tests(job, extra))
    return result


def reset(state, job, result):
    """Make the container as it was before its first candidate, or say why it cannot be.

    Every task of every user but root is killed; the tree is put back (ignored files included);
    whatever was created in a directory outside the tree that a non-root user can write is
    removed; root's git index is put back. Then it checks, rather than assumes, that it worked:
    no such task, no difference in the tree, in any such directory or writable file, or in .git,
    no System V IPC object. Anything else -- or a run as root, which could have written anywhere --
    and the host throws the container away instead of giving it another candidate.
    """
    result["stage"] = "reset"
    dirty = ["a candidate's code ran as root"] if state.root_ran else []
    if not kill_uid(None):
        dirty.append("a process of a user other than root survived SIGKILL")
    dirty += ["tree: %s" % p for p in state.manifest.reset()[:20]]
    dirty += state.reach.restore()[:20]
    dirty += state.git.restore()[:20]
    dirty += ["System V IPC %s" % o for o in reach.ipc_objects()[:20]]
    state.runs, state.test_files = 0, set()
    result.update(clean=not dirty, dirty=dirty)
    return result


def ready(state, job, result):
    result["stage"] = "ready"  # the pristine state is taken: the host may hand this container out
    return result


# Every op there is. Anything else is refused and does nothing: a misspelt or forged op must
# never fall through to running the tests.
OPS = {"ready": ready, "prepare": prepare, "run": run, "reset": reset}


def handle(state, request):
    op, result = request.get("op"), {"stage": "init"}
    try:
        if op not in OPS:
            raise ValueError("unknown op %r (known: %s)" % (op, ", ".join(sorted(OPS))))
        if isinstance(state, Exception):
            raise RuntimeError("harness start failed: %s" % state)
        OPS[op](state, request, result)
        result["ok"] = True
    except Exception as exc:  # reported with the stage reached: the host decides whose fault it was
        result.update(ok=False, error="%s: %s" % (type(exc).__name__, exc))
    result["op"] = op
    return result


def main():
    try:
        state = Pristine()
    except Exception as exc:  # noqa: BLE001 -- every request then says why
        state = exc
    for line in sys.stdin:
        if line.strip():
            reply = handle(state, json.loads(line))
            sys.stdout.write(MARK + json.dumps(reply) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
