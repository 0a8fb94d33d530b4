"""Strict re-checks (issue 24) against a real Docker engine, on the embedded calc example."""

from __future__ import annotations

import shutil

import pytest

from swe_monkeys.examples import overlay_patch
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.swebench.api import verify_instances
from swe_monkeys.swebench.checker import VerifyConfig
from swe_monkeys.types import Candidate, Status

pytestmark = pytest.mark.docker

# A position one past the bad character: only tests/test_tokens.py looks at it, a module the
# instance's own tests (test_evaluator.py, test_parser.py) never run.
OFF_BY_ONE = ('raise ParseError(f"unexpected character {char!r}", pos)',
              'raise ParseError(f"unexpected character {char!r}", pos + 1)')


def gold_breaking_tokens(ex, tmp_path) -> str:
    """The gold fix, plus a change to calc/tokens.py that breaks an untouched test module."""
    overlay = tmp_path / "overlay"
    shutil.copytree(ex.root / "fix", overlay)
    tokens = (ex.root / "base" / "calc" / "tokens.py").read_text()
    assert OFF_BY_ONE[0] in tokens
    (overlay / "calc" / "tokens.py").write_text(tokens.replace(*OFF_BY_ONE))
    return overlay_patch(ex, overlay)


def judged(tmp_path, repo_cache, ex, patches: dict[str, str], run: str, **config):
    store = RunStore(tmp_path / run)
    for i, (name, patch) in enumerate(patches.items()):
        store.add_candidate(Candidate(ex.instance.instance_id, patch, name, i))
    verify_instances(store, [ex.instance], VerifyConfig(repo_cache=repo_cache, workers=1, **config))
    verdicts = store.verdicts()
    return {cand.model: verdicts[cid] for cid, cand in store.candidates()}


def test_strict_flags_a_resolution_that_breaks_an_untouched_module(tmp_path, repo_cache, examples, images,
                                                                   monkeypatch, no_leftover_containers):
    monkeypatch.setenv("SWE_MONKEYS_CACHE", str(tmp_path / "cache"))
    ex = examples["calc"]
    patches = {"gold": ex.candidates["gold"], "breaks_tokens": gold_breaking_tokens(ex, tmp_path),
               "wrong": ex.candidates["wrong"], "empty": ""}
    plain = judged(tmp_path, repo_cache, ex, patches, "plain", use_cache=True)
    assert plain["breaks_tokens"].resolved and not plain["breaks_tokens"].strict  # SWE-bench's tests miss it

    got = judged(tmp_path, repo_cache, ex, patches, "strict", use_cache=True, strict="changed")
    gold, broken = got["gold"], got["breaks_tokens"]
    assert gold.resolved and gold.strict["status"] == "strict_ok", gold.strict
    assert "by construction" in gold.strict["reason"]
    assert broken.resolved and broken.strict["status"] == "strict_regression", broken.strict
    assert broken.strict["regressions"] == [{"test": "tests/test_tokens.py::test_bad_character", "gold": "PASSED",
                                            "candidate": "FAILED"}]
    assert broken.strict["confirmed"] and broken.strict["counts"]["differences"] == 0
    assert broken.strict["files"][:2] == ["tests/test_evaluator.py", "tests/test_parser.py"]  # own: canaries
    assert "tests/test_tokens.py" in broken.strict["files"]
    # what did not resolve is the same with or without strict: served from the plain verdict's cache
    assert got["wrong"].status is Status.UNRESOLVED and got["wrong"].reason.startswith("cached: ")
    assert got["empty"].status is Status.EMPTY and not got["empty"].strict  # never reaches strict
    assert not broken.reason.startswith("cached: ")  # a plain resolved verdict is no strict one

    again = judged(tmp_path, repo_cache, ex, patches, "strict-again", use_cache=True, strict="changed")
    assert again["breaks_tokens"].reason.startswith("cached: ") and again["breaks_tokens"].strict == broken.strict


def test_a_resolution_identical_in_behaviour_to_gold_is_strict_ok(tmp_path, repo_cache, examples, images):
    ex = examples["calc"]
    got = judged(tmp_path, repo_cache, ex, {"gold_with_noise": ex.candidates["gold_with_noise"]}, "run",
                 use_cache=False, strict="changed")
    verdict = got["gold_with_noise"]
    assert verdict.resolved and verdict.tree_key  # another tree than gold's: really compared
    assert verdict.strict["status"] == "strict_ok", verdict.strict
    assert verdict.strict["compared"] > 0 and "by construction" not in verdict.strict.get("reason", "")


def test_strict_full_runs_every_test_file(tmp_path, repo_cache, examples, images):
    ex = examples["calc"]
    got = judged(tmp_path, repo_cache, ex, {"breaks_tokens": gold_breaking_tokens(ex, tmp_path)}, "run",
                 use_cache=False, strict="full")
    strict = got["breaks_tokens"].strict
    assert strict["mode"] == "full" and strict["status"] == "strict_regression", strict
    assert sorted(strict["files"]) == ["tests/test_cli.py", "tests/test_evaluator.py", "tests/test_parser.py",
                                       "tests/test_tokens.py"]
