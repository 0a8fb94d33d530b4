"""In-container pytest plugin: vouches that pytest itself decided every reported outcome.

A candidate's source code runs inside the pytest process that judges it, so it can rewire
pytest: replace `_pytest.skipping.evaluate_xfail_marks` (every test turns XFAIL without running),
register a plugin whose `pytest_pyfunc_call` returns True (every test "passes" without running
its body), wrap the report machinery, or shadow `_pytest` with a package of its own. The log and
the exit code are then genuine pytest output. This plugin checks, when pytest ends, that
- every function and method of pytest's own modules (and pluggy's, unittest's) comes from a file
  the candidate did not write, and none was replaced by code without a source file;
- every hook implementation comes from installed code or from a file of the pristine tree the
  candidate did not touch (a conftest.py included: files are root-owned, so none can have been
  rewritten while tests ran): a hook defined in a file the candidate wrote, in a file created at
  run time, or in exec'd text makes the run suspect;
- pytest, _pytest and pluggy were imported from where the environment installed them, not from a
  file the candidate added.
It reports "ok <nonce>" (or what it found) on a pipe only the harness reads. It is loaded at
interpreter start by a root-owned .pth file (before any candidate code, and under its own name,
so a module planted in the tree cannot stand in for it), and it keeps neither the nonce nor the
pipes' numbers in any Python object while tests run: the nonce waits in the kernel's pipe buffer
and is read only at the end, and the pipes' numbers are read again from /proc/self/environ.
Code written against this file can still forge a run from inside the process; that is a limit of
test-based verification (see README, "Isolation"). Standard library only; pytest 4 to 8.

PYTEST_DONT_REWRITE: imported before pytest, it cannot be assertion-rewritten, and pytest's warning
about that would be an error under a repository's `filterwarnings = error` (flask sets it).
"""

import os
import sys

ENV = "SWE_MONKEYS_GUARD_FDS"
ROOTDIR_FILE = "/opt/swe-monkeys/cfg/rootdir"  # written by the harness for a pytest without --rootdir
RUN_INFO = "/opt/swe-monkeys/run/candidate-paths"  # root-owned: "M path" / "A path" the candidate's patch wrote
WATCHED = ("_pytest", "pytest", "pluggy", "unittest")
OWN = ("_pytest", "pytest", "pluggy")  # what must come from the environment's own files


def _candidate_paths(root):
    """(modified, added): real paths of the files the candidate's patch changed or created."""
    modified, added = set(), set()
    try:
        with open(RUN_INFO, errors="surrogateescape") as f:
            for line in f:
                kind, _, path = line.rstrip("\n").partition(" ")
                (added if kind == "A" else modified).add(os.path.realpath(os.path.join(root, path)))
    except OSError:
        pass
    return modified, added


_ACTIVE = bool(os.environ.pop(ENV, ""))  # the numbers themselves are read again at the end
_ROOT = os.path.realpath(os.getcwd())
_MODIFIED, _ADDED = _candidate_paths(_ROOT) if _ACTIVE else (set(), set())
_SNAPSHOT = {}


def _watched_modules():
    return [(n, m) for n, m in list(sys.modules.items())
            if m is not None and n.split(".")[0] in WATCHED and getattr(m, "__file__", None)]


def _is_code(value):
    """Behaviour rather than state: functions, classes, methods and their descriptors."""
    return isinstance(value, (type, staticmethod, classmethod, property)) or callable(value) and (
        hasattr(value, "__code__") or type(value).__name__ in ("builtin_function_or_method", "method",
                                                                 "functools.partial", "partial"))


def _members(module):
    """(attribute path, object) for the module's code and its own classes' code."""
    for name, value in list(vars(module).items()):
        if not _is_code(value):
            continue
        yield name, value
        if isinstance(value, type) and getattr(value, "__module__", None) == module.__name__:
            for attr, member in list(vars(value).items()):
                if _is_code(member):
                    yield "%s.%s" % (name, attr), member


def _hookimpls(pluginmanager):
    out = []
    for name in dir(pluginmanager.hook):
        get = getattr(getattr(pluginmanager.hook, name, None), "get_hookimpls", None)
        if get is not None:
            try:
                out.extend(get())
            except Exception:
                continue
    return out


def _take_snapshot():
    for mod_name, module in _watched_modules():
        for attr, value in _members(module):
            _SNAPSHOT[(mod_name, attr)] = value


def _file_owner(path, owners):
    """(real path, owner uid or None), looked up once per file in a check: `owners` lives for one
    check (thousands of functions share a few hundred files; nothing changes while it runs)."""
    if path not in owners:
        real = os.path.realpath(path)
        try:
            owners[path] = (real, os.stat(real).st_uid)
        except OSError:
            owners[path] = (real, None)
    return owners[path]


def _untrusted(path, owners, module_name=""):
    """Why code from this real file may not implement pytest's behaviour, or "".

    Trusted: installed code, the pristine tree's own files (a conftest.py or any file the
    candidate did not touch), and -- when the repository is pytest itself -- pytest's own
    modules, which its patches legitimately edit. Files are root-owned in the container, so one
    owned by anyone else was created while the tests ran."""
    real, uid = _file_owner(path, owners)
    if uid is None:
        return "missing"
    if uid != 0:
        return "created at run time"
    if real in _ADDED:
        return "added by the candidate"
    if real in _MODIFIED and module_name.split(".")[0] not in ("_pytest", "pytest"):
        return "written by the candidate"
    return ""


def _code_file(value):
    code = getattr(value, "__code__", None)
    name = getattr(code, "co_filename", "") if code is not None else ""
    return "" if not name or name.startswith("<") else name  # generated code: the snapshot covers it


def _problems(pluginmanager):
    found, owners = [], {}
    for mod_name, module in _watched_modules():
        if mod_name.split(".")[0] in OWN:
            why = _untrusted(module.__file__, owners, mod_name)
            if why:
                found.append("%s imported from a file %s" % (mod_name, why))
        for attr, value in _members(module):
            code_file = _code_file(value)
            replaced = (mod_name, attr) in _SNAPSHOT and _SNAPSHOT[(mod_name, attr)] is not value
            if replaced and not code_file and not isinstance(value, type):
                # pytest patches itself (legacypath's Config methods), always with functions of its
                # own files; a replacement without a source file (exec'd, a partial, a builtin) is not that.
                found.append("%s.%s replaced by code without a source file" % (mod_name, attr))
            why = code_file and _untrusted(code_file, owners, getattr(value, "__module__", "") or "")
            if why:
                found.append("%s.%s from a file %s" % (mod_name, attr, why))
    for impl in _hookimpls(pluginmanager):
        code_file = _code_file(impl.function)
        why = _untrusted(code_file, owners, getattr(impl.function, "__module__", "") or "") if code_file \
            else "without a source file"
        if why:
            found.append("hook %s %s" % (getattr(impl.function, "__name__", "?"), why))
    return found


def _channel():
    """The nonce pipe and the result pipe, as the harness passed them (read from the kernel)."""
    try:
        with open("/proc/self/environ", "rb") as f:
            for item in f.read().split(b"\0"):
                if item.startswith(ENV.encode() + b"="):
                    nonce_fd, result_fd = item.split(b"=", 1)[1].split(b",")
                    return int(nonce_fd), int(result_fd)
    except (OSError, ValueError):
        pass
    return None


def pytest_addoption(parser):
    """The first hook pytest calls on this plugin: before conftests and collection. (pytest 4's
    hookspec has `parser` alone: a hookimpl naming more is refused at registration.)"""
    if _ACTIVE and not _SNAPSHOT:
        _take_snapshot()


def pytest_configure(config):
    if _ACTIVE and not _SNAPSHOT:
        _take_snapshot()
    if _ACTIVE:
        _pin_rootdir(config)


def _pin_rootdir(config):
    """A pytest without --rootdir (3.3) takes the arguments' common ancestor; the harness wrote
    the rootdir pytest's own rules give (root-owned file) and it is set here, before collection
    makes test ids from it. Newer pytest got --rootdir and no file is written."""
    try:
        with open(ROOTDIR_FILE) as f:
            rootdir = f.read().strip()
    except OSError:
        return
    import py

    config.rootdir = py.path.local(rootdir)


def pytest_unconfigure(config):
    if not _ACTIVE:
        return  # a nested pytest (pytester) inherited nothing to vouch for
    channel = _channel()
    if channel is None:
        return
    problems = _problems(config.pluginmanager)
    try:
        nonce = os.read(channel[0], 64).decode().strip()
        line = ("ok " + nonce) if not problems and nonce else "tampered: " + "; ".join(problems[:5] or ["no nonce"])
        os.write(channel[1], (line + "\n").encode())
    except (OSError, ValueError):
        pass
