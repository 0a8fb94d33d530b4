"""A lost Docker engine is an outage, not a crash (real Docker): the test talks to the engine through
a socket proxy it can cut -- every connection dropped, new ones refused -- as an engine restart
does to its clients. While the engine is away, verify waits with a progress line; when it answers
again, the judgements it cut are judged again (never recorded as infra_error); when it does not,
verify stops with one error line, the verdicts reached before kept, nothing left running."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest

from swe_monkeys.sandbox import engine
from swe_monkeys.sandbox.docker_sandbox import OWNER_LABEL
from swe_monkeys.sandbox.engine import EngineOutage

pytestmark = [pytest.mark.docker, pytest.mark.slow]
ENGINE = "/var/run/docker.sock"


class CuttableProxy:
    """A unix-socket proxy in front of the engine's socket."""

    def __init__(self, path: str, target: str = ENGINE):
        self.path, self.target, self.down = path, target, False
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_UNIX)
        self._server.bind(path)
        self._server.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.target)
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        self.down = True
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            except OSError:
                pass

    def restore(self) -> None:
        self.down = False

    def close(self) -> None:
        self.cut()
        self._server.close()


@pytest.fixture
def proxy(tmp_path, monkeypatch):
    if not os.path.exists(ENGINE):
        pytest.skip(f"no engine socket at {ENGINE}")
    sock = CuttableProxy(str(tmp_path / "engine.sock"))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{sock.path}")
    monkeypatch.setattr(engine, "ENGINE_FIRST_DELAY", 0.5)
    monkeypatch.setattr(engine, "ENGINE_MAX_DELAY", 1.0)
    monkeypatch.setattr(engine, "_OUTAGE", [])
    monkeypatch.setattr(engine, "_RECOVERED", [0.0])
    yield sock
    sock.close()


def _slow(example, seconds: int, overlay) -> str:
    """The gold patch, and the package sleeps at import: its tests run long enough to be cut."""
    import shutil

    from swe_monkeys.examples import overlay_patch

    shutil.copytree(example.root / "fix", overlay)
    init = "calc/__init__.py"
    (overlay / init).write_text((example.root / "base" / init).read_text() + f"\nimport time\ntime.sleep({seconds})\n")
    return overlay_patch(example, overlay)


def _cut_when_tests_run(docker_client, proxy, hold: float | None) -> threading.Thread:
    def ours_testing() -> bool:
        for c in docker_client.containers.list(sparse=True, filters={"label": f"{OWNER_LABEL}={os.getpid()}"}):
            try:
                if any("pytest" in " ".join(p) for p in docker_client.api.top(c.id).get("Processes") or []):
                    return True
            except Exception:
                continue
        return False

    def cut() -> None:
        deadline = time.monotonic() + 300
        while not ours_testing() and time.monotonic() < deadline:
            time.sleep(0.2)
        proxy.cut()
        if hold is not None:
            time.sleep(hold)
            proxy.restore()

    thread = threading.Thread(target=cut, daemon=True)
    thread.start()
    return thread


def _store(tmp_path, example, patches):
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.types import Candidate

    store = RunStore(tmp_path / "run")
    ids = [store.add_candidate(Candidate(example.instance.instance_id, p, name, n))
           for n, (name, p) in enumerate(patches.items())]
    return store, dict(zip(patches, ids))


def test_an_engine_that_comes_back_cuts_no_verdict(tmp_path, docker_client, images, examples, repo_cache, proxy,
                                                   capfd):
    from swe_monkeys.swebench.api import verify_instances
    from swe_monkeys.swebench.checker import VerifyConfig
    from swe_monkeys.types import Status

    calc = examples["calc"]
    store, ids = _store(tmp_path, calc, {"slow_gold": _slow(calc, 8, tmp_path / "overlay"), "gold": calc.candidates["gold"],
                                         "wrong": calc.candidates["wrong"]})
    cutter = _cut_when_tests_run(docker_client, proxy, hold=3.0)
    verify_instances(store, [calc.instance], VerifyConfig(repo_cache=repo_cache, workers=1, use_cache=False))
    cutter.join(5)
    verdicts = store.verdicts()
    assert {name: verdicts[cid].status for name, cid in ids.items()} == {
        "slow_gold": Status.RESOLVED, "gold": Status.RESOLVED, "wrong": Status.UNRESOLVED}
    err = capfd.readouterr().err
    assert "Docker engine unreachable, retrying 1/" in err and "answers again" in err, err
    assert not docker_client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={os.getpid()}"})


def test_an_engine_that_stays_away_stops_the_run_and_keeps_what_was_judged(tmp_path, docker_client, images, examples,
                                                                           repo_cache, proxy, monkeypatch):
    from swe_monkeys.swebench.api import verify_instances
    from swe_monkeys.swebench.checker import VerifyConfig

    monkeypatch.setattr(engine, "ENGINE_RETRIES", 3)
    calc = examples["calc"]
    store, ids = _store(tmp_path, calc, {"slow_gold": _slow(calc, 30, tmp_path / "overlay")})
    _cut_when_tests_run(docker_client, proxy, hold=None)
    with pytest.raises(EngineOutage, match="run the same command again"):
        verify_instances(store, [calc.instance], VerifyConfig(repo_cache=repo_cache, workers=1, use_cache=False))
    assert ids["slow_gold"] not in store.verdicts()  # cut: not judged, and not an infra_error either
    for _ in range(100):  # its containers end with their lifeline (through the cut proxy) and go
        if not docker_client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={os.getpid()}"}):
            break
        time.sleep(0.1)
    assert not docker_client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={os.getpid()}"})
    assert json.dumps(str(tmp_path))


def test_docker_storage_under_the_reserve_stops_the_run_and_the_same_command_finishes(
        tmp_path, docker_client, images, examples, repo_cache, monkeypatch):
    """The reserve is raised above the engine's real free space mid-run (SWE_MONKEYS_MIN_DOCKER_FREE_MB,
    read at every check), as a filling disk would cross it, once the first instance's verdicts are
    recorded: those are kept, the next instance's candidates are not started (no verdict, no
    infra_error), nothing is left running, and the same call judges the rest once there is room."""
    from swe_monkeys.sandbox.engine import STORAGE_ENV, StorageFull, _data_root
    from swe_monkeys.swebench.api import verify_instances
    from swe_monkeys.swebench.checker import VerifyConfig
    from swe_monkeys.types import Candidate, Status

    root = _data_root(docker_client)
    if root is None:
        pytest.skip("the engine's data root is not on this machine")
    stat = os.statvfs(root)
    free_mb = stat.f_bavail * stat.f_frsize >> 20
    calc, dates = examples["calc"], examples["daterange"]
    store, ids = _store(tmp_path, calc, {"gold": calc.candidates["gold"], "wrong": calc.candidates["wrong"]})
    ids["dates_gold"] = store.add_candidate(Candidate(dates.instance.instance_id, dates.candidates["gold"], "gold", 0))
    monkeypatch.setenv(STORAGE_ENV, "1")
    record = store.add_verdict

    def record_then_fill(*args, **kwargs):
        out = record(*args, **kwargs)
        os.environ[STORAGE_ENV] = str(free_mb + 4096)  # the disk crossed the reserve
        return out

    monkeypatch.setattr(store, "add_verdict", record_then_fill)
    config = VerifyConfig(repo_cache=repo_cache, workers=1, use_cache=False)
    with pytest.raises(StorageFull, match=r"Docker's storage .* MiB free, under the \d+ MiB .* run the same command"):
        verify_instances(store, [calc.instance, dates.instance], config)
    kept = store.verdicts()
    assert set(kept) == {ids["gold"], ids["wrong"]}  # the first instance's; none for the second
    for _ in range(100):
        if not docker_client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={os.getpid()}"}):
            break
        time.sleep(0.1)
    assert not docker_client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={os.getpid()}"})
    monkeypatch.setattr(store, "add_verdict", record)
    monkeypatch.setenv(STORAGE_ENV, "1")  # room again
    verify_instances(store, [calc.instance, dates.instance], config)
    verdicts = store.verdicts()
    assert {name: verdicts[cid].status for name, cid in ids.items()} == {
        "gold": Status.RESOLVED, "wrong": Status.UNRESOLVED, "dates_gold": Status.RESOLVED}
