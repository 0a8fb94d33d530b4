"""Judge candidates of one instance image, each in a container no other candidate's work survives in.

Nothing a candidate does may reach another candidate's judgement: not a process (a thread
whose group leader exited, a double-forked daemon), not a file in any writable place, not git
metadata. `CleanSessions` hands out containers that are new or that the harness reset after
their last candidate and proved clean (run_candidate.py's "reset": every non-root task killed,
the tree and every directory a non-root user can write put back, root's git index restored,
then all of it checked against the state taken before the first candidate); a container the
harness cannot vouch for is removed and a new one started. Two take turns per runner, each
reset (or started) while the other judges, so isolation costs little beyond the test run.

Per candidate: prepare (apply, put back, test patch) -> optionally the FAIL_TO_PASS tests alone
(fail fast: most samples fail them, and then the PASS_TO_PASS run is not paid for) -> the full
test command -> with a strict judge (strict/runs.py), for a resolved candidate, its wider tests in
the same container; their comparison with gold's, which may run gold and a confirming run in
fresh containers (`run_fresh`), follows once the candidate's container is given back. Whose fault a failure is follows from where it happened: before the candidate's
content reached the container it is the infrastructure's (infra_error, retried later); once the
harness works on the candidate's patch or runs its code, a failure counts against the candidate,
so no candidate can turn itself into an infra_error that is retried forever. An engine that stops
answering is nobody's fault: the judgement it cut is abandoned (engine.wait_for_engine
raises) and judged again once the engine answers, or the run stops (EngineOutage).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import lru_cache
from typing import Callable, Iterator

from swe_monkeys.sandbox.docker_sandbox import Limits, SandboxError
from swe_monkeys.sandbox.engine import check_storage, wait_for_engine
from swe_monkeys.sandbox.session import CleanSessions, HarnessSession, HarnessSpec, SessionBroken
from swe_monkeys.swebench import canaries, grading, parsers
from swe_monkeys.swebench.grading import GoldStatuses
from swe_monkeys.swebench.judging_files import harness_files
from swe_monkeys.swebench.parsers_django import django_labels
from swe_monkeys.swebench.rules import REVERT_RULES
from swe_monkeys.swebench.selecting import select_args
from swe_monkeys.swebench.spec import EnvSpec
from swe_monkeys.swebench.strict.compare import StrictRun
from swe_monkeys.swebench.strict.files import strict_args
from swe_monkeys.swebench.strict.runs import StrictJudge
from swe_monkeys.types import Status, SWEInstance, Verdict

CANDIDATE_HARNESS = HarnessSpec(
    files=harness_files(),  # judging_files.JUDGING_FILES: what is shipped is what every cache key hashes
    script="run_candidate.py", marker=b"@@SWE-MONKEYS-RESULT@@", ready={"op": "ready"},
    reset={"op": "reset"})
PREPARE_TIMEOUT_S = 600  # four apply strategies of at most 120 s each, plus the test patch
EXEC_MARGIN_S = 120  # beyond the spec's test timeout, for the harness's own work around a run
VENV_PATH = "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin"


# Given a candidate's prepare reply, the verdict already reached for its applied tree, or None.
KnownVerdict = Callable[[dict], "Verdict | None"]


@lru_cache(maxsize=256)
def _test_patch_paths(test_patch: str) -> tuple[tuple[str, bool], ...]:
    """(path, removed?) for each file of a test patch; parsed once, not once per candidate."""
    from unidiff import PatchSet

    return tuple((f.path, f.is_removed_file) for f in PatchSet(test_patch))


def kept_test_files(inst: SWEInstance) -> list[str]:
    """The files the test_patch leaves in place (what the runner is pointed at)."""
    return [path for path, removed in _test_patch_paths(inst.test_patch) if not removed]


def test_patch_files(inst: SWEInstance) -> list[str]:
    """Every path the instance's test_patch touches: put back before it is applied."""
    return [path for path, _ in _test_patch_paths(inst.test_patch)]


def test_args(inst: SWEInstance, spec: EnvSpec) -> list[str]:
    """What is appended to the test command: the test_patch's files, their Django labels, or the ids."""
    if spec.test_args == "ids":
        return list(dict.fromkeys(inst.fail_to_pass + grading.graded_pass_to_pass(inst, spec.parser)))
    files = kept_test_files(inst)
    if spec.test_args == "labels":
        return django_labels(files)
    return [f for f in files if f.endswith(".py")] or files


def fail_fast_args(inst: SWEInstance, spec: EnvSpec, planted: list[dict] = ()) -> list[str] | None:
    """Arguments that run the FAIL_TO_PASS tests (and the canaries `planted`) alone, or None where
    the runner cannot."""
    if not inst.fail_to_pass:
        return None
    files = kept_test_files(inst)
    ids = list(inst.fail_to_pass) + [canaries.test_id(c, spec.parser) for c in planted]
    return select_args(spec.parser, ids, files=files)


def run_args(inst: SWEInstance, spec: EnvSpec, planted: list[dict] = ()) -> list[str]:
    """The full run's arguments: the spec's, plus the canaries where tests are named one by one."""
    args = test_args(inst, spec)
    if spec.test_args == "ids":
        args += [canaries.test_id(c, spec.parser) for c in planted]
    return args


def canary_job(inst: SWEInstance, spec: EnvSpec) -> dict:
    """Where the harness plants canaries: the files the full run runs."""
    files = kept_test_files(inst)
    if spec.test_args == "ids":
        files = [t.split("::")[0] for t in test_args(inst, spec)]
    return canaries.plan(inst, spec, files)


def spec_limits(limits: Limits, spec: EnvSpec) -> Limits:
    """The container of a spec's candidates: `limits` with the spec's memory and its stand-ins."""
    return replace(limits, memory=spec.mem_limit, loopback_hosts=spec.loopback_hosts, tarpits=spec.tarpits)


def _failure(stage: str, error: str) -> Verdict:
    """A harness failure, charged to whoever's work it was doing (see the module docstring)."""
    if stage in ("init", "", None):
        return Verdict(Status.INFRA_ERROR, reason=f"harness: {error}")
    return Verdict(Status.UNRESOLVED, reason=f"the harness failed on this candidate ({stage}): {error}")


class CandidateRunner:
    """Judges candidates of one image, each in a new or reset-and-proved-clean container."""

    def __init__(self, client, image: str, limits: Limits):
        self.client, self.image, self.limits = client, image, limits
        self.sessions = CleanSessions(lambda: HarnessSession(client, image, limits, CANDIDATE_HARNESS))

    def close(self) -> None:
        self.sessions.close()

    def judge(self, inst: SWEInstance, spec: EnvSpec, patch: str, gold: GoldStatuses | None = None,
              fail_fast: bool = False) -> Verdict:
        """One candidate's verdict (patch "" = the empty candidate)."""
        return next(self.judge_many(inst, spec, [patch], gold, fail_fast))

    def judge_many(self, inst: SWEInstance, spec: EnvSpec, patches: list[str], gold: GoldStatuses | None = None,
                   fail_fast: bool = False, known: KnownVerdict | None = None, strict: StrictJudge | None = None
                   ) -> Iterator[Verdict]:
        """The candidates' verdicts, in order, each as soon as it is reached. While one candidate's
        tests run, the next one is applied in the other container (prepare is root's work on the
        candidate's patch and the test patch: nothing of the running candidate is involved).
        `known`: asked once a candidate is prepared; a verdict it returns (one reached for the same
        applied tree) is that candidate's, and its tests do not run (the container is reset as usual).
        `strict` (a strict.runs.StrictJudge): a resolved candidate judged here gets its strict record."""
        wanted = fail_fast and gold is not None and gold.fail_fast_agrees(inst) and gold.fail_fast_pays()
        first = fail_fast_args(inst, spec) if wanted else None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare-ahead") as ahead:
            pending = ahead.submit(self._prepared, inst, spec, patches[0]) if patches else None
            try:
                for n in range(len(patches)):
                    session, prep = pending.result()
                    pending = ahead.submit(self._prepared, inst, spec, patches[n + 1]) if n + 1 < len(patches) else None
                    wider = (lambda p, patch=patches[n]: strict.files_for(patch, p)) if strict is not None else None
                    verdict, _, _, run = self._tested(session, prep, inst, spec, gold, first, known=known,
                                                      strict=wider)
                    if strict is not None and verdict.resolved and not verdict.strict:
                        verdict.strict = strict.check(self.run_fresh, patches[n], verdict, run)
                    yield verdict
            finally:  # the consumer stopped early: a candidate prepared ahead goes back unjudged
                if pending is not None:
                    session, _ = pending.result()
                    if session is not None:
                        self.sessions.give_back(session)

    def judge_gold(self, inst: SWEInstance, spec: EnvSpec, first_pass: bool = True
                   ) -> tuple[Verdict, GoldStatuses | None]:
        """The gold patch under SWE-bench's own rules, and its per-test statuses when it resolves
        (with the statuses its FAIL_TO_PASS tests get when run first and alone, unless `first_pass`
        is off: a repeat run that only has to confirm the verdict and the statuses)."""
        session, prep = self._prepared(inst, spec, inst.patch)
        verdict, first, seconds, _ = self._tested(session, prep, inst, spec, None,
                                                  fail_fast_args(inst, spec) if first_pass else None, keep_going=True)
        if not verdict.resolved:
            return verdict, None
        detail = {"reason": verdict.reason, "seconds": verdict.seconds}
        return verdict, GoldStatuses(statuses=dict(verdict.tests), first=first, detail=detail, seconds=seconds,
                                     tree_key=verdict.tree_key)

    def run_fresh(self, inst: SWEInstance, spec: EnvSpec, patch: str, files: list[str], timeout: float) -> StrictRun:
        """A strict run of `patch` on `files` in a newly prepared container (gold's, a confirming run)."""
        session, prep = self._prepared(inst, spec, patch)
        if session is None:
            return StrictRun(files, problem=prep.reason, infra=True)
        try:
            if isinstance(prep, Verdict) or prep.get("stage") != "prepared":
                why = prep.reason if isinstance(prep, Verdict) else f"prepare stopped at {prep.get('stage')}"
                return StrictRun(files, problem=why, infra=isinstance(prep, Verdict) and not prep.status.is_judgement)
            return replace(self._strict_run(session, spec, files, timeout, prep), tree_key=prep.get("tree_key", ""))
        finally:
            self.sessions.give_back(session)

    def _strict_run(self, session, spec: EnvSpec, files: list[str], timeout: float, prep: dict) -> StrictRun:
        report = self._run(session, spec, strict_args(spec, files), timeout)
        if isinstance(report, Verdict):
            return StrictRun(files, problem=report.reason, infra=not report.status.is_judgement)
        statuses, problem = grading.run_statuses({**prep, **report}, spec, timeout)
        return StrictRun(files, statuses, problem, float(report.get("test_seconds", 0.0)))

    def _prepared(self, inst: SWEInstance, spec: EnvSpec, patch: str):
        """(a clean session with the candidate applied, the harness's prepare reply), or (None, the
        Verdict a failure to get there amounts to)."""
        check_storage(self.client, "judging a candidate")  # StorageFull: the run stops, nothing half-judged
        since = time.monotonic()
        try:
            session = self.sessions.take()
        except SandboxError as exc:
            wait_for_engine(self.client, since)  # an outage raises: nobody's verdict
            return None, Verdict(Status.INFRA_ERROR, reason=f"container: {exc}")
        job = {"op": "prepare", "patch": patch, "test_patch": inst.test_patch, "test_files": test_patch_files(inst),
               "revert_patterns": [list(rule) for rule in REVERT_RULES] + [
                   [pattern, "test runner"] for pattern in spec.runner_files],
               "canaries": canary_job(inst, spec)}
        return session, self._request(session, job, PREPARE_TIMEOUT_S, "prepare")

    def _tested(self, session, prep, inst, spec, gold, first, keep_going=False, known=None, strict=None):
        """(verdict, FAIL_TO_PASS statuses of the fail-fast run or None, {"first"/"full": test seconds},
        the strict run of a resolved candidate or None);
        the session goes back to the supply (to be reset) whatever happens. The verdict carries the
        harness's tree key and what it put back of this candidate (a known verdict included)."""
        if session is None:
            return prep, None, {}, None
        prepared = isinstance(prep, dict) and prep.get("stage") == "prepared"
        try:
            found = known(prep) if known is not None and prepared and prep.get("tree_key") else None
            out = (found, None, {}, None) if found is not None else self._judge_in(session, prep, inst, spec, gold,
                                                                                  first, keep_going, strict)
        finally:
            self.sessions.give_back(session)
        if isinstance(prep, dict):
            out[0].tree_key, out[0].reverted = prep.get("tree_key", ""), list(prep.get("reverted") or [])
            out[0].apply_method = prep.get("apply_method") or out[0].apply_method
        return out

    def _judge_in(self, session, prep, inst, spec, gold, first, keep_going, strict=None):
        if isinstance(prep, Verdict):
            return prep, None, {}, None
        if prep.get("stage") != "prepared":
            return grading.grade(prep, inst, spec, gold), None, {}, None
        seconds, first_statuses, runs = float(prep.get("setup_seconds", 0.0)), None, {}
        planted = prep.get("canaries") or []
        first = fail_fast_args(inst, spec, planted) if first else None
        if first:
            report = self._run(session, spec, first)
            if isinstance(report, Verdict):
                return report, None, runs, None
            runs["first"] = float(report.get("test_seconds", 0.0))
            verdict = grading.grade({**prep, **report}, inst, spec, gold, only_fail_to_pass=True)
            first_statuses = {t: verdict.tests.get(t, "MISSING") for t in inst.fail_to_pass}
            if not verdict.resolved and not keep_going:
                verdict.reason, verdict.seconds = "fail fast: " + verdict.reason, seconds + runs["first"]
                return verdict, first_statuses, runs, None
        report = self._run(session, spec, run_args(inst, spec, planted))
        if isinstance(report, Verdict):
            return report, first_statuses, runs, None
        runs["full"] = float(report.get("test_seconds", 0.0))
        verdict = grading.grade({**prep, **report}, inst, spec, gold)
        verdict.seconds = seconds + sum(runs.values())
        wider = strict(prep) if strict is not None and verdict.resolved else None  # (files, time limit)
        run = self._strict_run(session, spec, *wider, prep) if wider is not None else None
        return verdict, first_statuses, runs, run

    def _run(self, session, spec: EnvSpec, args: list[str], timeout: float | None = None):
        timeout = timeout or spec.timeout
        job = {"op": "run", "cmd": spec.test_cmd, "args": args, "env": spec.env, "timeout": timeout,
               "output_cap": self.limits.output_cap // 2, "disk": self.limits.disk, "user": spec.user, "path": VENV_PATH,
               "pytest": spec.parser in parsers.PYTEST_PARSERS, "runner": canaries.style(spec.parser),
               "guard": not spec.run_as_root}
        return self._request(session, job, timeout + EXEC_MARGIN_S, "run")

    def _request(self, session, job: dict, timeout: float, what: str):
        """The harness's reply, or the Verdict its failure amounts to."""
        since = time.monotonic()
        try:
            reply = session.request(job, timeout)
        except SandboxError as exc:
            wait_for_engine(self.client, since)  # an outage raises: nobody's verdict
            return Verdict(Status.INFRA_ERROR, reason=f"container: {exc}")
        except SessionBroken as exc:
            wait_for_engine(self.client, since)
            return self._broken(session, what, exc)
        if not reply.get("ok"):
            return _failure(reply.get("stage", ""), reply.get("error", "no result"))
        return reply

    def _broken(self, session, what: str, exc: SessionBroken) -> Verdict:
        """No reply, from an engine that answers (an outage was waited for and raised before): a
        harness that died or overran while the candidate's code ran (an OOM kill of the container,
        say) is the candidate's."""
        state = session.state()
        oom = " (the container ran out of memory)" if state.get("OOMKilled") else ""
        if what == "prepare":
            return Verdict(Status.INFRA_ERROR, reason=f"the harness {exc} before the candidate's code ran{oom}")
        return Verdict(Status.UNRESOLVED, reason=f"the harness {exc} while the tests ran{oom}")
