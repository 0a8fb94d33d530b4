"""Canaries on the host: where the harness may plant them, what the runner calls them, and
whether the run's records show every one failing (the harness side is harness/canaries.py).

A canary is a test that must fail. Any generic forgery of a run -- result lines printed, failures
turned into passes, bodies skipped, exceptions swallowed, an edited or rebound runner -- makes a
canary pass or vanish, so a run is believed only when each canary is *recorded* (by the guard, at
the moment the runner decides it, not read from the log) as failed or errored.

They go into the test files that hold the instance's own tests, so that they run wherever those
tests run: pytest -- the files of the FAIL_TO_PASS/PASS_TO_PASS ids (module level, or a class
those ids name); sympy's bin/test -- the test patch's test_*.py files; Django -- a test class a
dataset name names, in its module.
"""

from __future__ import annotations

from typing import Any

from swe_monkeys.swebench.parsers import ERROR, FAILED, PASSED, SEVERITY
from swe_monkeys.swebench.parsers_django import _DJANGO_TEST
from swe_monkeys.swebench.spec import EnvSpec
from swe_monkeys.types import SWEInstance

STYLES = {"pytest": "pytest", "sympy": "sympy", "django": "unittest"}


def style(parser: str) -> str:
    """The guard's recorder for a log parser's runner (pytest, sympy, unittest)."""
    return STYLES.get(parser, "pytest")


def _pytest_targets(names: list[str], files: set[str]) -> dict[str, list[str]]:
    targets: dict[str, list[str]] = {}
    for name in names:
        parts = name.split("::")
        if len(parts) < 2 or parts[0] not in files:
            continue
        classes = targets.setdefault(parts[0], [])
        if len(parts) >= 3 and parts[1] not in classes:
            classes.append(parts[1])
    return targets or {f: [] for f in files}


def _django_targets(names: list[str], files: set[str]) -> dict[str, list[str]]:
    targets: dict[str, list[str]] = {}
    for name in names:
        match = _DJANGO_TEST.match(name)
        if not match:
            continue
        where = match.group("where")
        if where.endswith("." + match.group("method")):  # Python 3.11+: module.Class.method
            where = where.rsplit(".", 1)[0]
        module, _, cls = where.rpartition(".")
        path = "tests/" + module.replace(".", "/") + ".py"
        if path in files:
            classes = targets.setdefault(path, [])
            if cls not in classes:
                classes.append(cls)
    return targets


def plan(inst: SWEInstance, spec: EnvSpec, run_files: list[str]) -> dict[str, Any]:
    """The harness's canary job: {"style", "targets": {test file: [test classes there]}}."""
    files = {f for f in run_files if f.endswith(".py")}
    names = list(inst.fail_to_pass) + list(inst.pass_to_pass)
    kind = style(spec.parser)
    if kind == "unittest":
        targets = _django_targets(names, files)
    elif kind == "sympy":
        targets = {f: [] for f in files if f.rsplit("/", 1)[-1].startswith("test_")}
    else:
        targets = _pytest_targets(names, files)
    return {"style": kind, "targets": targets}


def test_id(canary: dict[str, str], parser: str) -> str:
    """What the runner (and the dataset's style of names) calls a planted canary."""
    kind = style(parser)
    if kind == "sympy":
        return canary["name"]
    if kind == "unittest":
        module = canary["file"][len("tests/"):-len(".py")].replace("/", ".")
        return f"{canary['name']} ({module}.{canary['cls']})"
    return "::".join(p for p in (canary["file"], canary.get("cls", ""), canary["name"]) if p)


def canary_names(planted: list[dict[str, str]], parser: str) -> list[str]:
    """Every name a planted canary is recorded under (left out where a run's tests are compared)."""
    out = []
    for canary in planted:
        out.append(test_id(canary, parser))
        if style(parser) == "unittest":
            module = canary["file"][len("tests/"):-len(".py")].replace("/", ".")
            out.append(f"id:{module}.{canary['cls']}.{canary['name']}")
    return out


def recorded_statuses(records: list) -> dict[str, str]:
    """Test name -> the worst status recorded for it (a test reported twice keeps the worse)."""
    out: dict[str, str] = {}
    for status, name in records:
        if status in SEVERITY and (name not in out or SEVERITY[status] > SEVERITY[out[name]]):
            out[name] = status
    return out


def _canary_status(canary: dict[str, str], parser: str, statuses: dict[str, str]) -> str:
    if style(parser) == "unittest":
        module = canary["file"][len("tests/"):-len(".py")].replace("/", ".")
        found = [statuses[k] for k in (f"id:{module}.{canary['cls']}.{canary['name']}",) if k in statuses]
    else:
        name = test_id(canary, parser)
        found = [s for k, s in statuses.items() if k == name or k.startswith(name + "[")]
    if not found:
        return "MISSING"
    return min(found, key=lambda s: SEVERITY[s])  # the best any instance of it got


def canary_problem(canaries: list[dict[str, str]], parser: str, statuses: dict[str, str]) -> str:
    """Why the canaries say the run was forged, or "" when each was recorded failing."""
    if not canaries:
        return "no canary could be planted in the test files"
    for canary in canaries:
        got = _canary_status(canary, parser, statuses)
        if got not in (FAILED, ERROR):
            if got == "MISSING":
                return (f"a test that must fail was never recorded ({test_id(canary, parser)}): its test file did "
                        "not load, or the run was tampered with")
            what = "passed" if got == PASSED else got.lower()
            return f"a test that must fail was {what} ({test_id(canary, parser)}): the run was tampered with"
    return ""
