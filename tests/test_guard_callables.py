"""The guard's check of the callable about to run as a test (harness/swe_monkeys_guard.py), unit-tested
on the host with a fake Trust that calls any code from a file named like /tmp/candidate_*.py the
candidate's. Django 3.1+ runs an async test as asgiref's AsyncToSync(method): a callable object that
passes only when every function of its classes and every function it holds is trusted; the real
instance (django__django-12915) and attacks on it are in tests/data/hostile_real.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util

import pytest

from swe_monkeys.paths import PROJECT_ROOT


class FakeTrust:
    """Code compiled from a file whose name holds "candidate" is the candidate's; all else is trusted."""

    def code_why(self, code, module_name=""):
        return "written by the candidate" if "candidate" in code.co_filename else ""

    def compiled_from(self, code):
        return True


@pytest.fixture()
def guard(monkeypatch):
    monkeypatch.delenv("SWE_MONKEYS_GUARD_FDS", raising=False)  # inactive: nothing is written anywhere
    spec = importlib.util.spec_from_file_location("guard_under_test", PROJECT_ROOT / "harness" / "swe_monkeys_guard.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.TRUST = FakeTrust()
    return module


class Wrapper:  # shaped like asgiref's AsyncToSync
    def __init__(self, awaitable):
        self.awaitable = awaitable

    def __call__(self, *args, **kwargs):
        return asyncio.run(self.awaitable(*args, **kwargs))


class Case:
    async def test_async(self):
        pass

    def test_plain(self):
        pass


def candidate(source: str) -> dict:
    namespace = {"Wrapper": Wrapper}
    exec(compile(source, "/tmp/candidate_lib.py", "exec"), namespace)
    return namespace


def test_trusted_functions_methods_and_wrappers_pass(guard):
    case = Case()
    assert guard._callable_problem(case.test_plain, "t") == ""
    assert guard._callable_problem(Case.test_plain, "t") == ""
    assert guard._callable_problem(Wrapper(case.test_async), "t") == ""


@pytest.mark.parametrize("make", [
    lambda ns, case: ns["Sub"](case.test_async),          # a trusted __call__ inherited, a method of its own
    lambda ns, case: Wrapper(ns["coroutine"]),            # a trusted wrapper around the candidate's coroutine
    lambda ns, case: ns["Own"](case.test_async),          # a wrapper class of the candidate's
    lambda ns, case: ns["with_held"](case),               # a trusted wrapper holding one more function
], ids=["subclass", "held_coroutine", "own_wrapper", "extra_held"])
def test_candidate_code_in_or_under_a_wrapper_is_named(guard, make):
    ns = candidate(
        "class Sub(Wrapper):\n    def main_wrap(self):\n        return None\n"
        "async def coroutine(self):\n    return None\n"
        "class Own:\n    def __init__(self, f):\n        self.f = f\n    def __call__(self):\n        return None\n"
        "def with_held(case):\n    w = Wrapper(case.test_async)\n    w.run = lambda: None\n    return w\n")
    assert "written by the candidate" in guard._callable_problem(make(ns, Case()), "t")


@pytest.mark.parametrize("obj", [None, len, functools.partial(Case().test_plain), Wrapper(1), object()],
                         ids=["none", "builtin", "partial", "holds_nothing", "object"])
def test_what_is_not_a_function_or_a_trusted_wrapper_is_refused(guard, obj):
    assert "is not a function" in guard._callable_problem(obj, "t")


def test_an_attribute_hook_of_the_object_never_runs(guard):
    ns = candidate("class Sneaky:\n    def __getattribute__(self, name):\n        raise SystemExit(9)\n"
                   "    def __call__(self):\n        return None\n")
    assert "written by the candidate" in guard._callable_problem(ns["Sneaky"](), "t")


def test_an_async_test_called_bare_is_tampering(guard, monkeypatch):
    seen = []
    monkeypatch.setattr(guard, "tamper", seen.append)
    case = Case()
    declared = vars(Case)["test_async"]
    guard.check_callable(Wrapper(case.test_async), "t", declared)
    assert seen == []
    guard.check_callable(case.test_async, "t", declared)  # returns its coroutine unrun: a "pass"
    assert seen and "runs unwrapped" in seen[0]
    guard.check_callable(case.test_plain, "t", vars(Case)["test_plain"])
    assert len(seen) == 1
