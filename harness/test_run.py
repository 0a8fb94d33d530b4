"""In-container test runner: the one place where a candidate's code runs (see run_candidate.py).

UNSAFE by design and named so: the test command runs the candidate's code, as the unprivileged
user of the job, in its own session, with a wall-clock limit, an output cap and the pytest guard.
Standard library only.
"""

import os
import pwd
import re
import select
import signal
import subprocess
import time

TESTBED = "/testbed"


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
