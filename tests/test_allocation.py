"""Adaptive allocation (`sweep --allocate adaptive`): the round arithmetic and stopping rules on
hand-made tables, the savings against uniform k, a replay that agrees with a real adaptive run, the
majority rule on GSM8K with a FAKE sampler, and the embedded SWE-bench examples with a FAKE sampler
verified in real Docker, spending fewer samples than uniform k for the same coverage."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from swe_monkeys.metrics.allocation import adaptive_savings, majority_accuracy, replay, savings_line
from swe_monkeys.tasks.allocation import AdaptiveAllocation, AllocationError, round_targets, settled
from tests.conftest import SHARED_DATA


def row(pid: str, idx: int, resolved: bool, answer=None) -> dict:
    return {"problem_id": pid, "sample_idx": idx, "status": "resolved" if resolved else "unresolved",
            "resolved": resolved, "meta": {"answer": answer}}


def test_round_targets_fill_open_problems_by_a_step_within_budget_and_cap():
    drawn = {"a": 2, "b": 2, "c": 4}
    assert round_targets(drawn, {"a", "b", "c"}, budget=100, step=2, cap=5) == {"a": 4, "b": 4, "c": 5}
    # 3 samples left: the fewest-drawn problems first, the last one gets what remains
    assert round_targets(drawn, {"a", "b", "c"}, budget=11, step=2, cap=8) == {"a": 4, "b": 3}
    assert round_targets(drawn, {"c"}, budget=100, step=2, cap=4) == {}  # capped
    assert round_targets(drawn, set(), budget=100, step=2, cap=8) == {}  # all settled


def test_settled_by_a_resolved_candidate_or_by_a_majority_lead():
    rows = [row("a", 0, False, "1"), row("a", 1, True, "2"), row("b", 0, False, "5"), row("b", 1, False, "5"),
            row("b", 2, False, "5"), row("b", 3, False, "6"), row("b", 4, False, "5")]
    assert settled(rows, {"a", "b", "c"}, "resolved") == ({"a": 2, "b": 5, "c": 0}, {"b", "c"})
    # b: "5" four votes to one, a lead of 3 settles it though no sample is correct (a confidence rule)
    assert settled(rows, {"a", "b", "c"}, "majority", lead=3)[1] == {"a", "c"}
    assert settled(rows, {"a", "b", "c"}, "majority", lead=4)[1] == {"a", "b", "c"}
    with pytest.raises(AllocationError, match="known: resolved, majority"):
        AdaptiveAllocation(k=4, rule="oracle")


def test_savings_against_uniform_k_at_equal_coverage():
    # budget k = 4 for a, b, c in rounds of 1: a is solved by sample 0, b by sample 3, c never; the
    # rounds draw a 1, b 4, c 7 (12 = the budget). Uniform k = 4 (12 samples) solves a and b; the
    # rounds had solved both after 9 samples (3 + 2 + 2 + 2), so 3 of the 12 are saved.
    policy = {"k": 4, "rule": "resolved", "round_size": 1, "cap": 16}
    rows = [row("a", 0, True)] + [row("b", i, i == 3) for i in range(4)] + [row("c", i, False) for i in range(7)]
    s = adaptive_savings(rows, policy)
    assert (s.spent, s.budget, s.solved, s.uniform_solved, s.reached_at, s.saved, s.exact) == (12, 12, 2, 2, 9, 3,
                                                                                                 True)
    assert ("uniform k = 4 (12 samples ($1.2)) solves 2/3, which the adaptive rounds reached after 9 samples: "
            "3 samples saved ($0.3), 25% at equal coverage") in savings_line(s, 0.1)
    # c solved by its sample 6: the freed budget bought a problem uniform k = 4 misses
    more = adaptive_savings(rows[:-1] + [row("c", 6, True)], policy)
    assert more.solved == 3 and more.uniform_solved == 2 and "the rest of the budget took it to 3/3" in \
        savings_line(more)
    short = rows[:5] + [row("c", 0, False)]  # c drew fewer than k: uniform k's coverage is a lower bound
    assert not adaptive_savings(short, policy).exact and "or more" in savings_line(adaptive_savings(short, policy))


def test_majority_accuracy_is_the_plurality_pick():
    rows = [row("a", 0, False, "3"), row("a", 1, True, "4"), row("a", 2, True, "4"),
            row("b", 0, False, "9"), row("b", 1, True, "8")]  # b: a tie goes to the answer sampled first
    assert majority_accuracy(rows) == 1


def _gsm8k_problems(count: int):
    from swe_monkeys.presets import load_preset
    from swe_monkeys.tasks import get_task

    task = get_task("gsm8k", load_preset("math"))
    return task, task.load(str(SHARED_DATA / "gsm8k"), [f"0:{count}"])


def _math_run(run_dir: Path, script: list[str], samples: int, allocation=None, seeds_by_problem: bool = False):
    from swe_monkeys.sampling.fake import FakeSampler
    from swe_monkeys.sampling.protocol import SamplingParams
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks.pipeline import TaskRunConfig, run_task

    task, problems = _gsm8k_problems(3)
    config = TaskRunConfig(samples=samples, params=SamplingParams(seed=0), allocation=allocation)
    with RunStore(run_dir) as store:
        run_task(store, task, problems, FakeSampler(script, model="fake-math"), config)
        return store.sample_table(), store.get_meta("allocation")


SCRIPT = ["The answer is 18.", "The answer is 3.", "The answer is 18.", "The answer is 18.", "nothing",
          "The answer is 18.", "The answer is 5.", "The answer is 18."]


@pytest.mark.skipif(not (SHARED_DATA / "gsm8k").is_dir(), reason="needs shared/data/gsm8k")
def test_majority_rule_stops_settled_problems_and_replay_agrees(tmp_path):
    policy = AdaptiveAllocation(k=4, rule="majority", round_size=1, cap=8)
    rows, recorded = _math_run(tmp_path / "adaptive", SCRIPT, 4, policy)
    # every problem sees 18, 3, 18, 18, -, 18: "18" would lead by 3 only at the sixth sample, so no
    # problem settles within the budget (k = 4 x 3 problems): round by round each gets 4
    assert recorded["rule"] == "majority" and recorded["round_size"] == 1 and recorded["cap"] == 8
    assert Counter(r["problem_id"] for r in rows) == {"gsm8k/0": 4, "gsm8k/1": 4, "gsm8k/2": 4}
    uniform, _ = _math_run(tmp_path / "uniform", SCRIPT, 8)
    replayed = replay(uniform, k=4, rule="majority", step=1, cap=8)
    strip = (lambda rs: sorted((r["problem_id"], r["sample_idx"], r["meta"].get("answer")) for r in rs))
    assert strip(replayed) == strip(rows)  # the same seeds, the same decisions
    line = savings_line(adaptive_savings(rows, recorded))
    assert "majority-vote confidence (no oracle), not correctness" in line


@pytest.mark.skipif(not (SHARED_DATA / "gsm8k").is_dir(), reason="needs shared/data/gsm8k")
def test_majority_rule_hands_the_budget_of_settled_problems_to_the_others(tmp_path):
    settles_fast = ["The answer is 18."] * 3 + ["The answer is 3."] * 5
    policy = AdaptiveAllocation(k=4, rule="majority", round_size=1, cap=8)
    rows, _ = _math_run(tmp_path / "run", settles_fast, 4, policy)
    assert Counter(r["problem_id"] for r in rows) == {"gsm8k/0": 3, "gsm8k/1": 3, "gsm8k/2": 3}
    assert adaptive_savings(rows, {"k": 4, "rule": "majority"}).saved == 3


def test_adaptive_needs_verdicts_for_the_resolved_rule():
    with pytest.raises(AllocationError, match="needs verification"):
        AdaptiveAllocation(k=2).run(None, [], lambda group, n: None, verifying=False)


def test_adaptive_sweep_on_the_examples_spends_fewer_samples_for_the_same_coverage(tmp_path, dataset, repo_cache,
                                                                                   images):
    from swe_monkeys.cli import app as main_app
    from swe_monkeys.cli.solve import app
    from swe_monkeys.store.run_store import RunStore
    from tests.test_sweep import write_script

    # The FAKE script resolves calc at sample 0, daterange at 2 and slugkit at 5 (sample i is
    # script[i]): uniform k = 7 solves all three with 21 samples; adaptive rounds of 1 stop each at its
    # first resolved sample (1 + 3 + 6 = 10 samples) and had all three after those 10.
    script = write_script(tmp_path / "script.json", max_n=1)
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["sweep", "--dataset", str(dataset), "--run", str(run), "--fake", str(script),
                                      "--repo-cache", str(repo_cache), "--workers", "2", "--samples", "7",
                                      "--allocate", "adaptive", "-q"])
    assert result.exit_code == 0, result.output
    with RunStore(run) as store:
        drawn = Counter(r["problem_id"] for r in store.sample_table())
        assert store.get_meta("allocation")["rule"] == "resolved"
    assert drawn == {"swe-monkeys__calc-1": 1, "swe-monkeys__daterange-1": 3, "swe-monkeys__slugkit-1": 6}
    assert "coverage 100.0%" in result.output
    line = ("adaptive allocation: 10 samples for 3 problems, coverage 100.0%; uniform k = 7 (21 samples) solves 3/3, "
            "which the adaptive rounds reached after 10 samples: 11 samples saved, 52% at equal coverage")
    assert line in result.output
    # priced by the hardware that served it (here 2 CPU cores for the FAKE model), the line has dollars
    report = CliRunner().invoke(main_app, ["report", str(run), "--no-plots", "--json", "--hardware", "cpu-core:2"])
    assert report.exit_code == 0, report.output
    data = json.loads(report.stdout)
    assert data["allocation"]["saved"] == 11 and data["allocation"]["exact"] is True
    assert data["allocation"]["dollars_saved"] > 0
    assert re.search(r"uniform k = 7 \(21 samples \(\$[\d.e-]+\)\) solves 3/3, .* 11 samples saved \(\$[\d.e-]+\), "
                     r"52% at equal coverage", data["allocation"]["line"])


@pytest.fixture
def dataset(tmp_path, examples) -> Path:
    path = tmp_path / "instances.jsonl"
    path.write_text("".join(json.dumps(ex.instance.to_row()) + "\n" for name, ex in examples.items()
                            if name in ("calc", "daterange", "slugkit")))
    return path


def test_unknown_allocation_is_one_clear_line(tmp_path):
    """Refused where it is parsed: no dataset is needed to say so, and nothing is begun."""
    from swe_monkeys.cli.solve import app

    result = CliRunner().invoke(app, ["sweep", "--task", "gsm8k", "--dataset", str(tmp_path / "absent"),
                                      "--run", str(tmp_path / "r"), "--allocate", "greedy"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert lines[0].startswith("error: Invalid value for '--allocate': ")
    assert "'greedy' is not one of 'uniform', 'adaptive'" in lines[0]
    assert not (tmp_path / "r").exists()
