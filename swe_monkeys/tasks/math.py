"""The math tasks, GSM8K and MATH (MATH-500): problems with few-shot chat prompts, answer extraction,
and a checker that compares final answers with the gold one.

- `GSM8K().load(source)`: rows {"question", "answer" ending in "#### N"} from a file or a folder
  (test.jsonl[.gz]; few-shot exemplars from train.jsonl[.gz] beside it, or `few_shot_source`), or from
  the Hugging Face hub (openai/gsm8k, "main") when source is None. Ids "gsm8k/<0-based row>".
- `MATH().load(source)`: rows {"problem", "solution", "answer", "subject", "level", "unique_id"}
  (folder: test.jsonl[.gz]; hub: HuggingFaceH4/MATH-500). Ids "math/<unique_id>". Exemplars are the
  four Minerva ones in configs/prompts/math.txt, or drawn from `few_shot_source`.
- `extract` keeps the completion as the candidate and stores the canonical final answer (`answer`,
  the majority-vote key) with `extract_status` "ok" or "no_answer".
- `checker()` judges: GSM8K by exact value of the final number, MATH by math-verify (math_answers.py).

Few-shot exemplars are drawn with a seed fixed per problem id, and never include the problem itself.
Prompts are data: configs/prompts/<task>.txt (sections, see `PromptTemplate`).
"""

from __future__ import annotations

import random
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any, Iterator, Optional, Sequence

from swe_monkeys.paths import CONFIGS
from swe_monkeys.sampling.protocol import Prompt
from swe_monkeys.tasks import Extracted, TaskError, TaskProblem, select_problems
from swe_monkeys.tasks.data import hub_rows, read_rows
from swe_monkeys.tasks.math_answers import (IsolatedVerifier, canonical_number, gsm8k_answer, judge_latex, last_boxed,
                                            math_answer, math_key)
from swe_monkeys.types import Status, Verdict

_SECTION = re.compile(r"^\[([a-z][a-z ]*)\]$")


@dataclass(frozen=True)
class PromptTemplate:
    """A chat prompt as data: [user] and [assistant] turn templates (string.Template), an optional
    [system] text, and fixed exemplars ([example problem] / [example solution] pairs)."""

    user: Template
    assistant: Template
    system: str = ""
    examples: tuple[tuple[str, str], ...] = ()

    @classmethod
    def read(cls, path: Path) -> "PromptTemplate":
        sections: list[tuple[str, list[str]]] = []
        for line in path.read_text().splitlines():
            m = _SECTION.match(line)
            if m:
                sections.append((m.group(1), []))
            elif sections:
                sections[-1][1].append(line)
        text = [(name, "\n".join(lines).strip("\n")) for name, lines in sections]
        named = dict(text)
        if "user" not in named or "assistant" not in named:
            raise TaskError(f"{path}: a prompt template needs [user] and [assistant] sections")
        problems = [t for n, t in text if n == "example problem"]
        solutions = [t for n, t in text if n == "example solution"]
        if len(problems) != len(solutions):
            raise TaskError(f"{path}: every [example problem] needs an [example solution]")
        return cls(Template(named["user"]), Template(named["assistant"]), named.get("system", ""),
                   tuple(zip(problems, solutions)))

    def render(self, shots: Sequence[dict[str, str]], fields: dict[str, str]) -> Prompt:
        """Exemplars as user/assistant turns, then the problem's own user turn."""
        head = ({"role": "system", "content": self.system},) if self.system else ()
        try:
            turns = [turn for shot in shots for turn in (
                {"role": "user", "content": self.user.substitute(shot)},
                {"role": "assistant", "content": self.assistant.substitute(shot)})]
            return Prompt(messages=head + tuple(turns) + ({"role": "user", "content": self.user.substitute(fields)},))
        except (KeyError, ValueError) as exc:
            raise TaskError(f"prompt template: bad or unknown placeholder ({exc})") from None


def split_file(source: Path, split: str) -> Optional[Path]:
    """<split>.jsonl[.gz] in a folder (None if absent)."""
    return next((p for p in (source / f"{split}.jsonl", source / f"{split}.jsonl.gz") if p.is_file()), None)


def pick_shots(pool: Sequence[dict[str, str]], k: int, problem_id: str, text: str, seed: int = 0,
               key: str = "question") -> list[dict[str, str]]:
    """k exemplars of the pool, drawn with a seed fixed per problem id, never the problem itself."""
    norm = " ".join(text.split())
    draw = random.Random(f"{seed}:{problem_id}").sample(range(len(pool)), min(len(pool), k + 8))
    return [pool[i] for i in draw if " ".join(pool[i][key].split()) != norm][:k]


def _pool_file(path: Path) -> Path:
    """A few-shot source: a file, or a folder's train.jsonl[.gz]."""
    return (split_file(path, "train") or path) if path.is_dir() else path


class _MathTask:
    """What GSM8K and MATH share: options, loading, the checker; subclasses read rows and answers."""

    name = ""
    preset = "math"
    # `sweep --allocate adaptive`: at deployment math has no oracle, so a problem is settled by
    # majority-vote confidence (tasks/allocation.py), not by a correct answer.
    stop_rule = "majority"
    hub_name = ""
    text_key = ""  # the row field holding the problem statement

    def __init__(self, few_shot: int = 5, few_shot_source: Optional[str] = None, seed: int = 0,
                 template: Optional[str] = None, timeout_seconds: int = 5):
        self.few_shot, self.few_shot_source, self.seed = few_shot, few_shot_source, seed
        self.template_path = Path(template) if template else CONFIGS / "prompts" / f"{self.name}.txt"
        self.timeout_seconds = timeout_seconds

    @classmethod
    def from_preset(cls, preset: Any, **options: Any) -> "_MathTask":
        """Configured by a typed preset: the number of worked examples in front of each problem."""
        return cls(few_shot=preset.few_shot, **options)

    def load(self, source: Optional[str], select: Sequence[str] = ()) -> list[TaskProblem]:
        if source is None:
            where, rows = self.hub_name, self._hub_test_rows()
        else:
            path = Path(source)
            test = split_file(path, "test") if path.is_dir() else path
            if test is None or not test.is_file():
                raise TaskError(f"{source}: no such file (expected a .jsonl[.gz] file or a folder with test.jsonl)")
            where, rows = str(test), read_rows(test)
        template = PromptTemplate.read(self.template_path)
        pool = self._pool(source, template) if self.few_shot > 0 else []
        problems = [self._problem(where, number, row, template, pool) for number, row in enumerate(rows, 1)]
        return select_problems(problems, select, where)

    def _pool(self, source: Optional[str], template: PromptTemplate) -> list[dict[str, str]]:
        raise NotImplementedError

    def _problem(self, where: str, number: int, row: dict, template: PromptTemplate,
                 pool: list[dict[str, str]]) -> TaskProblem:
        raise NotImplementedError

    def _shots(self, pool: list[dict[str, str]], problem_id: str, text: str) -> list[dict[str, str]]:
        return pick_shots(pool, self.few_shot, problem_id, text, self.seed, key=self.text_key)

    def find_answer(self, completion: str) -> tuple[Optional[str], str]:
        """(the raw final answer or None, where it was found)."""
        raise NotImplementedError

    def vote_key(self, answer: str) -> str:
        """The majority-vote key of an answer (equal answers should share it)."""
        return answer

    def extract(self, problem: TaskProblem, completion: str) -> Extracted:
        answer, found = self.find_answer(completion)
        return Extracted(completion, {"extract_status": "ok" if answer is not None else "no_answer",
                                      "answer": None if answer is None else self.vote_key(answer),
                                      "answer_from": found})

    def answer_of(self, completion: str) -> Optional[str]:
        return self.find_answer(completion)[0]

    @contextmanager
    def checker(self, options: Optional[dict[str, Any]] = None) -> Iterator["MathChecker"]:
        """options: timeout_seconds (per math-verify call; default the task's). A child process for
        math-verify is started only if judging happens outside the main thread; closed on exit."""
        checker = MathChecker(self, int((options or {}).get("timeout_seconds", self.timeout_seconds)))
        try:
            yield checker
        finally:
            checker.isolated.close()


class GSM8K(_MathTask):
    """Grade-school math: a final number, judged by exact value."""

    name = "gsm8k"
    hub_name = "openai/gsm8k"
    text_key = "question"

    def _hub_test_rows(self) -> list[dict[str, Any]]:
        return hub_rows(self.hub_name, "main", "test")

    def _pool(self, source: Optional[str], template: PromptTemplate) -> list[dict[str, str]]:
        if self.few_shot_source:
            rows = read_rows(_pool_file(Path(self.few_shot_source)))
        elif source is None:
            rows = hub_rows(self.hub_name, "main", "train")
        else:
            folder = Path(source) if Path(source).is_dir() else Path(source).parent
            train = split_file(folder, "train")
            if train is None:
                raise TaskError(f"{source}: no train.jsonl[.gz] beside it for few-shot exemplars; pass "
                                "few_shot_source or few_shot=0")
            rows = read_rows(train)
        pool = []
        for number, row in enumerate(rows, 1):
            gold = _gsm8k_gold(row, f"{self.few_shot_source or source or self.hub_name}: row {number}")
            body = row["answer"][:row["answer"].rfind("####")]
            solution = re.sub(r"<<[^<>]*>>", "", body).strip()
            pool.append({"question": row["question"].strip(), "solution": solution, "answer": gold})
        return pool

    def _problem(self, where, number, row, template, pool) -> TaskProblem:
        gold = _gsm8k_gold(row, f"{where}: row {number}")
        pid, question = f"gsm8k/{number - 1}", row["question"].strip()
        prompt = template.render(self._shots(pool, pid, question), {"question": question})
        return TaskProblem(pid, prompt, {"question": question, "answer": gold})

    def find_answer(self, completion: str) -> tuple[Optional[str], str]:
        return gsm8k_answer(completion)

    def judge_answer(self, problem: TaskProblem, answer: Optional[str], timeout: int,
                     isolated: Optional[IsolatedVerifier] = None) -> tuple[Status, str]:
        if answer is None:
            return Status.MALFORMED, "no final number found"
        gold = str(problem.data["answer"])
        same = answer == gold or canonical_number(gold) == answer
        return (Status.RESOLVED if same else Status.UNRESOLVED), f"answer {answer} {'=' if same else '!='} gold {gold}"


def _gsm8k_gold(row: dict, where: str) -> str:
    if not isinstance(row.get("question"), str) or not isinstance(row.get("answer"), str):
        raise TaskError(f"{where}: needs string fields question and answer")
    tail = row["answer"][row["answer"].rfind("####") + 4:] if "####" in row["answer"] else ""
    gold = canonical_number(tail.strip())
    if gold is None:
        raise TaskError(f"{where}: the answer does not end with '#### <number>'")
    return gold


class MATH(_MathTask):
    """Competition math (MATH-500): a LaTeX final answer in \\boxed{}, judged by math-verify."""

    name = "math"
    hub_name = "HuggingFaceH4/MATH-500"
    text_key = "problem"

    def _hub_test_rows(self) -> list[dict[str, Any]]:
        return hub_rows(self.hub_name, None, "test")

    def _pool(self, source: Optional[str], template: PromptTemplate) -> list[dict[str, str]]:
        if not self.few_shot_source:
            return [{"problem": p, "solution": s} for p, s in template.examples]
        path = _pool_file(Path(self.few_shot_source))
        rows = read_rows(path)
        for number, row in enumerate(rows, 1):
            if not isinstance(row.get("problem"), str) or not isinstance(row.get("solution"), str):
                raise TaskError(f"{path}: row {number}: needs string fields problem and solution")
        return [{"problem": r["problem"].strip(), "solution": r["solution"].strip()} for r in rows]

    def _shots(self, pool, problem_id, text):
        if self.few_shot_source:
            return super()._shots(pool, problem_id, text)
        norm = " ".join(text.split())  # the fixed exemplars, in their order, minus the problem itself
        return [s for s in pool if " ".join(s["problem"].split()) != norm][:self.few_shot]

    def _problem(self, where, number, row, template, pool) -> TaskProblem:
        if not isinstance(row.get("problem"), str) or not row.get("unique_id"):
            raise TaskError(f"{where}: row {number}: needs a string problem and a unique_id")
        answer = row.get("answer")
        if not isinstance(answer, str) or not answer.strip():
            answer = last_boxed(str(row.get("solution") or ""))
            if not answer:
                raise TaskError(f"{where}: row {number}: no answer (and no \\boxed{{}} in the solution)")
        pid, problem = f"math/{row['unique_id']}", row["problem"].strip()
        prompt = template.render(self._shots(pool, pid, problem), {"problem": problem})
        data = {"problem": problem, "answer": answer.strip(), "subject": row.get("subject"),
                "level": row.get("level"), "unique_id": row["unique_id"]}
        return TaskProblem(pid, prompt, data)

    def find_answer(self, completion: str) -> tuple[Optional[str], str]:
        return math_answer(completion)

    def vote_key(self, answer: str) -> str:
        return math_key(answer)

    def judge_answer(self, problem: TaskProblem, answer: Optional[str], timeout: int,
                     isolated: Optional[IsolatedVerifier] = None) -> tuple[Status, str]:
        if answer is None:
            return Status.MALFORMED, "no \\boxed{} or 'the answer is' found"
        correct, reason = judge_latex(str(problem.data["answer"]), answer, timeout, isolated)
        if correct is None:  # the math-verify process is unavailable: not a judgement, retried later
            return Status.INFRA_ERROR, reason
        return (Status.RESOLVED if correct else Status.UNRESOLVED), reason


class MathChecker:
    """Judges completions of one math task; answers already judged for a problem are not judged again."""

    def __init__(self, task: _MathTask, timeout_seconds: int = 5, cache_size: int = 100_000):
        self.task, self.timeout_seconds, self.cache_size = task, max(1, timeout_seconds), cache_size
        self._cache: dict[tuple[str, Optional[str]], tuple[Status, str]] = {}
        self.isolated = IsolatedVerifier()

    def judge(self, problem: TaskProblem, candidates: Sequence[tuple[str, dict[str, Any]]]) -> list[Verdict]:
        return [self._one(problem, content) for content, _meta in candidates]

    def _one(self, problem: TaskProblem, completion: str) -> Verdict:
        start = time.monotonic()
        if not str(problem.data.get("answer") or ""):
            return Verdict(Status.INFRA_ERROR, f"{problem.id}: the problem has no gold answer")
        key = (problem.id, self.task.answer_of(completion))  # the raw answer: equal ones judge alike
        status, reason = self._cache.get(key) or self.task.judge_answer(problem, key[1], self.timeout_seconds,
                                                                         self.isolated)
        if status is not Status.INFRA_ERROR:  # an infra error is retried, never remembered
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            self._cache[key] = (status, reason)
        return Verdict(status, reason, seconds=time.monotonic() - start)
