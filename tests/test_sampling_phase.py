"""The sampling phase against a FAKE scripted OpenAI-compatible server: store layout, seeds, resume
(including after a real SIGKILL), gap filling, budgets enforced before sending, and failures."""

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

from swe_monkeys.sampling.accounting import Budget, GpuClock
from swe_monkeys.sampling.fake_server import FakeOpenAIServer
from swe_monkeys.sampling.openai_backend import OpenAIConfig, OpenAISampler
from swe_monkeys.sampling.phase import Problem, SampleConfig, SamplingMismatch, load_problems, plan, sample_problems
from swe_monkeys.sampling.protocol import EndpointUnreachable, Prompt, SamplingParams
from swe_monkeys.sampling.server import free_port
from swe_monkeys.store.run_store import RunStore

PARAMS = SamplingParams(temperature=0.8, max_tokens=8, seed=1000)
PROBLEMS = [Problem("p1", Prompt.chat("Fix the bug in parse().")), Problem("p2", Prompt.chat("Add a --verbose flag."))]


@pytest.fixture
def server():
    with FakeOpenAIServer() as fake:
        yield fake


def sampler(server, **options) -> OpenAISampler:
    return OpenAISampler(OpenAIConfig(base_url=server.url, backoff=0.01, backoff_max=0.02, retries=2, **options))


def run(tmp_path, server, samples, problems=PROBLEMS, **config):
    with RunStore(tmp_path / "run") as store:
        cfg = SampleConfig(samples=samples, params=config.pop("params", PARAMS), **config)
        report = sample_problems(store, problems, sampler(server, max_n=config.pop("max_n", 4)), cfg)
        return report, store.sample_table()


def indices(rows, pid):
    return [r["sample_idx"] for r in rows if r["problem_id"] == pid]


def test_samples_land_in_the_store_with_seeds_tokens_and_identity(tmp_path, server):
    report, rows = run(tmp_path, server, samples=6)
    assert report.added == 12 and report.missing == 0 and not report.failed
    assert indices(rows, "p1") == list(range(6)) and indices(rows, "p2") == list(range(6))
    assert [r["meta"]["seed"] for r in rows if r["problem_id"] == "p1"] == [1000 + i for i in range(6)]
    # max_n 4: requests cover indices 0-3 and 4-5; the prompt is counted once per request.
    assert sorted((r["seed"], r["n"]) for r in server.requests) == [(1000, 4), (1000, 4), (1004, 2), (1004, 2)]
    p1 = [r for r in rows if r["problem_id"] == "p1"]
    assert [r["prompt_tokens"] > 0 for r in p1] == [True, False, False, False, True, False]
    assert {r["meta"]["request"] for r in p1} == {"p1:0", "p1:4"}
    assert p1[0]["meta"]["backend"] == "openai vllm" and p1[0]["model"] == "fake-model"
    assert sum(r["completion_tokens"] for r in rows) == report.completion_tokens == 12 * 6
    assert sum(r["prompt_tokens"] for r in rows) == report.prompt_tokens
    with RunStore(tmp_path / "run") as store:
        assert store.get_meta("model") == "fake-model"
        assert store.get_meta("sampling")["params"]["seed"] == 1000


def test_more_samples_draws_only_the_missing_ones_and_matches_a_fresh_run(tmp_path, server):
    run(tmp_path / "a", server, samples=3)
    before = len(server.requests)
    report, rows = run(tmp_path / "a", server, samples=7)
    assert report.existing == 6 and report.added == 8
    assert [(r["seed"], r["n"]) for r in server.requests[before:]] == [(1003, 4), (1003, 4)]
    run(tmp_path / "b", server, samples=7)

    def texts(run_dir):
        with RunStore(run_dir) as store:
            return [(c.problem_id, c.index, c.content) for _, c in store.candidates()]

    assert texts(tmp_path / "a" / "run") == texts(tmp_path / "b" / "run")
    assert len(texts(tmp_path / "a" / "run")) == 14


def test_plan_fills_gaps_in_runs_of_consecutive_indices():
    problem = PROBLEMS[0]
    jobs = list(plan([problem], {"p1": {0, 1, 4, 9}}, samples=12, max_n=3))
    assert [(j.first, j.n) for j in jobs] == [(2, 2), (5, 3), (8, 1), (10, 2)]


def test_other_parameters_or_prompts_are_refused_on_the_same_run(tmp_path, server):
    run(tmp_path, server, samples=2)
    with pytest.raises(SamplingMismatch, match="use another run directory"):
        run(tmp_path, server, samples=4, params=SamplingParams(temperature=0.2, max_tokens=8, seed=1000))
    with pytest.raises(SamplingMismatch, match="prompts of p1 differ"):
        run(tmp_path, server, samples=4, problems=[Problem("p1", Prompt.chat("something else"))])


def test_token_budget_is_never_exceeded_and_leaves_no_gaps(tmp_path, server):
    report, rows = run(tmp_path, server, samples=10, budget=Budget(max_tokens=300), concurrency=3)
    spent = sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows)
    assert spent <= 300 and report.budget_stop.startswith("budget reached")
    assert 0 < len(rows) < 20
    for pid in ("p1", "p2"):
        got = indices(rows, pid)
        assert got == list(range(len(got)))  # contiguous from 0: nothing skipped


def test_dollar_budget_uses_list_prices_and_counts_what_the_run_already_spent(tmp_path, server):
    # fake-model has no price: name one; gpt-4o is $2.50 in / $10 out per million tokens.
    report, rows = run(tmp_path, server, samples=4, budget=Budget(max_dollars=1.0), price_as="gpt-4o")
    assert report.added == 8 and 0 < report.dollars < 0.01
    again, rows2 = run(tmp_path, server, samples=50, budget=Budget(max_dollars=report.dollars + 0.0005),
                       price_as="gpt-4o")
    assert again.budget_stop and again.dollars <= 0.0005 + 1e-12
    assert len(rows2) < 100


def test_dollar_budget_without_a_price_is_refused(tmp_path, server):
    from swe_monkeys.sampling.accounting import BudgetError

    with pytest.raises(BudgetError, match="needs the model's prices"):
        run(tmp_path, server, samples=2, budget=Budget(max_dollars=1.0))


def test_a_problem_that_cannot_fit_is_reported_and_recorded_others_go_on(tmp_path, server):
    server.behaviour.context_limit = 40
    long = Problem("long", Prompt.chat("word " * 100))
    report, rows = run(tmp_path, server, samples=3, problems=[long, *PROBLEMS])
    assert set(report.failed) == {"long"} and "samples 0..2 not drawn" in report.failed["long"]
    assert report.missing == 3 and indices(rows, "long") == [] and len(rows) == 6
    with RunStore(tmp_path / "run") as store:
        assert "maximum context length" in store.get_meta("sampling_failures")["long"]


def test_unreachable_endpoint_writes_nothing(tmp_path):
    dead = OpenAISampler(OpenAIConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m"))
    with RunStore(tmp_path / "run") as store:
        with pytest.raises(EndpointUnreachable):
            sample_problems(store, PROBLEMS, dead, SampleConfig(samples=2, params=PARAMS))
        assert store.sample_table() == []


def test_server_gone_after_the_endpoint_check_stops_the_phase_with_an_error(tmp_path, server):
    with RunStore(tmp_path / "run") as store:
        s = sampler(server, max_n=2)
        s.identity()
        server.__exit__()  # the server goes away after the endpoint check
        with pytest.raises(EndpointUnreachable):
            sample_problems(store, PROBLEMS, s, SampleConfig(samples=2, params=PARAMS))


KILLED_RUN = textwrap.dedent("""
    import sys
    from swe_monkeys.sampling.openai_backend import OpenAIConfig, OpenAISampler
    from swe_monkeys.sampling.phase import Problem, SampleConfig, sample_problems
    from swe_monkeys.sampling.protocol import Prompt, SamplingParams
    from swe_monkeys.store.run_store import RunStore
    problems = [Problem(f"p{i}", Prompt.chat(f"problem {i}")) for i in range(3)]
    sampler = OpenAISampler(OpenAIConfig(base_url=sys.argv[1], max_n=2))
    with RunStore(sys.argv[2]) as store:
        sample_problems(store, problems, sampler, SampleConfig(samples=10, concurrency=2,
                        params=SamplingParams(max_tokens=8, seed=5)))
""")


def test_a_killed_run_resumes_without_gaps_or_duplicates(tmp_path, server):
    server.behaviour.latency = 0.1
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, server.url, str(tmp_path / "run")])
    deadline = time.monotonic() + 30
    while len(server.requests) < 6 and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with RunStore(tmp_path / "run") as store:
        partial = len(store.sample_table())
    assert 0 < partial < 30
    server.behaviour.latency = 0
    problems = [Problem(f"p{i}", Prompt.chat(f"problem {i}")) for i in range(3)]
    with RunStore(tmp_path / "run") as store:
        report = sample_problems(store, problems, sampler(server, max_n=2),
                                 SampleConfig(samples=10, params=SamplingParams(max_tokens=8, seed=5)))
        rows = store.sample_table()
    assert report.existing == partial and report.added == 30 - partial
    for pid in ("p0", "p1", "p2"):
        assert indices(rows, pid) == list(range(10))
        assert [r["meta"]["seed"] for r in rows if r["problem_id"] == pid] == [5 + i for i in range(10)]


def test_gpu_clock_shares_wall_clock_among_overlapping_requests():
    clock = GpuClock(gpus=2)
    start = time.monotonic()
    clock.start(1)
    time.sleep(0.1)
    clock.start(2)
    time.sleep(0.1)
    a = clock.stop(1)
    time.sleep(0.1)
    b = clock.stop(2)
    wall = time.monotonic() - start
    assert a + b == pytest.approx(2 * wall, rel=0.05)
    assert a == pytest.approx(2 * 0.1 + 0.1, rel=0.2) and GpuClock(0).stop(1) == 0.0


def test_load_problems_reads_jsonl_and_json(tmp_path):
    path = tmp_path / "prompts.jsonl"
    path.write_text('{"id": "a", "prompt": "hi"}\n{"id": "b", "messages": [{"role": "user", "content": "x"}]}\n'
                    '{"id": "c", "prompt": {"text": "def f():"}}\n')
    problems = load_problems(path)
    assert [p.id for p in problems] == ["a", "b", "c"] and not problems[2].prompt.is_chat
    (tmp_path / "p.json").write_text(json.dumps([{"id": "a", "prompt": "hi"}, {"id": "a", "prompt": "x"}]))
    with pytest.raises(ValueError, match="not unique"):
        load_problems(tmp_path / "p.json")
    assert Path(path).exists()
