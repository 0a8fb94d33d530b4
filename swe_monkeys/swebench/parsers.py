"""Test-log parsers: turn a test command's output into per-test statuses plus evidence.

A parser never decides resolution. It reports what the log claims (test -> status), whether the
log shows that the suite actually ran, and the totals the runner printed, so that grading can
check the claims against each other and against the exit code. Logs are candidate-controlled
text: parsers must be total (never raise) on arbitrary bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from swe_monkeys.registry import Registry

PASSED, FAILED, ERROR, SKIPPED, XFAIL, XPASS = "PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL", "XPASS"
# Worst first: when a log reports one test twice (a forged PASSED line beside the real FAILED
# one, or a teardown ERROR after a PASSED call) the worst report wins.
SEVERITY = {ERROR: 5, FAILED: 4, SKIPPED: 3, XPASS: 2, XFAIL: 1, PASSED: 0}


@dataclass
class ParsedLog:
    statuses: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)  # status -> number of result lines
    totals: dict[str, int] | None = None  # what the runner's final summary line says
    suite_ran: bool = False

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
        self.totals, self.suite_ran = totals, True


_RESULT = re.compile(r"^(PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS) (.+?)\s*$")
_SUMMARY = re.compile(r"^=+ (.*?) in [\d.]+ ?s(?:econds)?\b.*=+\s*$")
_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected|warnings?)")
_TOTAL_KEYS = {"passed": PASSED, "failed": FAILED, "error": ERROR, "errors": ERROR, "skipped": SKIPPED,
               "xfailed": XFAIL, "xpassed": XPASS}


def parse_pytest(log: str) -> ParsedLog:
    """pytest run with -rA: result lines 'STATUS node-id[ - message]' and the '== ... in Ns ==' line."""
    parsed = ParsedLog()
    for raw in log.splitlines():
        line = raw.replace("\x1b", "")
        match = _RESULT.match(line)
        if match:
            status, rest = match.groups()
            if status == SKIPPED and rest.startswith("["):
                parsed.lines[SKIPPED] = parsed.lines.get(SKIPPED, 0) + int(re.match(r"\[(\d+)\]", rest + "[0]")[1])
                continue  # "SKIPPED [n] file:line: reason" names no test id
            if status in (FAILED, ERROR, XFAIL, XPASS):
                rest = rest.split(" - ")[0]
            test = rest.strip()
            parsed.record(test, status)
            # SWE-bench's datasets name a test by the first whitespace-separated token (so
            # "t.py::test[a b]" is listed as "t.py::test[a"): record that name too.
            token = test.split()[0] if test.split() else test
            if token != test:
                parsed.record(token, status, count=False)
            continue
        summary = _SUMMARY.match(line)
        if summary:
            parsed.summary(_COUNT.findall(summary.group(1)), _TOTAL_KEYS)
    return parsed


# The last test of a file carries the file's [OK]/[FAIL] on its line.
_SYMPY_RESULT = re.compile(r"^(test_\w+) (ok|F|E|f|X|s|w|T)(?:\s+\[(?:OK|FAIL)\])?\s*$")
_SYMPY_STATUS = {"ok": PASSED, "F": FAILED, "E": ERROR, "f": XFAIL, "X": XPASS, "s": SKIPPED, "w": SKIPPED,
                 "T": FAILED}
_SYMPY_SUMMARY = re.compile(r"^=+ tests finished: (.*?),? in [\d.]+ seconds =+\s*$")
_SYMPY_COUNT = re.compile(r"(\d+) (passed|failed|exceptions?|skipped|expected to fail but passed|expected to fail)")
_SYMPY_TOTALS = {"passed": PASSED, "failed": FAILED, "exception": ERROR, "exceptions": ERROR, "skipped": SKIPPED,
                 "expected to fail": XFAIL, "expected to fail but passed": XPASS}


def parse_sympy(log: str) -> ParsedLog:
    """sympy's bin/test --verbose: 'test_name ok|F|E|f|X|s' lines and '== tests finished: ... ==' at the end."""
    parsed = ParsedLog()
    for raw in log.splitlines():
        line = raw.replace("\x1b", "").strip()
        match = _SYMPY_RESULT.match(line)
        if match:
            parsed.record(match.group(1), _SYMPY_STATUS[match.group(2)])
            continue
        summary = _SYMPY_SUMMARY.match(line)
        if summary:
            parsed.summary(_SYMPY_COUNT.findall(summary.group(1)), _SYMPY_TOTALS)
    return parsed


PARSERS = Registry("log parser", {"pytest": "swe_monkeys.swebench.parsers:parse_pytest",
                                  "sympy": "swe_monkeys.swebench.parsers:parse_sympy"})
