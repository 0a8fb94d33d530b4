"""Arguments that make a test runner run (at least) given tests: FAIL_TO_PASS first, alone."""

from __future__ import annotations

import re

from swe_monkeys.swebench.parsers_django import django_select

def _pytest_select(test_ids: list[str]) -> list[str] | None:
    # A dataset id cut at its first space ("t.py::test[a b]" -> "t.py::test[a") selects nothing.
    if any(("[" in t) != t.endswith("]") or any(c.isspace() for c in t) or "::" not in t for t in test_ids):
        return None
    return list(dict.fromkeys(test_ids))


def _sympy_select(test_ids: list[str], files: list[str]) -> list[str] | None:
    # bin/test -k matches substrings of function names (1.0's optparse and 1.1+'s argparse alike), so
    # it runs at least the named tests; the files come first because -k takes every word after it.
    if not files or not all(re.fullmatch(r"test_\w+", t) for t in test_ids):
        return None
    return [*files, "-k", *dict.fromkeys(test_ids)]


def select_args(parser: str, test_ids: list[str], files: list[str] = ()) -> list[str] | None:
    """Arguments that make the runner behind `parser` run (at least) exactly `test_ids`, or None
    when they cannot be selected (the caller then runs the spec's usual arguments). `files` are the
    test files of the test patch, which sympy's bin/test needs beside its -k names."""
    test_ids = [t for t in test_ids if t]
    if not test_ids:
        return None
    if parser == "pytest":
        return _pytest_select(test_ids)
    if parser == "sympy":
        return _sympy_select(test_ids, [f for f in files if f.endswith(".py")])
    if parser == "django":
        return django_select(test_ids)
    return None
