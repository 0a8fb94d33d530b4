"""In-container test runner: the one place where a candidate's code runs (see run_candidate.py).

UNSAFE by design and named so: `unsafe_run_tests` runs the candidate's code, as the unprivileged
user of the job, in its own session, with a wall-clock limit and an output cap that keeps the
head and the tail of the log, first in line for the kernel's OOM killer. Under pytest it adds
the harness's own configuration and plugin list (pytest_setup.py) and the guard plugin's
channel: two pipes whose numbers only the guard reads, one holding a fresh nonce in the kernel's
buffer, one for the guard's verdict. Standard library only.
"""

import os
import pwd
import random
import resource
import select
import shlex
import subprocess
import threading
import time

from kill_user import kill_uid

TESTBED = "/testbed"


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


class GuardChannel:
    """The guard's pipes (swe_monkeys_guard.py): a nonce waiting in one, the guard's records coming
    back on the other -- each test's outcome as the runner decides it, tampering as it is seen,
    and the end record with the nonce. Records are read while the tests run (a pipe holds 64 KiB)
    and kept whole up to RECORDS_CAP; a run that writes more is not believed."""

    RECORDS_CAP = 4 << 20  # past it the run is not believed (and the reply stays under the host's cap)

    def __init__(self, env, runner):
        self.nonce = os.urandom(16).hex()
        nonce_r, nonce_w = os.pipe()
        os.write(nonce_w, self.nonce.encode())
        os.close(nonce_w)
        result_r, result_w = os.pipe()
        # Numbers a program cannot guess from the usual small ones.
        picks = random.sample(range(200, 1000), 2)
        for fd, pick in ((nonce_r, picks[0]), (result_w, picks[1])):
            os.dup2(fd, pick)
            os.close(fd)
        self.child_fds, self.result_r = tuple(picks), result_r
        self.data, self.overflow = bytearray(), False
        env["SWE_MONKEYS_GUARD_FDS"] = "%d,%d,%s" % (picks[0], picks[1], runner)

    def after_spawn(self):
        for fd in self.child_fds:
            os.close(fd)
        os.set_blocking(self.result_r, False)

    def read(self):
        """Take what the guard wrote so far; False once the pipe is closed (every writer gone)."""
        while True:
            try:
                chunk = os.read(self.result_r, 1 << 16)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not chunk:
                return False
            if len(self.data) + len(chunk) > self.RECORDS_CAP:
                self.overflow = True
            else:
                self.data += chunk

    def verdict(self):
        """(guard word: 'ok' or why not, [(status, test name)] recorded before the end)."""
        self.read()
        os.close(self.result_r)
        return judge_records(self.data.decode("utf-8", "replace"), self.nonce, self.overflow)


def judge_records(text, nonce, overflow=False):
    """The guard's word on its records and the outcomes they hold. Believed only with exactly one
    end record, carrying this run's nonce and no problem, the last thing written, and no tampering
    seen on the way."""
    records, tampered, ends, after_end = [], [], [], 0
    for line in text.splitlines():
        kind, _, rest = line.partition("\t")
        if ends:
            after_end += 1
        elif kind == "R":
            status, _, name = rest.partition("\t")
            records.append((status, name))
        elif kind == "T":
            tampered.append(rest)
        if kind == "E":
            ends.append(rest)
    if overflow:
        return "tampered: the records overflowed the cap", records
    if tampered:
        return "tampered: " + "; ".join(dict.fromkeys(tampered[:5])), records
    if not ends:
        return "missing: the run's end was not recorded (the runner did not finish)", records
    got, _, problems = ends[0].partition("\t")
    if got != nonce:
        return "forged guard report", records
    if after_end:
        return "tampered: %d records after the run's end" % after_end, records
    if problems:
        return "tampered: " + problems, records
    return "ok", records


def _test_env(job):
    env = {"PATH": job["path"], "HOME": "/tmp", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "PYTHONIOENCODING": "utf-8", "TERM": "dumb", "USER": job["user"],
           # One hash seed for every run: sympy's bin/test otherwise draws a random PYTHONHASHSEED
           # per run, and tests that depend on set/dict order then pass or fail by chance.
           "PYTHONHASHSEED": "0"}
    env.update(job.get("env") or {})
    if job.get("pytest"):
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def _read_until(proc, buf, deadline, channel=None):
    """Collect the output (and the guard's records) until the command closes its output (True) or
    the deadline passes (False)."""
    fd = proc.stdout.fileno()
    watch = [fd] + ([channel.result_r] if channel else [])
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select(watch, [], [], min(left, 1.0))
        if channel and channel.result_r in ready and not channel.read():
            watch.remove(channel.result_r)
        if fd in ready:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return True
            buf.add(chunk)


def unsafe_run_tests(job, extra_args=()):
    """UNSAFE: runs the candidate's code (as the unprivileged user, no network, time-capped)."""
    pw = pwd.getpwnam(job["user"])
    env = _test_env(job)
    channel = GuardChannel(env, job.get("runner", "pytest")) if job.get("guard") else None
    cmd = job["cmd"] + " " + " ".join(shlex.quote(a) for a in list(extra_args) + list(job["args"]))
    buf = CappedBuffer(int(job["output_cap"]))
    oom_before = oom_kills()
    start = time.monotonic()
    proc = subprocess.Popen(["/bin/sh", "-c", cmd], cwd=TESTBED, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                            user=pw.pw_uid, group=pw.pw_gid, extra_groups=[],
                            pass_fds=channel.child_fds if channel else (),
                            preexec_fn=_file_size_cap(int(job.get("disk") or DISK_DEFAULT)))
    disk = DiskWatch(pw.pw_uid, int(job.get("disk") or DISK_DEFAULT), (TESTBED, pw.pw_dir)).start()
    if channel:
        channel.after_spawn()
    _first_to_die(proc.pid)
    timed_out = not _read_until(proc, buf, start + float(job["timeout"]), channel)
    # Whatever happened, nothing of the candidate's may outlive its run.
    disk_exceeded = disk.stop()
    clean = kill_uid(pw.pw_uid) if pw.pw_uid else True
    exit_code = None if timed_out else proc.wait()
    if timed_out:
        proc.wait()
    log, truncated = buf.text()
    result = {"exit_code": exit_code, "timed_out": timed_out, "truncated": truncated, "output_bytes": buf.total,
              "test_seconds": round(time.monotonic() - start, 3), "clean": clean}
    if disk_exceeded:
        result["disk_exceeded"] = True
    if oom_kills() > oom_before:
        result["oom_killed"] = True
    if channel:
        result["guard"], result["records"] = channel.verdict()
    result["log"] = log
    return result


DISK_DEFAULT = 1 << 30  # Limits.disk's default, for a job that does not say


def _file_size_cap(limit):
    """RLIMIT_FSIZE for the test user's processes: no one file grows past the disk bound."""
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


class DiskWatch:
    """Bounds the bytes the test user keeps on disk, summed over every file it owns where it can
    write (the tree's sticky directories and its home on the container's writable layer, which is
    the host's disk; /tmp, /var/tmp, /dev/shm): a thread samples the sum and kills the user's
    processes past `limit`. A walk costs time, so the next one waits twenty times what this one
    took (the watcher takes at most ~5% of a CPU); a run can overshoot by what it writes between
    two samples, each file capped at `limit` by RLIMIT_FSIZE."""

    def __init__(self, uid, limit, roots=()):
        self.uid, self.limit, self.exceeded = uid, limit, False
        self.roots = [r for r in dict.fromkeys(tuple(roots) + ("/tmp", "/var/tmp", "/dev/shm")) if r and r != "/"]
        self.since_ns = time.time_ns() - 2 * 10**9  # a little before the run: clocks are coarse
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def used(self):
        """Bytes of the user's files. Only a directory changed since the watch began (a new entry
        sets its mtime) or owned by the user can hold a file of the user's, so only those have
        their entries stat'ed; the others are listed for their subdirectories (d_type, no stat):
        a walk of sympy's tree costs a stat per directory, not per file."""
        total, stack = 0, list(self.roots)
        while stack:
            path = stack.pop()
            try:
                st = os.stat(path, follow_symlinks=False)
                entries = os.scandir(path)
            except OSError:
                continue
            changed = st.st_mtime_ns >= self.since_ns or st.st_uid == self.uid
            with entries:
                for entry in entries:
                    try:
                        if changed:
                            est = entry.stat(follow_symlinks=False)
                            if est.st_uid == self.uid:
                                total += est.st_blocks * 512
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(entry.path)
                    except OSError:
                        continue
        return total

    def _sample(self):
        if not self.exceeded and self.used() >= self.limit:
            self.exceeded = True
            kill_uid(self.uid)

    def _watch(self):
        while not self._stop.is_set():
            start = time.monotonic()
            self._sample()
            if self._stop.wait(max(0.5, 20 * (time.monotonic() - start))):
                return

    def start(self):
        if self.uid:  # root's runs (run_as_root specs) are not the candidate's to bound
            self._thread.start()
        return self

    def stop(self):
        """Ends the watch with a last sample; True when the bound was hit."""
        if self.uid:
            self._stop.set()
            self._thread.join()
            self._sample()
        return self.exceeded


OOM_COUNTERS = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")  # cgroup v2, v1


def oom_kills():
    """How many processes the kernel's OOM killer has ended in this container (its memory cgroup), or 0."""
    for path in OOM_COUNTERS:
        try:
            with open(path) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            continue
    return 0


def _first_to_die(pid):
    """Under memory pressure the kernel kills the candidate's processes, not the harness."""
    try:
        with open("/proc/%d/oom_score_adj" % pid, "w") as f:
            f.write("1000")
    except OSError:
        pass
