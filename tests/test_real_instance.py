"""Real SWE-bench Lite instances: the gold patch resolves, the empty patch does not, and a small
fixed sample across repositories validates (CI's time-boxed validation).

Needs ../shared/data/swe-bench-lite and bare clones: ../shared/mirrors (thin mirrors of a fixed
sample, which CI has), a repo cache named by SWE_MONKEYS_TEST_REPO_CACHE (owner__repo.git inside),
or a mirror at ../.mirror/owner+repo/repo. Skipped with the reason otherwise (a user's clone has
none of them).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import LITE, SHARED

MIRRORS = SHARED / "mirrors"

pytestmark = [pytest.mark.docker, pytest.mark.slow]
INSTANCE = "pallets__flask-4992"
REPO = "pallets/flask"


@pytest.fixture
def real_repo_cache(tmp_path) -> Path:
    if not LITE.exists():
        pytest.skip(f"SWE-bench Lite data not found at {LITE}")
    owner, name = REPO.split("/")
    if (MIRRORS / f"{owner}__{name}.git").exists():
        return MIRRORS
    configured = os.environ.get("SWE_MONKEYS_TEST_REPO_CACHE")
    if configured and (Path(configured) / f"{owner}__{name}.git").exists():
        return Path(configured)
    mirror = LITE.parents[2] / ".mirror" / f"{owner}+{name}" / "repo"
    if not mirror.exists():
        pytest.skip(f"no bare clone of {REPO}: {MIRRORS} is absent; set SWE_MONKEYS_TEST_REPO_CACHE or provide {mirror}")
    (tmp_path / f"{owner}__{name}.git").symlink_to(mirror)
    return tmp_path


def test_gold_resolves_and_empty_does_not(tmp_path, real_repo_cache, docker_client, no_leftover_containers):
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.swebench.dataset import load_instances
    from swe_monkeys.swebench.api import verify_instances
    from swe_monkeys.swebench.checker import VerifyConfig
    from swe_monkeys.types import Candidate, Status

    inst = load_instances(LITE, [INSTANCE])[0]
    store = RunStore(tmp_path / "run")
    gold = store.add_candidate(Candidate(INSTANCE, inst.patch, "gold", 0))
    store.add_candidate(Candidate(INSTANCE, "", "empty", 1))
    config = VerifyConfig(repo_cache=real_repo_cache, workers=1, use_cache=False)
    verify_instances(store, [inst], config)
    verdicts = store.verdicts()
    assert verdicts[gold].status is Status.RESOLVED, verdicts[gold].reason
    assert not any(v.resolved for cid, v in verdicts.items() if cid != gold)


def test_empty_patch_fails_the_fail_to_pass_tests(tmp_path, real_repo_cache, docker_client):
    """The empty candidate, actually run (not just classified): FAIL_TO_PASS must fail."""
    import docker  # noqa: F401

    from swe_monkeys.images.builder import ImageBuilder
    from swe_monkeys.sandbox.docker_sandbox import Limits
    from swe_monkeys.swebench.dataset import load_instances
    from swe_monkeys.swebench.runner import CandidateRunner
    from swe_monkeys.swebench.spec import load_spec
    from swe_monkeys.types import Status

    inst = load_instances(LITE, [INSTANCE])[0]
    image = ImageBuilder(docker_client, real_repo_cache).ensure(inst, load_spec(inst.repo, inst.version, inst.instance_id))
    runner = CandidateRunner(docker_client, image, Limits())
    try:
        verdict = runner.judge(inst, load_spec(inst.repo, inst.version, inst.instance_id), "")
    finally:
        runner.close()
    assert verdict.status is Status.UNRESOLVED
    assert any(verdict.tests[t] != "PASSED" for t in inst.fail_to_pass)


# CI's validation sample: one instance of every Lite repository that ../shared/mirrors holds whose
# images build in a few minutes, across the three test runners (pytest, sympy's bin/test, Django's
# runtests.py). astropy, matplotlib and scikit-learn build compiled extensions from source (5-10
# minutes each on CI's two cores): they are validated with `swe-monkeys validate` like every Lite
# instance (configs/swebench/validation.jsonl), not on every submission. `--workers 2`: one instance
# tests while the next one's image builds.
CI_SAMPLE = ("pallets__flask-4992", "pytest-dev__pytest-7373", "sympy__sympy-11400", "django__django-11099",
             "sphinx-doc__sphinx-8713", "pylint-dev__pylint-7114", "pydata__xarray-4094", "mwaskom__seaborn-3010")


def test_ci_sample_validates(tmp_path, docker_client, no_leftover_containers):
    import json

    from typer.testing import CliRunner

    from swe_monkeys.cli import app

    if not LITE.exists():
        pytest.skip(f"SWE-bench Lite data not found at {LITE}")
    if not MIRRORS.exists():
        pytest.skip(f"no thin mirrors at {MIRRORS} (CI has them)")
    table = tmp_path / "validation.jsonl"
    args = ["validate", str(LITE), "--repeats", "1", "--workers", "2", "--repo-cache", str(MIRRORS),
            "--run", str(tmp_path / "v"), "--table", str(table)]
    for instance in CI_SAMPLE:
        args += ["--id", instance]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = {r["instance"]: r for r in map(json.loads, table.read_text().splitlines())}
    assert sorted(rows) == sorted(CI_SAMPLE)
    for row in rows.values():
        assert (row["gold_resolved"], row["runs"], row["empty_resolved"], row["empty_runs"]) == (1, 1, 0, 1), row
