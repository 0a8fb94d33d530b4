"""SWE-bench as a task: issues -> repair prompts, completions -> patches, patches -> verdicts in Docker.

The same task interface as math and code (tasks/__init__.py), on the same pipeline:
- `load`: instances from `lite` / `verified` / `full` (the hub, online) or a local file or folder,
  chosen by ids, globs or slices; a problem's data is its instance row;
- `prepare`: the prompt every sample of an issue shares, built once the model is up: BM25
  localisation within the prompt budget (swebench/prompting.py), first the files the model picked
  when the preset asks for it (file_picking.py, kept in the run so a resumed run sends the same);
- `extract`: a completion's edits -> a unified diff (swebench/edits.py); the recovery rules that
  fired are recorded; a completion that yields no patch is still a sample (judged `empty`);
- `content_key`: the normalised patch (comments and layout of Python dropped): a grouping hint
  for counting unique samples and for the vote, never what shares a verdict;
- `share_key`: the exact patch text (as intake cleans it). The rule for verdicts: identical text
  applies identically, so one text is judged once; *different* texts share a verdict only when the
  harness reports that they left the same applied tree (SWEChecker, by tree.applied_key), since a
  key re-derived on the host (normalised_key's in-memory apply) can place a hunk where git does
  not, or miss a file mode or a symlink;
- `checker`: `SWEChecker` (swebench/checker.py): intake, images, clean containers, gold statuses,
  the verdict cache;
- `vote_ok`: the oracle-free filter of selection: a candidate that breaks a PASS_TO_PASS test is
  dropped before the plurality vote over normalised patches.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from swe_monkeys.images import sources
from swe_monkeys.swebench.checker import instance_of
from swe_monkeys.sampling.protocol import Prompt
from swe_monkeys.tasks import Extracted, TaskProblem, select_problems
from swe_monkeys.types import SWEInstance, Verdict

FAILING = {"FAILED", "ERROR", "MISSING"}


class SWEBench:
    """The SWE-bench task. Options: the repo cache, prompt settings, recovery rules to switch off."""

    name, preset = "swebench", "swebench"

    def __init__(self, repo_cache: Optional[Path] = None, prompt: Any = None, allow_clone: bool = False,
                 disabled_rules: Sequence[str] = ()):
        from swe_monkeys.swebench.prompting import PromptConfig

        self.repo_cache = Path(repo_cache) if repo_cache else sources.default_repo_cache()
        self.prompt = prompt or PromptConfig()
        from swe_monkeys.swebench.edit_blocks import active_rules

        active_rules(disabled_rules)  # an unknown rule name fails here, with the valid ones listed
        self.allow_clone, self.disabled_rules = allow_clone, frozenset(disabled_rules)

    @classmethod
    def from_preset(cls, preset: Any, repo_cache: Optional[Path] = None, **options: Any) -> "SWEBench":
        from swe_monkeys.swebench.prompting import PromptConfig

        prompt = PromptConfig(template=preset.template, context_tokens=preset.context_tokens,
                              pick_files=preset.pick_files)
        return cls(repo_cache, prompt, **options)

    # -- problems -------------------------------------------------------------------------------
    def load(self, source: Optional[str], select: Sequence[str] = ()) -> list[TaskProblem]:
        from swe_monkeys.swebench.dataset import DatasetError, dataset_instances

        if not source:
            raise DatasetError("SWE-bench needs --dataset lite|verified|full or an instances file or folder")
        problems = [self.problem(inst) for inst in dataset_instances(source)]
        return select_problems(problems, select, source)

    @staticmethod
    def problem(inst: SWEInstance) -> TaskProblem:
        """A problem whose prompt is made by `prepare`, once the model (and its context) is known."""
        return TaskProblem(inst.instance_id, Prompt(text=""), {"instance": inst.to_row()})

    def prepare(self, problems: list[TaskProblem], sampler: Any, store: Any, params: Any) -> list[TaskProblem]:
        """The repair prompt of every problem (what all its samples share), within the served context:
        the files' budget shrinks so that prompt + completion fit the model the sampler reports."""
        from swe_monkeys.swebench.prompting import build_prompt, fitted

        context = sampler.identity().get("context_tokens")
        instances = [instance_of(p) for p in problems]
        picks: dict[str, list[str]] = {}
        if self.prompt.pick_files > 0:
            from swe_monkeys.swebench.file_picking import picked_files

            picks = picked_files(store, instances, self.repo_cache, self.prompt, sampler, params.seed)
        out = []
        for problem, inst in zip(problems, instances):
            config = fitted(self.prompt, inst, context, params.max_tokens)
            prompt = build_prompt(inst, self.repo_cache, config, tuple(picks.get(inst.instance_id, ())))
            out.append(TaskProblem(problem.id, Prompt.chat(prompt.text), {**problem.data, "files": list(prompt.files)}))
        return out

    # -- completions ----------------------------------------------------------------------------
    def extract(self, problem: TaskProblem, completion: str) -> Extracted:
        from swe_monkeys.swebench.edits import completion_to_patch
        from swe_monkeys.swebench.patches import normalised_key

        read = self.reader(problem)
        outcome = completion_to_patch(completion, read, files=problem.data.get("files", ()),
                                      disabled=self.disabled_rules)
        meta: dict[str, Any] = {"extract_status": outcome.status}
        if outcome.reason:
            meta["extract_reason"] = outcome.reason
        if outcome.rules:
            meta["edit_rules"] = list(outcome.rules)
        if outcome.ok:
            meta["content_key"] = normalised_key(outcome.patch, read)
        return Extracted(content=outcome.patch, meta=meta)

    def content_key(self, problem: TaskProblem, content: str) -> str:
        """A grouping hint (unique samples, the vote): never what shares a verdict (`share_key`)."""
        from swe_monkeys.swebench.patches import normalised_key

        return normalised_key(content, self.reader(problem)) if content.strip() else ""

    def share_key(self, problem: TaskProblem, content: str) -> str:
        """Candidates the pipeline gives one verdict without judging each: the same cleaned text."""
        from swe_monkeys.swebench.patches import exact_key

        return exact_key(content) if content.strip() else ""

    def reader(self, problem: TaskProblem):
        """Base-commit files of the problem's repository (read from the bare mirror, cached)."""
        inst = instance_of(problem)
        return _reader(inst.repo, inst.base_commit, self.repo_cache, self.allow_clone)

    # -- judging --------------------------------------------------------------------------------
    @contextmanager
    def checker(self, options: Optional[dict[str, Any]] = None) -> Iterator[Any]:
        from swe_monkeys.swebench.checker import SWEChecker, VerifyConfig

        options = dict(options or {})
        log = options.pop("log", lambda line: None)
        config = VerifyConfig(repo_cache=self.repo_cache, allow_clone=self.allow_clone)
        unknown = set(options) - set(VerifyConfig.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown checker options {sorted(unknown)}")  # a bug in the caller, not bad input
        for key, value in options.items():
            if value is not None:
                setattr(config, key, value)
        with SWEChecker(config, log=log) as checker:
            yield checker

    def vote_ok(self, problem: TaskProblem, verdict: Verdict) -> bool:
        """Selection without the oracle may use the tests that existed before the fix: a candidate
        that breaks one of them is dropped (the FAIL_TO_PASS results are never looked at)."""
        return not any(verdict.tests.get(test) in FAILING for test in instance_of(problem).pass_to_pass)


@lru_cache(maxsize=64)
def _reader(repo: str, commit: str, repo_cache: Path, allow_clone: bool):
    git_dir = sources.find_repo(repo, repo_cache, allow_clone=allow_clone)
    return lru_cache(maxsize=512)(lambda path: sources.read_file_at(git_dir, commit, path))


def one_instance(target: str, dataset: str, repo_cache: Optional[Path]) -> tuple[SWEInstance, Optional[Path]]:
    """(instance, repo cache) for `solve`: an embedded example ("example:calc"), an instance file,
    or an id in `dataset`."""
    from swe_monkeys.swebench.dataset import DatasetError, dataset_instances, load_instances

    if target.startswith("example:"):
        from swe_monkeys import examples
        from swe_monkeys.paths import cache_dir

        cache = repo_cache or cache_dir() / "examples" / "repos"  # the examples' repositories are made here
        return examples.materialise(cache, [target.removeprefix("example:")])[0].instance, cache
    path = Path(target)
    if path.suffix in (".json", ".jsonl", ".gz", ".parquet") and path.exists():
        found = load_instances(path)
    elif dataset:
        found = [i for i in dataset_instances(dataset) if i.instance_id == target]
        if not found:
            raise DatasetError(f"{dataset}: no instance matches {target}")
    else:
        raise DatasetError(f"{target}: not an instance file or example:NAME; to name an instance id give "
                           "--dataset lite|FILE")
    if len(found) != 1:
        raise DatasetError(f"{target}: {len(found)} instances match; solve takes one")
    return found[0], repo_cache


def delivered(store: Any, picks: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Problem -> (the patch to deliver, what was dropped from it or ""): each picked candidate
    without the paths the harness put back when it was judged (swebench/delivery.py), as its
    verdict in the run store records them; ("", "") where nothing was picked."""
    from swe_monkeys.swebench.delivery import delivered_patch, dropped_note

    verdicts = store.verdicts()
    ids = {(c.problem_id, c.index): cid for cid, c in store.candidates()}
    out = {}
    for problem_id, pick in picks.items():
        if pick is None:
            out[problem_id] = ("", "")
            continue
        verdict = verdicts.get(ids.get((pick.problem_id, pick.index)))
        patch, dropped = delivered_patch(pick.content, verdict.reverted if verdict is not None else [])
        out[problem_id] = (patch, dropped_note(dropped))
    return out


def export_predictions(patches: dict[str, tuple[str, str]], path: Path, model: str) -> int:
    """SWE-bench predictions JSONL: one line per problem with its delivered patch (`delivered`;
    "" when none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for problem_id, (patch, _) in patches.items():
            f.write(json.dumps({"instance_id": problem_id, "model_name_or_path": model,
                                "model_patch": patch}) + "\n")
    return len(patches)
