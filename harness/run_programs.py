"""Runs untrusted programs, one after another, inside a swe-monkeys container (standard library only).

Served over stdin/stdout: one JSON request per line, one reply line per request, starting with
`@@SWE_MONKEYS_PROGRAM@@ `. A request is {"id", "program", "stdin", "timeout", "memory_mb",
"output_cap", "disk_mb", "checked", "tests", "entry_point"}. The server runs as root; `unsafe_run_program` runs each program as a
uid of its own (a new one per program, never shared), in its own session, with rlimits on CPU
seconds, address space, file size (which also caps stdout/stderr: they go to root's files), open
files and processes, a wall-clock timeout, and a watcher that kills it past `disk_mb` in its working
directory (the only place it can write; the reply says `disk_exceeded`).

Nothing a program does survives into the next program's judgement, by construction:
- no directory is writable by "others" (the server takes write permission from every such
  directory at start), so a program's uid, which owns nothing else, can write only in its own
  working directory; its source file and outputs belong to root;
- after it, every task of its uid is killed (kill_user.py: thread by thread, so a thread whose
  group leader exited dies too) and its SysV IPC objects removed; if anything of it survives,
  the reply says `dirty` and the host replaces the container;
- the next program runs as another uid, which cannot signal, trace or write anything of this one.

`checked` programs (HumanEval/MBPP) pass only if the whole program ran to its end: a wrapper
(program_wrapper.py) execs it as `__main__` and only *afterwards* reads a per-run nonce from a
pipe and writes it to a second pipe that the server reads. While the program runs no Python object
holds the nonce (it waits in the kernel's pipe buffer) nor the pipes' numbers (they are read back
from /proc/self/cmdline): a frame, a default argument or `sys.modules["__main__"]` gives nothing
away. A program written against this file could still find the pipes; it cannot pass by
os._exit(0), sys.exit(0), printing "passed" or killing its parent.

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
import random
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from kill_user import kill_uid

MARK = "@@SWE_MONKEYS_PROGRAM@@ "
UID_FIRST, UID_COUNT = 20000, 30000
WRAPPER_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "program_wrapper.py")
PIPE_MAX = 1 << 20  # F_SETPIPE_SZ's ceiling for a process without CAP_SYS_RESOURCE


def _limits(uid, timeout, memory_mb, file_mb):
    def apply():
        os.setsid()
        cpu = int(timeout) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        mem = memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        size = file_mb << 20
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        resource.setrlimit(resource.RLIMIT_NPROC, (64, 64))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    return apply


def lock_down():
    """Before the first program: no directory is writable by "others" (/tmp, /var/tmp, /dev/shm,
    /run/lock, /dev/mqueue, ...), and the program wrapper (program_wrapper.py) is root-owned, read-only."""
    for top, dirs, _ in os.walk("/"):
        if top == "/":
            dirs[:] = [d for d in dirs if d not in ("proc", "sys")]
        try:
            mode = os.lstat(top).st_mode
            if mode & 0o002:
                os.chmod(top, mode & 0o7775)
        except OSError:
            continue
    os.chown(WRAPPER_PATH, 0, 0)
    os.chmod(WRAPPER_PATH, 0o644)


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
    """The nonce pipe and the result pipe of a checked program, at numbers picked at random. The
    nonce pipe also carries the entry point and the tests: the program's process can read them only
    from the pipe, which the wrapper empties after the program ended (program_wrapper.py)."""

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
        picks = random.sample(range(100, 1000), 2)
        for fd, pick in ((nonce_r, picks[0]), (result_w, picks[1])):
            os.dup2(fd, pick)
            os.close(fd)
        self.child_fds = tuple(picks)

    def outcome(self):
        """(completed, tampered): the nonce came back, or what the wrapper's tamper hook wrote."""
        for fd in self.child_fds:
            os.close(fd)
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
    """A root-owned folder with the program (root-owned, read-only) and the uid's own working directory."""
    base = tempfile.mkdtemp(prefix="p-", dir="/tmp")
    os.chmod(base, 0o755)
    program, work = os.path.join(base, "program.py"), os.path.join(base, "w")
    with open(program, "w") as f:
        f.write(req["program"])
    os.mkdir(work, 0o700)
    os.chown(work, uid, uid)
    return base, program, work


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


def _watch_disk(work, uid, limit, done, hit):
    """Until `done`: past `limit` bytes in the working directory, the uid's processes are killed
    and `hit` set. Without it a program fills the /tmp tmpfs (memory) to its size."""
    while not done.wait(0.05):
        if _usage(work, uid) >= limit:
            hit.set()
            kill_uid(uid)
            return


def _wait(proc, stdin, timeout):
    """Feed stdin, wait; past the timeout kill the program's process group. Returns timed_out."""
    try:
        proc.stdin.write(stdin.encode())
    except OSError:
        pass
    try:
        proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=timeout)
        return False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.wait()
        return True


def unsafe_run_program(req, uid):
    """UNSAFE: runs one model-written program as `uid` (see the module docstring)."""
    timeout, cap = float(req.get("timeout", 10)), int(req.get("output_cap", 1 << 20))
    base, program, work = _stage(req, uid)
    out_path, err_path = os.path.join(base, ".stdout"), os.path.join(base, ".stderr")
    tests = req.get("tests") or ""
    channel = _Channel(req.get("entry_point") or "", tests) if req.get("checked") else None
    cmd = [sys.executable, "-I", "-B", program]
    if channel:
        cmd = [sys.executable, "-I", "-B", WRAPPER_PATH, program, test_modules(tests)] + [str(fd) for fd in channel.child_fds]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work, "TMPDIR": work, "LANG": "C.UTF-8",
           "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out, stderr=err, cwd=work, env=env,
                                pass_fds=channel.child_fds if channel else (),
                                preexec_fn=_limits(uid, timeout, int(req.get("memory_mb", 1024)), max(1, cap >> 20) + 1))
        done, hit, disk = threading.Event(), threading.Event(), int(req.get("disk_mb", 256)) << 20
        watcher = threading.Thread(target=_watch_disk, args=(work, uid, disk, done, hit), daemon=True)
        watcher.start()
        timed_out = _wait(proc, req.get("stdin", ""), timeout)
        done.set()
        watcher.join()
    seconds = time.monotonic() - start
    disk_exceeded = hit.is_set() or _usage(work, uid) >= disk
    clean = kill_uid(uid)
    completed, tampered = channel.outcome() if channel else (False, None)
    clean = _remove_ipc(uid) and clean
    stdout, out_truncated = _read_capped(out_path, cap)
    stderr, _ = _read_capped(err_path, 8192)
    shutil.rmtree(base, ignore_errors=True)
    code = proc.returncode
    return {"id": req.get("id"), "exit_code": code if code is not None and code >= 0 else None,
            "signal": -code if code is not None and code < 0 else None, "timed_out": timed_out,
            "seconds": round(seconds, 4), "stdout": stdout, "stdout_truncated": out_truncated,
            "stderr": stderr[-4000:], "completed": completed and not disk_exceeded, "tampered": tampered, "disk_exceeded": disk_exceeded,
            "dirty": not clean}


def serve():
    lock_down()
    uids = list(range(UID_FIRST, UID_FIRST + UID_COUNT))
    random.shuffle(uids)
    for n, line in enumerate(sys.stdin):
        if not line.strip():
            continue
        try:
            reply = unsafe_run_program(json.loads(line), uids[n % len(uids)])
        except Exception as exc:  # a harness fault, reported as such (the host makes it infra_error)
            reply = {"error": "%s: %s" % (type(exc).__name__, exc)}
        sys.stdout.write(MARK + json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
