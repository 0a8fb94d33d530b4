"""Cost: the paper's Table 1 recomputed from its inputs, prices from configs/, dollars and FLOPs
per sample from hand-made sample tables, dollars per resolved and the cost-optimal k."""

from __future__ import annotations

import numpy as np
import pytest

from swe_monkeys.metrics.cost import (LinearCost, Table1Row, api_cost, cost_optimal_k, decode_flops, flops_cost,
                                      format_relative, gpu_cost, k_to_reach, per_resolved, prefill_flops,
                                      relative_costs)
from swe_monkeys.pricing import (ModelPrice, PricingError, find_baselines, load_baselines, load_pricing)


@pytest.fixture(scope="module")
def lite():
    return find_baselines(load_baselines(), "princeton-nlp/SWE-bench_Lite")


def test_table1_relative_cost_column_is_reproduced_from_its_inputs(lite):
    rows = [Table1Row.from_baseline(b, lite.n_problems) for b in lite.results]
    reference = next(r for r, b in zip(rows, lite.results) if b.reference)
    relative = relative_costs(rows, reference)
    for row, base, ratio in zip(rows, lite.results, relative):
        assert row.total_dollars == pytest.approx(base.printed_total_dollars, rel=1e-9)
        assert format_relative(ratio) == base.printed_relative
    # Paper: DeepSeek $0.0072 x 5 attempts x 300 = $10.8; GPT-4o $39 (3.6x); Claude 3.5 Sonnet $51 (4.7x).
    assert [round(r.total_dollars, 2) for r in rows] == [10.8, 39.0, 51.0]
    assert [format_relative(x) for x in relative] == ["1x", "3.6x", "4.7x"]
    assert [format_relative(x) for x in (7.9e-05, 0.0012, 120.4)] == ["0.000079x", "0.0012x", "120x"]  # never 7.9e-05x
    # Seen from each frontier model: repeated sampling costs 0.28x of GPT-4o and 0.21x of Claude.
    deepseek, gpt, claude = rows
    assert [format_relative(x) for x in relative_costs([deepseek], gpt) + relative_costs([deepseek], claude)] == [
        "0.28x", "0.21x"]


def test_every_price_names_its_source_and_date():
    pricing = load_pricing()
    assert {"gpt-4o", "claude-3-5-sonnet", "deepseek-coder-v2"} <= set(pricing.models)
    for price in pricing.models.values():
        assert price.source.startswith("https://") and price.as_of[:2] == "20"
        assert price.has_api_price or price.has_architecture
    assert pricing.gpu("H100-SXM").dollars_per_hour > 0


def test_models_are_found_by_alias_case_and_org_path():
    pricing = load_pricing()
    assert pricing.model("deepseek-ai/DeepSeek-Coder-V2-Instruct").name == "deepseek-coder-v2"
    assert pricing.model("GPT-4o-2024-08-06").name == "gpt-4o"
    assert pricing.model("anthropic/claude-3-5-sonnet-20240620").name == "claude-3-5-sonnet"
    assert pricing.model("no-such-model") is None and pricing.model(None) is None


def test_a_price_without_source_is_refused(tmp_path):
    path = tmp_path / "pricing.yaml"
    path.write_text("models:\n  m:\n    input_per_mtok: 1\n    output_per_mtok: 2\n")
    with pytest.raises(PricingError, match="lacks source, as_of"):
        load_pricing(path)


PRICE = ModelPrice("m", "https://example.com", "2024-01-01", input_per_mtok=2.0, cached_input_per_mtok=0.5,
                   output_per_mtok=10.0, params=1e9, layers=4, d_model=64)


def rows(*usage, problem="p", meta=None):
    return [{"problem_id": problem, "prompt_tokens": p, "completion_tokens": q, "meta": dict(meta or {})}
            for p, q in usage]


def test_api_cost_at_list_prices():
    cost = api_cost(rows((1_000_000, 100_000), (3_000_000, 300_000)), PRICE)
    # mean prompt 2M tokens x $2 + mean completion 0.2M x $10 = $6 per sample, nothing fixed
    assert cost.per_sample == pytest.approx(6.0) and cost.fixed_per_problem == 0.0 and cost.unit == "$"
    assert "as of 2024-01-01" in cost.basis


def test_api_cost_prices_measured_cached_tokens_at_the_cache_rate():
    cost = api_cost(rows((1_000_000, 0), meta={"cached_tokens": 600_000}), PRICE)
    assert cost.per_sample == pytest.approx(0.4 * 2.0 + 0.6 * 0.5)


def test_assumed_prompt_cache_moves_the_prompt_into_a_fixed_cost():
    cost = api_cost(rows((1_000_000, 0), (1_000_000, 0)), PRICE, prompt_cache=True)
    assert cost.per_sample == pytest.approx(0.5) and cost.fixed_per_problem == pytest.approx(1.5)
    assert cost.at(1) == pytest.approx(2.0)  # the first request pays the full price


def test_no_tokens_or_no_prices_means_no_api_cost():
    assert api_cost(rows((0, 0)), PRICE) is None
    assert api_cost(rows((10, 10)), ModelPrice("x", "s", "d")) is None


def test_gpu_cost_from_measured_seconds():
    gpu = load_pricing().gpu("h100-sxm")
    cost = gpu_cost(rows((0, 0), (0, 0), meta={"gpu_seconds": 1800.0}), gpu)
    assert cost.per_sample == pytest.approx(gpu.dollars_per_hour / 2)
    assert gpu_cost(rows((5, 5)), gpu) is None


def test_flops_closed_forms_equal_the_per_token_sum():
    params, layers, d_model = 7e9, 32, 4096

    def per_token(context):
        return 2 * (params + 2 * layers * d_model * context)

    p, q = 300, 50
    assert prefill_flops(p, params, layers, d_model) == pytest.approx(sum(per_token(t) for t in range(1, p + 1)))
    assert decode_flops(p, q, params, layers, d_model) == pytest.approx(
        sum(per_token(t) for t in range(p + 1, p + q + 1)))


def test_flops_count_each_problems_prompt_once():
    table = rows((100, 10), (100, 20), problem="a") + rows((300, 10), problem="b")
    cost = flops_cost(table, PRICE)
    arch = (PRICE.params, PRICE.layers, PRICE.d_model)
    assert cost.fixed_per_problem == pytest.approx((prefill_flops(100, *arch) + prefill_flops(300, *arch)) / 2)
    decode = [decode_flops(100, 10, *arch), decode_flops(100, 20, *arch), decode_flops(300, 10, *arch)]
    assert cost.per_sample == pytest.approx(np.mean(decode)) and cost.unit == "FLOPs"


def test_dollars_per_resolved_and_the_cost_optimal_k():
    coverage = 1 - 0.8 ** np.arange(1, 101)  # one problem, p = 0.2
    linear = LinearCost(per_sample=1.0, fixed_per_problem=0.0, unit="$", basis="")
    assert per_resolved(linear, [1, 2], coverage[:2]) == pytest.approx([1 / 0.2, 2 / 0.36])
    assert cost_optimal_k(linear, coverage) == (1, pytest.approx(5.0))  # concave coverage, no fixed cost
    fixed = LinearCost(per_sample=1.0, fixed_per_problem=20.0, unit="$", basis="")
    k, value = cost_optimal_k(fixed, coverage)
    brute = [(20 + j) / coverage[j - 1] for j in range(1, 101)]
    assert k == int(np.argmin(brute)) + 1 and value == pytest.approx(min(brute)) and k > 1
    assert np.isinf(per_resolved(linear, [1], [0.0])[0])


def test_k_to_reach_a_solve_rate():
    coverage = [0.1, 0.24, 0.3]
    assert k_to_reach(coverage, 0.24) == 2 and k_to_reach(coverage, 0.05) == 1 and k_to_reach(coverage, 0.5) is None
