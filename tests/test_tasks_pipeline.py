"""The task pipeline with a FAKE task and a FAKE scripted sampler: sampling into the store with
extraction, judging unique candidates once, resume/grow, import of outside samples, scoring,
the summary table and the report's selection curves. Real tasks are tested in test_tasks_math.py
and test_tasks_code.py; the real model in test_sampling_vllm_e2e.py."""

from __future__ import annotations

import contextlib
import json
import re

import pytest
from typer.testing import CliRunner

from swe_monkeys.cli import app
from swe_monkeys.sampling.protocol import Prompt, SamplingParams
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.sampling.fake import FakeSampler as FakeEditSampler
from swe_monkeys.tasks import Extracted, TaskError, TaskProblem
from swe_monkeys.tasks.importer import import_file
from swe_monkeys.tasks.pipeline import TaskRunConfig, run_task, verify_run
from swe_monkeys.tasks.scoring import score_run, yes_probability
from swe_monkeys.tasks.summary import coverage_rows
from swe_monkeys.types import Status, Verdict


class FakeArithmeticTask:
    """A FAKE task: the answer is the last integer of the completion; the checker counts its calls."""

    name, preset = "fake-arith", "math"

    def __init__(self):
        self.judged: list[str] = []

    def load(self, source, select=()):
        return [TaskProblem(f"fake/{i}", Prompt.chat(f"What is {i} + {i}?"), {"answer": str(2 * i)}) for i in range(3)]

    def extract(self, problem, completion):
        found = re.findall(r"-?\d+", completion)
        return Extracted(content=completion, meta={"extract_status": "ok" if found else "no_answer",
                                                   "answer": found[-1] if found else None})

    @contextlib.contextmanager
    def checker(self, options=None):
        task = self

        class Checker:
            def judge(self, problem, candidates):
                out = []
                for content, meta in candidates:
                    task.judged.append(content)
                    if meta.get("answer") is None:
                        out.append(Verdict(Status.MALFORMED, "no answer"))
                    else:
                        ok = meta["answer"] == problem.data["answer"]
                        out.append(Verdict(Status.RESOLVED if ok else Status.UNRESOLVED, f"answer {meta['answer']}"))
                return out

        yield Checker()


SCRIPT = ["The answer is 0.", "I think 2", "no idea", "The answer is 2.", "4", "The answer is 0."]


def _run(tmp_path, task, samples):
    config = TaskRunConfig(samples=samples, params=SamplingParams(seed=0), poll_seconds=0.05)
    with RunStore(tmp_path / "run") as store:
        progress = run_task(store, task, task.load(None), FakeEditSampler(SCRIPT, max_n=2), config).progress
        return progress, store.sample_table(), coverage_rows(store)


def test_sampling_extracts_judges_once_per_unique_candidate_and_grows(tmp_path):
    task = FakeArithmeticTask()
    progress, rows, _ = _run(tmp_path, task, 4)
    assert progress.samples == 12 and progress.verified == 12
    assert all(r["status"] is not None for r in rows)
    assert rows[2]["meta"]["extract_status"] == "no_answer" and rows[2]["status"] == "malformed"
    assert len(task.judged) == 12  # four different completions per problem
    progress, rows, (table, totals) = _run(tmp_path, task, 6)  # grow: only the 2 missing per problem
    assert len(task.judged) == 15  # sample 5 repeats sample 0: its verdict is reused, not judged again
    assert progress.samples == 18 and [r["sample_idx"] for r in rows if r["problem_id"] == "fake/1"] == list(range(6))
    by_problem = {r["problem_id"]: r for r in table}
    assert by_problem["fake/0"]["correct"] == 2 and by_problem["fake/1"]["correct"] == 2
    assert by_problem["fake/2"]["correct"] == 1  # "4"
    assert totals["coverage"] == 1.0 and totals["majority"] is not None


def test_import_is_idempotent_and_a_bad_line_writes_nothing(tmp_path):
    task = FakeArithmeticTask()
    problems = task.load(None)
    good = tmp_path / "samples.jsonl"
    good.write_text("\n".join(json.dumps(r) for r in [
        {"task_id": "fake/1", "completion": "2"}, {"task_id": "1", "completion": "3"},
        {"task_id": "fake/2", "completion": "4"}]) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"task_id": "fake/1", "completion": "2"}) + "\n" + json.dumps({"task_id": "fake/9"}))
    with RunStore(tmp_path / "run") as store:
        with pytest.raises(TaskError, match="line 2: unknown fake-arith problem 'fake/9'"):
            import_file(store, task, problems, bad)
        assert store.candidates() == []
        assert import_file(store, task, problems, good) == {"added": 3, "skipped": 0, "problems": 2}
        assert import_file(store, task, problems, good) == {"added": 0, "skipped": 3, "problems": 0}
        assert verify_run(store, task) == 3
        assert verify_run(store, task) == 0  # nothing left to judge
        statuses = {(r["problem_id"], r["sample_idx"]): r["status"] for r in store.sample_table()}
    assert statuses == {("fake/1", 0): "resolved", ("fake/1", 1): "unresolved", ("fake/2", 0): "resolved"}


class FakeScorer:
    """A FAKE reward model: prefers completions that say 'The answer is'."""

    name = "fake-judge"

    def score(self, problem, completion):
        return 0.9 if "The answer is" in completion else 0.1


def test_scores_resume_and_reach_the_report(tmp_path):
    from swe_monkeys.metrics.report import build_report

    task = FakeArithmeticTask()
    _run(tmp_path, task, 6)
    with RunStore(tmp_path / "run") as store:
        assert score_run(store, FakeScorer()) == {"scored": 18, "already": 0, "failed": 0}
        assert score_run(store, FakeScorer()) == {"scored": 0, "already": 18, "failed": 0}
    report = build_report(tmp_path / "run")
    names = [c.name for c in report.curves]
    assert names[:2] == ["coverage", "majority vote"] and "best-of-k by score" in names
    assert report.task == "fake-arith"


def test_yes_probability_reads_the_first_token_alternatives():
    import math

    alts = [{"token": "Yes", "logprob": math.log(0.6)}, {"token": " no", "logprob": math.log(0.2)},
            {"token": "Maybe", "logprob": math.log(0.1)}]
    assert yes_probability(alts) == pytest.approx(0.75)
    assert yes_probability([{"token": "Hmm", "logprob": 0.0}]) is None


def test_unknown_task_lists_the_valid_ones(tmp_path):
    (tmp_path / "x.json").write_text('["x"]')
    result = CliRunner().invoke(app, ["sweep", "--task", "nope", "--run", str(tmp_path / "r"), "--fake",
                                      str(tmp_path / "x.json")])
    assert result.exit_code == 1 and "unknown task 'nope'; valid: codecontests, gsm8k, humaneval, math, mbpp, swebench" in result.output


def test_verify_without_predictions_needs_a_run(tmp_path):
    result = CliRunner().invoke(app, ["verify"])
    assert result.exit_code == 2 and "give SWE-bench PREDICTIONS" in result.output


def _tiny_gsm8k(folder):
    folder.mkdir()
    rows = [{"question": f"Tom has {i} apples and buys {i} more. How many now?", "answer": f"{i}+{i}\n#### {2 * i}"}
            for i in range(1, 9)]
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:3]))
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[3:]))
    return folder


def test_cli_sweep_task_with_a_fake_model_resumes_and_prints_the_table(tmp_path):
    data = _tiny_gsm8k(tmp_path / "gsm8k")
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["The answer is 2.", "#### 4", "no idea", "The answer is 6."]))
    args = ["sweep", "--task", "gsm8k", "--dataset", str(data), "--run", str(tmp_path / "run"), "--fake", str(script),
            "-q"]
    first = CliRunner().invoke(app, [*args, "-k", "2"])
    assert first.exit_code == 0, first.output
    grown = CliRunner().invoke(app, [*args, "-k", "4"])
    assert grown.exit_code == 0, grown.output
    assert "gsm8k/0" in grown.output and "coverage 100.0%" in grown.output and "majority vote" in grown.output
    with RunStore(tmp_path / "run") as store:
        rows = store.sample_table()
        assert store.get_meta("task") == "gsm8k" and len(store.problems()) == 3
    assert len(rows) == 12 and all(r["status"] in ("resolved", "unresolved", "malformed") for r in rows)


def test_cli_sweep_task_checks_the_dataset_before_starting_a_server(tmp_path):
    result = CliRunner().invoke(app, ["sweep", "--task", "gsm8k", "--dataset", str(tmp_path / "nope"), "--run",
                                      str(tmp_path / "run"), "--serve", "no-such-model"])
    assert result.exit_code == 1 and "error:" in result.output and "nope" in result.output, result.output
    assert "starting vLLM" not in result.output
