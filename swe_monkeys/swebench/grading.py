"""Grading: the harness's report on one candidate -> a Verdict, as strict as SWE-bench 5.x or more.

With hundreds of samples per issue, a verifier that is fooled once in a thousand runs "solves"
issues by chance, so every rule here errs towards *not resolved*:
- with the gold patch's per-test statuses at hand (`GoldStatuses`, recorded once per instance
  and image), a test counts only with the status it has under gold: PASSED under gold means
  PASSED, never XFAIL or skipped (a candidate that turns tests into XFAIL without running them
  resolves nothing); a PASS_TO_PASS test skipped under gold may pass;
- without them (an instance that ships no gold patch), SWE-bench's rules: every FAIL_TO_PASS test
  PASSED or XFAIL, skipped or missing is a failure; every PASS_TO_PASS test passed or skipped;
- the exit code must agree with the log (a conftest or a print that fakes PASSED lines then exits 1
  is caught here), and the result lines must agree with the runner's own totals;
- there must be evidence that the suite ran (os._exit(0) at import leaves none);
- a test's status is the one the in-container guard recorded when the runner decided it (the
  log can only make it worse); the guard must vouch for the run (its end record with the run's
  nonce, nothing after it, no tampering seen), every canary must be recorded failing, and a log
  the output cap cut never resolves;
- a run past its time limit is a failure of the candidate, a harness crash is infra_error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from swe_monkeys.swebench import canaries
from swe_monkeys.swebench.parsers import (ERROR, FAILED, PARSERS, PASSED, PYTEST_PARSERS, SEVERITY, SKIPPED, XFAIL,
                                          ParsedLog, aliases)
from swe_monkeys.swebench.spec import EnvSpec
from swe_monkeys.types import Status, SWEInstance, Verdict

_PASS = (PASSED, XFAIL)


@dataclass(frozen=True)
class GoldStatuses:
    """Per-test statuses of the gold patch on one image (FAIL_TO_PASS and PASS_TO_PASS tests)."""

    statuses: dict[str, str]
    # The FAIL_TO_PASS statuses when they are run first and alone (fail fast); None: not tried.
    first: dict[str, str] | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    # Seconds of gold's FAIL_TO_PASS-alone run and of its full run ({} for records made before).
    seconds: dict[str, float] = field(default_factory=dict)
    # The harness's key of gold's applied tree ("" for records made before): a candidate whose tree
    # it is behaves as gold by construction (strict/runs.py).
    tree_key: str = ""

    def fail_fast_agrees(self, inst: SWEInstance) -> bool:
        """True when running FAIL_TO_PASS tests alone gives gold's statuses (no order dependence)."""
        return self.first is not None and all(self.first.get(t) == self.statuses.get(t) for t in inst.fail_to_pass)

    def fail_fast_pays(self) -> bool:
        """True unless gold's timings show the FAIL_TO_PASS-first run cannot save time.

        With a share p of candidates failing FAIL_TO_PASS, running those tests first costs F + (1-p)A
        per candidate against A for the full run alone (F and A each with the test runner's start):
        it pays while F < pA. Most samples fail, but an easy instance's need not, so p is taken as
        1/2. On a suite whose whole file runs in about the time pytest takes to start (flask's
        test_config.py: F 0.25 s, A 0.29 s) fail-fast would only add a second start."""
        first, full = self.seconds.get("first"), self.seconds.get("full")
        return not (first and full) or first < FAIL_FAST_SHARE * full

    def record(self) -> dict[str, Any]:
        """What the verdict cache keeps of a resolving gold run."""
        return {"resolved": True, "reason": self.detail.get("reason", ""), "statuses": self.statuses,
                "first": self.first, "seconds": self.seconds, "tree_key": self.tree_key}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "GoldStatuses":
        return cls(statuses=record["statuses"], first=record.get("first"), seconds=record.get("seconds") or {},
                   tree_key=record.get("tree_key") or "")


FAIL_FAST_SHARE = 0.5  # the share of candidates assumed to fail FAIL_TO_PASS (see fail_fast_pays)


def _acceptable(status: str, gold: str | None, fail_to_pass: bool) -> bool:
    if gold is None:
        return status in (_PASS if fail_to_pass else _PASS + (SKIPPED,))
    return status == gold or (not fail_to_pass and gold == SKIPPED and status == PASSED)


def _consistency_problem(parsed: ParsedLog, exit_code: int | None) -> str:
    """Why the log cannot be believed, or "" when it can."""
    if not parsed.suite_ran:
        return getattr(parsed, "problem", "") or "no evidence that the test suite ran (no final summary line)"
    failures = parsed.lines.get(FAILED, 0) + parsed.lines.get(ERROR, 0)
    if exit_code == 0 and failures:
        return f"exit code 0 but the log reports {failures} failures/errors"
    if exit_code != 0 and not failures:
        return f"exit code {exit_code} but the log reports no failure"
    totals = parsed.totals or {}
    for status in (PASSED, FAILED):
        if totals.get(status, 0) != parsed.lines.get(status, 0):
            return (f"the log's {status} lines ({parsed.lines.get(status, 0)}) disagree with the runner's "
                    f"totals ({totals.get(status, 0)})")
    return ""


def not_a_test(name: str, parser: str) -> bool:
    """A PASS_TO_PASS entry that names no test: SWE-bench's own log parsing left progress markers
    such as "[100%]" or "[" in some pytest instances' lists (pytest-dev__pytest-5227, -5413, ...).
    Such an entry can never be found in a log, so it is not graded (a pytest test id has "::")."""
    return parser in PYTEST_PARSERS and "::" not in name and not name.endswith(".py")


def graded_pass_to_pass(inst: SWEInstance, parser: str) -> list[str]:
    """The instance's PASS_TO_PASS tests that name a test (what is run and graded)."""
    return [t for t in inst.pass_to_pass if not not_a_test(t, parser)]


def _recorded(result: dict[str, Any], parser: str) -> dict[str, str] | None:
    """The guard's records as test -> status (with the other names the datasets give a pytest
    id), or None for a run without the guard."""
    if "records" not in result:
        return None
    recorded = canaries.recorded_statuses(result["records"])
    if parser in PYTEST_PARSERS:
        for name, status in list(recorded.items()):
            # pytest < 4 names a class's instance "()" in its node ids (t.py::TestA::()::test_b);
            # its own report lines, and the datasets, leave it out.
            for alias in aliases(name) + ([name.replace("::()", "")] if "::()" in name else []):
                if alias not in recorded or SEVERITY[status] > SEVERITY[recorded[alias]]:
                    recorded[alias] = status
    return recorded


def _status(name: str, parsed: ParsedLog, recorded: dict[str, str] | None) -> str:
    """A test's status: as the guard recorded it where the runner decided it. The log can only
    make it worse (a log is the candidate's to write), never supply a missing record."""
    logged = parsed.statuses.get(name)
    if recorded is None:
        return logged or "MISSING"
    status = recorded.get(name, "MISSING")
    if status != "MISSING" and logged is not None and SEVERITY[logged] > SEVERITY[status]:
        return logged
    return status


def _test_outcomes(parsed: ParsedLog, inst: SWEInstance, gold: GoldStatuses | None,
                   only_fail_to_pass: bool, parser: str, recorded: dict[str, str] | None = None
                   ) -> tuple[dict[str, str], list[str]]:
    tests, failing = {}, []
    groups = [("FAIL_TO_PASS", inst.fail_to_pass, True)]
    if not only_fail_to_pass:
        groups.append(("PASS_TO_PASS", graded_pass_to_pass(inst, parser), False))
    for label, names, f2p in groups:
        for name in names:
            tests[name] = status = _status(name, parsed, recorded)
            expected = gold.statuses.get(name) if gold is not None else None
            if not _acceptable(status, expected, f2p):
                failing.append(f"{label} {name}: {status}" + (f" (gold: {expected})" if expected and expected != PASSED
                                                              else ""))
    return tests, failing


def grade(result: dict[str, Any], inst: SWEInstance, spec: EnvSpec, gold: GoldStatuses | None = None,
          only_fail_to_pass: bool = False) -> Verdict:
    """Decide one candidate from the harness report (see harness/run_candidate.py).

    `only_fail_to_pass`: the report is of the fail-fast run, which ran the FAIL_TO_PASS tests
    alone; a verdict that is not RESOLVED then is final, a RESOLVED one only means "run the rest".
    """
    if not result.get("ok"):
        return Verdict(Status.INFRA_ERROR, reason=f"harness: {result.get('error', 'no result')}")
    method = result.get("apply_method") or ""
    if result.get("apply_tries") and not method:
        return Verdict(Status.APPLY_FAILED, reason="no strategy of the apply chain applied the patch",
                       log=_apply_log(result))
    if not result.get("test_patch_ok"):
        # Its files and their directories were put back first. Where it applied for gold on this
        # image, the candidate broke it; otherwise the instance is at fault, not the candidate.
        status = Status.INFRA_ERROR if gold is None else Status.UNRESOLVED
        return Verdict(status, reason="the instance's test_patch did not apply" + (
            " after this candidate (it does after the gold patch)" if gold is not None else ""),
            apply_method=method, log=result.get("test_patch_output", ""))
    log = result.get("log", "")
    notes = _revert_note(result.get("reverted") or [])
    problem = _run_problem(result, spec.timeout)
    if problem:
        return Verdict(Status.UNRESOLVED, reason=problem + notes, apply_method=method, log=log)
    parsed = PARSERS.get(spec.parser)(log)
    recorded = _recorded(result, spec.parser)
    if recorded is not None:
        problem = canaries.canary_problem(result.get("canaries") or [], spec.parser, recorded)
        if problem:
            return Verdict(Status.UNRESOLVED, reason=problem + notes, apply_method=method, log=log)
    tests, failing = _test_outcomes(parsed, inst, gold, only_fail_to_pass, spec.parser, recorded)
    problem = _consistency_problem(parsed, result.get("exit_code"))
    if problem:
        return Verdict(Status.UNRESOLVED, reason=problem + notes, tests=tests, apply_method=method, log=log)
    if failing:
        more = f" (+{len(failing) - 3} more)" if len(failing) > 3 else ""
        return Verdict(Status.UNRESOLVED, reason="; ".join(failing[:3]) + more + notes, tests=tests,
                       apply_method=method, log=log)
    return Verdict(Status.RESOLVED, reason="all FAIL_TO_PASS and PASS_TO_PASS tests passed" + notes, tests=tests,
                   apply_method=method, log=log)


def _run_problem(result: dict[str, Any], timeout: float) -> str:
    """Why a run's records and log are not believed at all, or "" (with what the memory cgroup saw)."""
    problem = _unbelieved(result, timeout)
    if problem and result.get("oom_killed"):
        problem += " (the kernel's OOM killer ended a test process at the container's memory limit)"
    return problem


def _unbelieved(result: dict[str, Any], timeout: float) -> str:
    if result.get("timed_out"):
        return f"test run exceeded {timeout:g}s"
    if result.get("disk_exceeded"):
        return "stopped at the disk bound: the test user's files grew past the run's disk limit"
    if result.get("guard", "ok") != "ok":
        # The guard did not vouch for the run: tampering seen, the runner rewired, or the process
        # ended before the runner reported its last test, so neither records nor log are believed.
        return f"guard: {result['guard']}"
    if result.get("truncated"):
        # The output cap dropped the log's middle: what is left could be a forged tail.
        return (f"the log exceeded the output cap ({result.get('output_bytes')} bytes): a truncated log never "
                "resolves")
    return ""


def run_statuses(result: dict[str, Any], spec: EnvSpec, timeout: float) -> tuple[dict[str, str], str]:
    """Every test's status in one run of a strict re-check, and why the run cannot be believed ("" when
    it can), by `grade`'s rules: the guard's word and records (the log only makes a status worse),
    every canary recorded failing, no cut log, the exit code agreeing with the log. Canaries are
    left out of the statuses; so are unittest's other names of a test (its id is kept)."""
    problem = _run_problem(result, timeout) if result.get("ok") else f"harness: {result.get('error', 'no result')}"
    if problem:
        return {}, problem
    parsed = PARSERS.get(spec.parser)(result.get("log", ""))
    planted = result.get("canaries") or []
    if "records" in result:
        recorded = canaries.recorded_statuses(result["records"])
        problem = canaries.canary_problem(planted, spec.parser, recorded)
        names = [n for n in recorded if n.startswith("id:")] if canaries.style(spec.parser) == "unittest" \
            else list(recorded)
        statuses = {n: _status(n, parsed, recorded) for n in names}
    else:  # a run without the guard (a spec that runs as root): the log is all there is
        statuses = dict(parsed.statuses)
    problem = problem or _consistency_problem(parsed, result.get("exit_code"))
    hidden = canaries.canary_names(planted, spec.parser)
    return {n: s for n, s in statuses.items() if not any(n == h or n.startswith(h + "[") for h in hidden)}, problem


def _revert_note(reverted: list) -> str:
    """'; reverted 3 paths (test file 2, git configuration 1)' for the reason line."""
    if not reverted:
        return ""
    whys: dict[str, int] = {}
    for item in reverted:
        why = item.get("why", "?") if isinstance(item, dict) else "test/config"
        whys[why] = whys.get(why, 0) + 1
    return f"; reverted {len(reverted)} paths ({', '.join(f'{w} {n}' for w, n in sorted(whys.items()))})"


def _apply_log(result: dict[str, Any]) -> str:
    return "\n".join(f"$ {t['method']} -> {t['exit_code']}\n{t['output']}" for t in result.get("apply_tries", []))
