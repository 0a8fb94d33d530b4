"""Environment specs: the defaults block, strict keys, new fields, and coverage of SWE-bench Lite."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from swe_monkeys.swebench import spec as spec_module
from swe_monkeys.swebench.parsers import PARSERS
from swe_monkeys.swebench.spec import TEST_ARGS_MODES, SpecError, build_spec, load_spec, supported

LITE = Path(__file__).resolve().parents[2] / "shared" / "data" / "swe-bench-lite" / "test.jsonl.gz"


def _write(tmp_path: Path, text: str, monkeypatch) -> None:
    (tmp_path / "o__r.yaml").write_text(text)
    monkeypatch.setattr(spec_module, "SPEC_DIR", tmp_path)
    spec_module._load_file.cache_clear()


def test_versions_inherit_defaults_and_override_them(tmp_path, monkeypatch):
    _write(tmp_path, """
repo: o/r
defaults:
  python: "3.9"
  pip_packages: ["a==1"]
  pre_install: ["echo one", "echo two"]
  parser: sympy
versions:
  "1.0":
  "1.1":
    pip_packages: ["b==2"]
    debian_packages: [gcc]
""", monkeypatch)
    old, new = load_spec("o/r", "1.0"), load_spec("o/r", "1.1")
    assert (old.python, old.pip_packages, old.parser) == ("3.9", ("a==1",), "sympy")
    assert old.pre_install == "echo one && echo two"
    assert new.pip_packages == ("b==2",) and new.debian_packages == ("gcc",) and new.python == "3.9"
    assert supported() == [("o/r", "1.0"), ("o/r", "1.1")]
    spec_module._load_file.cache_clear()


def test_an_instance_override_is_its_own_spec_and_leaves_the_versions_alone(tmp_path, monkeypatch):
    from swe_monkeys.swebench.spec import instance_overrides
    from swe_monkeys.swebench.validation_table import spec_hash

    base = """
repo: o/r
versions:
  "1.0":
    pip_packages: ["astroid==2.12.14", "Typing_Extensions==4.0", "dill==0.3"]
"""
    _write(tmp_path, base, monkeypatch)
    before = spec_hash(load_spec("o/r", "1.0"))
    _write(tmp_path, base + """
instances:
  o__r-7080:
    version: "1.0"
    pins: ["astroid==2.11.7", "typing.extensions==4.1", "wrapt==1.14"]
    timeout: 900
""", monkeypatch)
    plain, other = load_spec("o/r", "1.0"), load_spec("o/r", "1.0", "o__r-7114")
    own = load_spec("o/r", "1.0", "o__r-7080")
    assert spec_hash(plain) == spec_hash(other) == before  # the version and its other instances keep their rows
    assert own.pip_packages == ("astroid==2.11.7", "typing.extensions==4.1", "dill==0.3", "wrapt==1.14")
    assert own.timeout == 900 and own.instance == "o__r-7080" and own.key == "o__r-1.0-7080" != plain.key
    assert spec_hash(own) != before and set(instance_overrides()) == {"o__r-7080"}
    assert load_spec("o/r", "1.0", "o__r-7080") == own
    _write(tmp_path, base + 'instances:\n  o__r-1:\n    version: "2.0"\n', monkeypatch)
    with pytest.raises(SpecError, match="o__r-1"):
        load_spec("o/r", "1.0")
    spec_module._load_file.cache_clear()


@pytest.mark.parametrize("text, words", [
    ('repo: o/r\ndefaults: {pyton: "3.9"}\nversions: {"1.0": {}}\n', "pyton"),
    ('repo: o/r\nversions: {"1.0": {tset_cmd: x}}\n', "tset_cmd"),
    ('repo: o/r\ndefault: {}\nversions: {"1.0": {}}\n', "default"),
    ('repo: o/r\nversions: {"1.0": {test_args: modules}}\n', "test_args"),
])
def test_unknown_keys_and_modes_are_errors(tmp_path, monkeypatch, text, words):
    _write(tmp_path, text, monkeypatch)
    with pytest.raises(SpecError, match=words):
        load_spec("o/r", "1.0")
    spec_module._load_file.cache_clear()


def test_build_spec_checks_the_test_args_mode():
    assert build_spec("o/r", "1", {"test_args": "labels"}).test_args == "labels"
    assert set(TEST_ARGS_MODES) == {"files", "ids", "labels"}


def test_every_shipped_spec_loads_and_names_a_known_parser():
    specs = [load_spec(repo, version) for repo, version in supported()]
    assert len(specs) > 60
    for spec in specs:
        PARSERS.get(spec.parser)
        assert spec.python == "system" or spec.python.count(".") == 1, spec.key
        # Nothing at test time may need the network or go through tox.
        assert "tox" not in spec.test_cmd.split() and "pip install" not in spec.test_cmd, spec.key


def test_debian_packages_make_their_own_base_variant():
    from swe_monkeys.images.builder import ImageBuilder

    builder = ImageBuilder(client=None, repo_cache=Path("."))
    plain = builder.base_tag()
    assert builder.base_tag(("gcc", "make")) == builder.base_tag(("make", "gcc")) != plain
    sympy = load_spec("sympy/sympy", "1.7")
    assert f"FROM {plain}" in builder.env_dockerfile(sympy)


@pytest.mark.skipif(not LITE.exists(), reason="needs ../shared/data/swe-bench-lite (a checkout with shared/ beside it)")
def test_every_lite_instance_has_a_spec():
    rows = [json.loads(line) for line in gzip.open(LITE)]
    missing = sorted({(r["repo"], r["version"]) for r in rows} - set(supported()))
    assert not missing
