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
    from swe_monkeys.swebench.spec import load_spec

    builder = ImageBuilder(docker_client, repo_cache)
    return {name: builder.ensure(ex.instance, load_spec(ex.instance.repo, ex.instance.version))
            for name, ex in examples.items()}


@pytest.fixture
def no_leftover_containers(docker_client):
    """Asserts that a test leaves no swe-monkeys container behind."""
    from swe_monkeys.sandbox.docker_sandbox import OWNER_LABEL

    yield
    left = docker_client.containers.list(all=True, sparse=True, filters={"label": f"{OWNER_LABEL}={os.getpid()}"})
    assert not left, f"containers left behind: {[c.short_id for c in left]}"


VLLM_MODEL = "smollm2-135m"


def vllm_unavailable(reason: str) -> None:
    """Skip, except under CI=true with SWE_MONKEYS_REQUIRE_VLLM=1, where a missing engine fails."""
    if os.environ.get("CI") == "true" and os.environ.get("SWE_MONKEYS_REQUIRE_VLLM") == "1":
        pytest.fail(f"SWE_MONKEYS_REQUIRE_VLLM=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def vllm_python() -> str:
    """The engine venv's python with the bundled CPU model installed (or a skip saying what is missing)."""
    from swe_monkeys.sampling.models import installed_dir
    from swe_monkeys.sampling.server import ServerError, vllm_python as find

    if installed_dir(VLLM_MODEL) is None:
        vllm_unavailable(f"bundled model {VLLM_MODEL} is not installed (swe-monkeys model install --model {VLLM_MODEL})")
    try:
        return find()
    except ServerError as exc:
        vllm_unavailable(str(exc))


@pytest.fixture(scope="session")
def vllm_endpoint(vllm_python):
    """(base_url, model) of one real vLLM server (CPU, SmolLM2-135M) shared by every test that needs one:
    starting it costs about two minutes. SWE_MONKEYS_VLLM_URL points the tests at a running server."""
    from swe_monkeys.sampling.server import ServeConfig, served_model

    if os.environ.get("SWE_MONKEYS_VLLM_URL"):
        yield os.environ["SWE_MONKEYS_VLLM_URL"], ""
        return
    config = ServeConfig(model=VLLM_MODEL, python=vllm_python, max_model_len=4096, cpu_kv_cache_gb=1,
                         extra_args=("--enforce-eager",))
    with served_model(config) as served:
        yield served.base_url, served.model


DEMO_MODEL = "qwen2.5-coder-0.5b"  # the README's first command's model


@pytest.fixture(scope="session")
def demo_endpoint(vllm_python):
    """(base_url, model, context, log path) of a real vLLM server with the demo model (Qwen2.5-Coder-0.5B on the
    CPU), for the tests that need a model that can fix things. SWE_MONKEYS_DEMO_URL points them at a
    running server."""
    from swe_monkeys.sampling.models import installed_dir
    from swe_monkeys.sampling.server import ServeConfig, served_model

    if os.environ.get("SWE_MONKEYS_DEMO_URL"):
        yield os.environ["SWE_MONKEYS_DEMO_URL"], "", 8192, None
        return
    if installed_dir(DEMO_MODEL) is None:
        vllm_unavailable(f"demo model {DEMO_MODEL} is not installed (swe-monkeys model install --model {DEMO_MODEL})")
    config = ServeConfig(model=DEMO_MODEL, python=vllm_python, max_model_len=8192, cpu_kv_cache_gb=1,
                         extra_args=("--enforce-eager",))
    with served_model(config) as served:
        yield served.base_url, served.model, 8192, served.log_path
