"""The parsers on logs of real SWE-bench Lite instances judged here (tests/data/logs/lite/): the
gold patch's run names every FAIL_TO_PASS and PASS_TO_PASS test as the dataset does and passes
them; the empty patch's run fails a FAIL_TO_PASS test. Django's runs include docstring names
(a test named by its first docstring line, on the line after its own), matplotlib's and
scikit-learn's pytest runs parametrised ids. The names come from ../shared/data (not copied here):
without it these tests skip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swe_monkeys.swebench.parsers import PARSERS, PASSED, SKIPPED, aliases
from swe_monkeys.swebench.spec import load_spec
from tests.conftest import LITE

LOGS = Path(__file__).parent / "data" / "logs" / "lite"
FIXTURES = sorted(p.name for p in LOGS.glob("*.log"))


def _row(instance: str) -> dict:
    if not LITE.exists():
        pytest.skip(f"SWE-bench Lite data not found at {LITE}")
    from swe_monkeys.swebench.dataset import load_instances

    return load_instances(LITE, [instance])[0]


def _status(statuses: dict[str, str], name: str) -> str:
    return next((statuses[a] for a in [name, *aliases(name)] if a in statuses), "MISSING")


@pytest.mark.parametrize("fixture", FIXTURES)
def test_real_lite_logs(fixture):
    instance, kind, _ = fixture.split(".")
    inst = _row(instance)
    parser = PARSERS.get(load_spec(inst.repo, inst.version, inst.instance_id).parser)
    parsed = parser((LOGS / fixture).read_text())
    assert parsed.suite_ran and not parsed.problem, parsed.problem
    f2p = {name: _status(parsed.statuses, name) for name in inst.fail_to_pass}
    if kind == "gold":
        p2p = {name: _status(parsed.statuses, name) for name in inst.pass_to_pass}
        assert set(f2p.values()) == {PASSED}, f2p
        assert set(p2p.values()) <= {PASSED, SKIPPED}, {n: s for n, s in p2p.items() if s not in (PASSED, SKIPPED)}
    else:
        assert any(status != PASSED for status in f2p.values()), f2p


def test_the_fixtures_cover_the_new_repositories():
    repos = {name.split("-")[0] for name in FIXTURES}
    assert {"django__django", "matplotlib__matplotlib"} <= repos
    docstring_named = [n for n in _row("django__django-11019").pass_to_pass if " (" not in n]
    assert docstring_named, "django-11019 is here for its docstring-named tests"
    assert json.dumps(FIXTURES)
