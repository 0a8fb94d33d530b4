"""The warm parent of the program runner (standard library only): one interpreter per container,
started once by the root server (run_programs.py), that forks a child per program.

A fresh interpreter per program cost ~12 ms to start and ~10 ms more to import what programs and
their tests import (typing, re, collections); a fork of this warm one costs ~1 ms. The child, still
root, makes itself the program's process and runs it through program_wrapper.py:
- its own session; stdin, stdout and stderr from the server (root's files: RLIMIT_FSIZE caps them);
  for a checked program the nonce pipe and the result pipe at two random numbers at or above
  program_wrapper.FD_FLOOR, the program's RLIMIT_NOFILE (so nothing the program opens, duplicates
  or receives lands there); every other descriptor it inherited closed -- the parent's control
  socket, which forks as root, first of all;
- the program's working directory and environment, oom_score_adj 1000 (under memory pressure the
  kernel takes a program, not the harness), the rlimits (CPU seconds, address space, file size,
  open files, processes, no core), no supplementary groups, then the program's gid and uid.

Why one long-lived parent leaves nothing of one program to the next (each names an attack it stops):
- it holds nothing of any program: not its source (the child reads the file after the fork), not
  its nonce nor its tests (they wait in the nonce pipe, which the server fills and only the child
  gets), not its descriptors (closed right after its fork, before the next request is read): a
  child searching its inherited memory finds no other program's secrets;
- it is root and the program is not: a program cannot signal it, trace it or read its memory, and
  what the program changes in its own memory (modules, builtins, the random state, sys.path) is its
  copy-on-write copy, never the parent's: the next child starts from the parent as it was;
- it is single-threaded (a fork copies only the forking thread; WarmParent's thread runs in the
  server) and picks the pipe numbers from os.urandom (a seeded generator's state, inherited by the
  child, would give them away); `random` reseeds itself in every child (os.register_at_fork). The
  string hash seed is the parent's, fixed when it started, where each fresh interpreter drew its own.
The parent ends when the server does (its control socket closes).

Protocol on the control socket (a SOCK_SEQPACKET pair; its number is the one argument): the server
(`WarmParent`, its end, is below) sends one JSON job with its descriptors [stdin, stdout, stderr]
(+ [nonce pipe, result pipe] when "checked"); the parent answers {"id", "pid"} once it forked (or
{"id", "error"}) and {"id", "status", "cpu"} when the child ended (status as
os.waitstatus_to_exitcode gives it, cpu the child's CPU seconds).
"""

import fcntl
import gc
import json
import os
import queue
import resource
import secrets
import select
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I leaves the script's folder out
import program_wrapper  # noqa: E402
del sys.path[0]  # and out of the programs' path again

PROGRAM_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
# What programs and their tests commonly import: imported once here, so that no child pays for it.
WARM = ("typing", "math", "re", "collections", "itertools", "functools", "heapq", "bisect", "string", "random",
        "hashlib", "fractions", "decimal", "statistics", "copy", "operator", "datetime", "json", "_thread",
        "builtins", "_frozen_importlib", "_frozen_importlib_external")


def _say(control, message):
    control.send(json.dumps(message).encode())


def serve(control):
    """Forks a child per job until the server goes; returns only in a child: (job, its descriptors)."""
    for name in WARM:
        try:
            __import__(name)
        except ImportError:
            pass
    gc.collect()
    gc.freeze()  # the warm objects stay out of every child's collections (and so unshared pages uncopied)
    poller, children = select.poll(), {}
    poller.register(control, select.POLLIN)
    while True:
        for fd, _ in poller.poll():
            if fd != control.fileno():
                job_id, pid = children.pop(fd)
                poller.unregister(fd)
                _, status, usage = os.wait4(pid, 0)
                os.close(fd)
                _say(control, {"id": job_id, "status": os.waitstatus_to_exitcode(status),
                               "cpu": round(usage.ru_utime + usage.ru_stime, 4)})
                continue
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 8)
            if not message:
                os._exit(0)  # the server is gone
            job = json.loads(message)
            try:
                pid = os.fork()
            except OSError as exc:
                pid = exc
            if pid == 0:
                return job, fds
            for received in fds:
                os.close(received)
            if isinstance(pid, OSError):
                _say(control, {"id": job["id"], "error": "fork: %s" % pid})
                continue
            pidfd = os.pidfd_open(pid)
            children[pidfd] = (job["id"], pid)
            poller.register(pidfd, select.POLLIN)
            _say(control, {"id": job["id"], "pid": pid})


def _descriptors(fds, checked):
    """0, 1, 2 from the server; a checked program's pipes at random numbers >= FD_FLOOR, the nonce
    pipe below the result pipe; every other descriptor closed. Keeps no number in any object."""
    moved = [fcntl.fcntl(fd, fcntl.F_DUPFD, 2048) for fd in fds]  # out of the way of every target
    for fd, to in zip(moved[:3], (0, 1, 2)):
        os.dup2(fd, to)
    keep = [0, 1, 2]
    if checked:
        picks = set()
        while len(picks) < 2:
            picks.add(program_wrapper.FD_FLOOR + secrets.randbelow(program_wrapper.FD_SPAN))
        for fd, to in zip(moved[3:5], sorted(picks)):
            os.dup2(fd, to)
        keep += sorted(picks)
    for low, high in zip(keep, keep[1:] + [1 << 20]):  # close_range(2) around what is kept
        os.closerange(low + 1, high)


def become_program(job, fds):
    """In the child, as root: make this process the program's (module docstring), then run it."""
    os.setsid()
    _descriptors(fds, job["checked"])
    os.chdir(job["work"])
    os.environ.clear()
    os.environ.update(job["env"])
    if "tempfile" in sys.modules:
        sys.modules["tempfile"].tempdir = None  # TMPDIR is the program's working directory
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")
    for limit, value in ((resource.RLIMIT_CPU, job["cpu_s"]), (resource.RLIMIT_AS, job["memory_mb"] << 20),
                         (resource.RLIMIT_FSIZE, job["file_mb"] << 20),
                         (resource.RLIMIT_NOFILE, program_wrapper.FD_FLOOR), (resource.RLIMIT_NPROC, 64),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(limit, (value, value))
    os.setgroups([])
    os.setgid(job["uid"])
    os.setuid(job["uid"])
    if job["checked"]:
        _end_checked(job["program"], job["modules"])
    program_wrapper.run_plain(job["program"])


def _end_checked(path, modules):
    """A checked program's verdict is its nonce, sent or not before run_checked returns, so its
    process ends right there, without the interpreter's finalization (7 of a fork's 9 ms): no atexit
    hook, thread or finalizer of the program's runs after its tests (none could change the verdict).
    Its output is flushed and its exception printed as the interpreter would; all bound beforehand."""
    excepthook, streams, exit_now = sys.__excepthook__, (sys.stdout, sys.stderr), os._exit
    code = 1
    try:
        program_wrapper.run_checked(path, modules)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    except BaseException as exc:  # noqa: BLE001 -- the program's: printed, exit status 1
        excepthook(type(exc), exc, exc.__traceback__)
    for stream in streams + (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # noqa: BLE001 -- a replaced or closed stream of the program's
            pass
    exit_now(code & 0xFF)


class WarmParent:
    """The server's end of warm_parent.py: `fork(job, fds)` gives a queue that receives the child's
    pid, then its exit ({"error"} when the parent failed or ended); a thread hands the messages out."""

    def __init__(self):
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "warm_parent.log"), "ab") as errors:  # root's, like the harness folder
            self.proc = subprocess.Popen([sys.executable, "-I", "-B", os.path.join(here, "warm_parent.py"),
                                          str(theirs.fileno())], pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=errors, env=PROGRAM_ENV, cwd="/")
        theirs.close()
        self.sock, self.lock, self.boxes, self.ended = mine, threading.Lock(), {}, False
        threading.Thread(target=self._hand_out, daemon=True).start()

    def _hand_out(self):
        while True:
            try:
                message = json.loads(self.sock.recv(1 << 16) or b"null")
            except (OSError, ValueError):
                message = None
            with self.lock:
                if message is None:
                    self.ended = True
                    for box in self.boxes.values():
                        box.put({"error": "the warm parent ended (exit code %s)" % self.proc.poll()})
                    return
                box = self.boxes.get(message["id"])
            if box is not None:
                box.put(message)

    def fork(self, job, fds):
        box = queue.Queue()
        with self.lock:
            if self.ended:
                raise RuntimeError("the warm parent ended")
            self.boxes[job["id"]] = box
        socket.send_fds(self.sock, [json.dumps(job).encode()], fds)
        return box

    def forget(self, job_id):
        with self.lock:
            self.boxes.pop(job_id, None)


if __name__ == "__main__":
    # In a child `serve` returns, and the program runs at the top of its stack; it then ends as an
    # interpreter does (threads joined, atexit run, output flushed; exit status 1 with a traceback
    # on an exception), as `python3 PROGRAM` did.
    become_program(*serve(socket.socket(fileno=int(sys.argv[1]))))
