"""Outsider attacks on real SWE-bench Lite instances: none may be judged resolved.

tests/data/hostile_real/ holds wrong patches that edit only library code -- forged runner output,
an edited or rebound runner, failures swallowed in memory, output after the runner's end, code
compiled under a pristine file's name -- against one instance per test runner (sympy's bin/test on
sympy 1.0 and 1.7, pytest on pytest-dev/pytest and flask, Django's runtests.py), and async tests run
through asgiref on Django 3.2 (django__django-12915, where a repository cache holds it). Per instance one
batch, on one worker: every attack, each followed by an ordinary wrong candidate, then gold, which
must still resolve. Needs ../shared/mirrors and ../shared/data/swe-bench-lite (skipped with the
reason otherwise, as tests/test_real_instance.py is).
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import LITE, SHARED

pytestmark = [pytest.mark.docker, pytest.mark.slow]
MIRRORS = SHARED / "mirrors"
CORPUS = Path(__file__).parent / "data" / "hostile_real"
INSTANCES = ("sympy__sympy-11400", "sympy__sympy-20590", "pytest-dev__pytest-7373", "pallets__flask-4992",
             "django__django-11099")
# Async tests (Django 3.1+ runs them through asgiref): judged where SWE_MONKEYS_REPO_CACHE holds the base
# commit, since ../shared/mirrors does not.
BEYOND_MIRRORS = ("django__django-12915",)
CLASSES = ("forged_output", "runner_edited", "swallowed_in_memory", "output_after_end", "provenance_by_name")
RUNNERS = {"sympy": ("sympy__sympy-11400", "sympy__sympy-20590"),
           "pytest": ("pytest-dev__pytest-7373", "pallets__flask-4992"), "django": ("django__django-11099",)}


def load_attacks() -> list[dict]:
    return yaml.safe_load((CORPUS / "corpus.yaml").read_text())["attacks"]


def _distinct(patch: str, tag: str) -> str:
    """The patch plus a new text file of its own: a key of its own, so dedup judges it again."""
    head = patch if not patch or patch.endswith("\n") else patch + "\n"
    return head + (f"diff --git a/follows_{tag}.txt b/follows_{tag}.txt\nnew file mode 100644\n--- /dev/null\n"
                   f"+++ b/follows_{tag}.txt\n@@ -0,0 +1 @@\n+{tag}\n")


def followers(instance_id: str) -> dict[str, str]:
    """Ordinary wrong candidates: the empty patch and a plausible wrong edit of the file gold touches."""
    return {"empty": "", "wrong_edit": (CORPUS / instance_id / "followers" / "wrong_edit.patch").read_text()}


def test_corpus_covers_every_class_per_runner():
    attacks = load_attacks()
    assert all((CORPUS / a["instance"] / f"{a['name']}.patch").exists() for a in attacks)
    for runner, instances in RUNNERS.items():
        for cls in CLASSES:
            n = sum(a["class"] == cls and a["instance"] in instances for a in attacks)
            assert n >= 3, (runner, cls, n)


def _repo_cache(inst) -> Path:
    """../shared/mirrors, or for an instance beyond them the repository cache the environment names."""
    if inst.instance_id not in BEYOND_MIRRORS:
        if not MIRRORS.exists():
            pytest.skip(f"no thin mirrors at {MIRRORS} (CI has them)")
        return MIRRORS
    cache = Path(os.environ.get("SWE_MONKEYS_REPO_CACHE", "/nonexistent"))
    mirror = cache / (inst.repo.replace("/", "__") + ".git")
    found = subprocess.run(["git", "-C", str(mirror), "cat-file", "-e", inst.base_commit + "^{commit}"],
                           capture_output=True).returncode == 0 if mirror.exists() else False
    if not found:
        pytest.skip(f"{inst.instance_id}: set SWE_MONKEYS_REPO_CACHE to a folder whose {mirror.name} holds "
                    f"{inst.base_commit[:12]} (../shared/mirrors does not)")
    return cache


@pytest.mark.parametrize("instance_id", INSTANCES + BEYOND_MIRRORS)
def test_outsider_attacks_then_wrong_candidates_then_gold(tmp_path, docker_client, no_leftover_containers,
                                                          instance_id):
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.swebench.api import verify_instances
    from swe_monkeys.swebench.checker import VerifyConfig
    from swe_monkeys.swebench.dataset import load_instances
    from swe_monkeys.types import Candidate, Status

    if not LITE.exists():
        pytest.skip(f"SWE-bench Lite data not found at {LITE}")
    inst = load_instances(LITE, [instance_id])[0]
    repo_cache = _repo_cache(inst)
    attacks = [a for a in load_attacks() if a["instance"] == instance_id]
    wrong = followers(instance_id)
    for a in attacks:
        assert inst.patch not in (CORPUS / instance_id / f"{a['name']}.patch").read_text()
    store = RunStore(tmp_path / "run")
    index = 0
    for i, a in enumerate(attacks):
        store.add_candidate(Candidate(instance_id, (CORPUS / instance_id / f"{a['name']}.patch").read_text(),
                                      a["name"], index))
        kind = sorted(wrong)[i % len(wrong)]  # the two kinds take turns after the attacks
        store.add_candidate(Candidate(instance_id, _distinct(wrong[kind], a["name"]), f"{a['name']}+{kind}",
                                      index + 1))
        index += 2
    store.add_candidate(Candidate(instance_id, inst.patch, "gold", index))

    started = time.monotonic()
    verify_instances(store, [inst], VerifyConfig(repo_cache=repo_cache, workers=1, use_cache=False))
    elapsed = time.monotonic() - started

    verdicts = store.verdicts()
    report = {c.model: verdicts[cid] for cid, c in store.candidates()}
    print(f"\n{instance_id}: {len(report)} candidates judged in {elapsed:.0f} s")
    for name, v in report.items():
        print(f"  {name:60s} {v.status.value:12s} {v.reason}")
    assert report["gold"].status is Status.RESOLVED, report["gold"].reason
    infra = {n: v.reason for n, v in report.items() if v.status is Status.INFRA_ERROR}
    assert not infra, infra  # whatever a candidate does is its own fault, never an infrastructure error
    resolved = {n: v.reason for n, v in report.items() if v.status is Status.RESOLVED and n != "gold"}
    assert not resolved, resolved
    for a in attacks:
        assert not os.path.exists(a["host_marker"]), f"{a['name']} wrote on the host: {a['host_marker']}"
