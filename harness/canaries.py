"""In-container: canaries -- harness-written tests that must fail, planted among the real ones.

A candidate's code runs inside the test process, so anything that process prints, returns or
keeps in memory is the candidate's to forge: lines printed with a summary and exit 0, failures
turned into passes, test bodies skipped, exceptions swallowed, an edited or rebound runner. Every
such *generic* forgery also makes a test that must fail look passed, or makes it vanish. So each
prepared candidate gets 1-3 canaries: tests whose bodies fail an ordinary assertion, written by
root into the (root-owned) test files that hold the instance's tests, at a random place among the
file's top-level statements (or, for unittest, among a test class's methods; `async def` in a
class with async tests), under a name made of the words of that file's own test names. A run in which any canary passes, is skipped or
missing, or is not recorded is tampered (grading says so); a canary failing is the normal case.

What this cannot catch: a forgery aimed at exactly the instance's FAIL_TO_PASS names (they are
public) that leaves every other test alone. The README's isolation section says so.

Standard library only (the harness runs the image's system python3, 3.11).
"""

import ast
import os
import random
import re

TESTBED = "/testbed"
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_FILLER = ("case", "basic", "simple", "issue", "values", "args", "result", "types", "empty", "edge", "more")


def _rng():
    return random.Random(os.urandom(16))


def _words(names):
    words = []
    for name in names:
        words += [w for w in _WORD.findall(name[5:] if name.startswith("test_") else name) if len(w) > 1]
    return words or list(_FILLER)


def _new_name(rng, taken, words):
    """test_<two or three words of the file's own test names>, in no file's use yet."""
    for _ in range(200):
        picked = [rng.choice(words) for _ in range(rng.choice((2, 2, 3)))]
        if rng.random() < 0.3:
            picked.append(rng.choice(_FILLER))
        name = "test_" + "_".join(picked)
        if name not in taken and not any(name in t or t in name for t in taken if t.startswith("test_")):
            taken.add(name)
            return name
    name = "test_%s_%d" % (rng.choice(words), rng.randrange(10, 99))
    taken.add(name)
    return name


def _assertion(rng, unittest_style):
    """An ordinary-looking assertion that is false (an AssertionError: a failure, never an error)."""
    a, b = rng.randrange(2, 40), rng.randrange(2, 40)
    left, right = rng.choice([
        ("%d + %d" % (a, b), str(a + b + rng.choice((1, 2, -1)))),
        ("len(%r)" % ("x" * a), str(a + 1)),
        ("sorted([%d, %d, %d])" % (b, a, a + b), "[%d, %d, %d]" % (a + b, a, b) if a != b else "[0]"),
        ("%d * %d" % (a, b), str(a * b - 1)),
        ("str(%d)" % a, repr(str(a + 1))),
    ])
    if unittest_style:
        return "self.assertEqual(%s, %s)" % (left, right)
    return "assert %s == %s" % (left, right)


def _insert_at(lines, index, text):
    lines[index:index] = [line + "\n" for line in text.split("\n")]


def _top_level_slots(module):
    """Line indexes (0-based) before which a top-level statement may go: before any def or class
    after the imports (decorators included), or at the end."""
    slots = []
    for node in module.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            slots.append(first - 1)
    return slots


def _class_slots(cls):
    """(line index, indentation) before which a method may go inside `cls`: before a method, or
    after the class's last statement."""
    body_indent = " " * cls.body[0].col_offset
    slots = []
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            slots.append((first - 1, body_indent))
    slots.append((cls.body[-1].end_lineno, body_indent))
    return slots


def _plant_in_file(rng, path, rel, style, classes, taken):
    """Plant one canary in one file; returns its description or None when the file cannot take one."""
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        text = f.read()
    try:
        module = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    lines = text.splitlines(True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    found = {n.name for n in ast.walk(module) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    taken |= found
    words = _words(sorted(n for n in found if n.startswith("test_")))
    name = _new_name(rng, taken, words)
    by_name = {n.name: n for n in module.body if isinstance(n, ast.ClassDef) and n.body}
    usable = [by_name[c] for c in classes if c in by_name]
    cls = rng.choice(usable) if usable and (style == "unittest" or rng.random() < 0.5) else None
    if cls is None and style == "unittest":
        return None  # a unittest runner collects methods of test classes only
    if cls is not None:
        index, indent = rng.choice(_class_slots(cls))
        # Among async tests the canary is async too: a forgery of how async tests run shows on it.
        is_async = [isinstance(n, ast.AsyncFunctionDef) for n in cls.body if getattr(n, "name", "").startswith("test")]
        prefix = "async " if style == "unittest" and any(is_async) else ""
        body = "%sdef %s(self):\n    %s" % (prefix, name, _assertion(rng, style == "unittest"))
        _insert_at(lines, index, "\n".join(indent + line for line in body.split("\n")))
    else:
        index = rng.choice(_top_level_slots(module) + [len(lines)])
        _insert_at(lines, index, "\ndef %s():\n    %s\n\n" % (name, _assertion(rng, False)))
    with open(path, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.writelines(lines)
    return {"file": rel, "name": name, "cls": cls.name if cls is not None else ""}


def plant(targets, style, count=None):
    """Plant canaries in the test files `targets` ({relative path: [test class names the
    instance's tests live in]}); `style` is "pytest", "sympy" or "unittest". Returns the planted
    canaries as {"file", "name", "cls"}: the host turns them into the runner's test ids."""
    rng = _rng()
    files = [rel for rel in sorted(targets) if os.path.isfile(os.path.join(TESTBED, rel))]
    if not files:
        return []
    count = count or rng.choice((1, 2, 2, 3))
    planted, taken = [], set()
    for rel in [rng.choice(files) for _ in range(count)]:
        canary = _plant_in_file(rng, os.path.join(TESTBED, rel), rel, style, targets[rel], taken)
        if canary is not None:
            planted.append(canary)
    return planted
