"""A candidate's writes are bounded wherever it can write, and the verdict says so.

The hostile candidate `disk_fill_everywhere` writes 16 MiB files into the repository (the tree's
sticky directories are on the container's writable layer: the host's disk), /var/tmp, /dev/shm
and its home. With a 48 MiB bound it is stopped with the reason, and the gold patch judged next,
in the same runner, still resolves.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from swe_monkeys.sandbox.docker_sandbox import Limits
from swe_monkeys.swebench.runner import CandidateRunner
from swe_monkeys.swebench.spec import load_spec
from swe_monkeys.types import Status

pytestmark = [pytest.mark.docker, pytest.mark.slow]
CORPUS = Path(__file__).parent / "data" / "hostile"


def test_a_candidate_is_stopped_at_the_disk_bound_and_the_next_resolves(docker_client, examples, images):
    from swe_monkeys.examples import overlay_patch

    entry = next(e for e in yaml.safe_load((CORPUS / "corpus.yaml").read_text())["candidates"]
                 if e["name"] == "disk_fill_everywhere")
    example = examples[entry["example"]]
    inst = example.instance
    spec = load_spec(inst.repo, inst.version, inst.instance_id)
    attack = overlay_patch(example, CORPUS / entry["name"])
    runner = CandidateRunner(docker_client, images[entry["example"]], replace(Limits(), disk=48 << 20))
    try:
        _, gold = runner.judge_gold(inst, spec)
        verdicts = list(runner.judge_many(inst, spec, [attack, inst.patch], gold))
    finally:
        runner.close()
    assert verdicts[0].status is Status.UNRESOLVED and "disk bound" in verdicts[0].reason, verdicts[0].reason
    assert verdicts[1].status is Status.RESOLVED, verdicts[1].reason
