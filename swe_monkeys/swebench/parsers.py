"""Test-log parsers: turn a test command's output into per-test statuses plus evidence.

A parser never decides resolution. It reports what the log claims (test -> status), whether the
log shows that the suite actually ran, and the totals the runner printed, so that grading can
check the claims against each other and against the exit code. Logs are candidate-controlled
text: parsers must be total (never raise) on arbitrary bytes.

This module: statuses, ParsedLog, pytest and sympy's bin/test; parsers_django: Django's
runtests.py; selecting: the arguments that make a runner run given tests (FAIL_TO_PASS first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from swe_monkeys.registry import Registry

PASSED, FAILED, ERROR, SKIPPED, XFAIL, XPASS = "PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL", "XPASS"
# Worst first: when a log reports one test twice (a forged PASSED line beside the real FAILED
# one, or a teardown ERROR after a PASSED call) the worst report wins.
SEVERITY = {ERROR: 5, FAILED: 4, SKIPPED: 3, XPASS: 2, XFAIL: 1, PASSED: 0}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]|\x1b")


@dataclass
class ParsedLog:
    statuses: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # status -> number of result lines
    totals: dict[str, int] | None = None  # what the runner's final summary line says
    suite_ran: bool = False
    # Set when the runner's summary was seen but could not be read (grading shows it instead of
    # "no evidence that the test suite ran"); a later readable summary clears it.
    problem: str = ""

    def record(self, test: str, status: str, count: bool = True) -> None:
        if count:
            self.lines[status] = self.lines.get(status, 0) + 1
        old = self.statuses.get(test)
        if old is None or SEVERITY[status] > SEVERITY[old]:
            self.statuses[test] = status

    def summary(self, counts: list[tuple[str, str]], names: dict[str, str]) -> None:
        """The runner's final totals line ((count, word) pairs); the last one printed wins."""
        totals: dict[str, int] = {}
        for count, word in counts:
            if word in names:
                totals[names[word]] = totals.get(names[word], 0) + int(count)
        self.totals, self.suite_ran, self.problem = totals, True, ""

    def unreadable(self, line: str) -> None:
        """A summary line that cannot be read: whatever an earlier one said no longer stands."""
        self.totals, self.suite_ran = None, False
        self.problem = f"could not parse the summary: {line.strip()[:200]}"


def clean_line(line: str) -> str:
    return _ANSI.sub("", line)


# -- pytest -------------------------------------------------------------------------------------
_RESULT = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (.+?)\s*$")
# `pytest -v` result lines ("path::test PASSED [ 10%]"): the only per-test report of pytest 3.x,
# whose -rA does not exist (astropy 1.3 pins pytest 3.3.1).
# pytest 7+ adds the reason of a skip or xfail: "path::test SKIPPED (needs sparse) [ 10%]".
_VERBOSE = re.compile(r"^(\S+?::.+?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS|xfail)"
                      r"(?: \(.*\))?(?:\s+\[\s*\d+%\])?\s*$")
_SUMMARY = re.compile(r"^=+ (.*?) in [\d.]+ ?s(?:econds)?\b.*=+\s*$")
_SUMMARY_LIKE = re.compile(r"^=+ .*\b(passed|failed|errors?|no tests ran)\b.*=+\s*$")
_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)")
_TOTAL_KEYS = {"passed": PASSED, "failed": FAILED, "error": ERROR, "errors": ERROR, "skipped": SKIPPED,
               "xfailed": XFAIL, "xpassed": XPASS}
# SWE-bench's parse_log_pytest_options names "test[/abs/path/file.py]" as "test[/file.py]"
# (pylint, requests), and its matplotlib parser writes MouseButton.LEFT/RIGHT as 1/3.
_PATH_OPTION = re.compile(r"^(.*?)\[(/(?!/)[^*]*)\]$")


def aliases(test: str) -> list[str]:
    """Other names SWE-bench's datasets give this test id."""
    out = []
    token = test.split()[0] if test.split() else test
    # The datasets name a test by its first whitespace-separated token ("t.py::test[a b]" -> "t.py::test[a").
    out.append(token)
    option = _PATH_OPTION.match(test)
    if option:
        out.append(f"{option.group(1)}[/{option.group(2).split('/')[-1]}]")
    if "MouseButton." in test:
        out.append(test.replace("MouseButton.LEFT", "1").replace("MouseButton.RIGHT", "3"))
    return [name for name in dict.fromkeys(out) if name != test]


def parse_pytest(log: str) -> ParsedLog:
    """pytest with -rA ('STATUS node-id[ - message]') and/or -v ('node-id STATUS'), and the
    '== ... in Ns ==' line. Lines are counted from -rA's summary when the log has one, else from
    -v's lines, so a run with both does not count each test twice."""
    parsed, verbose = ParsedLog(), ParsedLog()
    for raw in log.splitlines():
        line = clean_line(raw)
        match = _RESULT.match(line)
        if match:
            status, rest = match.groups()
            if status == SKIPPED and rest.startswith("["):
                count = re.match(r"\[(\d+)\]", rest + "[0]")
                parsed.lines[SKIPPED] = parsed.lines.get(SKIPPED, 0) + int(count[1] if count else 0)
                continue  # "SKIPPED [n] file:line: reason" names no test id
            if status in (FAILED, ERROR, XFAIL, XPASS):
                rest = rest.split(" - ")[0]
            test = rest.strip()
            parsed.record(test, status)
            for alias in aliases(test):
                parsed.record(alias, status, count=False)
            continue
        match = _VERBOSE.match(line)
        if match:
            test, status = match.group(1).strip(), match.group(2).upper()
            verbose.record(test, status)
            for alias in aliases(test):
                verbose.record(alias, status, count=False)
            continue
        summary = _SUMMARY.match(line)
        if summary:
            parsed.summary(_COUNT.findall(summary.group(1)), _TOTAL_KEYS)
        elif _SUMMARY_LIKE.match(line):
            parsed.unreadable(line)
    for test, status in verbose.statuses.items():
        parsed.record(test, status, count=False)
    if not parsed.lines:
        parsed.lines = verbose.lines
    return parsed


# -- sympy's bin/test ---------------------------------------------------------------------------
# `bin/test --verbose` writes "test_name " then the outcome; the last test of a file carries the
# file's [OK]/[FAIL], right-aligned. A skip writes its reason before its letter ("test_x Slow w",
# "test_x  - s"); a bare "T" is a timeout raised in the test (an exception), "<reason> T" a skip.
_SYMPY_FILE_END = r"(?:\s+\[(?:OK|FAIL)\])?\s*$"
_SYMPY_RESULT = re.compile(r"^(test_\w+) (ok|F|E|f|X|T)" + _SYMPY_FILE_END)
_SYMPY_SKIP = re.compile(r"^(test_\w+) (?:.* )?(s|w|K|T)" + _SYMPY_FILE_END)
_SYMPY_STATUS = {"ok": PASSED, "F": FAILED, "E": ERROR, "f": XFAIL, "X": XPASS, "T": ERROR}
# The summary is centred in 80 columns between '=' runs; a long one has no '=' at all, and
# "in N seconds" (or any item) may wrap onto the next line.
_SYMPY_SUMMARY = re.compile(r"^tests finished: ((?:\d+ [a-z ]+?, ?)*)in [\d.]+ seconds$")
_SYMPY_COUNT = re.compile(r"(\d+) (passed|failed|exceptions?|skipped|expected to fail but passed|expected to fail)")
_SYMPY_TOTALS = {"passed": PASSED, "failed": FAILED, "exception": ERROR, "exceptions": ERROR, "skipped": SKIPPED,
                 "expected to fail": XFAIL, "expected to fail but passed": XPASS}


def _unframe(line: str) -> str:
    return line.strip().strip("=").strip()


_SYMPY_NAME = re.compile(r"^(test_\w+)( .*)?$")
# bin/test wraps at 80 columns: a name (and a skip's reason) that reaches the edge gets its outcome
# on the next line ("test_sympy__..._Function abstract class" then "s").
_SYMPY_WRAPPED = re.compile(r"^(?:(.*?) )?(ok|F|E|f|X|T|s|w|K)" + _SYMPY_FILE_END)


def _sympy_wrapped(line: str, reason: bool) -> str | None:
    match = _SYMPY_WRAPPED.match(line)
    if not match:
        return None
    letter, reason = match.group(2), reason or bool(match.group(1))
    if letter in "swK" or (letter == "T" and reason):
        return SKIPPED
    return None if reason else _SYMPY_STATUS[letter]


def parse_sympy(log: str) -> ParsedLog:
    """sympy's bin/test --verbose: 'test_name ok|F|E|f|X|s' lines and 'tests finished: ...' at the end."""
    parsed = ParsedLog()
    lines = [clean_line(raw).strip() for raw in log.splitlines()]
    pending: tuple[str, bool] | None = None  # a name whose outcome was wrapped onto the next line
    for i, line in enumerate(lines):
        waiting, pending = pending, None
        match = _SYMPY_RESULT.match(line)
        if match:
            parsed.record(match.group(1), _SYMPY_STATUS[match.group(2)])
            continue
        match = _SYMPY_SKIP.match(line)
        if match:
            parsed.record(match.group(1), SKIPPED)
            continue
        status = _sympy_wrapped(line, waiting[1]) if waiting else None
        if status:
            parsed.record(waiting[0], status)
            continue
        name = _SYMPY_NAME.match(line)
        if name:
            pending = (name.group(1), bool(name.group(2)))
            continue
        text = _unframe(line)
        if not text.startswith("tests finished:"):
            continue
        for extra in lines[i + 1:i + 3]:  # wrapped: join until "seconds" is reached
            if text.endswith("seconds"):
                break
            text = f"{text} {_unframe(extra)}"
        summary = _SYMPY_SUMMARY.match(re.sub(r"\s+", " ", text))
        if summary:
            parsed.summary(_SYMPY_COUNT.findall(summary.group(1)), _SYMPY_TOTALS)
        else:
            parsed.unreadable(text)
    return parsed


# Parsers whose logs come from pytest: the in-container pytest guard applies to them.
PYTEST_PARSERS = frozenset({"pytest"})
PARSERS = Registry("log parser", {"pytest": "swe_monkeys.swebench.parsers:parse_pytest",
                                  "sympy": "swe_monkeys.swebench.parsers:parse_sympy",
                                  "django": "swe_monkeys.swebench.parsers_django:parse_django"})
