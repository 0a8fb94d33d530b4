"""The SWE-bench repair prompt: BM25 file localisation at the base commit, then a template.

Provides
- `repo_files(git_dir, commit)`: the text files of a commit, read from the bare mirror in one
  `git cat-file --batch` (never a checkout per sample);
- `localise(problem, files, budget_tokens)`: files ranked by BM25 (bm25s) against the issue text,
  kept whole while they fit in the budget (tokens ~ chars / 4);
- `build_prompt(instance, repo_cache, config) -> RepairPrompt`: what every sample of the instance
  shares; the ranking is cached on disk by (repo, commit, issue, budget), so a resumed or grown run
  sends the same prompt.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from string import Template

from swe_monkeys.images import sources
from swe_monkeys.paths import CONFIGS, cache_dir
from swe_monkeys.swebench.rules import is_test_path
from swe_monkeys.types import SWEInstance
from swe_monkeys.errors import SweMonkeysError

TEXT_SUFFIXES = (".py", ".pyi", ".pyx", ".cfg", ".toml", ".ini", ".txt", ".md", ".rst", ".yaml", ".yml", ".json",
                 ".js", ".ts", ".c", ".h", ".cpp", ".go", ".rs", ".java", ".sh")
MAX_FILE_BYTES = 1_000_000


class PromptError(SweMonkeysError, ValueError):
    """A preset or template that is missing or incomplete."""


@dataclass(frozen=True)
class PromptConfig:
    template: str = "swebench_repair"
    context_tokens: int = 12000  # budget for the retrieved files
    include_tests: bool = False  # the harness reverts test edits, so test files only cost budget
    pick_files: int = 0  # >0: one model call per instance picks up to this many files first (file_picking.py)


@dataclass(frozen=True)
class RepairPrompt:
    text: str
    files: tuple[str, ...]  # the localised files, best first
    tokens: int  # approximate (chars / 4)


def approx_tokens(text: str) -> int:
    return (len(text) + 3) // 4


def load_template(name: str) -> Template:
    path = Path(name) if name.endswith(".txt") else CONFIGS / "prompts" / f"{name}.txt"
    if not path.is_file():
        known = sorted(p.stem for p in (CONFIGS / "prompts").glob("*.txt"))
        raise PromptError(f"unknown prompt template {name!r}; valid: {', '.join(known)}")
    return Template(path.read_text())


@lru_cache(maxsize=8)
def repo_files(git_dir: Path, commit: str) -> dict[str, str]:
    """Path -> text of the source-like files at `commit` (binary and huge files left out)."""
    listing = subprocess.run(["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z", commit],
                             capture_output=True)
    if listing.returncode != 0:
        raise sources.SourceError(f"commit {commit} not found in {git_dir}: "
                                  f"{listing.stderr.decode(errors='replace').strip()[-200:]}")
    wanted: list[tuple[str, str]] = []
    for entry in listing.stdout.decode("utf-8", "replace").split("\0"):
        meta, _, path = entry.partition("\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == "blob" and path.endswith(TEXT_SUFFIXES):
            wanted.append((parts[2], path))
    batch = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "--batch"],
                           input="".join(f"{sha}\n" for sha, _ in wanted).encode(), capture_output=True)
    data, pos, out = batch.stdout, 0, {}
    for _, path in wanted:
        header_end = data.index(b"\n", pos)
        size = int(data[pos:header_end].split()[2])
        body = data[header_end + 1:header_end + 1 + size]
        pos = header_end + 1 + size + 1
        if size <= MAX_FILE_BYTES and b"\0" not in body:
            out[path] = body.decode("utf-8", "replace")
    return out


def _words(text: str) -> str:
    # snake_case and dotted names become words too, so "parse_power" in an issue finds parse_power().
    return text + " " + re.sub(r"[^A-Za-z0-9]+", " ", text)


def rank_files(problem: str, files: dict[str, str]) -> list[str]:
    """Every path, those the issue names first, then by BM25 score (the path is part of the document)."""
    import bm25s

    paths = sorted(files)
    if not paths:
        return []
    corpus = [_words(p + "\n" + files[p]) for p in paths]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(corpus, stopwords="en", show_progress=False), show_progress=False)
    query = bm25s.tokenize([_words(problem)], stopwords="en", show_progress=False)
    if not query.vocab:  # an issue of stopwords only: keep path order
        return paths
    ids, scores = retriever.retrieve(query, k=len(paths), show_progress=False)
    ranked = [(float(s), paths[int(i)]) for i, s in zip(ids[0], scores[0])]
    # A path the issue names outranks any score (issues often say "in calc/parser.py"); ties go in
    # path order so that the ranking is the same on every run.
    ranked.sort(key=lambda t: (t[1] not in problem, -t[0], t[1]))
    return [p for _, p in ranked]


def render_file(path: str, content: str) -> str:
    return f"[start of {path}]\n{content}{'' if content.endswith(chr(10)) or not content else chr(10)}[end of {path}]\n"


def localise(problem: str, files: dict[str, str], budget_tokens: int, include_tests: bool = False) -> list[str]:
    """The best-ranked files that fit whole in the budget (a file too big is passed over)."""
    pool = {p: c for p, c in files.items() if include_tests or not is_test_path(p)}
    chosen, used = [], 0
    for path in rank_files(problem, pool):
        cost = approx_tokens(render_file(path, pool[path]))
        if used + cost <= budget_tokens:
            chosen.append(path)
            used += cost
    return chosen


def _cache_path(inst: SWEInstance, config: PromptConfig) -> Path:
    key = hashlib.sha256(json.dumps([inst.repo, inst.base_commit, inst.problem_statement, config.context_tokens,
                                     config.include_tests, "bm25s-v1"]).encode()).hexdigest()[:24]
    return cache_dir() / "localisation" / f"{key}.json"


def localised_files(inst: SWEInstance, repo_cache: Path, config: PromptConfig) -> tuple[list[str], dict[str, str]]:
    """(ranked paths, all files) for one instance; the ranking is read from the cache when there."""
    git_dir = sources.find_repo(inst.repo, repo_cache)
    files = repo_files(git_dir, inst.base_commit)
    cached = _cache_path(inst, config)
    if cached.is_file():
        paths = [p for p in json.loads(cached.read_text()) if p in files]
    else:
        paths = localise(inst.problem_statement, files, config.context_tokens, config.include_tests)
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp")
        tmp.write_text(json.dumps(paths))
        tmp.replace(cached)
    return paths, files


# Tokens kept free beside the prompt and the completion: the chat template's own tokens, and the
# error of counting chars / 4 (code often tokenizes at ~3.5 chars a token).
CONTEXT_MARGIN = 0.15


def fitted(config: PromptConfig, inst: SWEInstance, context: int | None, completion_tokens: int) -> PromptConfig:
    """`config` with a files budget that makes prompt + completion fit a served context of `context`
    tokens (unchanged when the context is unknown or roomy). Raises PromptError when even the
    template and the issue leave no room."""
    if not context:
        return config
    fixed = approx_tokens(load_template(config.template).template) + approx_tokens(inst.problem_statement)
    room = int(context * (1 - CONTEXT_MARGIN)) - completion_tokens - fixed
    if room < 256:
        raise PromptError(f"{inst.instance_id}: the served context ({context} tokens) leaves no room for files "
                          f"beside the issue (~{fixed} tokens) and {completion_tokens} completion tokens; serve a "
                          "longer context (--max-model-len) or lower max_tokens")
    return config if room >= config.context_tokens else replace(config, context_tokens=room)


def build_prompt(inst: SWEInstance, repo_cache: Path, config: PromptConfig = PromptConfig(),
                 picked: tuple[str, ...] = ()) -> RepairPrompt:
    """The repair prompt every sample of `inst` shares; `picked` files (the model's choice) come first,
    then the BM25 ranking fills the rest of the budget."""
    paths, files = localised_files(inst, repo_cache, config)
    if picked:
        order = [p for p in picked if p in files] + [p for p in rank_files(inst.problem_statement, files)
                                                     if p not in picked and (config.include_tests or not is_test_path(p))]
        paths, used = [], 0
        for path in order:
            cost = approx_tokens(render_file(path, files[path]))
            if used + cost <= config.context_tokens:
                paths.append(path)
                used += cost
    rendered = "\n".join(render_file(p, files[p]) for p in paths)
    try:
        text = load_template(config.template).substitute(repo=inst.repo, problem_statement=inst.problem_statement
                                                         .strip(), files=rendered.rstrip("\n"))
    except (KeyError, ValueError) as exc:
        raise PromptError(f"template {config.template}: bad placeholder {exc}") from exc
    return RepairPrompt(text=text, files=tuple(paths), tokens=approx_tokens(text))
