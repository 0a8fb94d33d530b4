"""Environment specs for SWE-bench repositories, read from configs/swebench/<owner>__<repo>.yaml.

Knowledge is data: adding a repository or a version means adding YAML, not code. A spec says
which interpreter, which pinned packages (and Debian packages), how to install the repository and
how to run its tests. A file may open with a `defaults:` mapping that every version inherits and
overrides key by key; an unknown key, in `defaults` or in a version, is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from swe_monkeys.paths import CONFIGS
from swe_monkeys.errors import SweMonkeysError

SPEC_DIR = CONFIGS / "swebench"
# files: the test_patch's test files as paths; ids: the FAIL_TO_PASS + PASS_TO_PASS ids;
# labels: the test_patch's test files as dotted module labels (tests/a/test_b.py -> a.test_b),
# which is what Django's tests/runtests.py takes (parsers_django.django_labels).
TEST_ARGS_MODES = ("files", "ids", "labels")


class SpecError(SweMonkeysError, ValueError):
    """A repository or version with no spec, or a spec that does not validate."""


@dataclass(frozen=True)
class EnvSpec:
    """How to build and test one (repository, version)."""

    repo: str
    version: str
    python: str = "system"  # "system" = the base image's Debian python3; "3.9" = a CPython 3.9 build
    pip_packages: tuple[str, ...] = ()
    # Debian packages the env layer needs beyond images/base/packages.txt (a C toolchain, libraries
    # to build extensions against); they make a base variant of their own, built the same way.
    debian_packages: tuple[str, ...] = ()
    pre_install: str = ""
    install: str = ""
    test_cmd: str = "python -m pytest -rA -p no:cacheprovider"
    test_args: str = "files"  # one of TEST_ARGS_MODES
    parser: str = "pytest"
    timeout: int = 300
    env: dict[str, str] = field(default_factory=dict)
    run_as_root: bool = False  # only for suites that cannot run unprivileged
    # The test runner's own files outside the test directories (regexes on repo-relative paths):
    # put back after a candidate is applied, as test files are (a runner the candidate edited
    # reports whatever it likes). Empty where the runner is the code under test (pytest-dev).
    runner_files: tuple[str, ...] = ()
    mem_limit: str = "4g"

    @property
    def user(self) -> str:
        return "root" if self.run_as_root else "swe"

    @property
    def key(self) -> str:
        return f"{self.repo.replace('/', '__')}-{self.version}"


_FIELDS = set(EnvSpec.__dataclass_fields__) - {"repo", "version"}
_FILE_KEYS = {"repo", "defaults", "versions"}


def spec_path(repo: str) -> Path:
    return SPEC_DIR / f"{repo.replace('/', '__')}.yaml"


@lru_cache(maxsize=None)
def _load_file(path: Path) -> dict:
    import yaml

    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("versions"), dict):
        raise SpecError(f"{path}: expected a mapping with 'repo' and 'versions'")
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise SpecError(f"{path}: unknown top-level keys {sorted(unknown)}; valid: {sorted(_FILE_KEYS)}")
    if not isinstance(data.get("defaults") or {}, dict):
        raise SpecError(f"{path}: 'defaults' must be a mapping")
    return data


def _command(value, where: str) -> str:
    """A shell command given as one string, or as a list of steps run in order (joined with &&)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " && ".join(str(step) for step in value)
    if isinstance(value, str):
        return value
    raise SpecError(f"{where}: expected a string or a list of commands, got {type(value).__name__}")


def build_spec(repo: str, version: str, entry: dict, defaults: dict | None = None, where: str = "") -> EnvSpec:
    """An EnvSpec from one version's mapping laid over the file's defaults (keys checked)."""
    where = where or f"{repo} {version}"
    for name, block in (("defaults", defaults or {}), (f"version {version}", entry or {})):
        unknown = set(block) - _FIELDS
        if unknown:
            raise SpecError(f"{where}: unknown keys in {name}: {sorted(unknown)}; valid: {sorted(_FIELDS)}")
    values = {**(defaults or {}), **(entry or {})}
    for key in ("pip_packages", "debian_packages", "runner_files"):
        values[key] = tuple(str(p) for p in (values.get(key) or ()))
    for key in ("pre_install", "install"):
        if key in values:
            values[key] = _command(values[key], f"{where} {key}")
    values["env"] = {str(k): str(v) for k, v in (values.get("env") or {}).items()}
    if "python" in values:
        values["python"] = str(values["python"])
    if values.get("test_args", "files") not in TEST_ARGS_MODES:
        raise SpecError(f"{where}: test_args must be one of {', '.join(TEST_ARGS_MODES)}")
    return EnvSpec(repo=repo, version=str(version), **values)


def load_spec(repo: str, version: str) -> EnvSpec:
    """The spec for (repo, version); the error names what is available instead."""
    path = spec_path(repo)
    if not path.exists():
        raise SpecError(f"no environment spec for {repo} (looked for {path}); "
                        f"specs exist for: {describe_supported() or 'none'}")
    data = _load_file(path)
    versions = data["versions"]
    entry = versions.get(str(version))
    if entry is None and str(version) not in versions:
        raise SpecError(f"{repo} has no spec for version {version}; specs exist for: "
                        f"{', '.join(sorted(map(str, versions)))}")
    return build_spec(repo, str(version), entry or {}, data.get("defaults"), where=f"{path} version {version}")


def current_specs() -> dict[tuple[str, str], EnvSpec]:
    """Every spec that loads, by (repo, version)."""
    out = {}
    for repo, version in supported():
        try:
            out[(repo, version)] = load_spec(repo, version)
        except SpecError:
            continue
    return out


def describe_supported() -> str:
    """Each repository with a spec once, with its versions: "o/r (1.0, 1.1); p/q (2.0)"."""
    versions: dict[str, list[str]] = {}
    for repo, version in supported():
        versions.setdefault(repo, []).append(version)
    return "; ".join(f"{repo} ({', '.join(vs)})" for repo, vs in versions.items())


def supported() -> list[tuple[str, str]]:
    """Every (repo, version) with a spec, sorted."""
    out = []
    for path in sorted(SPEC_DIR.glob("*.yaml")):
        data = _load_file(path)
        out.extend((str(data.get("repo")), str(v)) for v in data["versions"])
    return sorted(out)
