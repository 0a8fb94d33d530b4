"""`solve` end to end on the calc example: a FAKE scripted sampler, real repo cache, real Docker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swe_monkeys.cli.solve import app
from swe_monkeys.examples import EXAMPLES_DIR
from swe_monkeys.sampling.protocol import EndpointUnreachable
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.sampling.fake import FakeSampler as FakeEditSampler
from swe_monkeys.swebench.fake import overlay_completion
from swe_monkeys.tasks.pipeline import TaskRunConfig, run_task
from swe_monkeys.tasks.swebench import SWEBench


def run_repair(store, instances, sampler, repo_cache, **config):
    """SWE-bench through the one task pipeline (what `solve` and `sweep` call)."""
    task = SWEBench(repo_cache)
    return run_task(store, task, [task.problem(i) for i in instances], sampler, TaskRunConfig(**config))


def calc_script() -> list[str]:
    base, root = EXAMPLES_DIR / "calc" / "base", EXAMPLES_DIR / "calc"
    gold = overlay_completion(base, root / "fix", "The power rule must recurse.")
    return [
        overlay_completion(base, root / "candidates" / "wrong", "Maybe this."),  # seed 0: wrong
        "I think the fix is here:\n### calc/parser.py\n<<<<<<< SEARCH\ndef parse_power(self):\n",  # 1: cut off
        gold,  # 2: gold
        gold.replace("The power rule must recurse.", "Same fix, other words."),  # 3: a duplicate of gold
        overlay_completion(base, root / "candidates" / "breaks_p2p"),  # 4: breaks PASS_TO_PASS
        "### calc/parser.py\n<<<<<<< SEARCH\nnot in the file\n=======\nx\n>>>>>>> REPLACE\n",  # 5: does not apply
    ]


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SWE_MONKEYS_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def calc_file(tmp_path, examples) -> Path:
    path = tmp_path / "calc.json"
    path.write_text(json.dumps([examples["calc"].instance.to_row()]))
    return path


@pytest.fixture
def script_file(tmp_path) -> Path:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(calc_script()))
    return path


def test_sampling_only_keeps_every_sample_with_its_reason(tmp_path, examples, repo_cache):
    inst = examples["calc"].instance
    with RunStore(tmp_path / "run") as store:
        result = run_repair(store, [inst], FakeEditSampler(calc_script(), max_n=4), repo_cache, samples=6,
                            verify=False)
        rows = store.sample_table()
        patches = [c.content for _, c in store.candidates()]
    assert [r["meta"]["extract_status"] for r in rows] == ["ok", "parse_error", "ok", "ok", "ok", "apply_failed"]
    assert rows[1]["meta"]["completion"] == calc_script()[1] and "divider" in rows[1]["meta"]["extract_reason"]
    assert patches[1] == patches[5] == ""  # kept in the denominator with an empty patch
    assert rows[2]["meta"]["content_key"] == rows[3]["meta"]["content_key"]  # the duplicate is one unique patch
    p = result.progress
    assert (p.samples, p.valid, p.unique, p.verified, p.resolved) == (6, 4, 3, 0, 0)
    assert p.tokens > 0 and result.winners == {}


def test_unreachable_endpoint_fails_before_sampling(tmp_path, examples, repo_cache):
    sampler = FakeEditSampler(["x"], fail_with=EndpointUnreachable("nothing answers at http://127.0.0.1:9/v1"))
    with RunStore(tmp_path / "run") as store, pytest.raises(EndpointUnreachable):
        run_repair(store, [examples["calc"].instance], sampler, repo_cache, samples=2, verify=False)


def test_solve_verifies_while_sampling_and_prints_the_winner(tmp_path, calc_file, script_file, repo_cache, images):
    out = tmp_path / "win.patch"
    result = CliRunner().invoke(app, ["solve", str(calc_file), "-k", "6", "--fake", str(script_file), "--run",
                                      str(tmp_path / "run"), "--repo-cache", str(repo_cache), "--out", str(out),
                                      "--workers", "2"])
    assert result.exit_code == 0, result.output
    assert "6 samples (4 applied, 3 unique)" in result.output and "6 verified, 2 resolved" in result.output
    assert "winning patch: sample #2" in result.output
    assert "def parse_power" in out.read_text() or "parse_unary" in out.read_text()
    with RunStore(tmp_path / "run") as store:
        statuses = [r["status"] for r in store.sample_table()]
    assert statuses == ["unresolved", "empty", "resolved", "resolved", "unresolved", "empty"]


def test_stop_on_success_stops_sampling(tmp_path, examples, repo_cache, images):
    from swe_monkeys.sampling.protocol import SamplingParams

    with RunStore(tmp_path / "run") as store:
        result = run_repair(store, [examples["calc"].instance], FakeEditSampler(calc_script(), max_n=1, latency=0.2),
                            repo_cache, samples=40, stop_on_success=True, concurrency=1,
                            params=SamplingParams(temperature=1.6, seed=2),  # sample 0 is gold
                            checker_options={"workers": 1}, poll_seconds=0.1)
        assert result.stopped_early and len(store.candidates()) < 40
    assert result.winners["swe-monkeys__calc-1"].index == 0


@pytest.mark.parametrize("args, message, code", [
    (["swe-monkeys__nope-1", "--dataset", "{calc}"], "no instance matches swe-monkeys__nope-1", 1),
    (["swe-monkeys__calc-1"], "give --dataset", 2),  # usage errors: the command line, not the input
    (["{broken}"], "row 1: instance row", 1),
    (["{calc}", "--base-url", "http://127.0.0.1:9/v1"], "error: ", 1),
    (["{calc}", "--repo-cache", "{empty}"], "is not in the repo cache", 1),
    (["{calc}"], "give a model", 2),
])
def test_bad_input_is_one_line_and_non_zero(tmp_path, calc_file, script_file, repo_cache, args, message, code):
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps([{"instance_id": "x__y-1", "repo": "x/y"}]))
    (tmp_path / "empty").mkdir()
    subst = {"{calc}": str(calc_file), "{broken}": str(broken), "{empty}": str(tmp_path / "empty")}
    args = [subst.get(a, a) for a in args]
    extra = [] if "--repo-cache" in args else ["--repo-cache", str(repo_cache)]
    if "--base-url" not in args and "{calc}" != args[0] and message != "give a model":
        extra += ["--fake", str(script_file)]
    if message == "is not in the repo cache":
        extra += ["--fake", str(script_file)]
    result = CliRunner().invoke(app, ["solve", *args, *extra, "--run", str(tmp_path / "run"), "--no-verify"])
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], result.output


def test_docker_not_running_is_a_clear_error(tmp_path, calc_file, script_file, repo_cache, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    result = CliRunner().invoke(app, ["solve", str(calc_file), "-k", "2", "--fake", str(script_file), "--run",
                                      str(tmp_path / "run"), "--repo-cache", str(repo_cache)])
    assert result.exit_code == 1 and result.output.count("error:") == 1, result.output


def test_another_seed_gets_its_own_default_run(tmp_path, calc_file, script_file, repo_cache, monkeypatch):
    """The README's `--seed N` after a first run: a run of its own, not the seed-0 run's mismatch error."""
    monkeypatch.chdir(tmp_path)
    for seed in ("0", "1"):
        result = CliRunner().invoke(app, ["solve", str(calc_file), "-k", "1", "--fake", str(script_file),
                                          "--seed", seed, "--repo-cache", str(repo_cache), "--no-verify", "-q"])
        assert result.exit_code == 0, result.output  # --no-verify: sampled, nothing to resolve
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["swe-monkeys__calc-1", "swe-monkeys__calc-1-seed1"]
