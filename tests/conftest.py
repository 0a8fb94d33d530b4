"""Shared fixtures: a real Docker engine, the example instances in a real repo cache, shared data.

Docker tests really run: without an engine they skip on a developer's machine but FAIL when
CI=true, so a CI that lost its engine cannot go green by skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"
LITE = SHARED_DATA / "swe-bench-lite"


@pytest.fixture(scope="session")
def docker_client():
    from swe_monkeys.sandbox.docker_sandbox import SandboxError, docker_client as connect

    try:
        return connect()
    except SandboxError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but no Docker engine: {exc}")
        pytest.skip(f"no Docker engine: {exc}")


@pytest.fixture(scope="session")
def repo_cache(tmp_path_factory) -> Path:
    """A repo cache holding the example repositories as bare clones."""
    from swe_monkeys.examples import materialise

    cache = tmp_path_factory.mktemp("repo-cache")
    materialise(cache)
    return cache


@pytest.fixture(scope="session")
def examples(repo_cache):
    from swe_monkeys.examples import materialise

    return {ex.root.name: ex for ex in materialise(repo_cache)}


@pytest.fixture(scope="session")
def images(docker_client, repo_cache, examples):
    """Instance images of every example (built once; reused across sessions by content tags)."""
    from swe_monkeys.images.builder import ImageBuilder

    builder = ImageBuilder(docker_client, repo_cache)
    return {name: builder.ensure(ex.instance) for name, ex in examples.items()}


@pytest.fixture
def no_leftover_containers(docker_client):
    """Asserts that a test leaves no swe-monkeys container behind."""
    from swe_monkeys.sandbox.docker_sandbox import OWNER_LABEL

    yield
    left = docker_client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={os.getpid()}"})
    assert not left, f"containers left behind: {[c.name for c in left]}"
