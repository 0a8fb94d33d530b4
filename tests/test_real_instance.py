"""A real SWE-bench Lite instance: the gold patch resolves, the empty patch does not.

Needs ../shared/data/swe-bench-lite and a bare clone of the repository: a repo cache named by
SWE_MONKEYS_TEST_REPO_CACHE (owner__repo.git inside), or a mirror at ../.mirror/owner+repo/repo.
Skipped with the reason otherwise (a user's clone has neither).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import LITE

pytestmark = [pytest.mark.docker, pytest.mark.slow]
INSTANCE = "pallets__flask-4992"
REPO = "pallets/flask"


@pytest.fixture
def real_repo_cache(tmp_path) -> Path:
    if not LITE.exists():
        pytest.skip(f"SWE-bench Lite data not found at {LITE}")
    owner, name = REPO.split("/")
    configured = os.environ.get("SWE_MONKEYS_TEST_REPO_CACHE")
    if configured and (Path(configured) / f"{owner}__{name}.git").exists():
        return Path(configured)
    mirror = LITE.parents[2] / ".mirror" / f"{owner}+{name}" / "repo"
    if not mirror.exists():
        pytest.skip(f"no bare clone of {REPO}: set SWE_MONKEYS_TEST_REPO_CACHE or provide {mirror}")
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
    image = ImageBuilder(docker_client, real_repo_cache).ensure(inst)
    runner = CandidateRunner(docker_client, image, Limits())
    try:
        verdict = runner.judge(inst, load_spec(inst.repo, inst.version), "")
    finally:
        runner.close()
    assert verdict.status is Status.UNRESOLVED
    assert any(verdict.tests[t] != "PASSED" for t in inst.fail_to_pass)
