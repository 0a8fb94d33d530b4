"""Verdicts are shared by the tree the harness applied, through the real verifier in Docker: two
patch texts that leave one tree are judged once; two that the host's normalised key calls alike
but that leave different trees are judged apart. And a winner is delivered as it was judged."""

from __future__ import annotations

import pytest

from swe_monkeys.sandbox.docker_sandbox import Limits
from swe_monkeys.sandbox.session import HarnessSession
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.swebench.api import verify_instances
from swe_monkeys.swebench.checker import VerifyConfig
from swe_monkeys.swebench.patches import normalised_key
from swe_monkeys.swebench.runner import CANDIDATE_HARNESS
from swe_monkeys.tasks.swebench import delivered
from swe_monkeys.types import Candidate, Status

pytestmark = pytest.mark.docker

TOX = "diff --git a/tox.ini b/tox.ini\nnew file mode 100644\n--- /dev/null\n+++ b/tox.ini\n@@ -0,0 +1,2 @@\n" \
      "+[pytest]\n+addopts = -k nothing\n"


def variants(gold: str) -> dict[str, str]:
    """Texts of the calc example's gold patch: two leave gold's tree (the same text, and the hunk
    header without its section name), one changes a comment, one a file mode."""
    assert "@@ -64,24 +67,25 @@ class Parser:" in gold and "# The exponent may" in gold
    exec_bit = gold.replace("index 3e7c2c4..da85a80 100644\n", "old mode 100644\nnew mode 100755\n"
                                                                "index 3e7c2c4..da85a80\n", 1)
    assert exec_bit != gold
    return {
        "gold": gold,
        "no_section_header": gold.replace("@@ -64,24 +67,25 @@ class Parser:", "@@ -64,24 +67,25 @@"),
        "other_comment": gold.replace("# The exponent may", "# Note: the exponent may"),
        "gold_again": gold,
        "exec_bit": exec_bit,
        "with_tox_ini": gold + TOX,
    }


def test_verdicts_are_shared_by_the_applied_tree(tmp_path, repo_cache, examples, images, monkeypatch,
                                                 no_leftover_containers):
    monkeypatch.setenv("SWE_MONKEYS_CACHE", str(tmp_path / "cache"))
    ex = examples["calc"]
    iid = ex.instance.instance_id
    texts = variants(ex.instance.patch)
    with RunStore(tmp_path / "run") as store:
        for i, (name, text) in enumerate(texts.items()):
            store.add_candidate(Candidate(iid, text, name, i))
        verify_instances(store, [ex.instance], VerifyConfig(repo_cache=repo_cache, workers=1, use_cache=True))
        verdicts = store.verdicts()
        got = {c.model: verdicts[cid] for cid, c in store.candidates()}
        winner = next(c for _, c in store.candidates() if c.model == "with_tox_ini")
        patch, note = delivered(store, {iid: winner})[iid]
    assert all(v.status is Status.RESOLVED for v in got.values()), {n: v.reason for n, v in got.items()}
    judged = {n for n, v in got.items() if not v.reason.startswith("cached:")}
    # gold_again is gold's text: one verdict, judged once. The other text of gold's tree is
    # prepared, found under gold's tree key, and not run; a comment or a mode change is a tree of its own.
    assert judged == {"gold", "gold_again", "other_comment", "exec_bit"}
    assert got["gold_again"].tree_key == got["gold"].tree_key == got["no_section_header"].tree_key
    assert got["other_comment"].tree_key not in ("", got["gold"].tree_key)  # every byte is judged
    assert got["exec_bit"].tree_key not in ("", got["gold"].tree_key)
    # tox.ini is put back: the tree is gold's, and what is delivered is what was judged.
    assert got["with_tox_ini"].tree_key == got["gold"].tree_key
    assert got["with_tox_ini"].reverted == [{"path": "tox.ini", "why": "pytest configuration"}]
    assert got["gold"].reverted == [] and patch == ex.instance.patch
    assert note == "1 path put back by the harness was dropped: tox.ini (pytest configuration)"


def test_the_hosts_key_cannot_tell_what_the_harness_can(examples):
    """The case above the host's normalised key gets wrong: a file mode is not in it."""
    from swe_monkeys.images.sources import read_file_at

    ex = examples["calc"]
    read = lambda path: read_file_at(ex.git_dir, ex.instance.base_commit, path)  # noqa: E731
    texts = variants(ex.instance.patch)
    assert normalised_key(texts["exec_bit"], read) == normalised_key(texts["gold"], read)


def test_an_unknown_op_is_refused_in_the_container(docker_client, images, no_leftover_containers):
    with HarnessSession(docker_client, images["calc"], Limits(), CANDIDATE_HARNESS) as session:
        assert session.request(CANDIDATE_HARNESS.ready, 300)["ok"]
        reply = session.request({"op": "rnu", "cmd": "touch /tmp/ran", "args": [], "user": "root"}, 60)
        assert reply["ok"] is False and "unknown op" in reply["error"]
        assert session.request({"op": "reset"}, 120)["clean"] is True
