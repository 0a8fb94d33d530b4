"""A local model's run is priced by its serving hardware: the hardware a run records (given or
detected), live lines with dollars and the price's source (never "$0.0000"), the report's cost,
`plan` (text, JSON and bad input), and `report --backtest N --json`. The run is a real GSM8K run
through the pipeline with a FAKE sampler standing in for the local model."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from swe_monkeys.cli import app
from swe_monkeys.metrics.hardware import match_device, load_hardware, parse_hardware
from swe_monkeys.pricing import PricingError
from swe_monkeys.sampling.hosting import detect_hosting, hosting_for
from tests.conftest import SHARED_DATA

needs_gsm8k = pytest.mark.skipif(not (SHARED_DATA / "gsm8k").is_dir(), reason="needs shared/data/gsm8k")

# sample i of every problem answers SCRIPT[i]: GSM8K 0 and 13 (answer 18) are solved 3 times in 10,
# 1 (3) twice, 2, 3, 4 and 5 (70000, 540, 20, 64) once, the other 16 never: coverage 8/24 at k = 10
SCRIPT = [f"The answer is {a}." for a in ("18", "18", "3", "70000", "540", "20", "64", "18", "3")] + ["I give up."]


def test_hardware_given_detected_or_none():
    assert hosting_for("cpu-core:2").to_json() == {"name": "cpu-core", "units": 2.0, "how": "given (--hardware)"}
    assert hosting_for("H100:8").name == "h100-sxm-80gb"
    with pytest.raises(PricingError, match="known: a100"):
        hosting_for("tpu-v5")
    with pytest.raises(PricingError, match="NAME:UNITS"):
        parse_hardware("cpu-core:0")
    assert hosting_for(fake=True) is None and hosting_for(base_url="https://api.example.com/v1") is None
    local = hosting_for(base_url="http://127.0.0.1:8101/v1")
    assert local == detect_hosting() and local.how.startswith("detected")
    prices = load_hardware()
    assert match_device(prices, "NVIDIA H100 80GB HBM3").name == "h100-sxm-80gb"
    assert match_device(prices, "NVIDIA H200").name == "h200-sxm-141gb"
    assert match_device(prices, "Tesla T4") is None


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """24 problems x 10 samples of GSM8K by a 'local model' (FAKE sampler named qwen2.5-coder-0.5b: no
    list price) on 2 CPU cores; returns (run dir, live lines)."""
    from swe_monkeys.presets import load_preset
    from swe_monkeys.sampling.fake import FakeSampler
    from swe_monkeys.sampling.progress import LiveLines
    from swe_monkeys.sampling.protocol import SamplingParams
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks import get_task
    from swe_monkeys.tasks.pipeline import TaskRunConfig, run_task

    if not (SHARED_DATA / "gsm8k").is_dir():
        pytest.skip("needs shared/data/gsm8k")
    run = tmp_path_factory.mktemp("local") / "run"
    task = get_task("gsm8k", load_preset("math"))
    problems = task.load(str(SHARED_DATA / "gsm8k"), ["0:24"])
    lines: list[str] = []
    config = TaskRunConfig(samples=10, params=SamplingParams(seed=0), hosting=hosting_for("cpu-core:2").to_json())
    sampler = FakeSampler(SCRIPT, model="qwen2.5-coder-0.5b", latency=0.01, max_n=2)
    with RunStore(run) as store:
        result = run_task(store, task, problems, sampler, config, on_progress=LiveLines(every=0.0, echo=lines.append))
    lines.append(result.progress.line())
    return run, lines


@needs_gsm8k
def test_live_lines_show_self_hosted_dollars_with_the_price_and_its_source(local_run):
    run, lines = local_run
    assert lines[0].startswith("dollars: self-hosted: 2 x cpu-core $0.044625/vCPU-hour as of 2024-09-01 "
                               "(unverified, check https://aws.amazon.com/ec2/pricing/on-demand/)")
    final = lines[-1]
    dollars = float(re.search(r"\$(\d+\.\d+) self-hosted", final).group(1))
    assert dollars > 0 and not re.search(r"\$0\.0000\b(?!\d)", final)


@needs_gsm8k
def test_report_prices_the_local_run_by_hardware_and_keeps_flops(local_run):
    run, _ = local_run
    result = CliRunner().invoke(app, ["report", str(run), "--no-plots"])
    assert result.exit_code == 0, result.output
    assert "Cost: self-hosted: " in result.stdout and "x 2 x cpu-core $0.044625/vCPU-hour" in result.stdout
    assert "/ 240 samples; hardware given (--hardware)" in result.stdout
    assert "FLOPs per sample" in result.stdout  # the paper's estimate stays beside the dollars
    assert "no price" not in result.stdout and not re.search(r"\$0\.0+(?![\d.])", result.stdout)  # no rounded $0.00


@needs_gsm8k
def test_plan_prints_k_and_dollars_for_the_local_model_and_the_baselines(local_run):
    run, _ = local_run
    result = CliRunner().invoke(app, ["plan", str(run), "--target", "0.3", "--benchmark", "swe-bench-lite"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "price: $" in out and "self-hosted: " in out and "aws.amazon.com" in out
    target = re.search(r"to reach 30% coverage on 300 problems: k = (\d+) \[(\d+) \.\. ([^\]]+)\], \$(\S+) ", out)  # the top may read "beyond 100,000"
    assert target and int(target.group(1)) >= 1 and float(target.group(4).replace(",", "")) > 0
    for model in ("DeepSeek-Coder-V2-Instruct", "GPT-4o", "Claude 3.5 Sonnet"):
        assert re.search(rf"  {re.escape(model)}: [\d.]+% with \d attempt\(s\) at \$[\d.]+ = \$[\d.,]+ for 300", out)
        assert re.search(rf"  {re.escape(model)} \([\d.]+%, \$[\d.]+ per problem\): (from k = \d+|never)", out)
    budget = CliRunner().invoke(app, ["plan", str(run), "--budget-dollars", "1", "--problems", "100", "--json"])
    assert budget.exit_code == 0, budget.output
    data = json.loads(budget.stdout)
    assert data["budget"]["n_problems"] == 100 and data["budget"]["dollars"] <= 1.0 and data["budget"]["k"] > 0
    assert data["cost"]["unit"] == "$" and data["cost"]["per_sample"] > 0
    assert len(data["beats"]) == 3 and data["notes"]  # gsm8k has no baselines of its own: said so


@needs_gsm8k
@pytest.mark.parametrize("args, message, code", [
    (["--target", "50"], "strictly between 0 and 1", 2),  # usage errors: 2
    (["--target", "0.5", "--budget-dollars", "3"], "give one of --target", 2),
    ([], "give one of --target", 2),
    (["--budget-dollars", "-1"], "must be positive", 2),
    (["--target", "0.5", "--benchmark", "nope"], "no baselines for benchmark 'nope'", 1),
    (["--target", "0.5", "--hardware", "tpu-v5"], "no hardware price for 'tpu-v5'", 1),
])
def test_plan_refuses_bad_input_with_one_line(local_run, args, message, code):
    run, _ = local_run
    result = CliRunner().invoke(app, ["plan", str(run), *args])
    assert result.exit_code == code and message in result.output and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_plan_of_a_missing_run_is_one_line(tmp_path):
    result = CliRunner().invoke(app, ["plan", str(tmp_path), "--target", "0.5"])
    assert result.exit_code == 2 and "not a run (no run.sqlite)" in result.output


@needs_gsm8k
def test_report_backtest_json_shape(local_run):
    run, _ = local_run
    result = CliRunner().invoke(app, ["report", str(run), "--no-plots", "--backtest", "2", "--json",
                                      "--bootstrap", "50"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # one JSON object, nothing else on stdout
    rows = data["backtest"]
    assert {r["method"] for r in rows} == {"auto", "smooth-prior", "power-law", "beta"}
    assert sorted({r["k"] for r in rows}) == [4, 10]  # 2 x 2 and 5 x 2 and the run's own n = 10
    for r in rows:
        assert {"method", "k", "predicted", "low", "high", "observed"} <= set(r)
        assert all(0.0 <= r[key] <= 1.0 for key in ("predicted", "low", "high", "observed"))
        assert r["low"] <= r["predicted"] <= r["high"] and r["model"] == "qwen2.5-coder-0.5b"
    text = CliRunner().invoke(app, ["report", str(run), "--no-plots", "--backtest", "2", "--bootstrap", "50"])
    assert "Backtest: fitted on the first 2 samples of each problem" in text.stdout
    one = json.loads(CliRunner().invoke(app, ["report", str(run), "--no-plots", "--backtest", "1", "--json",
                                              "--bootstrap", "50"]).stdout)
    assert {r["method"] for r in one["backtest"]} == {"auto", "smooth-prior", "beta"}  # no power law through one point
    assert any("power-law not fitted on 1 sample(s)" in note for note in one["notes"])
    too_many = CliRunner().invoke(app, ["report", str(run), "--no-plots", "--backtest", "10"])
    assert too_many.exit_code == 1 and "more than 10 judged samples" in too_many.output


def test_sample_records_the_hardware_of_an_endpoint_here_or_the_one_given(tmp_path):
    from swe_monkeys.sampling.fake_server import FakeOpenAIServer
    from swe_monkeys.store.run_store import RunStore

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"id": f"p{i}", "prompt": f"task {i}"}) + "\n" for i in range(2)))
    with FakeOpenAIServer() as server:  # on loopback: this machine's hardware serves it
        here = CliRunner().invoke(app, ["sample", str(prompts), "--run", str(tmp_path / "here"), "-k", "3",
                                        "--base-url", server.url, "--max-new-tokens", "8", "-q"])
        given = CliRunner().invoke(app, ["sample", str(prompts), "--run", str(tmp_path / "given"), "-k", "3",
                                         "--base-url", server.url, "--max-new-tokens", "8", "-q",
                                         "--hardware", "h100:8"])
    assert here.exit_code == 0 and given.exit_code == 0, here.output + given.output
    with RunStore(tmp_path / "here") as store:
        assert store.get_meta("hardware") == detect_hosting().to_json()
        assert store.get_meta("sampling_seconds") > 0
    with RunStore(tmp_path / "given") as store:
        assert store.get_meta("hardware") == {"name": "h100-sxm-80gb", "units": 8.0, "how": "given (--hardware)"}


def test_held_time_is_written_as_samples_arrive_so_a_killed_run_keeps_it(tmp_path):
    import time

    from swe_monkeys.sampling.phase import _HeldTime
    from swe_monkeys.store.run_store import RunStore

    with RunStore(tmp_path / "run") as store:
        store.set_meta("sampling_seconds", 10.0)  # an earlier process's time
        held = _HeldTime(store, every=0.0)
        time.sleep(0.05)
        held.note()  # a sample arrived: the time so far is in the store before the process ends
        assert 10.04 < store.get_meta("sampling_seconds") < 11.0
