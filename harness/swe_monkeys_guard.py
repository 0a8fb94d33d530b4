"""In the test process: records each outcome where the runner decides it, and owns the run's end.

A candidate's code runs inside the process that judges it, so the log, the exit status and
anything kept in memory are the candidate's to forge. The verdict rests instead on records this
module writes to a pipe only the harness reads, each at the moment the runner decides a test's
outcome ("R status name"), on tampering seen as it happens ("T reason", see guard_trust.py), and
on an end record ("E nonce problems") written once the runner has reported its last test, after
which the guard ends the process itself (os._exit with the runner's status): no exit handler,
thread or atexit of the candidate's runs after it, and whatever reaches the pipe after the end
record makes the run suspect. The harness plants canaries (canaries.py) that must be recorded
as failed, so a forgery that turns failures into passes, skips bodies, or keeps the runner from
reporting shows in the records.

Loaded at interpreter start by a root-owned .pth file (by path, under its own name, before any
code of the tree; guard_trust.py and guard_runners.py the same way), when the harness set
SWE_MONKEYS_GUARD_FDS ("nonce fd,result fd,runner"; popped at once, so a child process of the
tests records nothing). Per runner:
- pytest: this module is also the plugin (`-p swe_monkeys_guard`): pytest_runtest_logreport
  records; pytest_unconfigure checks that no function of pytest, pluggy or unittest was replaced
  by code the candidate wrote and that every hook implementation comes from trusted code, then
  ends the run;
- sympy's bin/test and unittest (Django): guard_runners.py.
Before each test the callable about to run must be code compiled from a root-owned file the
candidate did not write, and no trace or profile function of the candidate's may be set.
Standard library only, Python 3.6+ syntax (the venv's interpreter, 3.6 to 3.11).

PYTEST_DONT_REWRITE: imported before pytest, it cannot be assertion-rewritten, and pytest's warning
about that would be an error under a repository's `filterwarnings = error` (flask sets it).
"""

import functools
import importlib.util
import os
import sys
import threading
import types

ENV = "SWE_MONKEYS_GUARD_FDS"
HOME = "/opt/swe-monkeys"
ROOTDIR_FILE = HOME + "/cfg/rootdir"  # written by the harness for a pytest without --rootdir
PYTEST_WATCHED = ("_pytest", "pytest", "pluggy", "unittest")
OWN = ("_pytest", "pytest", "pluggy")  # what must come from the environment's own files


def _load(name):
    spec = importlib.util.spec_from_file_location("swe_monkeys_" + name, "%s/%s.py" % (HOME, name))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _config():
    raw = os.environ.pop(ENV, "")
    try:
        nonce_fd, result_fd, runner = raw.split(",")
        return int(nonce_fd), int(result_fd), runner
    except ValueError:
        return None


_CONF = _config()
_ACTIVE = _CONF is not None
_STATE = {"ended": False, "snapshot": {}, "watched": (), "config": None, "exitstatus": 1}


def _write(line):
    data = (line.replace("\n", "\\n") + "\n").encode("utf-8", "replace")
    try:
        os.write(_CONF[1], data)
    except (OSError, TypeError):
        pass


def record(status, name):
    """One test's outcome, as the runner decided it."""
    if _ACTIVE and not _STATE["ended"]:
        _write("R\t%s\t%s" % (status, name))


def tamper(reason):
    if _ACTIVE:
        _write("T\t%s" % reason)


def _watched(name):
    return any(name == w or name.startswith(w + ".") for w in _STATE["watched"])


_CODE_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, functools.partial,
               staticmethod, classmethod, property)


def _is_code(value):
    """Behaviour rather than state: functions, classes, methods and their descriptors. By type
    alone: touching an arbitrary object (Django's lazy settings) runs its code."""
    kind = type(value)
    return kind in _CODE_TYPES or issubclass(kind, type)


def _code_of(value):
    return value.__code__ if type(value) is types.FunctionType else None


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


def snapshot(module):
    """Remember a runner module's code as it is now (before any test runs)."""
    for attr, value in _members(module):
        _STATE["snapshot"][(module.__name__, attr)] = (value, _code_of(value))


def _snapshot_watched():
    for name, module in list(sys.modules.items()):
        if module is not None and _watched(name) and getattr(module, "__file__", None):
            snapshot(module)


def _code_file(value):
    code = _code_of(getattr(value, "__func__", value) if type(value) is types.MethodType else value)
    name = code.co_filename if code is not None else ""
    return "" if not name or name.startswith("<") else name


def _replacements():
    found = []
    for name, module in list(sys.modules.items()):
        if module is None or not _watched(name) or not getattr(module, "__file__", None):
            continue
        if name.split(".")[0] in OWN:
            why = TRUST.why(module.__file__, name)
            if why:
                found.append("%s imported from a file %s" % (name, why))
        for attr, value in _members(module):
            before = _STATE["snapshot"].get((name, attr))
            code_file = _code_file(value)
            if before is not None and (before[0] is not value or before[1] is not _code_of(value)):
                if not code_file and not isinstance(value, type):
                    found.append("%s.%s replaced by code without a source file" % (name, attr))
                    continue
                if code_file and not TRUST.compiled_from(_code_of(value) or value.__func__.__code__):
                    found.append("%s.%s replaced by code not compiled from %s" % (name, attr, code_file))
                    continue
            why = code_file and TRUST.why(code_file, getattr(value, "__module__", "") or "")
            if why:
                found.append("%s.%s from a file %s" % (name, attr, why))
    return found


def _hook_problems(pluginmanager):
    found = []
    for name in dir(pluginmanager.hook):
        get = getattr(getattr(pluginmanager.hook, name, None), "get_hookimpls", None)
        for impl in (get() if get is not None else ()):
            code_file = _code_file(impl.function)
            why = TRUST.why(code_file, getattr(impl.function, "__module__", "") or "") if code_file \
                else "without a source file"
            if why:
                found.append("hook %s %s" % (getattr(impl.function, "__name__", "?"), why))
    return found


def _trace_problem():
    for kind, fn in (("trace", sys.gettrace()), ("profile", sys.getprofile()),
                     ("thread trace", getattr(threading, "_trace_hook", None)),
                     ("thread profile", getattr(threading, "_profile_hook", None))):
        if fn is not None:
            code = getattr(fn, "__code__", None) or getattr(getattr(fn, "__func__", None), "__code__", None)
            why = TRUST.code_why(code) if code is not None else "without a source file"
            if why:
                return "a %s function from code %s is set" % (kind, why)
    return ""


def check_callable(obj, name):
    """The callable about to run as test `name` must be code compiled from a trusted file."""
    func = getattr(obj, "__func__", obj)
    code = getattr(func, "__code__", None)
    problem = _trace_problem()
    if code is None:
        problem = problem or "test %s is not a function" % name
    elif TRUST.code_why(code):
        problem = problem or "test %s runs code %s" % (name, TRUST.code_why(code))
    elif not TRUST.compiled_from(code):
        problem = problem or "test %s runs code that was not compiled from %s" % (name, code.co_filename)
    if problem:
        tamper(problem)


def finish(exit_code, problems=()):
    """The run's end: check the runner, write the end record with the nonce, end the process."""
    if not _ACTIVE or _STATE["ended"]:
        return
    problems = list(problems) + _replacements()
    trace = _trace_problem()
    if trace:
        problems.append(trace)
    _STATE["ended"] = True
    try:
        nonce = os.read(_CONF[0], 64).decode("ascii", "replace").strip()
    except OSError:
        nonce = ""
    _write("E\t%s\t%s" % (nonce, "; ".join(problems[:5])))
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:  # a replaced or closed stream: what it held is the candidate's business
            pass
    os._exit(int(exit_code))


# -- pytest ---------------------------------------------------------------------------------------
_STATUS = {"passed": "PASSED", "failed": "FAILED", "skipped": "SKIPPED"}


def pytest_addoption(parser):
    """The first hook pytest calls on this plugin: before conftests and collection. (pytest 4's
    hookspec has `parser` alone: a hookimpl naming more is refused at registration.)"""
    if _ACTIVE and not _STATE["snapshot"]:
        _snapshot_watched()


def pytest_configure(config):
    if not _ACTIVE or _STATE["config"] is not None:
        return
    _STATE["config"] = config
    if not _STATE["snapshot"]:
        _snapshot_watched()
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


def pytest_runtest_call(item):
    if _ACTIVE and type(item).__name__ in ("Function", "TestCaseFunction"):
        check_callable(getattr(item, "obj", None), item.nodeid)


def pytest_runtest_logreport(report):
    """pytest -rA's statuses: a failed setup or teardown is an ERROR, an xfail a skip with
    `wasxfail`, a non-strict xpass a pass with it."""
    if not _ACTIVE:
        return
    status = _STATUS.get(report.outcome, "ERROR")
    xfail = hasattr(report, "wasxfail")
    if report.when != "call":
        if report.outcome == "failed":
            record("ERROR", report.nodeid)
        elif report.outcome == "skipped":
            record("XFAIL" if xfail else "SKIPPED", report.nodeid)
        return
    if xfail:
        status = {"skipped": "XFAIL", "passed": "XPASS"}.get(report.outcome, status)
    record(status, report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if _ACTIVE and session.config is _STATE["config"]:
        _STATE["exitstatus"] = int(exitstatus)


def pytest_unconfigure(config):
    if _ACTIVE and config is _STATE["config"]:
        finish(_STATE["exitstatus"], _hook_problems(config.pluginmanager))


if _ACTIVE:
    _trust = _load("guard_trust")
    TRUST = _trust.Trust(os.path.realpath(os.getcwd()), own=("_pytest", "pytest"))
    _trust.install_audit_hook(TRUST, tamper)
    _runners = _load("guard_runners")
    if _CONF[2] == "sympy":
        _STATE["watched"] = _runners.SYMPY_WATCHED
        _runners.instrument_sympy(sys.modules[__name__])
    elif _CONF[2] == "unittest":
        _STATE["watched"] = _runners.UNITTEST_WATCHED
        _runners.instrument_unittest(sys.modules[__name__])
    else:
        _STATE["watched"] = PYTEST_WATCHED
