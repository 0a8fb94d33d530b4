"""Test-log parsers: turn a test command's output into per-test statuses plus evidence.

A parser never decides resolution. It reports what the log claims (test -> status), whether the
log shows that the suite actually ran, and the totals the runner printed, so that grading can
check the claims against each other and against the exit code. Logs are candidate-controlled
text: parsers must be total (never raise) on arbitrary bytes.

Besides the parsers: `select_args` (the arguments that make a runner run given tests, for running
FAIL_TO_PASS first) and `django_labels` (test files as the module labels Django's runtests.py takes).
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


def _clean(line: str) -> str:
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


def _aliases(test: str) -> list[str]:
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
        line = _clean(raw)
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
            for alias in _aliases(test):
                parsed.record(alias, status, count=False)
            continue
        match = _VERBOSE.match(line)
        if match:
            test, status = match.group(1).strip(), match.group(2).upper()
            verbose.record(test, status)
            for alias in _aliases(test):
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
    lines = [_clean(raw).strip() for raw in log.splitlines()]
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
        line = _clean(raw).strip()
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


# -- selecting tests ----------------------------------------------------------------------------
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


def _django_select(test_ids: list[str]) -> list[str] | None:
    labels = []
    for test in test_ids:
        match = _DJANGO_TEST.match(test)
        if not match or test != match.group("name"):
            return None  # a docstring name says nothing about where the test lives
        method, where = match.group("method"), match.group("where")
        labels.append(where if where.endswith(f".{method}") else f"{where}.{method}")
    return list(dict.fromkeys(labels))


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
        return _django_select(test_ids)
    return None


# Parsers whose logs come from pytest: the in-container pytest guard applies to them.
PYTEST_PARSERS = frozenset({"pytest"})
PARSERS = Registry("log parser", {"pytest": "swe_monkeys.swebench.parsers:parse_pytest",
                                  "sympy": "swe_monkeys.swebench.parsers:parse_sympy",
                                  "django": "swe_monkeys.swebench.parsers:parse_django"})
