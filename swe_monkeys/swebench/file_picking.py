"""Model localisation (optional): one model call per instance picks the files to edit, and every
sample of the instance shares the resulting prompt (Agentless-style; the paper's SWE-bench setup).

The call sees the issue and the BM25-ranked file paths (configs/prompts/swebench_pick_files.txt),
answers with paths, and `parse_picked` keeps those that exist, in its order. The picks are kept in
the run store's meta (`picked_files`), so a resumed or grown run sends the very same prompt; the
call's tokens are recorded there too (`picking_tokens`) and are part of what the run cost.
"""

from __future__ import annotations

import re
from string import Template
from typing import Any

from swe_monkeys.paths import CONFIGS
from swe_monkeys.sampling.protocol import Prompt, Request, SamplingParams
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.swebench.prompting import PromptConfig, localised_files, rank_files
from swe_monkeys.types import SWEInstance

LISTED_PATHS = 60  # paths shown to the model: the BM25 head of the repository


def parse_picked(text: str, known: list[str], limit: int) -> list[str]:
    """Paths from the model's answer that exist (bullets, quotes, backticks and ./ ignored), in order."""
    known_set, picked = set(known), []
    for token in re.findall(r"[\w./-]+\.\w+", text):
        path = token.removeprefix("./")
        if path in known_set and path not in picked:
            picked.append(path)
    return picked[:limit]


def pick_prompt(inst: SWEInstance, ranked: list[str], limit: int) -> str:
    template = Template((CONFIGS / "prompts" / "swebench_pick_files.txt").read_text())
    return template.substitute(repo=inst.repo, problem_statement=inst.problem_statement.strip(), limit=limit,
                               paths="\n".join(ranked[:LISTED_PATHS]))


def picked_files(store: RunStore, instances: list[SWEInstance], repo_cache: Any, config: PromptConfig,
                 sampler: Any, seed: int) -> dict[str, list[str]]:
    """instance id -> the files the model picked (asked once per instance per run, then read back)."""
    picks: dict[str, list[str]] = dict(store.get_meta("picked_files") or {})
    tokens = int(store.get_meta("picking_tokens") or 0)
    for inst in instances:
        if inst.instance_id in picks:
            continue
        _, files = localised_files(inst, repo_cache, config)
        ranked = rank_files(inst.problem_statement, files)
        request = Request(Prompt.chat(pick_prompt(inst, ranked, config.pick_files)),
                          SamplingParams(temperature=0.0, max_tokens=256, seed=seed), n=1, seed=seed)
        completion = sampler.complete(request)
        text = completion.samples[0].text if completion.samples else ""
        picks[inst.instance_id] = parse_picked(text, ranked, config.pick_files)
        tokens += completion.prompt_tokens + sum(s.completion_tokens for s in completion.samples)
        store.set_meta("picked_files", picks)
        store.set_meta("picking_tokens", tokens)
    return {i.instance_id: picks[i.instance_id] for i in instances}
