"""Django's tests/runtests.py: its log parser and its test labels (see parsers for the contract:
a parser reports what the log claims and never raises)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from swe_monkeys.swebench.parsers import (ERROR, FAILED, PASSED, SKIPPED, XFAIL, XPASS, ParsedLog,
                                          clean_line)

# -- Django's tests/runtests.py --verbosity 2 ---------------------------------------------------
# unittest's verbose lines: "test_x (module.Class) ... ok" (Python 3.11+: "(module.Class.test_x)");
# a test with a docstring puts its name alone on a line and "First docstring line ... ok" on the
# next (SWE-bench's datasets then name the test by that docstring line).
_DJANGO_TEST = re.compile(r"^(?P<name>(?P<method>\w+) \((?P<where>[\w.]+)\))(?: \[.*?\])?(?: \(.*\))?$")
_DJANGO_STATUS = {"ok": PASSED, "OK": PASSED, "FAIL": FAILED, "ERROR": ERROR, "expected failure": XFAIL,
                  # unittest fails the run on an unexpected success, so it counts as a failure here.
                  "unexpected success": FAILED}
_DJANGO_OUTCOME = re.compile(r"^(ok|OK|FAIL|ERROR|expected failure|unexpected success|skipped(?: .*)?)\s*$")
_DJANGO_HEADER = re.compile(r"^(FAIL|ERROR|UNEXPECTED SUCCESS): (.+?)\s*$")
_DJANGO_RAN = re.compile(r"^Ran (\d+) tests? in [\d.]+s\s*$")
_DJANGO_END = re.compile(r"^(OK|FAILED)(?: \(((?:[a-z ]+=\d+(?:, )?)*)\))?\s*$")
_DJANGO_KEYS = {"failures": FAILED, "errors": ERROR, "skipped": SKIPPED, "expected failures": XFAIL,
                "unexpected successes": XPASS}
_FIXTURES = {"setUpClass", "tearDownClass", "setUpModule", "tearDownModule"}


def _django_outcome(word: str) -> str:
    return SKIPPED if word.startswith("skipped") else _DJANGO_STATUS[word]


@dataclass
class _DjangoState:
    parsed: ParsedLog = field(default_factory=ParsedLog)
    named: str = ""  # a test name alone on the previous line (its docstring line comes next)
    waiting: tuple[str, ...] = ()  # names whose outcome was pushed to a later line by other output
    ran: int | None = None
    headers: dict[str, set] = field(default_factory=lambda: {FAILED: set(), ERROR: set()})

    def result(self, desc: str, outcome: str) -> None:
        match = _DJANGO_TEST.match(desc)
        names = (match.group("name"),) if match else ((self.named, desc) if self.named else (desc,))
        self.named = ""
        if _DJANGO_OUTCOME.match(outcome):
            self.outcome(names, outcome.strip())
        else:  # other output came between " ... " and the outcome, which follows on a later line
            self.waiting = names

    def outcome(self, names: tuple[str, ...], word: str) -> None:
        self.waiting = ()
        status = _django_outcome(word)
        # FAIL/ERROR are counted from the FAIL:/ERROR: blocks, one per entry of unittest's lists,
        # as its summary counts them (a test with failing subtests has several, and no result line).
        count = status not in (FAILED, ERROR) or word == "unexpected success"
        self.parsed.record(names[0], status, count=count)
        for alias in names[1:]:
            self.parsed.record(alias, status, count=False)

    def header(self, kind: str, desc: str) -> None:
        if kind == "UNEXPECTED SUCCESS":  # Python 3.12 lists them too; counted from the result line
            return
        status = FAILED if kind == "FAIL" else ERROR
        match = _DJANGO_TEST.match(desc)
        name = match.group("name") if match else desc
        self.parsed.record(name, status)
        if not (match and match.group("method") in _FIXTURES):
            self.headers[status].add(name)

    def end(self, line: str) -> None:
        match = _DJANGO_END.match(line)
        if not match:
            self.parsed.unreadable(line)
            return
        counts = {k.strip(): v for k, v in re.findall(r"([a-z ]+)=(\d+)", match.group(2) or "")}
        totals = {status: int(counts.get(word, 0)) for word, status in _DJANGO_KEYS.items()}
        totals[FAILED] += totals.pop(XPASS)
        broken = len(self.headers[FAILED] | self.headers[ERROR])
        unexpected = int(counts.get("unexpected successes", 0))
        totals[PASSED] = (self.ran or 0) - broken - totals[SKIPPED] - totals[XFAIL] - unexpected
        self.parsed.totals, self.parsed.suite_ran, self.parsed.problem = totals, True, ""
        self.ran = None


def parse_django(log: str) -> ParsedLog:
    """Django's runtests.py --verbosity 2 (unittest's verbose output), 'Ran N tests' and 'OK'/'FAILED (...)'."""
    state = _DjangoState()
    for raw in log.splitlines():
        line = clean_line(raw).strip()
        if state.ran is not None and (line.startswith("OK") or line.startswith("FAILED")):
            state.end(line)
            continue
        if " ... " in line:
            parts = line.split(" ... ")
            # A test whose subtests failed (Python < 3.11) leaves its " ... " open: the next test's
            # description follows on the same line. Its FAIL: block reports it.
            state.result(parts[-2], parts[-1])
            continue
        if state.waiting and _DJANGO_OUTCOME.match(line):
            state.outcome(state.waiting, line)
            continue
        test = _DJANGO_TEST.match(line)
        state.named = test.group("name") if test else ""
        if test:
            continue
        header = _DJANGO_HEADER.match(line)
        if header:
            state.header(header.group(1), header.group(2))
            continue
        ran = _DJANGO_RAN.match(line)
        if ran:
            state.ran = int(ran.group(1))
    if state.ran is not None and not state.parsed.suite_ran:
        state.parsed.problem = state.parsed.problem or f"saw 'Ran {state.ran} tests' but no OK/FAILED line after it"
    return state.parsed


def django_labels(paths: list[str]) -> list[str]:
    """Test files as Django runtests.py labels, as SWE-bench derives them: tests/a/test_b.py -> a.test_b.

    Only Python files: a template or fixture the test patch touches is no test module."""
    labels = []
    for path in paths:
        if not path.endswith(".py"):
            continue
        label = path[: -len(".py")]
        label = label[len("tests/"):] if label.startswith("tests/") else label
        label = label.replace("/", ".")
        if label.endswith(".__init__"):
            label = label[: -len(".__init__")]
        if label:
            labels.append(label)
    return list(dict.fromkeys(labels))


def django_select(test_ids: list[str]) -> list[str] | None:
    labels = []
    for test in test_ids:
        match = _DJANGO_TEST.match(test)
        if not match or test != match.group("name"):
            return None  # a docstring name says nothing about where the test lives
        method, where = match.group("method"), match.group("where")
        labels.append(where if where.endswith(f".{method}") else f"{where}.{method}")
    return list(dict.fromkeys(labels))
