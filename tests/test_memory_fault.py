"""Memory run out under a judgement (real Docker): a candidate whose code eats memory until the kernel's
OOM killer acts inside its container's limit is its own fault -- unresolved with the reason, never an
infra_error -- the harness that judges it survives (the candidate's processes are the first to die:
oom_score_adj 1000), and the candidates after it in the same batch are judged as if it never ran."""

from __future__ import annotations

import os
import shutil
import time

import pytest

from swe_monkeys.sandbox.docker_sandbox import OWNER_LABEL

pytestmark = [pytest.mark.docker, pytest.mark.slow]

EAT = "\n_kept = []\nwhile True:  # every page touched, so the kernel must find the memory\n" \
      "    _kept.append(b'\\x01' * (64 << 20))\n"


def _hungry(example, overlay) -> str:
    """The gold patch, and the package eats memory at import (so every test process does)."""
    from swe_monkeys.examples import overlay_patch

    shutil.copytree(example.root / "fix", overlay)
    init = "calc/__init__.py"
    (overlay / init).write_text((example.root / "base" / init).read_text() + EAT)
    return overlay_patch(example, overlay)


def test_a_candidate_that_eats_its_memory_is_its_own_fault_and_the_batch_goes_on(
        tmp_path, docker_client, images, examples, repo_cache):
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.swebench.api import verify_instances
    from swe_monkeys.swebench.checker import VerifyConfig
    from swe_monkeys.types import Candidate, Status

    calc = examples["calc"]
    store = RunStore(tmp_path / "run")
    patches = {"hungry": _hungry(calc, tmp_path / "overlay"), "gold": calc.candidates["gold"],
               "wrong": calc.candidates["wrong"]}
    ids = {name: store.add_candidate(Candidate(calc.instance.instance_id, p, name, n))
           for n, (name, p) in enumerate(patches.items())}
    started = time.monotonic()
    verify_instances(store, [calc.instance], VerifyConfig(repo_cache=repo_cache, workers=1, use_cache=False))
    verdicts = store.verdicts()
    assert {name: verdicts[cid].status for name, cid in ids.items()} == {
        "hungry": Status.UNRESOLVED, "gold": Status.RESOLVED, "wrong": Status.UNRESOLVED}, {
        name: verdicts[cid].reason for name, cid in ids.items()}
    assert "OOM killer" in verdicts[ids["hungry"]].reason, verdicts[ids["hungry"]].reason
    assert time.monotonic() - started < 600
    assert not docker_client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={os.getpid()}"})
