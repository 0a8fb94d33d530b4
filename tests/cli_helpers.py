"""What the CLI tests without an engine share: nothing real around them, and one way to run the app."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from swe_monkeys.cli import app


@pytest.fixture(autouse=True)
def nothing_real(tmp_path, monkeypatch):
    """No engine, a cache of the test's own, no endpoint from the environment."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("SWE_MONKEYS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], prog_name="swe-monkeys")
