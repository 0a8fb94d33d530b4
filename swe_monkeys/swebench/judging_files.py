"""What decides a SWE-bench verdict, declared once: the judging files and the key built from them.

`JUDGING_FILES` is the one list of files a verdict depends on. The candidate harness ships its
harness/ part into every container (runner.CANDIDATE_HARNESS is built from it), and
`judgement_key` hashes all of it, so a file cannot judge without also being in every verdict and
gold-statuses cache key (tests/test_judging_keys.py fails when a harness file or a module the
runner or grading imports is missing from it).

`judgement_key(inst, spec, limits, strict)` is everything beside the candidate's applied tree and
the image that decides its verdict: the judging code, the EnvSpec (every field: test command,
arguments, parser, timeout, env, user...), the dataset row's judging fields (FAIL_TO_PASS,
PASS_TO_PASS, test_patch, base commit, and the gold patch whose statuses candidates are graded
against), the container's limits and the strict mode (a verdict judged without `--strict` has no
strict record, so it is never served to a strict request; the key without one is unchanged).
Change any of them and every cached verdict and gold record is judged again instead of being
served stale. Intake (patches.py, normalise.py) is not in the list on purpose:
what it decides is either a verdict of its own (never cached) or the text handed to the harness,
and the harness keys what that text became on disk (tree.applied_key).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from functools import lru_cache

from swe_monkeys.paths import PROJECT_ROOT
from swe_monkeys.sandbox.docker_sandbox import Limits
from swe_monkeys.swebench.spec import EnvSpec
from swe_monkeys.types import SWEInstance

# Paths relative to the project root. The harness/ ones are what the candidate harness ships.
JUDGING_FILES: tuple[str, ...] = (
    "harness/run_candidate.py", "harness/tree.py", "harness/reach.py", "harness/pytest_setup.py",
    "harness/unsafe_tests.py", "harness/kill_user.py", "harness/swe_monkeys_guard.py",
    "harness/guard_trust.py", "harness/guard_runners.py", "harness/guard_snapshot.py", "harness/canaries.py",
    "harness/http_standin.py", "swe_monkeys/swebench/canaries.py",
    "swe_monkeys/swebench/runner.py", "swe_monkeys/swebench/checker.py", "swe_monkeys/swebench/grading.py",
    "swe_monkeys/swebench/parsers.py", "swe_monkeys/swebench/parsers_django.py",
    "swe_monkeys/swebench/selecting.py", "swe_monkeys/swebench/rules.py", "swe_monkeys/swebench/spec.py",
    "swe_monkeys/swebench/judging_files.py", "swe_monkeys/swebench/strict/files.py",
    "swe_monkeys/swebench/strict/compare.py", "swe_monkeys/swebench/strict/runs.py",
    "swe_monkeys/sandbox/session.py", "swe_monkeys/sandbox/docker_sandbox.py",
)
# harness/ files that judge no SWE-bench candidate (the programs' own harness and its wrapper), so
# a new harness file is a decision: judging (into JUDGING_FILES) or not (here, with the reason).
NOT_JUDGING_SWEBENCH: tuple[str, ...] = ("harness/run_programs.py", "harness/program_wrapper.py",
                                         "harness/warm_parent.py", "harness/reference_runner.py")
# Row fields that are not judged: the prompt's material.
_UNJUDGED_ROW_FIELDS = ("problem_statement", "hints_text", "created_at")


def harness_files() -> tuple[str, ...]:
    """The harness/ part of JUDGING_FILES, as names inside harness/ (what is shipped)."""
    return tuple(p.removeprefix("harness/") for p in JUDGING_FILES if p.startswith("harness/"))


@lru_cache(maxsize=1)
def code_version() -> str:
    """Hash of every judging file's path and bytes."""
    h = hashlib.sha256()
    for path in JUDGING_FILES:
        h.update(path.encode() + b"\0" + (PROJECT_ROOT / path).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def judgement_key(inst: SWEInstance, spec: EnvSpec, limits: Limits, strict: str = "") -> str:
    """Everything but the applied tree and the image that decides inst's verdicts (see above).
    The memory limit is left out of `limits`: the container gets the spec's mem_limit."""
    row = {k: v for k, v in asdict(inst).items() if k not in _UNJUDGED_ROW_FIELDS}
    payload = {"code": code_version(), "spec": asdict(spec), "row": row,
               "limits": {k: v for k, v in asdict(limits).items() if k != "memory"},
               **({"strict": strict} if strict else {})}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=list).encode("utf-8", "surrogatepass")
                          ).hexdigest()
