"""The sampling commands through typer's CliRunner, against a FAKE OpenAI-compatible server."""

from __future__ import annotations

import json
import os
import sys

import pytest
import typer
from typer.testing import CliRunner

from swe_monkeys.cli import sample as commands
from swe_monkeys.sampling.fake_server import FakeOpenAIServer
from swe_monkeys.sampling.server import free_port

app = typer.Typer()
app.command("sample")(commands.sample)
app.command("serve")(commands.serve)
app.add_typer(commands.model_app, name="model")


@pytest.fixture
def prompts(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"task {i} " + "word " * (60 * i)}) + "\n"
                            for i in range(3)))
    return path


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_sample_draws_resumes_and_reports(tmp_path, prompts):
    with FakeOpenAIServer() as server:
        base = ["sample", prompts, "--run", tmp_path / "run", "--base-url", server.url, "--max-new-tokens", 8]
        first = invoke(*base, "--samples", 2)
        assert first.exit_code == 0, first.output
        assert "samples 0 existing + 6 drawn of 6" in first.output and "p0 #0..1" in first.output
        again = invoke(*base, "--samples", 5, "--json", "-q")
    report = json.loads(again.output.strip().splitlines()[-1])
    assert again.exit_code == 0 and report["existing"] == 6 and report["added"] == 9 and report["missing"] == 0


def test_failed_problems_exit_nonzero_and_say_how_to_continue(tmp_path, prompts):
    with FakeOpenAIServer() as server:
        server.behaviour.context_limit = 100  # p2's prompt (120+ words) cannot fit
        result = invoke("sample", prompts, "--run", tmp_path / "run", "--base-url", server.url, "--samples", 2,
                        "--max-new-tokens", 8, "-q")
    assert result.exit_code == 1
    assert "failed: p2: samples 0..1 not drawn" in result.output and "2 samples missing" in result.output


def test_budget_stop_is_reported(tmp_path, prompts):
    with FakeOpenAIServer() as server:
        result = invoke("sample", prompts, "--run", tmp_path / "run", "--base-url", server.url, "--samples", 10,
                        "--max-new-tokens", 8, "--max-tokens", 400, "-q")
    assert result.exit_code == 0 and "stopped: budget reached" in result.output


def test_clear_errors_for_bad_endpoints_and_inputs(tmp_path, prompts, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    dead = invoke("sample", prompts, "--run", tmp_path / "run", "--samples", 1,
                  "--base-url", f"http://127.0.0.1:{free_port()}/v1", "--model", "m")
    assert dead.exit_code == 1 and "error: cannot reach" in dead.output
    with FakeOpenAIServer() as server:
        wrong = invoke("sample", prompts, "--run", tmp_path / "run", "--samples", 1, "--base-url", server.url,
                       "--model", "gpt-9")
        nothing = invoke("sample", prompts, "--run", tmp_path / "run", "--samples", 1)
    assert wrong.exit_code == 1 and "does not serve 'gpt-9'; it serves: fake-model" in wrong.output
    assert nothing.exit_code == 2 and "give a model: --base-url URL or --serve MODEL" in nothing.output


def test_model_ls_lists_the_bundled_models(tmp_path, monkeypatch):
    monkeypatch.setenv("SWE_MONKEYS_CACHE", str(tmp_path))
    result = invoke("model", "ls", "--json")
    names = {row["name"]: row for row in json.loads(result.output)}
    assert {"smollm2-135m", "qwen2.5-coder-0.5b"} <= set(names) and names["smollm2-135m"]["installed"] == ""


def test_sample_can_start_and_stop_the_server_itself(tmp_path, prompts):
    """`--serve` starts a server for the run and stops it after (a FAKE engine stands in for vLLM)."""
    engine = tmp_path / "engine-python"
    engine.write_text(f"#!/bin/sh\n[ \"$1\" = -c ] && exit 1\nshift 2\n"
                      f"exec {sys.executable} -m swe_monkeys.sampling.fake_server \"$@\"\n")
    engine.chmod(0o755)
    (tmp_path / "my-model").mkdir()
    result = invoke("sample", prompts, "--run", tmp_path / "run", "--serve", tmp_path / "my-model", "--python", engine,
                    "--samples", 2, "--max-new-tokens", 8, "-q")
    assert result.exit_code == 0, result.output
    assert "starting vLLM" in result.output and "6 drawn of 6" in result.output
    pid = int(result.output.split("(pid ")[1].split(",")[0])
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


def test_unknown_backend_lists_the_valid_ones():
    from swe_monkeys.registry import UnknownName
    from swe_monkeys.sampling import make_sampler

    with pytest.raises(UnknownName, match="unknown sampler backend 'tgi'; valid: openai, vllm"):
        make_sampler("tgi")
