"""One lifecycle for every command: `solve`, `sweep` and `verify`, interrupted by SIGINT or SIGTERM while
a candidate's tests run in a container, leave no container behind (real subprocesses, real Docker)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest

from swe_monkeys.examples import EXAMPLES_DIR
from swe_monkeys.sandbox.docker_sandbox import OWNER_LABEL
from swe_monkeys.swebench.fake import edit_blocks_for

pytestmark = [pytest.mark.docker, pytest.mark.slow]
INIT = "calc/__init__.py"


def _hanging_completion() -> str:
    """Edit blocks whose patch makes the package sleep at import: its test run outlasts the signal."""
    before = (EXAMPLES_DIR / "calc" / "base" / INIT).read_text()
    return edit_blocks_for({INIT: before}, {INIT: before + "\nimport time\ntime.sleep(600)\n"})


@pytest.mark.parametrize("command", ["solve", "sweep", "verify"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_verification_leaves_no_container(tmp_path, examples, repo_cache, images, docker_client,
                                                       command, signum):
    calc = examples["calc"]
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps(calc.instance.to_row()) + "\n")
    script = tmp_path / "script.json"
    script.write_text(json.dumps([_hanging_completion()]))
    predictions = tmp_path / "preds.jsonl"  # a candidate whose tests hang
    predictions.write_text(json.dumps({"instance_id": calc.instance.instance_id,
                                       "model_patch": _hang_patch(calc, tmp_path / "overlay")}) + "\n")
    common = ["--repo-cache", str(repo_cache), "--run", str(tmp_path / "run"), "--workers", "1"]
    args = {"solve": ["solve", str(instances), "--fake", str(script), "-k", "2", "-q"],
            "sweep": ["sweep", "--dataset", str(instances), "--fake", str(script), "-k", "2", "-q"],
            "verify": ["verify", str(predictions), "--instances", str(instances), "--no-cache", "-q"]}[command]
    proc = subprocess.Popen([sys.executable, "-m", "swe_monkeys.cli", *args, *common],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    ours = _wait_for_tests(docker_client, proc)
    assert proc.poll() is None, "the command ended before a candidate's tests ran"
    proc.send_signal(signum)
    proc.wait(timeout=90)
    for _ in range(100):  # the engine may still be finishing a removal the process asked for
        if not ours():
            break
        time.sleep(0.1)
    assert not ours()


def _hang_patch(example, overlay) -> str:
    from swe_monkeys.examples import overlay_patch

    (overlay / "calc").mkdir(parents=True)
    (overlay / INIT).write_text((example.root / "base" / INIT).read_text() + "\nimport time\ntime.sleep(600)\n")
    return overlay_patch(example, overlay)


def _wait_for_tests(client, proc):
    """Wait (up to 240 s) until a container of `proc` runs a test command; `proc`'s containers, as a call."""
    def ours():
        return client.containers.list(all=True, sparse=True, filters={"label": f"{OWNER_LABEL}={proc.pid}"})

    deadline = time.monotonic() + 240
    while not _running_tests(client, ours()) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    return ours


def _running_tests(client, containers) -> bool:
    """True once a container of the process runs a test command (a python running pytest)."""
    for container in containers:
        try:
            top = client.api.top(container.id)
        except Exception:
            continue
        if any("pytest" in " ".join(p) for p in top.get("Processes") or []):
            return True
    return False


def test_kill_9_mid_verification_leaves_no_container_running(tmp_path, examples, repo_cache, images, docker_client):
    """A process killed with -9 runs no handler at all: its containers end with it (their stdin is
    the process's, closed by the engine when it dies) and are auto-removed, with no next run."""
    calc = examples["calc"]
    instances = tmp_path / "instances.jsonl"
    instances.write_text(json.dumps(calc.instance.to_row()) + "\n")
    predictions = tmp_path / "preds.jsonl"
    predictions.write_text(json.dumps({"instance_id": calc.instance.instance_id,
                                       "model_patch": _hang_patch(calc, tmp_path / "overlay")}) + "\n")
    proc = subprocess.Popen([sys.executable, "-m", "swe_monkeys.cli", "verify", str(predictions), "--instances",
                             str(instances), "--no-cache", "-q", "--repo-cache", str(repo_cache), "--run",
                             str(tmp_path / "run"), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    ours = _wait_for_tests(docker_client, proc)
    assert proc.poll() is None and ours(), "the command ended before a candidate's tests ran"
    proc.kill()
    proc.wait(timeout=30)
    for _ in range(150):
        if not ours():
            break
        time.sleep(0.1)
    assert not ours(), "a container outlived its killed owner"
