"""Reward-model scoring: a number per sample that selection methods (best-of-k, weighted vote) rank by.

`Scorer` is one method, `score(problem, completion) -> float` (higher is better). The real
implementation, `JudgeScorer`, asks a model at any OpenAI-compatible endpoint (vLLM, llama.cpp, a
provider) whether the solution is correct, with the prompt in configs/prompts/reward_judge.txt, and
reads the probability of "Yes" against "No" from the first token's logprobs: P(yes) / (P(yes) + P(no)).
That is how an LLM judge is used as a reward model (the paper's reward models gave a scalar per
sample the same way). `score_run` scores a run's samples that have no score yet and stores each in the
sample's meta (`score`), so it resumes; `report` then shows best-of-k by score beside majority vote.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from string import Template
from typing import Any, Optional, Protocol

from swe_monkeys.paths import CONFIGS
from swe_monkeys.sampling.protocol import SamplerError
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.tasks import TaskError, TaskProblem


class Scorer(Protocol):
    name: str

    def score(self, problem: TaskProblem, completion: str) -> float: ...


def _problem_text(problem: TaskProblem) -> str:
    """The problem as the judge reads it: the task's own statement, else the prompt's last user turn."""
    for key in ("question", "problem", "statement", "text"):
        if isinstance(problem.data.get(key), str):
            return problem.data[key]
    p = problem.prompt
    return p.text if not p.is_chat else next(m["content"] for m in reversed(p.messages) if m["role"] == "user")


def yes_probability(top_logprobs: list[dict[str, Any]]) -> Optional[float]:
    """P(yes) / (P(yes) + P(no)) over the first token's alternatives; None when neither is among them."""
    yes = no = 0.0
    for alt in top_logprobs:
        word = str(alt.get("token", "")).strip().lower()
        if word in ("yes", "no"):
            p = math.exp(float(alt["logprob"]))
            yes, no = (yes + p, no) if word == "yes" else (yes, no + p)
    return None if yes + no == 0 else yes / (yes + no)


@dataclass
class JudgeScorer:
    """An LLM judge at an OpenAI-compatible endpoint, scored by its Yes/No logprobs."""

    base_url: str
    model: str = ""
    api_key: Optional[str] = None
    template: str = "reward_judge"
    timeout: float = 300.0
    max_chars: int = 12000  # of the solution shown to the judge (its tail: where final answers are)

    def __post_init__(self) -> None:
        from swe_monkeys.sampling.openai_http import JsonClient

        self._client = JsonClient(self.base_url, self.api_key, timeout=self.timeout, concurrency=16, retries=4,
                                  backoff=1.0, backoff_max=30.0)
        self._template = Template((CONFIGS / "prompts" / f"{self.template}.txt").read_text())
        if not self.model:
            models = self._client.get("/models", retry=True).get("data", [])
            if len(models) != 1:
                raise SamplerError(f"{self.base_url} serves {len(models)} models; name one with --model")
            self.model = models[0]["id"]
        self.name = f"judge:{self.model}"

    def score(self, problem: TaskProblem, completion: str) -> float:
        prompt = self._template.safe_substitute(problem=_problem_text(problem), solution=completion[-self.max_chars:])
        reply = self._client.post("/chat/completions", {
            "model": self.model, "messages": [{"role": "user", "content": prompt}], "max_tokens": 1,
            "temperature": 0.0, "logprobs": True, "top_logprobs": 10})
        try:
            alts = reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
        except (KeyError, IndexError, TypeError):
            raise SamplerError(f"{self.base_url}: the reply has no logprobs (the endpoint must support "
                               "logprobs/top_logprobs)") from None
        p = yes_probability(alts)
        return 0.5 if p is None else p  # neither word among the alternatives: no opinion

    def close(self) -> None:
        self._client.close()


def score_run(store: RunStore, scorer: Scorer, concurrency: int = 8) -> dict[str, int]:
    """Score every sample of the run that has no score yet; returns scored / already / failed counts."""
    problems = {row["id"]: TaskProblem.from_json(row) for row in store.problems()}
    metas = store.candidate_metas()
    todo = [(cid, c) for cid, c in store.candidates() if "score" not in metas.get(cid, {})]
    counts = {"scored": 0, "already": len(metas) - len(todo), "failed": 0}
    if todo and not problems:
        raise TaskError(f"{store.dir}: no task problems recorded (scoring is for math and code runs)")

    def one(cid: int, cand: Any) -> float:
        text = metas[cid].get("completion", cand.content)
        return scorer.score(problems[cand.problem_id], text)

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = {pool.submit(one, cid, cand): cid for cid, cand in todo}
        for future in as_completed(futures):
            try:
                value = future.result()
            except SamplerError as exc:
                if not getattr(exc, "retryable", False) and "logprobs" in str(exc):
                    raise
                counts["failed"] += 1
                continue
            store.update_candidate_meta(futures[future], {"score": float(value), "scored_by": scorer.name})
            counts["scored"] += 1
    return counts
