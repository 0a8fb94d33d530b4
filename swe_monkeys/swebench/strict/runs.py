"""Strict re-checks of one instance's resolved candidates: the runs behind compare.py's comparison.

`StrictJudge` is made per instance by the checker. For a resolved candidate, the runner runs its
wider test files (files.py) in its container right after the judged run (`files_for` says which);
`check` then gets gold's statuses on those files, compares, and confirms any flag by running both
sides once more (a fresh container for each), on the flagged tests' files plus the instance's own
(whose canaries keep the guard's checks on). Gold's strict statuses are cached per test file in
the verdict cache's gold table, under a key that carries the strict mode: a file gold has run once
is never run for gold again, whichever candidate asks. sympy's runner names a test without its
file, so there gold is cached per set of files instead. A candidate whose applied tree is gold's
is strict_ok without a run.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from swe_monkeys.swebench.canaries import style
from swe_monkeys.swebench.parsers_django import django_labels
from swe_monkeys.swebench.spec import EnvSpec
from swe_monkeys.swebench.strict import compare
from swe_monkeys.swebench.strict.compare import StrictRun
from swe_monkeys.swebench.strict.files import StrictSet, is_test_file, strict_test_files
from swe_monkeys.types import SWEInstance, Verdict

FULL_TIMEOUT_FACTOR = 4  # --strict full runs every test file: the spec's time limit, four times
GOLD_TREE = "the applied tree is the gold patch's: strict_ok by construction"


@dataclass(frozen=True)
class RepoTree:
    """The repository at the base commit, as the rule reads it: every path, and its test files' text."""

    paths: tuple[str, ...]
    texts: dict[str, str]

    def read(self, path: str) -> str | None:
        return self.texts.get(path)


@lru_cache(maxsize=4)
def repo_tree(git_dir: Path, commit: str) -> RepoTree:
    """Read with two git commands (ls-tree, one `cat-file --batch` for every test file)."""
    listed = subprocess.run(["git", "--git-dir", str(git_dir), "ls-tree", "-r", "-z", "--name-only", commit],
                            capture_output=True, check=True)
    paths = tuple(p for p in listed.stdout.decode("utf-8", "surrogateescape").split("\0") if p)
    tests = [p for p in paths if is_test_file(p) and "\n" not in p]
    batch = subprocess.run(["git", "--git-dir", str(git_dir), "cat-file", "--batch"], capture_output=True, check=True,
                           input="".join(f"{commit}:{p}\n" for p in tests).encode("utf-8", "surrogateescape"))
    texts, out, at = {}, batch.stdout, 0
    for path in tests:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            texts[path] = out[at:at + size].decode("utf-8", "replace")
            at += size + 1
    return RepoTree(paths, texts)


def changed_paths(patch: str, reverted: list[dict[str, str]]) -> list[str]:
    """The files a candidate's patch changes, less those the harness put back."""
    from unidiff import PatchSet
    from unidiff.errors import UnidiffParseError

    back = {r.get("path") for r in reverted}
    try:
        return [f.path for f in PatchSet(patch) if f.path not in back]
    except UnidiffParseError:
        return []


def owner(name: str, files: list[str], parser: str) -> str | None:
    """The test file a recorded test belongs to, or None where the name does not say (sympy)."""
    kind = style(parser)
    if kind == "pytest":
        path = name.split("::", 1)[0]
        return path if path in files else None
    if kind == "unittest" and name.startswith("id:"):
        for path in files:
            label = next(iter(django_labels([path])), "")
            if label and (name[3:] == label or name[3:].startswith(label + ".")):
                return path
    return None


class GoldRecords:
    """Gold's strict runs of one instance: {"runs": [...], "again": [...]}, each {"files", "statuses"}
    ("again": the confirming runs). In the verdict cache when there is one, else in memory."""

    def __init__(self, cache: Any, key: str):
        self.cache, self.key, self._memory = cache, key, None

    def load(self) -> dict[str, Any]:
        record = self.cache.get_gold(self.key) if self.cache is not None else self._memory
        return record or {"runs": [], "again": []}

    def save(self, record: dict[str, Any]) -> None:
        if self.cache is not None:
            self.cache.put_gold(self.key, record)
        else:
            self._memory = record


# (inst, spec, patch, files, timeout) -> the strict run of that patch in a freshly prepared container
FreshRun = Callable[[SWEInstance, EnvSpec, str, list[str], float], StrictRun]


class StrictJudge:
    """One instance's strict re-checks (see the module docstring); thread-safe."""

    def __init__(self, inst: SWEInstance, spec: EnvSpec, mode: str, tree: RepoTree, own: list[str],
                 gold_tree: str, records: GoldRecords):
        self.inst, self.spec, self.mode, self.tree = inst, spec, mode, tree
        self.own, self.gold_tree, self.records = own, gold_tree, records
        self.timeout = spec.timeout * (FULL_TIMEOUT_FACTOR if mode == "full" else 1)
        self._lock = threading.Lock()

    def chosen(self, patch: str, reverted: list[dict[str, str]]) -> StrictSet:
        return strict_test_files(self.tree.paths, self.tree.read, changed_paths(patch, reverted), self.own, self.mode)

    def files_for(self, patch: str, prep: dict[str, Any]) -> tuple[list[str], float] | None:
        """What the runner runs after a resolved candidate's judged run, and its time limit; None
        for gold's own tree (strict_ok by construction)."""
        if self._is_gold(prep.get("tree_key", "")):
            return None
        return self.chosen(patch, prep.get("reverted") or []).files, self.timeout

    def check(self, fresh: FreshRun, patch: str, verdict: Verdict, run: StrictRun | None) -> dict[str, Any]:
        """The strict record of a resolved candidate (Verdict.strict). `run`: its strict run in its
        own container, or None to run it in a fresh one (an instance judged by majority)."""
        start, in_container = time.monotonic(), run.seconds if run is not None else 0.0
        if self._is_gold(verdict.tree_key):
            return _said({**compare.outcome({}), "mode": self.mode, "reason": GOLD_TREE, "seconds": in_container})
        chosen = self.chosen(patch, verdict.reverted)
        if run is None:
            run = fresh(self.inst, self.spec, patch, chosen.files, self.timeout)
        record, gold_seconds = self._compare(fresh, patch, run, verdict.tree_key)
        spent = time.monotonic() - start
        files = chosen.files if len(chosen.files) <= 50 else []
        return _said({**record, "mode": self.mode, "files": files, "n_files": len(chosen.files),
                      "left_out": chosen.left_out, "seconds": round(in_container + spent - gold_seconds, 3),
                      "gold_seconds": round(gold_seconds, 3)})

    def _is_gold(self, tree_key: str) -> bool:
        return bool(tree_key) and tree_key in (self.gold_tree, self.records.load().get("tree_key"))

    def _compare(self, fresh: FreshRun, patch: str, run: StrictRun, tree_key: str) -> tuple[dict[str, Any], float]:
        if run.infra:
            return compare.unchecked_infra(run.problem), 0.0
        gold, problem, spent = self._gold(fresh, run.files, "runs")
        if problem:
            return compare.unbelievable(problem, "gold"), spent
        if self._is_gold(tree_key):  # gold's tree key was learnt from its strict run just now
            return {**compare.outcome({}), "reason": GOLD_TREE}, spent
        note = ""
        if run.problem:  # believed only when a second run repeats it (a loaded machine can time out)
            again = fresh(self.inst, self.spec, patch, run.files, self.timeout)
            if again.infra:
                return compare.unchecked_infra(again.problem), spent
            if again.problem:
                return compare.unbelievable(run.problem, "candidate"), spent
            run, note = again, f"first strict run: {run.problem}; compared on a second run"
        mine = self._restricted(run.statuses, run.files)
        flags = compare.differing(gold, mine)
        compared = len(set(gold) | set(mine))
        if not flags:
            return {**compare.outcome({}, compared=compared), **({"reason": note} if note else {})}, spent
        files = self._files_of(flags, run.files)
        again = fresh(self.inst, self.spec, patch, files, self.timeout)
        gold_again, problem, more = self._gold(fresh, files, "again")
        if again.problem or problem:  # flags that stand unconfirmed; judged again next time
            note = "; ".join(x for x in (note, f"not confirmed: {again.problem or problem}") if x)
            return {**compare.outcome(flags, compared=compared), "reason": note, "retry": True}, spent + more
        kept, unstable = compare.confirmed(flags, gold_again, self._restricted(again.statuses, files))
        record = compare.outcome(kept, unstable, compared=compared, confirmed_by_rerun=True)
        return ({**record, "reason": note} if note else record), spent + more

    def _gold(self, fresh: FreshRun, files: list[str], which: str) -> tuple[dict[str, str], str, float]:
        """Gold's statuses on `files` (run now only where no earlier run covers them), why they
        cannot be had, and the seconds spent running gold."""
        start = time.monotonic()
        with self._lock:  # one gold run at a time per instance: a file is never run twice for gold
            record = self.records.load()
            runs = record.setdefault(which, [])
            missing = self._uncovered(runs, files)
            if missing:
                run = fresh(self.inst, self.spec, self.inst.patch, missing, self.timeout)
                if run.problem:
                    return {}, run.problem, time.monotonic() - start
                runs.append({"files": missing, "statuses": run.statuses})
                record["tree_key"] = run.tree_key or record.get("tree_key", "")
                self.records.save(record)
        return self._gold_statuses(runs, files), "", time.monotonic() - start

    def _attributable(self) -> bool:
        return style(self.spec.parser) != "sympy"

    def _uncovered(self, runs: list[dict], files: list[str]) -> list[str]:
        if not self._attributable():
            return [] if any(set(r["files"]) == set(files) for r in runs) else list(files)
        covered = {f for r in runs for f in r["files"]}
        return [f for f in files if f not in covered]

    def _gold_statuses(self, runs: list[dict], files: list[str]) -> dict[str, str]:
        if not self._attributable():
            return next(r["statuses"] for r in runs if set(r["files"]) == set(files))
        out: dict[str, str] = {}
        for r in runs:
            out.update({n: s for n, s in r["statuses"].items() if owner(n, r["files"], self.spec.parser) in files})
        return out

    def _restricted(self, statuses: dict[str, str], files: list[str]) -> dict[str, str]:
        """A run's tests that belong to `files` (what gold's are compared on): all, for sympy."""
        if not self._attributable():
            return statuses
        return {n: s for n, s in statuses.items() if owner(n, files, self.spec.parser) in files}

    def _files_of(self, flags: dict[str, tuple[str, str]], files: list[str]) -> list[str]:
        """The files a confirming run needs: the flagged tests', and the instance's own (canaries)."""
        if not self._attributable():
            return files
        flagged = {owner(t, files, self.spec.parser) for t in flags}
        return [f for f in files if f in flagged or f in self.own]


def _said(record: dict[str, Any]) -> dict[str, Any]:
    """The record with its line for people (what a verdict line and `show` print)."""
    return {**record, "line": compare.strict_line(record)}


def strict_judge(inst: SWEInstance, spec: EnvSpec, mode: str, git_dir: Path, own: list[str], gold_tree: str,
                 cache: Any, key: str) -> StrictJudge:
    """An instance's judge: its repository read at the base commit, gold's strict runs under `key`."""
    return StrictJudge(inst, spec, mode, repo_tree(git_dir, inst.base_commit), list(dict.fromkeys(own)), gold_tree,
                       GoldRecords(cache, key))

