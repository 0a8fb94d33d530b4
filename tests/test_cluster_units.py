"""What the cluster path is made of, without a cluster: spreading requests over several endpoints of
one model (FAKE OpenAI servers on loopback) and placing verification actors on Docker nodes."""

from __future__ import annotations

import pytest

from swe_monkeys.cluster import ClusterError
from swe_monkeys.cluster.verifiers import Placement, plan_actors
from swe_monkeys.sampling.accounting import Budget
from swe_monkeys.sampling.fake_server import FakeOpenAIServer
from swe_monkeys.sampling.openai_backend import OpenAIConfig, OpenAISampler
from swe_monkeys.sampling.phase import Problem, SampleConfig, sample_problems
from swe_monkeys.sampling.protocol import Prompt, SamplingParams
from swe_monkeys.sampling.session import SamplerSpec, open_sampler
from swe_monkeys.sampling.spread import SpreadSampler
from swe_monkeys.store.run_store import RunStore

PROBLEMS = [Problem("p1", Prompt.chat("Fix parse().")), Problem("p2", Prompt.chat("Add --verbose."))]
CONFIG = SampleConfig(samples=10, params=SamplingParams(temperature=0.8, max_tokens=8, seed=7), concurrency=4)


def _sampler(url: str) -> OpenAISampler:
    return OpenAISampler(OpenAIConfig(base_url=url, max_n=2, retries=1, backoff=0.01, backoff_max=0.02))


def _samples(store: RunStore) -> list[tuple]:
    return [(c.problem_id, c.index, c.content) + (store.candidate_metas([cid])[cid]["seed"],)
            for cid, c in store.candidates()]


def test_two_endpoints_give_the_samples_of_one(tmp_path):
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b:
        with RunStore(tmp_path / "one") as store:
            sample_problems(store, PROBLEMS, _sampler(a.url), CONFIG)
            one = _samples(store)
        spec = SamplerSpec(base_url=f"{a.url},{b.url}", options={"max_n": 2, "retries": 1})
        with open_sampler(spec) as session, RunStore(tmp_path / "two") as store:
            assert isinstance(session.sampler, SpreadSampler)
            sample_problems(store, PROBLEMS, session.sampler, CONFIG)
            two = _samples(store)
            assert store.get_meta("sampling")["backend"]["endpoints"] == 2
        # both did part of the work: each request goes to the least busy endpoint, so with four in
        # flight the split follows which answered first (5/5 usually, 4/6 seen once in CI)
        assert sum(session.sampler.requests.values()) == 10 and min(session.sampler.requests.values()) >= 3
    assert two == one and [s[3] for s in one if s[0] == "p1"] == list(range(7, 17))


def test_an_endpoint_that_dies_hands_its_requests_to_the_others(tmp_path):
    lines: list[str] = []
    with FakeOpenAIServer() as a:
        with FakeOpenAIServer() as b:
            dead = b.url
        spread = SpreadSampler([_sampler(a.url), _sampler(dead)], [a.url, dead], lines.append)
        with RunStore(tmp_path / "run") as store:
            report = sample_problems(store, PROBLEMS, spread, CONFIG)
            assert report.added == 20 and not report.failed
            assert [s[3] for s in _samples(store) if s[0] == "p2"] == list(range(7, 17))
    assert any(dead in line and "stopped answering" in line for line in lines)


def test_the_budget_holds_over_all_endpoints(tmp_path):
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b:
        spread = SpreadSampler([_sampler(a.url), _sampler(b.url)])
        with RunStore(tmp_path / "run") as store:
            config = SampleConfig(samples=10, params=CONFIG.params, concurrency=4, budget=Budget(max_tokens=150))
            report = sample_problems(store, PROBLEMS, spread, config)
            spent = sum((r["prompt_tokens"] or 0) + (r["completion_tokens"] or 0) for r in store.sample_table())
    assert report.budget_stop and 0 < spent <= 150


def test_one_actor_per_docker_node_sized_to_it():
    nodes = [{"NodeID": "a", "Alive": True, "Resources": {"CPU": 8, "docker": 4}},
             {"NodeID": "gpu", "Alive": True, "Resources": {"CPU": 8, "GPU": 1}},
             {"NodeID": "b", "Alive": True, "Resources": {"docker": 2}},
             {"NodeID": "gone", "Alive": False, "Resources": {"docker": 8}}]
    assert plan_actors(nodes) == [Placement("a", 4), Placement("b", 2)]
    assert plan_actors(nodes, workers=3) == [Placement("a", 3), Placement("b", 2)]
    assert plan_actors(nodes, workers=1, actors=3) == [Placement(None, 1)] * 3
    with pytest.raises(ClusterError, match="docker"):
        plan_actors(nodes[1:2])
