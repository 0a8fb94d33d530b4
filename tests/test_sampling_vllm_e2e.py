"""End to end with the real CPU model server (vLLM serving SmolLM2-135M): `solve`, `sweep` on the
examples and `sweep --task` on real HumanEval and GSM8K rows, then `score` and `report`.

These check the flow, not success: a 135M model rarely writes a valid edit or a right answer, and
every sample it writes must still be stored, judged and counted. The server is the session's one
(conftest.py `vllm_endpoint`); without the engine and model the tests skip (fail under CI=true with
SWE_MONKEYS_REQUIRE_VLLM=1).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swe_monkeys.cli import app
from swe_monkeys.store.run_store import RunStore

pytestmark = [pytest.mark.vllm, pytest.mark.slow]


def model_args(endpoint) -> list[str]:
    return ["--base-url", endpoint[0]] + (["--model", endpoint[1]] if endpoint[1] else [])


@pytest.fixture
def tiny_preset(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text("template: swebench_repair\ntemperature: 1.0\nmax_tokens: 96\ncontext_tokens: 2500\n")
    return path


def test_solve_samples_verifies_and_reports_coverage(vllm_endpoint, tmp_path, repo_cache, images, tiny_preset):
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["solve", "example:calc", "-k", "4", "--preset", str(tiny_preset), "--run",
                                      str(run), "--repo-cache", str(repo_cache), "--workers", "2",
                                      *model_args(vllm_endpoint)])
    assert result.exit_code in (0, 3), result.output  # 3: nothing resolved, the likely outcome
    assert "swe-monkeys__calc-1: 4 samples" in result.output and "4 verified" in result.output
    assert "coverage: pass@1" in result.output and "verdicts:" in result.output
    with RunStore(run) as store:
        rows = store.sample_table()
    assert [r["sample_idx"] for r in rows] == [0, 1, 2, 3]
    assert all(r["status"] not in (None, "infra_error") for r in rows)
    assert all(r["meta"]["extract_status"] and r["meta"]["completion"] is not None for r in rows)
    assert all(r["completion_tokens"] > 0 for r in rows) and rows[0]["prompt_tokens"] > 0


def test_sweep_grows_with_the_real_model(vllm_endpoint, tmp_path, examples, repo_cache, images, tiny_preset):
    dataset = tmp_path / "instances.jsonl"
    dataset.write_text("".join(json.dumps(ex.instance.to_row()) + "\n" for ex in examples.values()))
    args = ["sweep", "--dataset", str(dataset), "--instances", "*calc*", "--instances", "*slugkit*", "--run",
            str(tmp_path / "run"), "--preset", str(tiny_preset), "--repo-cache", str(repo_cache), "--workers", "2",
            "-q", *model_args(vllm_endpoint)]
    first = CliRunner().invoke(app, [*args, "--samples", "2"])
    assert first.exit_code == 0, first.output
    grown = CliRunner().invoke(app, [*args, "--samples", "3", "--export", str(tmp_path / "preds.jsonl")])
    assert grown.exit_code == 0, grown.output
    # a selection when some sample has a patch to vote with; the tiny model may give none
    assert "coverage " in grown.output and ("selected " in grown.output or "no selection" in grown.output)
    with RunStore(tmp_path / "run") as store:
        rows = store.sample_table()
    assert sorted((r["problem_id"], r["sample_idx"]) for r in rows) == [
        (i, k) for i in ("swe-monkeys__calc-1", "swe-monkeys__slugkit-1") for k in range(3)]
    assert all(r["status"] is not None for r in rows)
    assert len((tmp_path / "preds.jsonl").read_text().splitlines()) == 2


def _task_sweep(endpoint, tmp_path, task: str, data: Path, select: str, k: int, max_tokens: int) -> Path:
    preset = tmp_path / f"{task}.yaml"
    preset.write_text(f"temperature: 0.8\ntop_p: 0.95\nmax_tokens: {max_tokens}\n")
    run = tmp_path / f"run-{task}"
    result = CliRunner().invoke(app, ["sweep", "--task", task, "--dataset", str(data), "--instances", select, "-k",
                                      str(k), "--run", str(run), "--preset", str(preset), "-q", *model_args(endpoint)])
    assert result.exit_code == 0, result.output
    assert "coverage " in result.output and "pass@1" in result.output
    return run


def _report(run: Path) -> str:
    result = CliRunner().invoke(app, ["report", str(run), "--bootstrap", "20"])
    assert result.exit_code == 0, result.output
    assert (run / "report" / "report.html").is_file()
    return result.output


def test_humaneval_sweep_runs_programs_and_reports_a_coverage_curve(vllm_endpoint, tmp_path, docker_client):
    from tests.conftest import SHARED_DATA

    if not (SHARED_DATA / "humaneval").is_dir():
        pytest.skip("../shared/data/humaneval absent (a user's clone has no ../shared)")
    run = _task_sweep(vllm_endpoint, tmp_path, "humaneval", SHARED_DATA / "humaneval", "0:3", 4, 160)
    with RunStore(run) as store:
        rows = store.sample_table()
        assert store.get_meta("task") == "humaneval"
    assert len(rows) == 12 and all(r["status"] not in (None, "infra_error") for r in rows)
    out = _report(run)
    assert "coverage" in out


def test_gsm8k_sweep_scores_with_a_judge_and_reports_selection(vllm_endpoint, tmp_path):
    from tests.conftest import SHARED_DATA

    if not (SHARED_DATA / "gsm8k").is_dir():
        pytest.skip("../shared/data/gsm8k absent (a user's clone has no ../shared)")
    run = _task_sweep(vllm_endpoint, tmp_path, "gsm8k", SHARED_DATA / "gsm8k", "0:3", 4, 128)
    scored = CliRunner().invoke(app, ["score", "--run", str(run), *model_args(vllm_endpoint)])
    assert scored.exit_code == 0 and "scored 12 samples" in scored.output, scored.output
    with RunStore(run) as store:
        rows = store.sample_table()
    assert all(0.0 <= r["meta"]["score"] <= 1.0 for r in rows)
    assert all(r["status"] in ("resolved", "unresolved", "malformed") for r in rows)
    out = _report(run)
    assert "best-of-k by score" in out
