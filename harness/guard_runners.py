"""In the test process: the guard's recorders for the runners that are not pytest.

Each outcome is written to the guard's pipe at the moment the runner decides it, and the run's
end is the guard's: once the runner has reported its last test, the guard checks the runner's
code, writes its end record and ends the process itself, so no exit handler or thread of the
candidate's runs after it.
- sympy's bin/test (sympy.utilities.runtests, 1.0-1.6; sympy.testing.runtests, 1.7+): the
  reporter's entering_test / test_pass / test_fail / ... are wrapped when the module is first
  imported (an import hook: bin/test sets its environment before it imports sympy), and
  `finish` ends the run. The function entered as a test must be code compiled from its file.
- unittest (Django's tests/runtests.py): TestResult's add* methods and startTest, wrapped at
  interpreter start, before any code of the tree; TextTestRunner.run's return ends the run.
Standard library only, Python 3.6+ syntax.
"""

import functools
import os
import sys

PASSED, FAILED, ERROR, SKIPPED, XFAIL, XPASS = "PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL", "XPASS"
SYMPY_RUNNERS = ("sympy.utilities.runtests", "sympy.testing.runtests")
SYMPY_WATCHED = SYMPY_RUNNERS + ("sympy.utilities.pytest", "sympy.testing.pytest")
# Django 3.1+ runs an async test as asgiref's AsyncToSync(method) on an asyncio loop, its result
# through a concurrent.futures Future: all of that is the runner's machinery too.
UNITTEST_WATCHED = ("unittest", "django.test.runner", "django.test.testcases", "django.test.utils", "asgiref.sync",
                    "asyncio", "concurrent.futures")
UNITTEST_EAGER = ("asyncio", "concurrent.futures")  # standard library: imported and snapshot at start


class AfterImport:
    """A meta path finder that runs `then(module)` right after the named modules execute, before
    their importer gets them (so a snapshot taken there holds the module's own definitions)."""

    def __init__(self, then):
        self.then = then  # {module name: callable(module)}

    def find_spec(self, name, path=None, target=None):
        then = self.then.get(name)
        if then is None:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target) if target is not None else find(name, path)
            if spec is not None:
                break
        else:
            return None
        loader, original = spec.loader, getattr(spec.loader, "exec_module", None)
        if original is None:
            return spec

        def exec_module(module):
            original(module)
            then(module)

        loader.exec_module = exec_module
        return spec


def _wrap(cls, name, before=None, after=None):
    original = cls.__dict__.get(name)
    if original is None:
        return

    @functools.wraps(original)
    def wrapper(self, *args, **kwargs):
        if before is not None:
            before(self, *args, **kwargs)
        result = original(self, *args, **kwargs)
        if after is not None:
            result = after(self, result, *args, **kwargs)
        return result

    setattr(cls, name, wrapper)


# -- sympy ----------------------------------------------------------------------------------------
def instrument_sympy(guard):
    # Only the first reporter that starts is the run's: a test of sympy's own runner may make more.
    state = {"test": None, "reporter": None}

    def started(self, *args, **kwargs):
        if state["reporter"] is None:
            state["reporter"] = self

    def outcome(status):
        def after(self, result, *args, **kwargs):
            if self is state["reporter"] and state["test"] is not None:
                guard.record(status, state["test"])
                state["test"] = None
            return result
        return after

    def entering(self, f, *args, **kwargs):
        if self is state["reporter"]:
            state["test"] = getattr(f, "__name__", "?")
            guard.check_callable(f, state["test"])

    def import_error(self, result, filename=None, *args, **kwargs):
        if self is state["reporter"]:
            guard.record(ERROR, "import of %s" % filename)
        return result

    def finish(self, result, *args, **kwargs):
        if self is state["reporter"]:
            guard.finish(0 if result else 1)  # ends the process
        return result

    def runner_loaded(module):
        guard.runner_code(getattr(module, "__file__", ""))
        reporter = getattr(module, "PyTestReporter", None)
        if reporter is not None:
            _wrap(reporter, "start", before=started)
            _wrap(reporter, "entering_test", before=entering)
            for name, status in (("test_pass", PASSED), ("test_fail", FAILED), ("test_exception", ERROR),
                                 ("test_skip", SKIPPED), ("test_xfail", XFAIL), ("test_xpass", XPASS)):
                _wrap(reporter, name, after=outcome(status))
            _wrap(reporter, "import_error", after=import_error)
            _wrap(reporter, "finish", after=finish)
        guard.snapshot(module)

    then = {name: runner_loaded for name in SYMPY_RUNNERS}
    then.update({name: guard.snapshot for name in SYMPY_WATCHED if name not in then})
    sys.meta_path.insert(0, AfterImport(then))


# -- unittest (Django) ----------------------------------------------------------------------------
def _names(test):
    """The names a test goes by: unittest's description (SWE-bench's Django names), its docstring
    line (the datasets use it where verbosity 2 printed it), and its id."""
    names = [str(test)]
    describe = getattr(test, "shortDescription", None)
    try:
        doc = describe() if describe is not None else None
    except Exception:  # a broken docstring hook says nothing about the outcome
        doc = None
    if doc:
        names.append(doc)
    test_id = getattr(test, "id", None)
    if test_id is not None:
        try:
            names.append("id:" + test_id())
        except Exception:
            pass
    return names


def instrument_unittest(guard):
    import unittest
    from unittest import result as unittest_result

    base = unittest_result.TestResult
    guard.runner_code(os.path.dirname(unittest.__file__) + "/", os.path.realpath("django/test") + "/")
    # Only the outermost run's result is the run's: Django's tests of its own runner run suites
    # of their own inside a test, and those must neither record nor end anything.
    state = {"depth": 0, "result": None}

    def outcome(status):
        def before(self, test, *args, **kwargs):
            if self is state["result"]:
                for name in _names(test):
                    guard.record(status, name)
        return before

    def subtest(self, test, subtest, err=None, *args, **kwargs):
        if err is not None and self is state["result"]:
            status = FAILED if issubclass(err[0], getattr(test, "failureException", AssertionError)) else ERROR
            for name in _names(test):
                guard.record(status, name)

    def start(self, test, *args, **kwargs):
        if self is not state["result"]:
            return
        name = getattr(test, "_testMethodName", "")
        method = getattr(test, name, None)
        if method is not None:
            declared = next((vars(k)[name] for k in type(test).__mro__ if name in vars(k)), None)
            guard.check_callable(method, str(test), declared)

    _wrap(base, "startTest", before=start)
    for name, status in (("addSuccess", PASSED), ("addFailure", FAILED), ("addError", ERROR),
                         ("addSkip", SKIPPED), ("addExpectedFailure", XFAIL), ("addUnexpectedSuccess", FAILED)):
        _wrap(base, name, before=outcome(status))
    _wrap(base, "addSubTest", before=subtest)

    def made(self, result, *args, **kwargs):
        if state["depth"] == 1 and state["result"] is None:
            state["result"] = result
        return result

    original_run = unittest.TextTestRunner.__dict__["run"]

    @functools.wraps(original_run)
    def run(self, *args, **kwargs):
        # The depth comes back down however a run ends: a test that expects a nested run to raise
        # (Django's test_utils) must not leave the outermost run thinking it is nested.
        state["depth"] += 1
        try:
            result = original_run(self, *args, **kwargs)
        finally:
            state["depth"] -= 1
        if state["depth"] == 0 and result is state["result"]:
            guard.finish(0 if result.wasSuccessful() else 1)  # ends the process
        return result

    _wrap(unittest.TextTestRunner, "_makeResult", after=made)
    unittest.TextTestRunner.run = run
    for name in UNITTEST_EAGER:
        __import__(name)
    for name, module in list(sys.modules.items()):
        if any(name == top or name.startswith(top + ".") for top in ("unittest",) + UNITTEST_EAGER):
            guard.snapshot(module)
    sys.meta_path.insert(0, AfterImport({name: guard.snapshot for name in UNITTEST_WATCHED[1:]
                                         if name not in UNITTEST_EAGER}))
