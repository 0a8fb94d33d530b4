"""The hostile corpus: none may be judged resolved, the host stays unharmed, no container is left.

Each candidate in tests/data/hostile/ lacks the real fix and tries to cheat or to do harm (fork
bomb, endless loop, network, writes outside the repository, forged results, a flood of output,
killing the runner, chmod of the repository, ...). They run only inside Docker.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from swe_monkeys.sandbox import docker_sandbox
from swe_monkeys.sandbox.docker_sandbox import OWNER_LABEL
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.swebench.api import verify_instances
from swe_monkeys.swebench.checker import VerifyConfig
from swe_monkeys.types import Candidate, Status

pytestmark = [pytest.mark.docker, pytest.mark.slow]
CORPUS = Path(__file__).parent / "data" / "hostile"


def load_corpus(examples):
    from swe_monkeys.examples import overlay_patch

    entries = yaml.safe_load((CORPUS / "corpus.yaml").read_text())
    entries = entries["candidates"] if isinstance(entries, dict) else entries
    out = []
    for entry in entries:
        example = examples[entry["example"]]
        overlay = CORPUS / entry["name"]
        patch = (overlay / "candidate.patch").read_text() if (overlay / "candidate.patch").exists() \
            else overlay_patch(example, overlay)
        out.append((entry, example, patch))
    return out


def test_corpus_is_big_enough(examples):
    assert len(load_corpus(examples)) >= 15


def test_no_hostile_candidate_is_resolved(tmp_path, repo_cache, examples, images, docker_client):
    corpus = load_corpus(examples)
    store = RunStore(tmp_path / "run")
    for i, (entry, example, patch) in enumerate(corpus):
        store.add_candidate(Candidate(example.instance.instance_id, patch, entry["name"], i))
    config = VerifyConfig(repo_cache=repo_cache, workers=2, use_cache=False)
    counts = verify_instances(store, [ex.instance for ex in examples.values()], config)

    verdicts = store.verdicts()
    report = {c.model: verdicts[cid] for cid, c in store.candidates()}
    resolved = {name: v.reason for name, v in report.items() if v.status is Status.RESOLVED}
    assert not resolved, resolved
    infra = {name: v.reason for name, v in report.items() if v.status is Status.INFRA_ERROR}
    assert not infra, infra  # hostile code is the candidate's fault, never an infrastructure error
    assert sum(counts.values()) == len(corpus)

    for entry, _, _ in corpus:
        marker = entry.get("host_marker")
        if marker:
            assert not os.path.exists(marker), f"{entry['name']} escaped to the host: {marker}"
    left = docker_client.containers.list(all=True, sparse=True, filters={"label": f"{OWNER_LABEL}={os.getpid()}"})
    assert not left, [c.short_id for c in left]


FOLLOWERS = ("wrong", "partial", "breaks_p2p")  # ordinary wrong candidates, judged right after the hostile one


def _distinct(patch: str, tag: str) -> str:
    """The patch plus a new text file of its own: a key of its own, so dedup judges it again."""
    return (patch if patch.endswith("\n") else patch + "\n") + (
        f"diff --git a/follows_{tag}.txt b/follows_{tag}.txt\nnew file mode 100644\n--- /dev/null\n"
        f"+++ b/follows_{tag}.txt\n@@ -0,0 +1 @@\n+{tag}\n")


@pytest.mark.parametrize("attack_class", ["state", "config", "never_ran", "outsider"])
def test_each_attack_class_then_wrong_candidates_in_sequence(tmp_path, repo_cache, examples, images, docker_client,
                                                             attack_class):
    """Issue 10's classes, each hostile candidate followed by ordinary wrong ones of its example on the
    same worker -- in the same container, which its harness reset and proved clean (or else was
    replaced) -- and then by gold, which must still resolve: no false resolved, no infra_error
    caused by a candidate, nothing left behind."""
    corpus = [c for c in load_corpus(examples) if c[0].get("class") == attack_class]
    assert len(corpus) >= 3
    store = RunStore(tmp_path / "run")
    index = 0
    for entry, example, patch in corpus:
        store.add_candidate(Candidate(example.instance.instance_id, patch, entry["name"], index))
        for follower in FOLLOWERS + ("gold_with_noise",):
            index += 1
            store.add_candidate(Candidate(example.instance.instance_id,
                                          _distinct(example.candidates[follower], entry["name"]),
                                          f"{entry['name']}+{follower}", index))
        index += 1
    started = docker_sandbox._STARTED[0]
    verify_instances(store, [ex.instance for ex in examples.values()],
                     VerifyConfig(repo_cache=repo_cache, workers=1, use_cache=False))
    # containers were reused (two per instance take turns), so followers shared the hostile one's
    assert docker_sandbox._STARTED[0] - started < index / 2
    verdicts = store.verdicts()
    report = {c.model: verdicts[cid] for cid, c in store.candidates()}
    assert not {n: v.reason for n, v in report.items() if v.status is Status.RESOLVED and "gold" not in n}
    assert not {n: v.reason for n, v in report.items() if v.status is Status.INFRA_ERROR}
    for entry, _, _ in corpus:  # the followers got the verdicts they get alone
        assert all(report[f"{entry['name']}+{f}"].status is Status.UNRESOLVED for f in FOLLOWERS)
        assert report[f"{entry['name']}+gold_with_noise"].status is Status.RESOLVED
    left = docker_client.containers.list(all=True, sparse=True, filters={"label": f"{OWNER_LABEL}={os.getpid()}"})
    assert not left, [c.short_id for c in left]
