"""In-container: the pristine repository as a manifest, what changed since, and putting it back.

Root never asks git what changed: a candidate controls .gitignore (which hides files from
`git status`) and .gitattributes (which makes root-run git re-encode files on checkout). Instead
the harness lists the pristine tree itself (`Manifest`: every path below /testbed, ignored files
included, with its lstat data, and the blob of every committed path from `git ls-tree`), compares
the tree with it after the candidate's patch (`changes`), and restores paths from the object
database with one `git cat-file --batch` process (`restore`): raw blobs, no attributes, no hooks,
O(1) processes however many paths a candidate touches. `applied_key` digests how the applied
tree differs from the pristine one: the key under which the host shares verdicts and caches
them. Standard library only.
"""

import hashlib
import json
import os
import shutil
import stat
import subprocess

TESTBED = "/testbed"
GIT_DIR = TESTBED + "/.git"
# root's git reads only root-owned configuration: the repository's (root-owned, see the instance
# image) and the system's; hooks and fsmonitor are off whatever that configuration says.
GIT = ["git", "--git-dir=" + GIT_DIR, "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false"]


def lstat_key(full):
    """What identifies one entry's state, or None when it is gone. A file: its inode, type and
    mode, owner, size and times, the change time included (no unprivileged process can set it
    back), a symlink's target. A directory: its inode, mode and owner (its size and times change
    whenever an entry is added)."""
    try:
        st = os.lstat(full)
    except OSError:
        return None
    if stat.S_ISDIR(st.st_mode):
        return (st.st_mode, st.st_uid, st.st_gid, st.st_ino, 0, 0, 0, None)
    link = None
    if stat.S_ISLNK(st.st_mode):
        try:
            link = os.readlink(full)
        except OSError:
            link = ""
    return (st.st_mode, st.st_uid, st.st_gid, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, link)


def _walk(root):
    """{relative path: lstat_key} of everything below root but .git."""
    out, stack = {}, [""]
    while stack:
        rel = stack.pop()
        try:
            names = os.listdir(os.path.join(root, rel) if rel else root)
        except OSError:
            continue
        for name in names:
            if not rel and name == ".git":
                continue
            path = rel + "/" + name if rel else name
            key = lstat_key(os.path.join(root, path))
            if key is None:
                continue
            out[path] = key
            if stat.S_ISDIR(key[0]):
                stack.append(path)
    return out


def _ls_tree():
    """{path: blob id} of the pristine commit."""
    proc = subprocess.run(GIT + ["ls-tree", "-r", "-z", "--full-tree", "HEAD"], cwd="/",
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
    blobs = {}
    for entry in proc.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == b"blob":
            blobs[os.fsdecode(path)] = parts[2].decode()
    return blobs


class Manifest:
    """The pristine tree, taken before any candidate content exists in the container."""

    def __init__(self, root=TESTBED):
        self.root = root
        self.entries = _walk(root)
        self.blobs = _ls_tree()

    def changes(self):
        """(modified, added, removed) paths, comparing the tree now with the pristine one."""
        now = _walk(self.root)
        modified = [p for p, e in now.items() if p in self.entries and e != self.entries[p]]
        added = [p for p in now if p not in self.entries]
        removed = [p for p in self.entries if p not in now]
        return sorted(modified), sorted(added), sorted(removed)

    def pristine_text(self, path, limit=1 << 20):
        """The pristine content of one committed file, or None."""
        data = self._blobs([path]).get(path)
        return None if data is None else data[:limit].decode("utf-8", "replace")

    def _blobs(self, paths):
        wanted = [(p, self.blobs[p]) for p in paths if p in self.blobs]
        if not wanted:
            return {}
        proc = subprocess.Popen(GIT + ["cat-file", "--batch"], cwd="/", stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out, _ = proc.communicate("".join(b + "\n" for _, b in wanted).encode())
        found, pos = {}, 0
        for path, blob in wanted:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if len(header) < 3 or header[1] != b"blob":
                continue
            size = int(header[2])
            found[path] = out[pos:pos + size]
            pos += size + 1
        return found

    def restore(self, paths):
        """Put each path back as it was in the pristine tree (a path it did not have is removed).

        Parents go first, so a directory a candidate replaced by a symlink is a directory again
        before anything is written beneath it; nothing is ever written through a symlink.
        """
        paths = sorted(set(paths), key=lambda p: (p.count("/"), p))
        contents = self._blobs([p for p in paths if p in self.entries and stat.S_ISREG(self.entries[p][0])])
        for path in paths:
            full = os.path.join(self.root, path)
            if not _inside_real_dirs(self.root, path):
                continue  # its parent is no real directory of the tree: restoring that parent removes it
            entry = self.entries.get(path)
            remove_path(full, keep_dir=entry is not None and stat.S_ISDIR(entry[0]))
            if entry is None:
                continue
            mode, uid, gid = stat.S_IMODE(entry[0]), entry[1], entry[2]
            if stat.S_ISDIR(entry[0]):
                if not os.path.isdir(full):
                    os.mkdir(full)
                os.chown(full, uid, gid)
                os.chmod(full, mode)
            elif stat.S_ISLNK(entry[0]):
                os.symlink(entry[7], full)
            elif path in contents:
                fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(contents[path])
                os.chown(full, uid, gid)
                os.chmod(full, mode)
            else:
                continue
            # Pristine again, by construction: what the tree holds now is the pristine entry.
            self.entries[path] = lstat_key(full)

    def reset(self):
        """Put the whole tree back as it was, ignored files included; returns what still differs
        afterwards (nothing, unless something kept the harness from restoring it)."""
        modified, added, removed = self.changes()
        self.restore(modified + added + removed)
        modified, added, removed = self.changes()
        return modified + added + removed


def _inside_real_dirs(root, path):
    """True when every parent of path below root is a real directory (no symlink on the way)."""
    current = root
    for part in path.split("/")[:-1]:
        current = os.path.join(current, part)
        try:
            if not stat.S_ISDIR(os.lstat(current).st_mode):
                return False
        except OSError:
            return False
    return True


def remove_path(full, keep_dir=False):
    """Remove a file, symlink or (unless keep_dir) directory tree; never follows a symlink."""
    try:
        st = os.lstat(full)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        if not keep_dir:
            shutil.rmtree(full, ignore_errors=True)
    else:
        os.unlink(full)


def seal_new_paths(manifest, user_dirs_mode=0o1777):
    """Give everything the pristine tree lacks the image's layout: root-owned and read-only files,
    directories root-owned with the sticky bit and open for creating files (__pycache__ closed).

    So the test user may create files anywhere in the tree, but cannot change, delete or rename a
    file it did not create: the candidate's own files, the test files and the conftests included.
    """
    _, added, _ = manifest.changes()
    for path in added:
        full = os.path.join(manifest.root, path)
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            continue
        os.chown(full, 0, 0)
        if stat.S_ISDIR(st.st_mode):
            os.chmod(full, 0o755 if os.path.basename(path) == "__pycache__" else user_dirs_mode)
        else:
            os.chmod(full, stat.S_IMODE(st.st_mode) & 0o755)


def _content_digest(path, data):
    """sha256 of a file's bytes. Bytes, not a syntax tree: two trees that differ only in a comment
    or a line break can still be judged differently (a test that reads source text, a traceback's
    line number, sympy's code-quality test), and a key is what is judged."""
    return "bytes:" + hashlib.sha256(data).hexdigest()


def _entry_state(full, path):
    """(git-style type and mode, content digest) of one path now; None for a directory (git has no
    empty directories, and the files in one are listed themselves)."""
    try:
        st = os.lstat(full)
    except OSError:
        return ("absent", "")
    if stat.S_ISDIR(st.st_mode):
        return None
    if stat.S_ISLNK(st.st_mode):  # its target, never the content it points to
        return ("120000", hashlib.sha256(os.fsencode(os.readlink(full))).hexdigest())
    if not stat.S_ISREG(st.st_mode):
        return ("special %o" % stat.S_IFMT(st.st_mode), "")
    fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    return ("100755" if st.st_mode & 0o111 else "100644", _content_digest(path, data))


def _pristine_state(manifest, path, blobs):
    """What _entry_state said of the path before any candidate, where the manifest can tell."""
    entry = manifest.entries.get(path)
    if entry is None:
        return ("absent", "")
    if stat.S_ISLNK(entry[0]):
        return ("120000", hashlib.sha256(os.fsencode(entry[7])).hexdigest())
    if stat.S_ISREG(entry[0]) and path in blobs:
        return ("100755" if entry[0] & 0o111 else "100644", _content_digest(path, blobs[path]))
    return None  # an ignored file or a directory: any change of it counts


def applied_key(manifest):
    """The key two candidates share a verdict under: a digest of how the tree on disk differs from
    the pristine one once a candidate is applied and put back (before the test patch).

    Computed from what the harness applied, never from a re-derivation of it: a hunk whose context
    occurs twice is keyed where git put it, a symlink by its target and not as a file holding that
    text, a mode change (100644 -> 100755) is a change. Per changed path: its path, type and mode
    as git records them, and its content digest (_content_digest). A path that is pristine again
    (rewritten with its own bytes) is left out, so one tree has one key whichever strategy of the
    apply chain made it.
    """
    modified, added, removed = manifest.changes()
    blobs = manifest._blobs([p for p in modified if p in manifest.blobs])
    items = []
    for path in modified + added + removed:
        now = _entry_state(os.path.join(manifest.root, path), path)
        if now is not None and now != _pristine_state(manifest, path, blobs):
            items.append([path, now[0], now[1]])
    payload = json.dumps(sorted(items), ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()
