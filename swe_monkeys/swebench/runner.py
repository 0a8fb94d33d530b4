"""Judge candidates one after another in a warm container of an instance image.

Starting a container costs more than a small test suite, so each worker keeps one container per
image and the in-container harness resets it to the pristine commit before every candidate.
A container is replaced whenever a run ends abnormally (time limit, harness failure, Docker
error), so damage a candidate might have done outside the repository cannot carry over.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from swe_monkeys.paths import HARNESS, PROJECT_ROOT
from swe_monkeys.sandbox.docker_sandbox import DockerSandbox, Limits, SandboxError
from swe_monkeys.swebench import grading
from swe_monkeys.swebench.patches import TEST_PATH_PATTERNS
from swe_monkeys.swebench.spec import EnvSpec
from swe_monkeys.types import Status, SWEInstance, Verdict

HARNESS_FILES = ("run_candidate.py", "test_run.py", "swe_monkeys_guard.py")  # copied into every container
IN_CONTAINER = "/opt/swe-monkeys"
RESULT_MARK = "@@SWE-MONKEYS-RESULT@@"
# Host-side margin over the spec's test timeout for reset, apply and the harness's own work.
EXEC_MARGIN_S = 120


@lru_cache(maxsize=1)
def harness_version() -> str:
    """Hash of everything that judges: harness, parsers, grading. Part of every verdict-cache key."""
    h = hashlib.sha256()
    for path in [HARNESS / name for name in HARNESS_FILES] + [PROJECT_ROOT / "swe_monkeys/swebench/parsers.py",
                                                              PROJECT_ROOT / "swe_monkeys/swebench/grading.py"]:
        h.update(path.read_bytes())
    h.update(json.dumps(TEST_PATH_PATTERNS).encode())
    return h.hexdigest()[:16]


@lru_cache(maxsize=256)
def _test_patch_paths(test_patch: str) -> tuple[tuple[str, bool], ...]:
    """(path, removed?) for each file of a test patch; parsed once, not once per candidate."""
    from unidiff import PatchSet

    return tuple((f.path, f.is_removed_file) for f in PatchSet(test_patch))


def test_patch_files(inst: SWEInstance) -> list[str]:
    """Every path the instance's test_patch touches: reset to pristine before it is applied."""
    return [path for path, _ in _test_patch_paths(inst.test_patch)]


def test_args(inst: SWEInstance, spec: EnvSpec) -> list[str]:
    """What is appended to the test command: the test_patch's files, or the test ids."""
    if spec.test_args == "ids":
        return list(dict.fromkeys(inst.fail_to_pass + inst.pass_to_pass))
    files = [path for path, removed in _test_patch_paths(inst.test_patch) if not removed]
    return [f for f in files if f.endswith(".py")] or files


class CandidateRunner:
    """One warm container of one instance image with the harness serving in it; `judge` many times."""

    def __init__(self, client, image: str, limits: Limits):
        self.client, self.image, self.limits = client, image, limits
        self.sandbox: DockerSandbox | None = None
        self.session = None

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None

    def _ensure(self):
        if self.sandbox is None:
            sandbox = DockerSandbox(self.client, self.image, self.limits).__enter__()
            try:
                for name in HARNESS_FILES:
                    sandbox.put_file(f"{IN_CONTAINER}/{name}", (HARNESS / name).read_bytes())
                self.session = sandbox.open_session(["python3", "-u", f"{IN_CONTAINER}/run_candidate.py", "--serve"])
            except SandboxError:
                sandbox.close()
                raise
            self.sandbox = sandbox
        return self.session

    def run(self, inst: SWEInstance, spec: EnvSpec, patch: str) -> dict:
        """The harness's raw report for one candidate (patch "" = the empty candidate)."""
        session = self._ensure()
        job = {"patch": patch, "test_patch": inst.test_patch, "test_files": test_patch_files(inst),
               "test_path_patterns": list(TEST_PATH_PATTERNS), "test_cmd": spec.test_cmd,
               "test_args": test_args(inst, spec), "timeout": spec.timeout, "user": spec.user,
               "output_cap": self.limits.output_cap // 2, "env": spec.env,
               "path": "/opt/venv/bin:/usr/local/bin:/usr/bin:/bin", "guard": spec.parser == "pytest"}
        reply, timed_out = session.request(json.dumps(job).encode(), RESULT_MARK.encode(),
                                           timeout=spec.timeout + EXEC_MARGIN_S)
        if reply is None:
            self.close()
            why = "overran its time limit" if timed_out else "ended without a report"
            return {"ok": False, "error": f"the harness {why}"}
        try:
            report = json.loads(reply[len(RESULT_MARK):])
        except ValueError:
            self.close()
            return {"ok": False, "error": "unreadable report from the harness"}
        if not report.get("ok") or report.get("timed_out"):
            self.close()  # start the next candidate in a fresh container
        return report

    def judge(self, inst: SWEInstance, spec: EnvSpec, patch: str) -> Verdict:
        try:
            report = self.run(inst, spec, patch)
        except SandboxError as exc:
            self.close()
            return Verdict(Status.INFRA_ERROR, reason=str(exc))
        verdict = grading.grade(report, inst, spec)
        verdict.seconds = float(report.get("test_seconds", 0.0)) + float(report.get("setup_seconds", 0.0))
        return verdict
