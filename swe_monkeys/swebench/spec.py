"""Environment specs for SWE-bench repositories, read from configs/swebench/<owner>__<repo>.yaml.

Knowledge is data: adding a repository or a version means adding YAML, not code. A spec says
which interpreter, which pinned packages, how to install the repository and how to run its tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from swe_monkeys.paths import CONFIGS

SPEC_DIR = CONFIGS / "swebench"


class SpecError(ValueError):
    """A repository or version with no spec, or a spec that does not validate."""


@dataclass(frozen=True)
class EnvSpec:
    """How to build and test one (repository, version)."""

    repo: str
    version: str
    python: str = "system"  # "system" = the base image's Debian python3; "3.9" = a CPython 3.9 build
    pip_packages: tuple[str, ...] = ()
    pre_install: str = ""
    install: str = ""
    test_cmd: str = "python -m pytest -rA -p no:cacheprovider"
    test_args: str = "files"  # files: the test files of test_patch; ids: the FAIL_TO_PASS + PASS_TO_PASS ids
    parser: str = "pytest"
    timeout: int = 300
    env: dict[str, str] = field(default_factory=dict)
    run_as_root: bool = False  # only for suites that cannot run unprivileged
    mem_limit: str = "4g"

    @property
    def user(self) -> str:
        return "root" if self.run_as_root else "swe"

    @property
    def key(self) -> str:
        return f"{self.repo.replace('/', '__')}-{self.version}"


_FIELDS = set(EnvSpec.__dataclass_fields__) - {"repo", "version"}


def spec_path(repo: str) -> Path:
    return SPEC_DIR / f"{repo.replace('/', '__')}.yaml"


@lru_cache(maxsize=None)
def _load_file(path: Path) -> dict:
    import yaml

    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("versions"), dict):
        raise SpecError(f"{path}: expected a mapping with 'repo' and 'versions'")
    return data


def load_spec(repo: str, version: str) -> EnvSpec:
    """The spec for (repo, version); the error names what is available instead."""
    path = spec_path(repo)
    if not path.exists():
        raise SpecError(f"no environment spec for {repo} (looked for {path}); "
                        f"specs exist for: {', '.join(r for r, _ in supported()) or 'none'}")
    versions = _load_file(path)["versions"]
    entry = versions.get(str(version))
    if entry is None:
        raise SpecError(f"{repo} has no spec for version {version}; specs exist for: "
                        f"{', '.join(sorted(map(str, versions)))}")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise SpecError(f"{path} version {version}: unknown keys {sorted(unknown)}")
    values = dict(entry)
    values["pip_packages"] = tuple(values.get("pip_packages") or ())
    values["env"] = {str(k): str(v) for k, v in (values.get("env") or {}).items()}
    if values.get("test_args", "files") not in ("files", "ids"):
        raise SpecError(f"{path} version {version}: test_args must be 'files' or 'ids'")
    return EnvSpec(repo=repo, version=str(version), **values)


def supported() -> list[tuple[str, str]]:
    """Every (repo, version) with a spec, sorted."""
    out = []
    for path in sorted(SPEC_DIR.glob("*.yaml")):
        data = _load_file(path)
        out.extend((str(data.get("repo")), str(v)) for v in data["versions"])
    return sorted(out)
