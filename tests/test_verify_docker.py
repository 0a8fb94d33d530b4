"""The verifier against a real Docker engine on the example instances (fixture git repositories)."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from swe_monkeys.cli import app
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.swebench.api import verify_instances
from swe_monkeys.swebench.checker import VerifyConfig
from swe_monkeys.types import Candidate, Status

pytestmark = pytest.mark.docker

EXPECTED = {"gold": Status.RESOLVED, "gold_with_noise": Status.RESOLVED, "empty": Status.EMPTY,
            "wrong": Status.UNRESOLVED, "partial": Status.UNRESOLVED, "breaks_p2p": Status.UNRESOLVED,
            "edits_tests": Status.UNRESOLVED, "malformed": Status.MALFORMED}


def verify(tmp_path, repo_cache, examples, names, *, cache=False, workers=2, run="run"):
    store = RunStore(tmp_path / run)
    for ex in examples.values():
        for i, name in enumerate(names):
            store.add_candidate(Candidate(ex.instance.instance_id, ex.candidates[name], name, i))
    config = VerifyConfig(repo_cache=repo_cache, workers=workers, use_cache=cache)
    counts = verify_instances(store, [ex.instance for ex in examples.values()], config)
    return store, counts


def test_every_kind_of_candidate_on_every_example(tmp_path, repo_cache, examples, images, no_leftover_containers):
    names = list(EXPECTED)
    store, _ = verify(tmp_path, repo_cache, examples, names)
    verdicts = store.verdicts()
    got = {}
    for cid, cand in store.candidates():
        got[(cand.problem_id, cand.model)] = verdicts[cid]
    for ex in examples.values():
        for name, expected in EXPECTED.items():
            verdict = got[(ex.instance.instance_id, name)]
            assert verdict.status is expected, (ex.instance.instance_id, name, verdict.reason)
    # gold_with_noise also rewrites docstrings, which are behaviour (__doc__, doctests, click's
    # help): it is judged on its own, and resolves on its own.
    keys = store.dedup_keys()
    by_name = {(c.problem_id, c.model): keys[cid] for cid, c in store.candidates()}
    for ex in examples.values():
        iid = ex.instance.instance_id
        assert by_name[(iid, "gold")] != by_name[(iid, "gold_with_noise")] != ""


def test_edits_to_the_judging_tests_are_reverted(tmp_path, repo_cache, examples, images):
    store, _ = verify(tmp_path, repo_cache, examples, ["edits_tests"], workers=1)
    verdict = next(iter(store.verdicts().values()))
    assert verdict.status is Status.UNRESOLVED
    assert "reverted" in verdict.reason


def test_verdict_cache_makes_a_rerun_cheap(tmp_path, repo_cache, examples, images, monkeypatch):
    """A rerun runs no test: each candidate is prepared (the cache is asked by the tree the harness
    applied, never by a key re-derived on the host) and its verdict is the cached one."""
    monkeypatch.setenv("SWE_MONKEYS_CACHE", str(tmp_path / "cache"))
    start = time.monotonic()
    verify(tmp_path, repo_cache, examples, ["gold", "wrong"], cache=True, run="first")
    first = time.monotonic() - start
    start = time.monotonic()
    store, counts = verify(tmp_path, repo_cache, examples, ["gold", "wrong"], cache=True, run="second")
    assert time.monotonic() - start < first
    assert all(v.reason.startswith("cached:") and v.tree_key for v in store.verdicts().values())
    assert counts["resolved"] == len(examples)


def test_resume_verifies_only_what_is_pending(tmp_path, repo_cache, examples, images):
    ex = next(iter(examples.values()))
    store = RunStore(tmp_path / "run")
    first = store.add_candidate(Candidate(ex.instance.instance_id, ex.candidates["gold"], "gold", 0))
    config = VerifyConfig(repo_cache=repo_cache, workers=1, use_cache=False)
    verify_instances(store, [ex.instance], config)
    done = store.verdicts()[first]
    second = store.add_candidate(Candidate(ex.instance.instance_id, ex.candidates["wrong"], "wrong", 1))
    seen = []
    verify_instances(store, [ex.instance], config, on_verdict=lambda c, v: seen.append(c.index))
    assert seen == [1]
    assert store.verdicts()[first].summary() == done.summary()
    assert store.verdicts()[second].status is Status.UNRESOLVED


def test_images_are_content_addressed(docker_client, repo_cache, examples, images):
    from swe_monkeys.images.builder import ImageBuilder
    from swe_monkeys.swebench.spec import load_spec

    builder = ImageBuilder(docker_client, repo_cache)
    start = time.monotonic()
    again = {name: builder.ensure(ex.instance, load_spec(ex.instance.repo, ex.instance.version))
             for name, ex in examples.items()}
    assert again == images and time.monotonic() - start < 10
    from swe_monkeys.images.manage import list_images, stale_images
    from swe_monkeys.swebench.spec import current_specs

    stale = {row["tag"] for row in stale_images(docker_client, builder, current_specs())}
    assert not stale & set(images.values()), "prune would remove current images"
    assert builder.base_tag() in {row["tag"] for row in list_images(docker_client)} - stale


def test_cli_verify_and_validate(tmp_path, repo_cache, examples, images, no_leftover_containers):
    ex = examples["calc"] if "calc" in examples else next(iter(examples.values()))
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps(ex.instance.to_row()) + "\n")
    predictions = tmp_path / "preds.jsonl"
    rows = [{"instance_id": ex.instance.instance_id, "model_name_or_path": "m", "model_patch": ex.candidates[n]}
            for n in ("gold", "wrong", "gold")]
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    runner = CliRunner()
    args = ["verify", str(predictions), "--instances", str(instances), "--run", str(tmp_path / "run"),
            "--repo-cache", str(repo_cache), "--no-cache", "--workers", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"{ex.instance.instance_id}" in result.output and "resolved" in result.output
    table = tmp_path / "validation.jsonl"
    validate = ["validate", str(instances), "--repeats", "2", "--repo-cache", str(repo_cache),
                "--run", str(tmp_path / "validate"), "--table", str(table)]
    result = runner.invoke(app, validate)
    assert result.exit_code == 0, result.output
    assert "gold 2/2" in result.output and "empty 0/1" in result.output
    logs = sorted(p.name for p in (tmp_path / "validate" / "logs" / ex.instance.instance_id).iterdir())
    assert logs == ["empty-1.log", "gold-1.log", "gold-2.log"]
    (row,) = [json.loads(line) for line in table.read_text().splitlines()]
    assert (row["instance"], row["gold_resolved"], row["runs"], row["empty_resolved"]) == (
        ex.instance.instance_id, 2, 2, 0)
    assert row["spec_hash"] and row["log_dir"].endswith(ex.instance.instance_id) and row["seconds"] > 0
    again = runner.invoke(app, validate)  # already in the table with this spec: nothing runs
    assert again.exit_code == 0 and "already validated" in again.output and "[1/" not in again.output


def test_images_build_goes_on_past_a_failed_instance(tmp_path, repo_cache, examples, images):
    """One instance whose tree cannot be had fails; the next is still built, and the failure is
    listed at the end with exit 1."""
    name, ex = next(iter(examples.items()))
    broken = {**ex.instance.to_row(), "instance_id": "swe-monkeys__broken-1", "base_commit": "0" * 40}
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps(broken) + "\n" + json.dumps(ex.instance.to_row()) + "\n")
    result = CliRunner().invoke(app, ["images", "build", "--instances", str(instances), "--repo-cache", str(repo_cache)])
    assert result.exit_code == 1, result.output
    assert f"[2/2] {images[name]}" in result.output
    assert "1 of 2 instance images failed to build" in result.output
    assert "swe-monkeys__broken-1: FAILED" in result.output


def test_validate_workers_keep_every_row(tmp_path, repo_cache, examples, images, no_leftover_containers):
    """`validate --workers 2`: instances judged at once, every row recorded, logs per instance."""
    chosen = list(examples.values())[:2]
    instances = tmp_path / "instances.jsonl"
    instances.write_text("".join(json.dumps(ex.instance.to_row()) + "\n" for ex in chosen))
    table = tmp_path / "validation.jsonl"
    result = CliRunner().invoke(app, ["validate", str(instances), "--repeats", "1", "--workers", "2",
                                      "--repo-cache", str(repo_cache), "--run", str(tmp_path / "v"),
                                      "--table", str(table)])
    assert result.exit_code == 0, result.output
    rows = {json.loads(line)["instance"]: json.loads(line) for line in table.read_text().splitlines()}
    assert set(rows) == {ex.instance.instance_id for ex in chosen}
    assert all(r["gold_resolved"] == 1 and r["empty_resolved"] == 0 and r["seconds"] > 0 for r in rows.values())


def test_verify_judges_a_changed_patch_at_the_same_line(tmp_path, repo_cache, examples, images):
    """Candidates are identified by content: re-running verify on a predictions file whose line now
    holds another patch judges that patch (and drops the old one from the run)."""
    ex = examples["calc"]
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps(ex.instance.to_row()) + "\n")
    predictions = tmp_path / "preds.jsonl"
    runner = CliRunner()
    args = ["verify", str(predictions), "--instances", str(instances), "--run", str(tmp_path / "run"),
            "--repo-cache", str(repo_cache), "--workers", "1", "-q"]

    def verify_with(patch):
        row = {"instance_id": ex.instance.instance_id, "model_name_or_path": "m", "model_patch": patch}
        predictions.write_text(json.dumps(row) + "\n")
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        with RunStore(tmp_path / "run") as store:
            (cid, cand), = store.candidates()
            return cand.content, store.verdicts()[cid].status

    assert verify_with(ex.candidates["wrong"]) == (ex.candidates["wrong"], Status.UNRESOLVED)
    assert verify_with(ex.candidates["gold"]) == (ex.candidates["gold"], Status.RESOLVED)
    assert verify_with(ex.candidates["wrong"])[1] is Status.UNRESOLVED  # served by the cache, still its own verdict
    with RunStore(tmp_path / "run") as store:
        (cid, _), = store.candidates()
        assert store.verdicts()[cid].log_ref.endswith(".log")  # the log it was judged with


def test_verify_id_filter_and_infra_errors_exit_non_zero(tmp_path, repo_cache, examples, images):
    calc, slug = examples["calc"], examples["slugkit"]
    instances = tmp_path / "instances.jsonl"
    broken = dict(calc.instance.to_row(), instance_id="swe-monkeys__calc-2", version="9.9")  # no spec: infra_error
    instances.write_text("".join(json.dumps(r) + "\n" for r in (calc.instance.to_row(), slug.instance.to_row(), broken)))
    predictions = tmp_path / "preds.jsonl"
    rows = [{"instance_id": i, "model_patch": calc.candidates["wrong"]} for i in
            (calc.instance.instance_id, slug.instance.instance_id, "swe-monkeys__calc-2")]
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))
    base = ["verify", str(predictions), "--instances", str(instances), "--repo-cache", str(repo_cache), "-q"]
    result = CliRunner().invoke(app, base + ["--run", str(tmp_path / "a"), "--id", "swe-monkeys__calc-1"])
    assert result.exit_code == 0, result.output
    with RunStore(tmp_path / "a") as store:
        assert {c.problem_id for _, c in store.candidates()} == {calc.instance.instance_id}
    result = CliRunner().invoke(app, base + ["--run", str(tmp_path / "b"), "--id", "*calc*"])
    assert result.exit_code == 1 and "infra_error" in result.output


def test_cli_bad_input_is_one_clear_line(tmp_path, repo_cache, examples):
    ex = next(iter(examples.values()))
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps(ex.instance.to_row()) + "\n")
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text(json.dumps({"instance_id": "nope__nope-1", "model_patch": ""}) + "\n")
    runner = CliRunner()
    result = runner.invoke(app, ["verify", str(predictions), "--instances", str(instances), "--run", str(tmp_path / "r")])
    assert result.exit_code == 1 and "nope__nope-1" in result.output
    predictions.write_text("{not json\n")
    result = runner.invoke(app, ["verify", str(predictions), "--instances", str(instances), "--run", str(tmp_path / "r")])
    assert result.exit_code == 1 and "preds.jsonl: line 1: not JSON" in result.output


def test_docker_down_is_a_clear_error(tmp_path, monkeypatch, repo_cache, examples):
    ex = next(iter(examples.values()))
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps(ex.instance.to_row()) + "\n")
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text(json.dumps({"instance_id": ex.instance.instance_id, "model_patch": ""}) + "\n")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    result = CliRunner().invoke(app, ["verify", str(predictions), "--instances", str(instances),
                                      "--run", str(tmp_path / "r")])
    assert result.exit_code == 1 and "Docker engine not reachable" in result.output


def _judge(docker_client, image, inst, patch):
    from swe_monkeys.sandbox.docker_sandbox import Limits
    from swe_monkeys.swebench.runner import CandidateRunner
    from swe_monkeys.swebench.spec import load_spec

    runner = CandidateRunner(docker_client, image, Limits())
    try:
        return runner.judge(inst, load_spec(inst.repo, inst.version, inst.instance_id), patch)
    finally:
        runner.close()


def test_apply_chain_falls_back_to_whitespace_and_fuzz(docker_client, examples, images):
    ex = examples["calc"]
    gold = "\n".join(line for line in ex.candidates["gold"].splitlines() if not line.startswith("index ")) + "\n"
    context = next(line for line in gold.splitlines() if line.startswith(" ") and line.strip())
    spaced = gold.replace("\n" + context + "\n", "\n" + context + "   \n", 1)
    verdict = _judge(docker_client, images["calc"], ex.instance, spaced)
    assert verdict.resolved and verdict.apply_method not in ("", "git apply"), verdict.apply_method
    drifted = gold.replace("\n" + context + "\n", "\n" + context.replace("expr", "expression", 1) + "\n", 1)
    assert drifted != gold
    verdict = _judge(docker_client, images["calc"], ex.instance, drifted)
    assert verdict.resolved and verdict.apply_method == "patch --fuzz=5", verdict.reason


def test_containers_go_on_ctrl_c_and_after_kill_9(tmp_path, repo_cache, examples, images, docker_client):
    """SIGINT removes the run's containers at once; a SIGKILLed run's are reaped by the next run."""
    import signal
    import subprocess
    import sys

    from swe_monkeys.sandbox.docker_sandbox import OWNER_LABEL

    ex = examples["daterange"]
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps(ex.instance.to_row()) + "\n")
    predictions = tmp_path / "preds.jsonl"
    # A candidate that sleeps past the time limit keeps the container busy long enough to interrupt.
    from tests.test_hostile import load_corpus

    hang = next(patch for entry, _, patch in load_corpus(examples) if entry["name"] == "sleep_past_timeout")
    rows = [{"instance_id": ex.instance.instance_id, "model_patch": p} for p in (ex.candidates["gold"], hang)]
    predictions.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def start(run):
        return subprocess.Popen([sys.executable, "-m", "swe_monkeys.cli", "verify", str(predictions),
                                 "--instances", str(instances), "--run", str(tmp_path / run), "--repo-cache",
                                 str(repo_cache), "--no-cache", "--workers", "1", "-q"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def ours(pid):
        return docker_client.containers.list(all=True, sparse=True, filters={"label": f"{OWNER_LABEL}={pid}"})

    def gone(pid) -> bool:  # the engine may still be finishing a removal the process asked for
        for _ in range(100):
            if not ours(pid):
                return True
            time.sleep(0.1)
        return False

    def wait_for_container(proc):
        for _ in range(300):
            if ours(proc.pid):
                return
            time.sleep(0.1)
        pytest.fail("no container started")

    proc = start("interrupted")
    wait_for_container(proc)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    assert gone(proc.pid)

    proc = start("killed")
    wait_for_container(proc)
    proc.kill()
    proc.wait(timeout=60)
    assert ours(proc.pid)  # nothing could clean up after SIGKILL...
    from swe_monkeys.sandbox.docker_sandbox import reap_orphans

    reap_orphans(docker_client)  # ...until the next run starts
    assert gone(proc.pid)
