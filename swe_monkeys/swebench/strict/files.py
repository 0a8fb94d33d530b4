"""Which test files a strict re-check runs: the rule, over the repository's files at the base commit.

`strict_test_files(paths, read, changed, own, mode)` is a pure function of the repository's file
list, a reader of a file's text and the files the candidate changed. The rule for "changed":

  (c) always the instance's own test files (the test patch's, and those canaries were planted in):
      the harness's canaries run again, so the guard's integrity checks cover the strict run too;
  (a) test files named after a changed module -- test_<stem>.py, unittest_<stem>.py, <stem>_test.py
      (<stem>: the module's name, or its package's for an __init__.py) -- in the package's own
      tests/ folder (sympy: sympy/core/tests/test_basic.py for sympy/core/basic.py), in a top-level
      test folder (pytest: testing/test_pathlib.py for src/_pytest/pathlib.py), or in a test folder
      named after the module's package, <package>/ or <package>_tests/ (Django:
      tests/migrations/test_autodetector.py for django/db/migrations/autodetector.py); and the
      test files directly in a test folder named after the module itself, <stem>/ or <stem>_tests/
      (Django: tests/validators/tests.py for django/core/validators.py);
  (b) test files whose imports name a changed module: `import a.b.c`, `from a.b.c import x`,
      `from a.b import c`, relative imports resolved against the file's own package (a leading
      src/ or lib/ folder is no part of a module's name).

(a) and (b) together are capped at MAX_WIDER_FILES, nearest first: (a) before (b), then the files
sharing the longest path with a changed module, then by path; how many the cap left out is kept.
"full" is every test file of the repository, uncapped. A test file is a .py file under a folder
named tests/, test/ or testing/, named test_*.py, *_test.py, tests.py or unittest_*.py, and not
under a folder of test inputs (example scripts, fixtures, functional-test data) that runners do
not collect. Changed test files are not followed (the harness puts a candidate's test files back);
neither are imports of a package a changed module merely belongs to (a test of `django.db.models`
runs most of Django), which is why the rule is named, capped and measured rather than complete.
"""

from __future__ import annotations

import ast
import posixpath
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from swe_monkeys.swebench.parsers_django import django_labels
from swe_monkeys.swebench.spec import EnvSpec

MAX_WIDER_FILES = 20  # (a) + (b): about as many test modules as an instance's own run, at most
TEST_DIRS = frozenset({"tests", "test", "testing"})
# Folders of test *inputs*: files there are read or run by tests, not collected as tests.
DATA_DIRS = frozenset({"example_scripts", "fixtures", "functional", "regrtest_data", "data", "input", "inputs",
                       "testdata", "test_data", "examples"})
_SOURCE_ROOTS = ("src", "lib")


@dataclass
class StrictSet:
    """The test files of one strict re-check, each with the part of the rule that chose it."""

    files: list[str]
    why: dict[str, str] = field(default_factory=dict)  # file -> own | named | imports | all
    left_out: int = 0  # chosen by (a) or (b) but past MAX_WIDER_FILES

    def to_json(self) -> dict:
        return {"files": self.files, "why": self.why, "left_out": self.left_out}


def is_test_file(path: str) -> bool:
    """A test module a runner collects (see the module docstring)."""
    folders, name = path.split("/")[:-1], path.rsplit("/", 1)[-1]
    if not name.endswith(".py") or not TEST_DIRS & set(folders) or DATA_DIRS & set(folders):
        return False
    stem = name[:-3]
    return stem.startswith(("test_", "unittest_")) or stem.endswith("_test") or stem == "tests"


def module_names(path: str) -> list[str]:
    """The dotted names a source file is imported by: a/b/c.py -> a.b.c; src/p/m.py -> src.p.m and p.m."""
    if not path.endswith(".py"):
        return []
    parts = path[:-3].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    names = [".".join(parts)] if parts else []
    if len(parts) > 1 and parts[0] in _SOURCE_ROOTS:
        names.append(".".join(parts[1:]))
    return names


def imported_modules(text: str, path: str) -> set[str]:
    """Every module name `text` (the file at `path`) may import: for `from a.b import c`, both a.b
    and a.b.c (c may be a submodule). Relative imports are resolved against the file's package."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):  # a file for another Python: read its import lines alone
        return _imports_by_line(text, path)
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module or "", node.level, path)
            if base:
                out.add(base)
                out.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return out


_FROM_LINE = re.compile(r"^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)", re.M)
_IMPORT_LINE = re.compile(r"^[ \t]*import[ \t]+([^\n#;]+)", re.M)


def _names(listed: str) -> list[str]:
    """'(a, b as c,\n d)' -> [a, b, d]"""
    return [n.split()[0] for n in listed.strip("() \t\n\\").replace("\\\n", " ").split(",") if n.split()]


def _imports_by_line(text: str, path: str) -> set[str]:
    out = {name for listed in _IMPORT_LINE.findall(text) for name in _names(listed)}
    for dots, module, listed in _FROM_LINE.findall(text):
        base = _absolute(module, len(dots), path)
        if base:
            out.add(base)
            out.update(f"{base}.{n}" for n in _names(listed) if n != "*")
    return out


def _absolute(module: str, level: int, path: str) -> str:
    """`from ..m import x` in a/b/c.py names a.m (level 2: up from a/b to a)."""
    if not level:
        return module
    package = path.split("/")[:-1]
    if level - 1 > len(package):
        return ""
    base = package[:len(package) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _named_after(test: str, source: str) -> bool:
    """Rule (a): `test` is named after the module `source` and sits where its tests belong."""
    folder, name = posixpath.split(source)
    stem = posixpath.basename(folder) if name == "__init__.py" else name[:-3]
    test_folder = posixpath.dirname(test)
    if posixpath.basename(test_folder) in (stem, f"{stem}_tests") and TEST_DIRS & set(test_folder.split("/")):
        return True  # a test folder of the module's own name
    if posixpath.basename(test) not in (f"test_{stem}.py", f"unittest_{stem}.py", f"{stem}_test.py"):
        return False
    package = posixpath.basename(folder)
    return (test_folder == posixpath.join(folder, "tests") or test_folder in TEST_DIRS
            or (bool(package) and posixpath.basename(test_folder) in (package, f"{package}_tests")))


def _imports_any(test: str, text: str, stems: set[str], modules: set[str]) -> bool:
    """Rule (b); the text is parsed only when it mentions a changed module's last name."""
    return any(stem in text for stem in stems) and bool(imported_modules(text, test) & modules)


def _shared(a: str, b: str) -> int:
    return len(posixpath.commonpath([a, b]).split("/")) if posixpath.commonpath([a, b]) else 0


def strict_test_files(paths: Iterable[str], read: Callable[[str], str | None], changed: Iterable[str],
                      own: Iterable[str], mode: str = "changed", cap: int = MAX_WIDER_FILES) -> StrictSet:
    """The test files a strict re-check runs (the rule is the module docstring's)."""
    tests = sorted(p for p in set(paths) if is_test_file(p))
    why = {f: "own" for f in dict.fromkeys(own)}
    if mode == "full":
        why.update({f: "all" for f in tests if f not in why})
        return StrictSet(list(why), why)
    sources = [p for p in dict.fromkeys(changed) if p.endswith(".py") and not is_test_file(p)
               and not TEST_DIRS & set(p.split("/")[:-1])]
    modules = {n for p in sources for n in module_names(p)}
    stems = {n.rsplit(".", 1)[-1] for n in modules}
    named, importing = [], []
    for test in tests:
        if test in why:
            continue
        if any(_named_after(test, s) for s in sources):
            named.append(test)
        elif modules and _imports_any(test, read(test) or "", stems, modules):
            importing.append(test)
    nearest = lambda t: (-max((_shared(t, s) for s in sources), default=0), t)  # noqa: E731
    wider = sorted(named, key=nearest) + sorted(importing, key=nearest)
    why.update({f: "named" if f in named else "imports" for f in wider[:cap]})
    return StrictSet(list(why), why, left_out=max(0, len(wider) - cap))


def strict_args(spec: EnvSpec, files: list[str]) -> list[str]:
    """What the strict run appends to the spec's test command: the files as paths, or as Django's
    labels (runtests.py collects tests under tests/ only)."""
    if spec.test_args == "labels":
        return django_labels([f for f in files if f.startswith("tests/")])
    return [f for f in files if f.endswith(".py")]
