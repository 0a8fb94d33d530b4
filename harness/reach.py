"""In-container: everything outside the tree that a process without root can change, and proof
that it is as it was (standard library only).

A container judges candidate after candidate only while nothing one of them did can reach the
next (run_candidate.py's "reset"). The tree has its own manifest (tree.py); this module covers
the rest of the container, found by permission bits rather than by a list of names:
- `Reach` walks the whole file system once, before any candidate content exists, and records
  every directory in which some non-root user could create, rename or remove an entry (owned by a
  non-root user, or group- or world-writable), with the state of each of its entries, and every
  other non-directory such a user could write (device nodes aside: writing /dev/null keeps
  nothing). `Reach.restore()` removes what was created in those directories since, and lists
  what it cannot undo: a pristine entry changed, renamed or removed, a writable file written.
  It also records every other directory's inode, times and mode: root's own tools (git apply,
  patch) refuse to write through a candidate's symlinks, and should one ever not, the file it
  wrote or replaced outside the tree changes its directory, and the container is thrown away.
- `ipc_objects()` lists System V shared memory, semaphores and message queues (kernel objects
  that outlive their creator; POSIX queues live in /dev/mqueue and are covered by `Reach`).
- `GitState` records root's repository (.git, which no unprivileged user can write, but root's
  `git apply --3way` updates its index) and puts the index back.
A file system the walk does not enter (/proc, /sys) holds no state an unprivileged user can
leave behind for the next process.
"""

import os
import stat

from tree import lstat_key, remove_path

SKIP = ("/proc", "/sys")
SPECIAL_OK = ("/dev/shm", "/dev/mqueue")  # the only places below /dev a user may create entries in


def _others_can_change(st):
    """True when a non-root user may write this (owner, group or world write bit)."""
    return st.st_uid != 0 or bool(st.st_mode & 0o022)


def _dir_times(st):
    """What changes when anything in a directory is created, removed, renamed or re-permissioned.
    Not its change time: overlayfs copies a directory up (a new change time, the same mtime) when
    something below it is first written, which a legitimate write to /var/tmp does to /var."""
    return (st.st_ino, st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns)


def _listing(path):
    """{name: lstat_key} of one directory's entries, or None when it is no longer a directory."""
    try:
        names = os.listdir(path)
    except OSError:
        return None
    return {name: lstat_key(os.path.join(path, name)) for name in names}


class Reach:
    """The places outside `skip` (the tree, the harness's home) where unprivileged state could live."""

    def __init__(self, skip=()):
        self.skip = set(SKIP) | set(skip)
        self.dirs, self.files = {}, {}  # dir -> (its key, {name: key}); file -> key
        self.fixed = {}  # every other directory -> (inode, mode, owner, mtime, ctime)
        stack = ["/"]
        while stack:
            path = stack.pop()
            try:
                names = os.listdir(path)
            except OSError:
                continue
            for name in names:
                full = os.path.join(path, name)
                if full in self.skip or (path == "/dev" and full not in SPECIAL_OK):
                    continue
                try:
                    st = os.lstat(full)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if _others_can_change(st):
                        self.dirs[full] = None
                    else:
                        self.fixed[full] = _dir_times(st)
                    stack.append(full)
                elif (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)) and _others_can_change(st):
                    self.files[full] = lstat_key(full)
        for path in self.dirs:
            self.dirs[path] = (lstat_key(path), _listing(path) or {})

    def restore(self):
        """Remove every entry created since the walk in a writable directory (it and everything
        below it); returns what cannot be undone here (empty when all is as it was)."""
        problems = []
        for path, (key, pristine) in self.dirs.items():
            if lstat_key(path) != key:
                problems.append("changed: %s" % path)
                continue
            now = _listing(path)
            if now is None:
                problems.append("gone: %s" % path)
                continue
            for name in set(now) - set(pristine):
                remove_path(os.path.join(path, name))
            now = _listing(path) or {}
            problems += ["changed: %s/%s" % (path, n) for n in sorted(set(now) | set(pristine))
                         if now.get(n) != pristine.get(n)]
        problems += ["written: %s" % p for p, key in self.files.items() if lstat_key(p) != key]
        for path, key in self.fixed.items():
            try:
                if _dir_times(os.lstat(path)) != key:
                    problems.append("changed: %s" % path)
            except OSError:
                problems.append("gone: %s" % path)
        return problems


def ipc_objects():
    """System V IPC objects of this container's IPC namespace, one line each."""
    found = []
    for kind in ("shm", "sem", "msg"):
        try:
            with open("/proc/sysvipc/" + kind) as f:
                found += ["%s: %s" % (kind, line.split()[1] if len(line.split()) > 1 else line.strip())
                          for line in f.readlines()[1:] if line.strip()]
        except OSError:
            continue
    return found


class GitState:
    """Root's repository as the pristine container has it: every file but the object store's,
    and the index's bytes (the only file the harness's git commands write there)."""

    def __init__(self, git_dir):
        self.git_dir, self.index = git_dir, os.path.join(git_dir, "index")
        try:
            with open(self.index, "rb") as f:
                self.index_bytes = f.read()
        except OSError:
            self.index_bytes = None
        self.keys = self._keys()

    def _keys(self):
        out = {}
        for root, dirs, files in os.walk(self.git_dir):
            if root == self.git_dir and "objects" in dirs:
                dirs.remove("objects")
            for name in dirs + files:
                full = os.path.join(root, name)
                out[full] = lstat_key(full)
        return out

    def restore(self):
        """Put the index back when it changed; returns what else differs."""
        if self.index_bytes is not None and lstat_key(self.index) != self.keys.get(self.index):
            tmp = self.index + ".swe-monkeys"
            with open(tmp, "wb") as f:
                f.write(self.index_bytes)
            os.chmod(tmp, stat.S_IMODE(self.keys[self.index][0]))
            os.replace(tmp, self.index)
            self.keys[self.index] = lstat_key(self.index)
        now = self._keys()
        return ["changed: %s" % p for p in sorted(set(now) | set(self.keys)) if now.get(p) != self.keys.get(p)]
