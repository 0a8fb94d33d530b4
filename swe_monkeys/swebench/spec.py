"""Environment specs for SWE-bench repositories, read from configs/swebench/<owner>__<repo>.yaml.

Knowledge is data: adding a repository or a version means adding YAML, not code. A spec says
which interpreter, which pinned packages (and Debian packages), how to install the repository and
how to run its tests. A file may open with a `defaults:` mapping that every version inherits and
overrides key by key; an unknown key, in `defaults` or in a version, is an error. An `instances:`
mapping overrides a version's keys for one instance (an instance whose base commit needs another
pin than its version's other instances): its spec carries the instance id, so its env image, its
spec hash and its validation row are its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
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
    # Public names a suite reaches, answered by a local stand-in (harness/http_standin.py) on the
    # container's loopback, and addresses that must never answer (sandbox Limits has the details).
    loopback_hosts: tuple[str, ...] = ()
    tarpits: tuple[str, ...] = ()
    instance: str = ""  # set when an `instances:` override of one instance was laid over the version

    @property
    def user(self) -> str:
        return "root" if self.run_as_root else "swe"

    @property
    def key(self) -> str:
        base = f"{self.repo.replace('/', '__')}-{self.version}"
        return f"{base}-{self.instance.rpartition('-')[2]}" if self.instance else base


_FIELDS = set(EnvSpec.__dataclass_fields__) - {"repo", "version", "instance"}
_FILE_KEYS = {"repo", "defaults", "versions", "instances"}


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
    for instance, entry in (data.get("instances") or {}).items():
        if not isinstance(entry, dict) or str(entry.get("version", "")) not in map(str, data["versions"]):
            raise SpecError(f"{path}: instance override {instance} needs a mapping with the 'version' it "
                            f"overrides, one of {', '.join(map(str, data['versions']))}")
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
    for key in ("pip_packages", "debian_packages", "runner_files", "loopback_hosts", "tarpits"):
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


def load_spec(repo: str, version: str, instance: str | None = None) -> EnvSpec:
    """The spec for (repo, version) -- with `instance`'s override laid over it when the file has
    one for that instance at that version; the error names what is available instead."""
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
    where = f"{path} version {version}"
    override = dict((data.get("instances") or {}).get(instance or "", None) or {})
    if override and str(override.pop("version")) == str(version):
        pins = [str(p) for p in override.pop("pins", None) or ()]
        spec = build_spec(repo, str(version), {**(entry or {}), **override}, data.get("defaults"),
                          where=f"{where} instance {instance}")
        return replace(spec, instance=str(instance), pip_packages=_pinned(spec.pip_packages, pins))
    return build_spec(repo, str(version), entry or {}, data.get("defaults"), where=where)


def _name(requirement: str) -> str:
    """A requirement's project name, normalised as PyPI does (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.split(r"[<>=!~\[;@ ]", requirement.strip(), maxsplit=1)[0]).lower()


def _pinned(packages: tuple[str, ...], pins: list[str]) -> tuple[str, ...]:
    """`packages` with each of `pins` in place of the package of its name (or added)."""
    by_name = {_name(p): p for p in pins}
    kept = tuple(by_name.pop(_name(p), p) for p in packages)
    return kept + tuple(by_name.values())


def instance_overrides() -> dict[str, EnvSpec]:
    """Every instance override's spec, by instance id."""
    out = {}
    for path in sorted(SPEC_DIR.glob("*.yaml")):
        data = _load_file(path)
        for instance, entry in (data.get("instances") or {}).items():
            try:
                out[str(instance)] = load_spec(str(data.get("repo")), str(entry["version"]), str(instance))
            except SpecError:
                continue
    return out


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
