"""Grading: the harness's report on one candidate -> a Verdict, as strict as SWE-bench 5.x or more.

With hundreds of samples per issue, a verifier that is fooled once in a thousand runs "solves"
issues by chance, so every rule here errs towards *not resolved*:
- every FAIL_TO_PASS test must be reported PASSED (or XFAIL, as SWE-bench counts it); skipped or
  missing is a failure (a skipped FAIL_TO_PASS test is not a resolution);
- every PASS_TO_PASS test must pass; a skipped one is tolerated (SWE-bench does the same), a
  missing one is not;
- the exit code must agree with the log (a conftest or a print that fakes PASSED lines then exits 1
  is caught here), and the result lines must agree with the runner's own totals;
- there must be evidence that the suite ran (os._exit(0) at import leaves none);
- under pytest, the in-container guard plugin must vouch that pytest's reporting was not rewired;
- a run past its time limit is a failure of the candidate, a harness crash is infra_error.
"""

from __future__ import annotations

from typing import Any

from swe_monkeys.swebench.parsers import ERROR, FAILED, PARSERS, PASSED, SKIPPED, XFAIL, ParsedLog
from swe_monkeys.swebench.spec import EnvSpec
from swe_monkeys.types import Status, SWEInstance, Verdict

_PASS = (PASSED, XFAIL)


def _consistency_problem(parsed: ParsedLog, exit_code: int | None) -> str:
    """Why the log cannot be believed, or "" when it can."""
    if not parsed.suite_ran:
        return "no evidence that the test suite ran (no final summary line)"
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


def _test_outcomes(parsed: ParsedLog, inst: SWEInstance) -> tuple[dict[str, str], list[str]]:
    tests, failing = {}, []
    for name in inst.fail_to_pass:
        tests[name] = parsed.statuses.get(name, "MISSING")
        if tests[name] not in _PASS:
            failing.append(f"FAIL_TO_PASS {name}: {tests[name]}")
    for name in inst.pass_to_pass:
        tests[name] = parsed.statuses.get(name, "MISSING")
        if tests[name] not in _PASS + (SKIPPED,):
            failing.append(f"PASS_TO_PASS {name}: {tests[name]}")
    return tests, failing


def grade(result: dict[str, Any], inst: SWEInstance, spec: EnvSpec) -> Verdict:
    """Decide one candidate from the harness report (see harness/run_candidate.py)."""
    if not result.get("ok"):
        return Verdict(Status.INFRA_ERROR, reason=f"harness: {result.get('error', 'no result')}")
    method = result.get("apply_method") or ""
    if result.get("apply_tries") and not method:
        return Verdict(Status.APPLY_FAILED, reason="no strategy of the apply chain applied the patch",
                       log=_apply_log(result))
    if not result.get("test_patch_ok"):
        # Files of test_patch were reset first, so this is the instance's fault, not the candidate's.
        return Verdict(Status.INFRA_ERROR, reason="the instance's test_patch did not apply",
                       apply_method=method, log=result.get("test_patch_output", ""))
    log = result.get("log", "")
    notes = f"; reverted {len(result['reverted'])} test/config paths" if result.get("reverted") else ""
    if result.get("timed_out"):
        return Verdict(Status.UNRESOLVED, reason=f"test run exceeded {spec.timeout}s{notes}", apply_method=method,
                       log=log)
    if result.get("guard", "ok") != "ok":
        # The pytest guard did not vouch for the run: pytest's reporting was rewired (or the
        # process died before pytest finished), so nothing in the log can be believed.
        return Verdict(Status.UNRESOLVED, reason=f"pytest guard: {result['guard']}{notes}", apply_method=method,
                       log=log)
    parsed = PARSERS.get(spec.parser)(log)
    tests, failing = _test_outcomes(parsed, inst)
    problem = _consistency_problem(parsed, result.get("exit_code"))
    if problem:
        return Verdict(Status.UNRESOLVED, reason=problem + notes, tests=tests, apply_method=method, log=log)
    if failing:
        more = f" (+{len(failing) - 3} more)" if len(failing) > 3 else ""
        return Verdict(Status.UNRESOLVED, reason="; ".join(failing[:3]) + more + notes, tests=tests,
                       apply_method=method, log=log)
    return Verdict(Status.RESOLVED, reason="all FAIL_TO_PASS and PASS_TO_PASS tests passed" + notes, tests=tests,
                   apply_method=method, log=log)


def _apply_log(result: dict[str, Any]) -> str:
    return "\n".join(f"$ {t['method']} -> {t['exit_code']}\n{t['output']}" for t in result.get("apply_tries", []))
