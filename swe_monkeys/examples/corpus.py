"""Named candidate corpora described by YAML: the hostile patches the verifier is tested against.

A corpus folder holds `corpus.yaml` (a list under `candidates:`) and, per entry, a folder named
like the entry: either an overlay (files in full, plus optional DELETE and SYMLINKS lists; see
trees.py) or a folder holding only `candidate.patch`, a literal diff used as it is (for diffs no
tree can produce: '..' paths, .git paths, malformed hunks). `load_corpus` turns every entry into
its diff against the example project it names. Loading reads the payloads as text; nothing runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from swe_monkeys.examples import Example
from swe_monkeys.examples.trees import OverlayDiffer

CORPUS_FILE = "corpus.yaml"
LITERAL_PATCH = "candidate.patch"


@dataclass(frozen=True)
class CorpusEntry:
    """One candidate of a corpus, as the diff a verifier would be handed."""

    name: str
    example: str  # the example project (its folder name) the patch is against
    description: str
    patch: str  # unified diff text
    host_marker: str = ""  # a host path the payload tries to create; must not exist afterwards
    malformed: bool = False  # deliberately not a parseable diff
    defence: str = ""  # what has to stop it

    def candidate(self, examples: dict[str, Example], index: int = 0):
        """The entry as a Candidate for its example's instance."""
        from swe_monkeys.types import Candidate

        return Candidate(problem_id=examples[self.example].instance.instance_id, content=self.patch,
                         model=f"hostile/{self.name}", index=index)


def load_corpus(folder: Path, examples: Iterable[Example]) -> list[CorpusEntry]:
    """Every entry of folder/corpus.yaml with its diff computed against `examples` (materialised)."""
    import yaml

    by_name = {ex.name: ex for ex in examples}
    data = yaml.safe_load((Path(folder) / CORPUS_FILE).read_text()) or {}
    entries = []
    with ExitStack() as stack:
        differs: dict[str, OverlayDiffer] = {}  # one scratch store per example, not per entry
        for raw in data.get("candidates") or []:
            name, example = str(raw["name"]), str(raw["example"])
            if example not in by_name:
                raise ValueError(f"corpus entry {name!r} needs example {example!r}; "
                                 f"materialised: {', '.join(sorted(by_name)) or 'none'}")
            literal = Path(folder) / name / LITERAL_PATCH
            if literal.is_file():
                patch = literal.read_text()
            else:
                if example not in differs:
                    ex = by_name[example]
                    differs[example] = stack.enter_context(OverlayDiffer(ex.git_dir, ex.instance.base_commit))
                patch = differs[example].diff(Path(folder) / name)
            entries.append(_entry(raw, patch))
    return entries


def _entry(raw: dict, patch: str) -> CorpusEntry:
    return CorpusEntry(name=str(raw["name"]), example=str(raw["example"]),
                       description=str(raw.get("description", "")), patch=patch,
                       host_marker=str(raw.get("host_marker") or ""), malformed=bool(raw.get("malformed", False)),
                       defence=str(raw.get("defence", "")))
