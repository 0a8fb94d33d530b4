"""The math tasks (GSM8K, MATH-500): extraction and equivalence on real dataset rows, loading, few-shot
prompts, and hostile completions. Real rows come from ../shared/data; a tiny synthetic dataset written
by a fixture keeps the loading tests running without it."""

from __future__ import annotations

import gzip
import json
import threading
import time

import pytest

from swe_monkeys.tasks import TaskError, get_task
from swe_monkeys.tasks.math_answers import (canonical_number, gsm8k_answer, judge_latex, last_boxed,
                                            math_answer, math_key)
from swe_monkeys.types import Status
from tests.conftest import SHARED_DATA

GSM8K_DIR, MATH_DIR = SHARED_DATA / "gsm8k", SHARED_DATA / "math500"


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def gsm8k_rows():
    if not (GSM8K_DIR / "test.jsonl").is_file():
        pytest.skip(f"../shared/data absent: no {GSM8K_DIR}/test.jsonl")
    return _rows(GSM8K_DIR / "test.jsonl")


@pytest.fixture(scope="module")
def math_rows():
    if not (MATH_DIR / "test.jsonl").is_file():
        pytest.skip(f"../shared/data absent: no {MATH_DIR}/test.jsonl")
    return _rows(MATH_DIR / "test.jsonl")


@pytest.fixture
def tiny(tmp_path):
    """A synthetic GSM8K folder (4 test rows, 8 train rows gzipped) and a 3-row MATH file."""
    gsm = tmp_path / "gsm8k"
    gsm.mkdir()
    test = [{"question": f"Tom has {n} apples and buys {n} more. How many apples?",
             "answer": f"He has {n}+{n}=<<{n}+{n}={2 * n}>>{2 * n} apples.\n#### {2 * n:,}"} for n in (3, 40, 600, 700)]
    train = [{"question": f"Ann has {n} pens and loses 1. How many pens?",
              "answer": f"{n}-1=<<{n}-1={n - 1}>>{n - 1}\n#### {n - 1}"} for n in range(2, 10)]
    (gsm / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in test))
    (gsm / "train.jsonl.gz").write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in train).encode()))
    math = tmp_path / "math.jsonl"
    rows = [{"problem": "What is $1/2 + 1/4$?", "solution": "It is $\\boxed{\\frac{3}{4}}$.", "answer": "\\frac{3}{4}",
             "subject": "Algebra", "level": 1, "unique_id": "test/algebra/1.json"},
            {"problem": "Solve $x+1=4$.", "solution": "So $x=\\boxed{3}$.", "answer": "3",
             "subject": "Algebra", "level": 1, "unique_id": "test/algebra/2.json"},
            {"problem": "Who?", "solution": "$\\boxed{\\text{Evelyn}}$", "answer": "\\text{Evelyn}",
             "subject": "Algebra", "level": 2, "unique_id": "test/algebra/3.json"}]
    math.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return {"gsm8k": gsm, "math": math, "train": train}


def _judge(task, problem, *completions):
    with task.checker() as checker:
        return checker.judge(problem, [(c, {}) for c in completions])


# ---------------------------------------------------------------- GSM8K on real rows

def test_gsm8k_gold_solutions_extract_to_their_gold(gsm8k_rows):
    task = get_task("gsm8k")
    problems = task.load(str(GSM8K_DIR), ["0:200"])
    for row, problem in zip(gsm8k_rows[:200], problems):
        extracted = task.extract(problem, row["answer"])
        assert extracted.meta["extract_status"] == "ok"
        assert extracted.meta["answer"] == problem.data["answer"], row["answer"]
        assert extracted.content == row["answer"]  # the completion itself is the candidate
    verdicts = _judge(task, problems[0], gsm8k_rows[0]["answer"], "She makes $18.00 a day. The answer is 18.",
                      "The answer is 17.", "I cannot tell.")
    assert [v.status for v in verdicts] == [Status.RESOLVED, Status.RESOLVED, Status.UNRESOLVED, Status.MALFORMED]
    assert verdicts[0].reason == "answer 18 = gold 18"


def test_gsm8k_extraction_order_and_number_forms():
    assert gsm8k_answer("3 + 4 = 7\n#### 7")[0] == "7"
    assert gsm8k_answer("It costs 5, so the answer is $1,250.00. Check: 12")[0] == "1250"
    assert gsm8k_answer("First 3, then 4... total \\boxed{12} (or 13)")[0] == "12"
    assert gsm8k_answer("16 - 3 - 4 = 9 eggs, 9 * 2 = 18")[0] == "18"
    assert gsm8k_answer("The temperature falls to -5 degrees") == ("-5", "last number")
    assert gsm8k_answer("no digits here") == (None, "no_answer")
    assert [canonical_number(s) for s in ("1,000", "$18.00", "3/4", "1/3", "-0.50", "2/0", "x")] == \
        ["1000", "18", "0.75", "1/3", "-0.5", None, None]


# ---------------------------------------------------------------- MATH on real rows

def test_math500_gold_boxed_answers_verify_for_all_500(math_rows):
    failures = []
    for row in math_rows:
        boxed = last_boxed(row["solution"])
        correct, reason = judge_latex(row["answer"], boxed or "", 5)
        if not correct:
            failures.append((row["unique_id"], reason))
    assert len(math_rows) == 500
    assert not failures, failures  # math-verify agrees on every one (checked: 0 of 500 fail)


def test_math_load_ids_data_and_prompt(math_rows):
    task = get_task("math")
    problems = task.load(str(MATH_DIR))
    assert len(problems) == 500
    first = problems[0]
    assert first.id == "math/test/precalculus/807.json"
    assert first.data["answer"] == math_rows[0]["answer"] and first.data["level"] == 2
    messages = first.prompt.messages
    assert [m["role"] for m in messages] == ["user", "assistant"] * 4 + ["user"]  # 4 Minerva exemplars
    assert "\\boxed{}" in messages[-1]["content"] and math_rows[0]["problem"].strip() in messages[-1]["content"]
    verdicts = _judge(task, first, math_rows[0]["solution"], "So $\\boxed{(3, \\pi/2)}$.",
                      "The final answer is $(3, \\pi)$. I hope it is correct.", "I give up.")
    assert [v.status for v in verdicts] == [Status.RESOLVED, Status.RESOLVED, Status.UNRESOLVED, Status.MALFORMED]
    assert task.load(str(MATH_DIR), ["math/test/precalculus/*"])[0].id.startswith("math/test/precalculus/")


@pytest.mark.parametrize("gold, answer, same", [
    ("\\frac{1}{2}", "0.5", True), ("\\frac{1}{2}", "1/2", True), ("\\frac{1}{2}", "\\dfrac{1}{2}", True),
    ("\\frac12", "\\tfrac{1}{2}", True), ("3", "x=3", True), ("3", "x = 3", True),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\pi/2)", True), ("90^\\circ", "90", True),
    ("\\frac{\\sqrt{2}}{2}", "\\sqrt{2}/2", True), ("\\text{Evelyn}", "\\text{Evelyn}", True),
    ("\\frac{1}{2}", "0.51", False), ("3", "4", False), ("(3, \\frac{\\pi}{2})", "(3, \\pi)", False),
    ("2", "", False)])
def test_math_equivalence_by_math_verify(gold, answer, same):
    correct, reason = judge_latex(gold, answer, 5)
    assert correct is same, reason
    assert ("=" if same else "!=") in reason


def test_math_extraction_and_vote_keys():
    assert math_answer("so $\\boxed{\\frac{1}{2}}$ and later \\boxed{3") == ("\\frac{1}{2}", "boxed")  # unclosed last
    assert math_answer("\\fbox{7}") == ("7", "boxed")
    assert math_answer("Final Answer: The final answer is $\\frac{2}{3}$. I hope it is correct.")[0] == "\\frac{2}{3}"
    assert math_answer("nothing here") == (None, "no_answer")
    assert math_answer("\\boxed{}") == (None, "no_answer")
    matrix = "\\begin{pmatrix} 1 \\\\ {2} \\end{pmatrix}"
    assert last_boxed("\\boxed{" + matrix + "}") == matrix
    assert len({math_key(a) for a in ("\\frac{1}{2}", "\\dfrac{1}{2}", "0.5", "1/2", "\\frac12")}) == 1
    assert math_key("x = 3") == math_key("3") == "3"
    assert math_key("\\left( 3, \\frac{\\pi}{2} \\right)") == math_key("(3,\\frac{\\pi}{2})")
    assert math_key("4") != math_key("5")


# ---------------------------------------------------------------- loading, few-shot, errors (synthetic)

def test_gsm8k_load_select_and_few_shot(tiny):
    task = get_task("gsm8k")
    problems = task.load(str(tiny["gsm8k"]))
    assert [p.id for p in problems] == ["gsm8k/0", "gsm8k/1", "gsm8k/2", "gsm8k/3"]
    assert [p.data["answer"] for p in problems] == ["6", "80", "1200", "1400"]  # "#### 1,200" -> 1200
    assert [p.id for p in task.load(str(tiny["gsm8k"]), ["1:3"])] == ["gsm8k/1", "gsm8k/2"]
    assert [p.id for p in task.load(str(tiny["gsm8k"] / "test.jsonl"), ["gsm8k/3", "0:1"])] == ["gsm8k/0", "gsm8k/3"]
    messages = problems[0].prompt.messages
    assert [m["role"] for m in messages] == ["user", "assistant"] * 5 + ["user"]
    exemplar = messages[1]["content"]
    assert "<<" not in exemplar and exemplar.endswith(f"The answer is {gsm8k_answer(exemplar)[0]}.")
    again = task.load(str(tiny["gsm8k"]))
    assert [p.prompt for p in again] == [p.prompt for p in problems]  # deterministic per problem id
    assert problems[0].prompt != problems[1].prompt or problems[0].data != problems[1].data


def test_few_shot_never_includes_the_problem_itself(tiny):
    task = get_task("gsm8k").__class__(few_shot=5, few_shot_source=str(tiny["gsm8k"] / "test.jsonl"))
    for problem in task.load(str(tiny["gsm8k"])):
        shots = problem.prompt.messages[:-1:2]
        assert len(shots) == 3  # the other three test rows: the pool minus the problem itself
        assert all(problem.data["question"] not in m["content"] for m in shots)
    zero = get_task("gsm8k").__class__(few_shot=0).load(str(tiny["gsm8k"]))
    assert len(zero[0].prompt.messages) == 1


def test_math_load_synthetic_and_judge(tiny):
    task = get_task("math")
    problems = task.load(str(tiny["math"]))
    assert [p.id for p in problems] == [f"math/test/algebra/{n}.json" for n in (1, 2, 3)]
    verdicts = _judge(task, problems[0], "$\\boxed{0.75}$", "\\boxed{\\dfrac{3}{4}}", "\\boxed{3/5}", "no idea")
    assert [v.status for v in verdicts] == [Status.RESOLVED, Status.RESOLVED, Status.UNRESOLVED, Status.MALFORMED]
    assert task.extract(problems[1], "so \\boxed{x = 3}").meta == {"extract_status": "ok", "answer": "3",
                                                                   "answer_from": "boxed"}
    assert task.extract(problems[1], "hmm").meta["extract_status"] == "no_answer"
    assert _judge(task, problems[2], "\\boxed{\\text{Evelyn}}")[0].status is Status.RESOLVED


def test_bad_sources_raise_task_error(tiny, tmp_path):
    gsm8k, math = get_task("gsm8k"), get_task("math")
    with pytest.raises(TaskError, match="no such file"):
        gsm8k.load(str(tmp_path / "missing.jsonl"))
    broken = tmp_path / "broken" / "test.jsonl"
    broken.parent.mkdir()
    broken.write_text('{"question": "q", "answer": "#### 3"}\n{"question": "q2", "answer": "no final line"}\n')
    with pytest.raises(TaskError, match=r"test.jsonl: row 2: .*####"):
        gsm8k.__class__(few_shot=0).load(str(broken))
    broken.write_text('{"question": "q", "answer": "#### 3"}\nnot json\n')
    with pytest.raises(TaskError, match="row 2: not JSON"):
        gsm8k.__class__(few_shot=0).load(str(broken))
    with pytest.raises(TaskError, match="no train.jsonl"):
        gsm8k.load(str(tiny["gsm8k"] / ".." / "math.jsonl"))
    broken.write_text('{"problem": "p", "unique_id": "u", "solution": "no box"}\n')
    with pytest.raises(TaskError, match="row 1: no answer"):
        math.load(str(broken))
    with pytest.raises(TaskError, match="no problem matches gsm8k/99"):
        gsm8k.load(str(tiny["gsm8k"]), ["gsm8k/99"])


def test_hub_without_datasets_package_says_pass_a_local_file(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_datasets(name, *args, **kwargs):
        if name == "datasets":
            raise ImportError("no datasets")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_datasets)
    with pytest.raises(TaskError, match="pass a local file"):
        get_task("gsm8k").load(None)


# ---------------------------------------------------------------- hostile completions

HOSTILE = {
    "a megabyte of open braces": "\\boxed{" + "{" * 1_000_000,
    "a megabyte of close braces": "}" * 1_000_000,
    "many unclosed boxes": "\\boxed{" * 150_000,
    "deep balanced braces": "\\boxed{" + "{" * 500_000 + "}" * 500_000 + "}",
    "a megabyte of digits": "9" * 1_000_000,
    "thousands separators": "1,000" * 200_000,
    "repeated 'answer is'": "the answer is " * 70_000,
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_completions_return_quickly(name):
    text = HOSTILE[name]
    start = time.monotonic()
    gsm8k_answer(text)
    raw, _ = math_answer(text)
    if raw is not None:
        math_key(raw)
        assert judge_latex("3", raw, 2)[0] is False
    assert time.monotonic() - start < 3, name


def test_math_verify_hangs_become_verdicts_in_main_and_worker_threads(tiny):
    """SIGALRM works only in the main thread; elsewhere the checker uses a child process it can kill.
    9^{9^{9^9}} makes sympy do big-integer arithmetic that holds the GIL."""
    task = get_task("math")
    problem = task.load(str(tiny["math"]))[1]
    tower = "\\boxed{9^{9^{9^{9^{9}}}}}"
    results = {}

    def judge(label):
        with task.checker({"timeout_seconds": 1}) as checker:
            start = time.monotonic()
            results[label] = (checker.judge(problem, [(tower, {}), ("\\boxed{3}", {})]), time.monotonic() - start)

    judge("main")
    worker = threading.Thread(target=judge, args=("worker",))
    worker.start()
    worker.join(60)
    assert not worker.is_alive()
    for label, (verdicts, seconds) in results.items():
        assert [v.status for v in verdicts] == [Status.UNRESOLVED, Status.RESOLVED], label
        assert seconds < 15, label
