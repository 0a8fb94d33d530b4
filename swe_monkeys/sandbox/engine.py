"""The Docker engine as a dependency that can go away: how to reach it, and what a run does when
it stops answering mid-run (an outage is nobody's fault: what it cut is judged again, or the run
stops with what was judged kept), and its storage filling up (the run stops before an image layer
or a container's writes fail half-way, again with what was judged kept)."""

from __future__ import annotations

import os
import sys
import threading
import time

from swe_monkeys.errors import SweMonkeysError


class SandboxError(SweMonkeysError, RuntimeError):
    """Docker could not do what was asked (start, exec, copy): an infrastructure fault."""


class EngineInterrupted(Exception):
    """The Docker engine stopped answering while a judgement ran, and answers again: that judgement
    was cut by the host's fault, not the candidate's, and is judged again (never recorded)."""


class EngineOutage(SweMonkeysError, RuntimeError):
    """The Docker engine did not come back within the retry bound: the run stops, with what it
    judged kept."""


class StorageFull(SweMonkeysError, RuntimeError):
    """Docker's storage (its data root) has less free space than a run keeps in hand: the run stops
    before an image build or a container start meets a full disk, with what it judged kept."""


STORAGE_ENV = "SWE_MONKEYS_MIN_DOCKER_FREE_MB"
STORAGE_DEFAULT_MB = 1024
_ROOTS: dict[int, object] = {}  # id(client) -> the engine's data root when it is on this machine, else None


def _data_root(client):
    """The engine's DockerRootDir when the engine runs here (a unix socket) and the folder is
    readable; None otherwise (a remote engine's disk is not ours to measure)."""
    if id(client) not in _ROOTS:
        local = os.environ.get("DOCKER_HOST", "unix://").startswith("unix://")
        try:
            root = client.info().get("DockerRootDir") if local else None
        except Exception:  # noqa: BLE001 -- an engine that does not say has no check
            root = None
        _ROOTS[id(client)] = root if root and os.path.isdir(root) else None
    return _ROOTS[id(client)]


def check_storage(client, before: str) -> None:
    """Raise StorageFull when the engine's data root has less free space than SWE_MONKEYS_MIN_DOCKER_FREE_MB
    (default 1024 MiB), naming what was about to happen (`before`: "building IMAGE", "starting a container")."""
    root = _data_root(client)
    if root is None:
        return
    try:
        stat = os.statvfs(root)
    except OSError:
        return
    free, need = stat.f_bavail * stat.f_frsize, int(os.environ.get(STORAGE_ENV, STORAGE_DEFAULT_MB))
    if free < need << 20:
        raise StorageFull(f"Docker's storage ({root}) has {free / 2**20:.0f} MiB free, under the {need} MiB a run "
                          f"keeps in hand ({STORAGE_ENV}), before {before}; what was judged is kept: free space "
                          "(`swe-monkeys images prune`, `docker builder prune`) and run the same command again")


# How long an engine that stops answering is waited for: ping retries with doubling delays
# (1, 2, 4, ... capped at ENGINE_MAX_DELAY s: about 3 minutes in all), each with a progress line.
ENGINE_RETRIES = 10
ENGINE_FIRST_DELAY = 1.0
ENGINE_MAX_DELAY = 30.0
_OUTAGE: list[str] = []  # set once the bound was spent: every later wait gives up at once
_RECOVERED = [0.0]  # time.monotonic() when the engine last answered again after an outage
_ENGINE_LOCK = threading.Lock()  # one thread waits and reports; the others wait for its answer


def engine_answers(client) -> bool:
    try:
        client.ping()
        return True
    except Exception:  # noqa: BLE001 -- any failure to answer is the same here
        return False


def wait_for_engine(client, since: float, log=None) -> None:
    """Called when a container operation begun at `since` (time.monotonic()) failed. Returns when
    the fault was the container's: the engine answers and no outage ended since then. Raises
    EngineInterrupted when the failure was an outage's and the engine answers again (after waiting
    for it here, or because another thread just did), EngineOutage when it does not come back
    within the bound (reported on stderr as it waits)."""
    if engine_answers(client) and _RECOVERED[0] < since:
        return
    say = log or (lambda line: print(line, file=sys.stderr, flush=True))
    with _ENGINE_LOCK:
        if _OUTAGE:
            raise EngineOutage(_OUTAGE[0])
        delay = ENGINE_FIRST_DELAY
        for attempt in range(1, ENGINE_RETRIES + 2):
            if engine_answers(client):
                if _RECOVERED[0] < since:  # this thread saw the outage end: one line for all
                    say("Docker engine answers again: the judgements it cut are judged again")
                    _RECOVERED[0] = time.monotonic()
                raise EngineInterrupted("the Docker engine stopped answering mid-judgement")
            if attempt > ENGINE_RETRIES:
                break
            say(f"Docker engine unreachable, retrying {attempt}/{ENGINE_RETRIES} in {delay:.0f} s")
            time.sleep(delay)
            delay = min(delay * 2, ENGINE_MAX_DELAY)
        _OUTAGE.append(f"the Docker engine did not answer for {ENGINE_RETRIES} tries; what was judged is kept: "
                       "run the same command again once it is back to continue")
        raise EngineOutage(_OUTAGE[0])


def docker_client():
    """A client for the local engine, or SandboxError saying how to start one."""
    import docker

    try:
        client = docker.from_env(timeout=120)
        client.ping()
        return client
    except Exception as exc:
        raise SandboxError(f"Docker engine not reachable ({type(exc).__name__}); start dockerd "
                           "(e.g. `dockerd --storage-driver=overlay2 &`) or set DOCKER_HOST") from exc
