"""Runs untrusted programs inside a swe-monkeys container, several at once (standard library only).

Served over stdin/stdout: each line in is one request or a JSON list of them (a batch: the host
sends what it has queued without waiting for replies); every request gets one reply line, starting
with `@@SWE_MONKEYS_PROGRAM@@ `, as soon as it is done (so in any order: the reply carries the
request's "id"). A request is {"id", "program", "stdin", "timeout", "memory_mb", "output_cap",
"disk_mb", "checked", "tests", "entry_point"}. `--slots N` programs run at once.

The server runs as root and starts no program itself: a warm parent (warm_parent.py, started once)
forks a child per program, which becomes the program's process: a uid of its own (a new one per
program, never shared), its own session, rlimits on CPU seconds, address space, file size (which
also caps stdout/stderr: they go to root's files), open files and processes. The server keeps the
wall-clock timeout and a watcher that kills the program past `disk_mb` in its working directory
(the only place it can write; the reply says `disk_exceeded`).

Nothing a program does survives into the next program's judgement, by construction:
- no directory is writable by "others" (the server takes write permission from every such
  directory at start), so a program's uid, which owns nothing else, can write only in its own
  working directory; its source file and outputs belong to root;
- after it, every task of its uid is killed (kill_user.py: thread by thread, so a thread whose
  group leader exited dies too) and its SysV IPC objects removed; if anything of it survives,
  the reply says `dirty` and the host gives the container no more programs;
- the next program runs as another uid, which cannot signal, trace or write anything of this one,
  forked from a parent that holds nothing of any program and that no program can change
  (warm_parent.py says why). Programs running at the same time are kept apart the same way.

`checked` programs (HumanEval/MBPP) pass only if the whole program ran to its end: the wrapper
(program_wrapper.py) runs it as `__main__` and only *afterwards* reads a per-run nonce from a pipe
and writes it to a second pipe that the server reads. While the program runs no Python object
holds the nonce (it waits in the kernel's pipe buffer) nor the pipes' numbers (they sit at or
above the program's RLIMIT_NOFILE, where only the harness can put a descriptor, and are found there
afterwards): a frame, a default argument or `sys.modules["__main__"]` gives nothing away. A
program written against this file could still find the pipes; it cannot pass by os._exit(0),
sys.exit(0), printing "passed" or killing its parent.

The dataset's tests travel apart from the program (`"tests"`, and HumanEval's `"entry_point"`), in
the nonce pipe behind the nonce: the program never has them as source, and the wrapper compiles and
runs them only after the program ended, in a fresh namespace, with the builtins and the modules the
tests import checked against snapshots taken before the program ran, under an audit hook that makes
trace/profile hooks, code-object swaps, gc walks and ctypes tampering (reply `tampered`: which).
"""

import ast
import fcntl
import json
import os
import queue
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from kill_user import kill_uid
from warm_parent import PROGRAM_ENV, WarmParent

MARK = "@@SWE_MONKEYS_PROGRAM@@ "
UID_FIRST, UID_COUNT = 20000, 30000
HERE = os.path.dirname(os.path.abspath(__file__))
PIPE_MAX = 1 << 20  # F_SETPIPE_SZ's ceiling for a process without CAP_SYS_RESOURCE
REPLY_S = 30.0  # the warm parent answers a fork at once, and reports an exit once the kill is done


def lock_down():
    """Before the first program: no directory is writable by "others" (/tmp, /var/tmp, /dev/shm,
    /run/lock, /dev/mqueue, ...), and the harness's files are root-owned, read-only."""
    for top, dirs, _ in os.walk("/"):
        if top == "/":
            dirs[:] = [d for d in dirs if d not in ("proc", "sys")]
        try:
            mode = os.lstat(top).st_mode
            if mode & 0o002:
                os.chmod(top, mode & 0o7775)
        except OSError:
            continue
    for name in os.listdir(HERE):
        if name.endswith(".py"):
            os.chown(os.path.join(HERE, name), 0, 0)
            os.chmod(os.path.join(HERE, name), 0o644)


def _ipc_ids(uid):
    """[(ipcrm flag, id)] of the uid's SysV shared memory segments, queues and semaphore sets."""
    found = []
    for kind, flag, uid_column in (("shm", "-m", 7), ("msg", "-q", 7), ("sem", "-s", 4)):
        try:
            with open("/proc/sysvipc/" + kind) as f:
                rows = [line.split() for line in f.readlines()[1:]]
        except OSError:
            continue
        found += [(flag, row[1]) for row in rows if len(row) > uid_column and row[uid_column] == str(uid)]
    return found


def _remove_ipc(uid):
    """SysV IPC objects outlive their processes: remove the uid's (as that uid: root without
    CAP_SYS_ADMIN may not remove another user's objects). True when none is left."""
    for flag, ipc_id in _ipc_ids(uid):
        subprocess.run(["ipcrm", flag, ipc_id], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       user=uid, group=uid, extra_groups=[])
    return not _ipc_ids(uid)


def _read_capped(path, cap):
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except OSError:
        return "", False
    return data[:cap].decode("utf-8", "replace"), len(data) > cap


class _Channel:
    """The nonce pipe and the result pipe of a checked program. The nonce pipe also carries the
    entry point and the tests: the program's process can read them only from the pipe, which the
    wrapper empties after the program ended (program_wrapper.py). `child_fds` go to the warm parent."""

    def __init__(self, entry_point="", tests=""):
        self.nonce = secrets.token_hex(16).encode()
        payload = self.nonce + (entry_point + "\n" + tests).encode()
        if len(payload) > PIPE_MAX:
            raise ValueError("tests of %d bytes do not fit the pipe" % len(payload))
        nonce_r, nonce_w = os.pipe()
        if len(payload) > 65536:
            fcntl.fcntl(nonce_w, fcntl.F_SETPIPE_SZ, PIPE_MAX)
        os.write(nonce_w, payload)
        os.close(nonce_w)
        self.result_r, result_w = os.pipe()
        self.child_fds = [nonce_r, result_w]

    def outcome(self):
        """(completed, tampered): the nonce came back, or what the wrapper's tamper hook wrote."""
        os.set_blocking(self.result_r, False)
        try:
            said = os.read(self.result_r, 256)
        except OSError:
            said = b""
        finally:
            os.close(self.result_r)
        tampered = said.decode("utf-8", "replace")[len("tampered: "):] if said.startswith(b"tampered: ") else None
        return said == self.nonce, tampered


def test_modules(tests):
    """The top-level modules the tests import (the wrapper imports them before the program runs)."""
    names = set()
    try:
        tree = ast.parse(tests)
    except SyntaxError:
        return ""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return ",".join(sorted(names))


def _stage(req, uid):
    """A root-owned folder (others may only pass through) with the program (root-owned, read-only),
    root's stdin/stdout/stderr files, opened for the child, and the uid's own working directory."""
    base = tempfile.mkdtemp(prefix="p-", dir="/tmp")
    os.chmod(base, 0o711)
    program, work = os.path.join(base, "program.py"), os.path.join(base, "w")
    with open(program, "w") as f:
        f.write(req["program"])
    with open(os.path.join(base, ".stdin"), "w") as f:
        f.write(req.get("stdin", ""))
    os.mkdir(work, 0o700)
    os.chown(work, uid, uid)
    creat = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fds = [os.open(os.path.join(base, ".stdin"), os.O_RDONLY), os.open(os.path.join(base, ".stdout"), creat, 0o600),
           os.open(os.path.join(base, ".stderr"), creat, 0o600)]
    return base, program, work, fds


def _usage(top, uid):
    """Bytes the uid keeps below `top` (its working directory: the only place it can write)."""
    total = 0
    for where, dirs, files in os.walk(top):
        for name in dirs + files:
            try:
                st = os.lstat(os.path.join(where, name))
            except OSError:
                continue
            total += st.st_blocks * 512 if st.st_uid == uid else 0
    return total


def _run(parent, job, fds, timeout, disk):
    """Fork the job's child and wait for its end: (exit message, timed_out, disk_hit, seconds)."""
    start = time.monotonic()
    try:
        box = parent.fork(job, fds)
    finally:
        for fd in fds:
            os.close(fd)
    timed_out = disk_hit = False
    try:
        started = ended = box.get(timeout=REPLY_S)
        deadline = start + timeout
        while "error" not in ended and "status" not in ended:
            try:
                ended = box.get(timeout=max(0.0, min(0.05, deadline - time.monotonic())))
            except queue.Empty:
                timed_out = time.monotonic() >= deadline
                disk_hit = not timed_out and _usage(job["work"], job["uid"]) >= disk
                if timed_out or disk_hit:
                    try:
                        os.killpg(started["pid"], signal.SIGKILL)  # its session: setsid was its first act
                    except OSError:
                        os.kill(started["pid"], signal.SIGKILL)
                    kill_uid(job["uid"])
                    ended = box.get(timeout=REPLY_S)
    except queue.Empty:
        ended = {"error": "the warm parent did not answer in %d s" % REPLY_S}
    return ended, timed_out, disk_hit, time.monotonic() - start


def unsafe_run_program(req, uid, parent):
    """UNSAFE: runs one model-written program as `uid` (see the module docstring)."""
    began = time.monotonic()
    timeout, cap = float(req.get("timeout", 10)), int(req.get("output_cap", 1 << 20))
    base, program, work, fds = _stage(req, uid)
    tests = req.get("tests") or ""
    channel = _Channel(req.get("entry_point") or "", tests) if req.get("checked") else None
    job = {"id": "%s/%d" % (req.get("id"), uid), "uid": uid, "work": work, "program": program,
           "checked": bool(channel), "modules": test_modules(tests), "env": dict(PROGRAM_ENV, HOME=work, TMPDIR=work),
           "cpu_s": int(timeout) + 1, "memory_mb": int(req.get("memory_mb", 1024)), "file_mb": max(1, cap >> 20) + 1}
    disk, prepared = int(req.get("disk_mb", 256)) << 20, time.monotonic() - began
    try:
        ended, timed_out, disk_hit, seconds = _run(parent, job, fds + (channel.child_fds if channel else []),
                                                   timeout, disk)
    finally:
        parent.forget(job["id"])
    ended_at = time.monotonic()
    disk_exceeded = disk_hit or _usage(work, uid) >= disk
    clean = kill_uid(uid)
    completed, tampered = channel.outcome() if channel else (False, None)
    clean = _remove_ipc(uid) and clean
    stdout, out_truncated = _read_capped(os.path.join(base, ".stdout"), cap)
    stderr, _ = _read_capped(os.path.join(base, ".stderr"), 8192)
    shutil.rmtree(base, ignore_errors=True)
    if "error" in ended:
        return {"id": req.get("id"), "error": ended["error"], "dirty": not clean}
    code = ended.get("status")
    return {"id": req.get("id"), "exit_code": code if code is not None and code >= 0 else None,
            "signal": -code if code is not None and code < 0 else None, "timed_out": timed_out,
            "seconds": round(seconds, 4), "cpu_seconds": ended.get("cpu"), "stdout": stdout,
            "stdout_truncated": out_truncated, "stderr": stderr[-4000:], "completed": completed and not disk_exceeded,
            "tampered": tampered, "disk_exceeded": disk_exceeded, "dirty": not clean,
            "harness_seconds": round(prepared + time.monotonic() - ended_at, 4)}


def serve(slots):
    lock_down()
    parent = WarmParent()
    uids = list(range(UID_FIRST, UID_FIRST + UID_COUNT))
    random.shuffle(uids)
    taken, lock, jobs = [0], threading.Lock(), queue.Queue()

    def slot():
        while True:
            req = jobs.get()
            with lock:
                uid = uids[taken[0] % len(uids)]
                taken[0] += 1
            try:
                reply = unsafe_run_program(req, uid, parent)
            except Exception as exc:  # a harness fault, reported as such (the host makes it infra_error)
                reply = {"id": req.get("id"), "error": "%s: %s" % (type(exc).__name__, exc)}
            with lock:
                sys.stdout.write(MARK + json.dumps(reply) + "\n")
                sys.stdout.flush()
            if parent.ended:
                os._exit(1)  # the host sees the end and starts another container
            jobs.task_done()

    for _ in range(slots):
        threading.Thread(target=slot, daemon=True).start()
    for line in sys.stdin:
        if line.strip():
            got = json.loads(line)
            for req in got if isinstance(got, list) else [got]:
                jobs.put(req)
    jobs.join()  # stdin ended: the programs already asked for still get their replies


if __name__ == "__main__":
    serve(int(sys.argv[sys.argv.index("--slots") + 1]) if "--slots" in sys.argv else 1)
