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
import select
import shutil
import signal
import subprocess
import sys
import time

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


def _live_processes(uid):
    """Pids of uid's processes that still run (zombies are dead: they only await their parent)."""
    pids = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat("/proc/" + pid).st_uid != uid:
                continue
            with open("/proc/%s/stat" % pid) as f:
                state = f.read().rpartition(")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
        if state not in ("Z", "X"):
            pids.append(int(pid))
    return pids


def kill_user_processes(uid):
    """SIGKILL every process of uid until none is left (no fork needed: works under a fork bomb)."""
    for _ in range(200):
        pids = _live_processes(uid)
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)
    return False


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


class CappedBuffer:
    """Keeps the head and the tail of a stream; the middle of an over-long log is dropped.

    pytest -rA prints its per-test summary at the very end, so a gigabyte of noise before it
    must not push the evidence out of the log.
    """

    def __init__(self, cap):
        self.head_cap, self.tail_cap = cap // 2, cap - cap // 2
        self.head, self.tail, self.total = bytearray(), bytearray(), 0

    def add(self, data):
        self.total += len(data)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * self.tail_cap:
                del self.tail[:-self.tail_cap]

    def text(self):
        tail = self.tail[-self.tail_cap:]
        dropped = self.total - len(self.head) - len(tail)
        middle = ("\n[... %d bytes dropped by the output cap ...]\n" % dropped).encode() if dropped > 0 else b""
        return (bytes(self.head) + middle + bytes(tail)).decode("utf-8", "replace"), dropped > 0


GUARD_DIR = "/opt/swe-monkeys"  # holds swe_monkeys_guard.py, the pytest plugin (see that file)
GUARD_LINE = re.compile(r"\n?@@SWE-MONKEYS-GUARD ([^@\n]*)@@\n?")


def guard_setup(job, env):
    """Pass a fresh nonce to the pytest guard plugin on a pipe; returns (args, fds, nonce)."""
    if not job.get("guard"):
        return [], (), None
    nonce = os.urandom(16).hex()
    read_fd, write_fd = os.pipe()
    os.write(write_fd, nonce.encode())
    os.close(write_fd)
    env["SWE_MONKEYS_GUARD_FD"] = str(read_fd)
    env["PYTHONPATH"] = GUARD_DIR + (":" + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return ["-p", "swe_monkeys_guard"], (read_fd,), nonce


def guard_verdict(log, nonce):
    """'ok' only when the guard vouched with this run's nonce; the guard's lines leave the log."""
    found = GUARD_LINE.findall(log)
    state = "ok" if "ok " + nonce in found else next((f for f in found if f.startswith("tampered")), "missing")
    return state, GUARD_LINE.sub("\n", log)


def run_tests(job):
    """UNSAFE: runs the candidate's code (as the unprivileged user, no network, time-capped)."""
    pw = pwd.getpwnam(job["user"])
    env = {"PATH": job["path"], "HOME": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "PYTHONIOENCODING": "utf-8", "TERM": "dumb", "USER": job["user"]}
    env.update(job.get("env") or {})
    guard_args, fds, nonce = guard_setup(job, env)
    cmd = job["test_cmd"] + " " + " ".join(shell_quote(a) for a in guard_args + job["test_args"])
    buf = CappedBuffer(int(job["output_cap"]))
    start = time.monotonic()
    proc = subprocess.Popen(["/bin/sh", "-c", cmd], cwd=TESTBED, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            user=pw.pw_uid, group=pw.pw_gid, extra_groups=[], pass_fds=fds)
    for fd in fds:
        os.close(fd)
    deadline, timed_out, fd = start + float(job["timeout"]), False, proc.stdout.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            buf.add(chunk)
    # Whatever happened, nothing of the candidate's may outlive its slot.
    kill_user_processes(pw.pw_uid)
    exit_code = None if timed_out else proc.wait()
    if timed_out:
        proc.wait()
    log, truncated = buf.text()
    result = {"exit_code": exit_code, "timed_out": timed_out, "truncated": truncated, "output_bytes": buf.total,
              "test_seconds": round(time.monotonic() - start, 3)}
    if nonce:
        result["guard"], log = guard_verdict(log, nonce)
    result["log"] = log
    return result


def shell_quote(arg):
    return arg if re.fullmatch(r"[\w@%+=:,./\[\]-]+", arg) else "'" + arg.replace("'", "'\"'\"'") + "'"


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
