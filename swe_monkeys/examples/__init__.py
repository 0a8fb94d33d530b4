"""The example instances swe-monkeys is tested and benchmarked on: small projects in SWE-bench form.

Each project is data in a folder beside this module (see README.md there): the repository at its
base commit (`base/`), the gold fix and the test patch as overlays (`fix/`, `test/`), the issue
and its FAIL_TO_PASS/PASS_TO_PASS tests (`instance.yaml`), and named candidate patches
(`candidates/<name>/` overlays, `candidates/<name>.patch` literal diffs).

`materialise` makes a bare repository per project in a repo cache, with a commit sha that is the
same everywhere, and returns every patch as real `git diff` text against it. No Docker involved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from swe_monkeys.examples.trees import OverlayDiffer, TreeError, commit_folder
from swe_monkeys.registry import UnknownName
from swe_monkeys.types import SWEInstance

EXAMPLES_DIR = Path(__file__).resolve().parent
INSTANCE_FILE = "instance.yaml"
REQUIRED_KEYS = ("instance_id", "repo", "version", "problem_statement", "FAIL_TO_PASS", "PASS_TO_PASS")

__all__ = ["Example", "TreeError", "names", "materialise", "overlay_patch", "EXAMPLES_DIR"]


@dataclass(frozen=True)
class Example:
    """One example project, materialised: the instance and its candidate patches as diffs."""

    instance: SWEInstance  # base_commit is the real sha; patch = gold diff, test_patch = test diff
    candidates: dict[str, str]  # name -> unified diff: "gold", "empty", "wrong", "partial", ...
    root: Path  # the example's data folder
    git_dir: Path  # its bare repository in the repo cache

    @property
    def name(self) -> str:
        return self.root.name


def names() -> list[str]:
    """The example projects shipped with the package, sorted."""
    return _available()


def _available() -> list[str]:
    return sorted(p.name for p in EXAMPLES_DIR.iterdir() if (p / INSTANCE_FILE).is_file())


def materialise(repo_cache: Path, names: list[str] | None = None) -> list[Example]:
    """Create (idempotently) each project's bare repository in repo_cache and compute its patches.

    The repository is `<repo_cache>/<owner>__<name>.git`, main branch = one commit of `base/`.
    """
    known = _available()  # (the `names` parameter shadows the module function)
    wanted = known if names is None else list(names)
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise UnknownName(f"unknown example(s) {', '.join(unknown)}; valid: {', '.join(known)}")
    return [_materialise_one(Path(repo_cache), name) for name in wanted]


def overlay_patch(example: Example, overlay_dir: Path) -> str:
    """The diff of the example's base commit vs base + the overlay folder."""
    with OverlayDiffer(example.git_dir, example.instance.base_commit) as differ:
        return differ.diff(Path(overlay_dir))


def load_metadata(name: str) -> dict:
    """The parsed instance.yaml of one example, validated."""
    import yaml

    path = EXAMPLES_DIR / name / INSTANCE_FILE
    meta = yaml.safe_load(path.read_text())
    missing = [k for k in REQUIRED_KEYS if k not in (meta or {})]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    return meta


def _materialise_one(repo_cache: Path, name: str) -> Example:
    root = EXAMPLES_DIR / name
    meta = load_metadata(name)
    git_dir = repo_cache / f"{meta['repo'].replace('/', '__')}.git"
    base_commit = commit_folder(git_dir, root / "base", message=f"{meta['repo']} at version {meta['version']}")
    with OverlayDiffer(git_dir, base_commit) as differ:
        gold, test = differ.diff(root / "fix"), differ.diff(root / "test")
        candidates = {"gold": gold, "empty": ""}
        folder = root / "candidates"
        for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
            if entry.is_dir():
                candidates[entry.name] = differ.diff(entry)
            elif entry.suffix == ".patch":
                candidates[entry.stem] = entry.read_text()
    row = {**meta, "base_commit": base_commit, "patch": gold, "test_patch": test,
           "environment_setup_commit": base_commit}
    return Example(instance=SWEInstance.from_row(row), candidates=candidates, root=root, git_dir=git_dir)
