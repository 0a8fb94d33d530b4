"""The OpenAI-compatible backend against a FAKE scripted server on loopback (a real HTTP server).

Covers what real servers do to a sampler: honour `n` or ignore it, return fewer choices, answer
429/5xx for a while, vanish, reject a prompt longer than the context, or not serve the model.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from swe_monkeys.sampling.fake_server import FakeOpenAIServer
from swe_monkeys.sampling.openai_backend import OpenAIConfig, OpenAISampler
from swe_monkeys.sampling.protocol import (
    ContextOverflow,
    EndpointUnreachable,
    ModelNotServed,
    Prompt,
    Request,
    SamplerError,
    SamplingParams,
    TooFewChoices,
)
from swe_monkeys.sampling.server import free_port

PARAMS = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=16, seed=100)
PROMPT = Prompt.chat("Write a function that adds two numbers.")


def sampler(server: FakeOpenAIServer, **options) -> OpenAISampler:
    options = {"backoff": 0.01, "backoff_max": 0.05, "retries": 3, "timeout": 10, **options}
    return OpenAISampler(OpenAIConfig(base_url=server.url, **options))


@pytest.fixture
def server():
    with FakeOpenAIServer() as fake:
        yield fake


def test_n_in_one_request_counts_prompt_once_and_tokens_per_sample(server):
    s = sampler(server)
    done = s.complete(Request(PROMPT, PARAMS, n=5, seed=100))
    assert len(server.requests) == 1 and server.requests[0]["n"] == 5
    assert [x.seed for x in done.samples] == [100, 101, 102, 103, 104]
    assert [x.text.split()[0] for x in done.samples] == [f"seed={100 + j}" for j in range(5)]
    assert all(x.completion_tokens == 6 and x.tokens_exact for x in done.samples)
    assert done.prompt_tokens == len(json.dumps(server.requests[0]["messages"]).split())
    assert done.completion_tokens == 30
    assert s.identity()["model"] == "fake-model" and s.identity()["server"] == "vllm"


def test_fanout_sends_one_request_per_sample_with_consecutive_seeds(server):
    batched = sampler(server).complete(Request(PROMPT, PARAMS, n=3, seed=7))
    fanned = sampler(server, n_mode="fanout").complete(Request(PROMPT, PARAMS, n=3, seed=7))
    assert [r["seed"] for r in server.requests[1:]] == [7, 8, 9] and all(r["n"] == 1 for r in server.requests[1:])
    assert [x.text for x in fanned.samples] == [x.text for x in batched.samples]
    assert fanned.prompt_tokens == 3 * batched.prompt_tokens  # each request pays its prompt


def test_server_that_ignores_n_is_detected_and_fanned_out(server):
    server.behaviour.ignore_n = True
    s = sampler(server)
    assert s.max_n() == 32
    done = s.complete(Request(PROMPT, PARAMS, n=4, seed=0))
    assert [x.seed for x in done.samples] == [0, 1, 2, 3]
    assert [x.text.split()[0] for x in done.samples] == ["seed=0", "seed=1", "seed=2", "seed=3"]
    assert s.max_n() == 1 and s.identity()["n_mode"] == "fanout"
    assert [r["n"] for r in server.requests] == [4, 1, 1, 1]


def test_fewer_choices_when_n_is_trusted_is_an_error(server):
    server.behaviour.drop_choices = 1
    with pytest.raises(TooFewChoices, match="returned 2 of 3"):
        sampler(server, n_mode="n").complete(Request(PROMPT, PARAMS, n=3, seed=0))


def test_retries_429_and_5xx_then_succeeds_honouring_retry_after(server):
    server.behaviour.script = [(429, 0.3), 503, 500]
    start = time.monotonic()
    done = sampler(server).complete(Request(PROMPT, PARAMS, n=2, seed=0))
    assert len(done.samples) == 2 and len(server.requests) == 4
    assert time.monotonic() - start >= 0.3


def test_gives_up_after_retries_with_a_clear_error(server):
    server.behaviour.script = [502] * 10
    with pytest.raises(SamplerError, match="HTTP 502.*gave up after 3 attempts"):
        sampler(server, retries=2).complete(Request(PROMPT, PARAMS, n=1, seed=0))
    assert len(server.requests) == 3


def test_unreachable_endpoint_fails_fast_and_says_so():
    s = OpenAISampler(OpenAIConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m", timeout=5))
    start = time.monotonic()
    with pytest.raises(EndpointUnreachable, match="cannot reach .* is the server running"):
        s.complete(Request(PROMPT, PARAMS, n=1, seed=0))
    assert time.monotonic() - start < 5


def test_wrong_model_name_lists_the_served_ones(server):
    with pytest.raises(ModelNotServed, match="does not serve 'gpt-9'; it serves: fake-model"):
        sampler(server, model="gpt-9").complete(Request(PROMPT, PARAMS, n=1, seed=0))


def test_blank_model_means_the_only_one_served(server):
    server.behaviour.models = ("a", "b")
    with pytest.raises(ModelNotServed, match="name one"):
        sampler(server).identity()


def test_context_overflow_is_not_retried(server):
    server.behaviour.context_limit = 20
    with pytest.raises(ContextOverflow, match="maximum context length is 20"):
        sampler(server).complete(Request(Prompt.chat("word " * 50), PARAMS, n=2, seed=0))
    assert len(server.requests) == 1


def test_completion_prompt_uses_the_completions_route(server):
    done = sampler(server).complete(Request(Prompt(text="def add(a, b):"), PARAMS, n=2, seed=3))
    assert "prompt" in server.requests[0] and "messages" not in server.requests[0]
    assert done.samples[1].text.startswith("seed=4")


def test_concurrency_is_bounded_across_threads(server):
    server.behaviour.latency = 0.15
    s = sampler(server, concurrency=3)
    threads = [threading.Thread(target=s.complete, args=(Request(PROMPT, PARAMS, n=1, seed=i),)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(server.requests) == 9 and server.max_in_flight == 3


def test_tokens_are_estimated_and_flagged_without_per_choice_counts(server):
    server.behaviour.token_ids = False
    done = sampler(server).complete(Request(PROMPT, PARAMS, n=3, seed=0))
    assert all(not x.tokens_exact for x in done.samples)
    assert sum(x.completion_tokens for x in done.samples) == 18
    single = sampler(server).complete(Request(PROMPT, PARAMS, n=1, seed=0))
    assert single.samples[0].tokens_exact and single.samples[0].completion_tokens == 6


def test_api_key_comes_from_the_environment(server, monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-test")
    assert sampler(server, api_key_env="MY_KEY").http._client.headers["authorization"] == "Bearer sk-test"
    monkeypatch.delenv("MY_KEY")
    assert "authorization" not in sampler(server, api_key_env="MY_KEY").http._client.headers
