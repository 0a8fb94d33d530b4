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

import importlib.util
import os
import sys
import threading
import types

ENV = "SWE_MONKEYS_GUARD_FDS"
HOME = "/opt/swe-monkeys"
ROOTDIR_FILE = HOME + "/cfg/rootdir"  # written by the harness for a pytest without --rootdir
PYTEST_WATCHED = ("_pytest", "pytest", "pluggy", "unittest")
# What a pytest outcome passes through before it is recorded (checked at every record).
PYTEST_HOT = ("_pytest.runner", "_pytest.reports", "_pytest.python", "_pytest.skipping", "_pytest.unittest",
              "_pytest.outcomes", "_pytest.main", "pluggy", "unittest.case")


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
_STATE = {"ended": False, "config": None, "exitstatus": 1}


def _write(line):
    data = (line.replace("\n", "\\n") + "\n").encode("utf-8", "replace")
    try:
        os.write(_CONF[1], data)
    except (OSError, TypeError):
        pass


_GUARD_FILES = frozenset(("%s/swe_monkeys_guard.py" % HOME, "%s/guard_runners.py" % HOME))


def runner_code(*paths):
    """Declare where the runner's own code lives (files, or directories ending in /)."""
    _STATE["runner_code"] = _STATE.get("runner_code", ()) + tuple(os.path.realpath(p) + ("/" if p.endswith("/") else "")
                                                                  for p in paths if p)


def _is_runner_code(filename):
    real = os.path.realpath(filename)
    return any(real == p or (p.endswith("/") and real.startswith(p)) for p in _STATE.get("runner_code", ()))


def _called_by_runner(what):
    """True when the first frame below the guard's own is the runner's own code (pluggy and pytest;
    sympy's runtests.py; unittest and django.test), from a file the candidate did not write: a
    record or an end asked for by anything else -- a fake test loop, a reporter method the
    candidate rebound for one test, a thread started on the reporter, a direct call of this
    module -- is tampering instead."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename in _GUARD_FILES:
        frame = frame.f_back
    if frame is None:
        why, where = "no caller", "-"
    else:
        where = frame.f_code.co_filename
        why = "" if _is_runner_code(where) else "outside the runner"
    while not why and frame is not None:  # an outcome is reported after the test returned: no
        why = TRUST.frame_why(frame)      # code of the candidate's may be on the stack
        where, frame = frame.f_code.co_filename, frame.f_back
    if why:
        tamper("%s asked for by code %s (%s)" % (what, why, where))
        return False
    problems = SNAPSHOT.unchanged()  # a runner function swapped for the length of one test shows here
    if problems:
        tamper("%s: %s" % (what, "; ".join(problems[:3])))
    return not problems


def record(status, name):
    """One test's outcome, as the runner decided it."""
    if _ACTIVE and not _STATE["ended"] and _called_by_runner("a record of %s" % name):
        _write("R\t%s\t%s" % (status, name))


def tamper(reason):
    if _ACTIVE:
        _write("T\t%s" % reason)


def snapshot(module):
    """Remember a runner module's code as it is now (before any test runs)."""
    SNAPSHOT.take(module)


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


_FUNCTION, _METHOD = types.FunctionType, types.MethodType
_CO_COROUTINE = 0x80


def _class_functions(kind):
    """The functions of a class and of every class above it (descriptors unwrapped)."""
    for klass in kind.__mro__[:-1]:
        for value in list(vars(klass).values()):
            kind = type(value)
            for part in ((value,) + ((value.__func__,) if kind in (staticmethod, classmethod) else ())
                         + ((value.fget, value.fset, value.fdel) if kind is property else ())):
                if type(part) is _FUNCTION:
                    yield part


def _callable_problem(obj, name, depth=0):
    """Why `obj` may not run as test `name`, or "". A function must be code compiled from a trusted
    file; a bound method, its function. Any other callable object (asgiref's AsyncToSync, which
    Django 3.1+ puts in place of an async test method) must be an instance of classes whose every
    function is compiled from a trusted file, with a `__call__` among them, holding at least one
    function or method, each of which passes the same check. Read by type, never by attribute
    access, so no code of the candidate's runs here."""
    kind = type(obj)
    if kind is _METHOD:
        return _callable_problem(obj.__func__, name, depth)
    if kind is _FUNCTION:
        code = obj.__code__
        if TRUST.code_why(code):
            return "test %s runs code %s" % (name, TRUST.code_why(code))
        if not TRUST.compiled_from(code):
            return "test %s runs code that was not compiled from %s" % (name, code.co_filename)
        return ""
    call = next((vars(k)["__call__"] for k in kind.__mro__ if "__call__" in vars(k)), None)
    if depth > 2 or type(call) is not _FUNCTION or kind.__mro__[-1] is not object:
        return "test %s is not a function" % name
    for function in _class_functions(kind):
        problem = _callable_problem(function, name, depth + 1)
        if problem:
            return problem
    own = next((vars(k)["__dict__"] for k in kind.__mro__ if "__dict__" in vars(k)), None)
    state = own.__get__(obj, kind) if own is not None and type(own).__name__ == "getset_descriptor" else {}
    held = [v for v in list(state.values()) if type(v) in (_FUNCTION, _METHOD)] if type(state) is dict else []
    if not held:
        return "test %s is not a function" % name
    return next((p for p in (_callable_problem(v, name, depth + 1) for v in held) if p), "")


def check_callable(obj, name, declared=None):
    """The callable about to run as test `name` must be code compiled from a trusted file. With
    `declared` (the function the test's class defines under the test's name): a coroutine function
    must run wrapped (an async test called bare returns its coroutine unrun and passes)."""
    problem = _trace_problem() or _callable_problem(obj, name)
    if not problem and type(declared) is _FUNCTION and declared.__code__.co_flags & _CO_COROUTINE \
            and type(obj) in (_FUNCTION, _METHOD):
        problem = "async test %s runs unwrapped: its coroutine would never run" % name
    if problem:
        tamper(problem)


def finish(exit_code, problems=()):
    """The run's end: check the runner, write the end record with the nonce, end the process."""
    if not _ACTIVE or _STATE["ended"] or not _called_by_runner("the run's end"):
        return
    problems = list(problems) + SNAPSHOT.problems()
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
    if _ACTIVE and not SNAPSHOT.taken:
        SNAPSHOT.take_watched()


def pytest_configure(config):
    if not _ACTIVE or _STATE["config"] is not None:
        return
    _STATE["config"] = config
    for name in ("pluggy", "_pytest"):  # hooks reach this plugin through pluggy (vendored in old pytest)
        module = sys.modules.get(name)
        runner_code(os.path.dirname(module.__file__) + "/" if getattr(module, "__file__", None) else "")
    if not SNAPSHOT.taken:
        SNAPSHOT.take_watched()
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


def pytest_plugin_registered(plugin, manager):
    """A plugin registered while tests run (from library code, say, and unregistered before the
    end) is checked as it arrives, not only at the end."""
    if _ACTIVE and _STATE["config"] is not None:
        for problem in SNAPSHOT.hook_problems(manager, plugin)[:3]:
            tamper(problem)


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
        finish(_STATE["exitstatus"], SNAPSHOT.hook_problems(config.pluginmanager))


if _ACTIVE:
    _trust = _load("guard_trust")
    TRUST = _trust.Trust(os.path.realpath(os.getcwd()), own=("_pytest", "pytest"))
    _trust.install_audit_hook(TRUST, tamper)
    TRUST.seed_loaded(sys.modules)  # after the hook: a module imported from now on is seen executing
    _runners = _load("guard_runners")
    _WATCHED = {"sympy": _runners.SYMPY_WATCHED, "unittest": _runners.UNITTEST_WATCHED}.get(_CONF[2], PYTEST_WATCHED)
    SNAPSHOT = _load("guard_snapshot").RunnerSnapshot(TRUST, _WATCHED, PYTEST_HOT if _WATCHED is PYTEST_WATCHED
                                                      else None)
    if _CONF[2] == "sympy":
        _runners.instrument_sympy(sys.modules[__name__])
    elif _CONF[2] == "unittest":
        _runners.instrument_unittest(sys.modules[__name__])
