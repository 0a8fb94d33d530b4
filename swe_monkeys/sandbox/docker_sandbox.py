"""A Docker container as a sandbox: no network, CPU/memory/pids limits, timeouts, output caps.

Every container this process starts is labelled with its pid and host name and registered here,
so that all of them are removed on normal exit, on Ctrl-C / SIGTERM, and, for a process that was
killed, by the engine itself: a container lives only while its owner holds its stdin open, and is
auto-removed once it ends. The next run on that host reaps what is left as a second line
(`reap_orphans`; a Ray verification actor starting on a node counts). The host label keeps a process from reaping the live containers of a process on another
host that shares the engine (pods of a KubeRay cluster on one Docker socket: their pids are not
in our /proc). Failures of the command are values in ExecResult; failures of
Docker itself raise SandboxError, which callers turn into infra_error verdicts.
"""

from __future__ import annotations

import io
import os
import socket
import tarfile
import threading
import time
import uuid
from dataclasses import dataclass

from swe_monkeys.sandbox.exec_session import ExecSession
from swe_monkeys.types import ExecResult
from swe_monkeys.sandbox.engine import SandboxError, check_storage, docker_client  # noqa: F401 (where callers find them)

OWNER_LABEL = "swe-monkeys.owner-pid"
HOST_LABEL = "swe-monkeys.owner-host"
HOST = socket.gethostname()
_LIVE: dict[str, "DockerSandbox"] = {}
_LIVE_LOCK = threading.Condition(threading.RLock())  # re-entrant: signal handlers run on any thread holding it
_STARTING = [0]  # containers being created right now (not in _LIVE yet)
_STARTED = [0]  # containers this process asked Docker for, in all
_CLOSING = threading.Event()  # set on Ctrl-C / SIGTERM / exit: no new containers from then on


@dataclass(frozen=True)
class Limits:
    """Resource limits for one container. Defaults suit one test suite on a small machine."""

    cpus: float = 1.0
    memory: str = "4g"
    pids: int = 512
    tmpfs: str = "1g"  # size of the /tmp tmpfs (charged to the container's memory)
    # Bytes of an exec's output kept by the host. A test log over half of it is truncated by the
    # harness, and a truncated log never resolves, so it must hold a real suite's verbose log
    # (sphinx-8474's gold writes 3.3 MB) beside the guard's records.
    output_cap: int = 16 << 20
    # Bytes the candidate's user may keep on disk in all (the harness's watcher: unsafe_tests.py's
    # DiskWatch, run_programs.py's). Docker's storage_opt size would bound the writable layer itself,
    # but it needs overlay2 on xfs with pquota; this machine's is on ext4 and refuses it.
    disk: int = 1 << 30
    # Names that resolve to 127.0.0.1 inside the container only (a suite's public endpoints, served
    # by a local stand-in: harness/http_standin.py), with ports below 1024 open to the test user so
    # the stand-in can answer on 80 and 443. Never a network: the container has none.
    loopback_hosts: tuple[str, ...] = ()
    # Addresses put on the container's own loopback at start, for a stand-in that never answers
    # them (a suite's connect-timeout tests dial 10.255.255.1). Adding them takes NET_ADMIN, granted
    # to such containers only: it governs nothing but the container's own empty network namespace,
    # and the test user, unprivileged under no-new-privileges, never holds it.
    tarpits: tuple[str, ...] = ()


# Default capabilities minus those no test suite needs. SETUID/SETGID/KILL/CHOWN/DAC_OVERRIDE/FOWNER
# stay: the root harness drops to the test user, kills its processes and repairs ownership.
_DROPPED_CAPS = ["NET_RAW", "NET_BIND_SERVICE", "MKNOD", "AUDIT_WRITE", "SETFCAP", "SETPCAP", "SYS_CHROOT",
                 "FSETID"]


def _stand_in_options(limits: Limits) -> dict:
    options: dict = {}
    if limits.loopback_hosts or limits.tarpits:
        options["sysctls"] = {"net.ipv4.ip_unprivileged_port_start": "0"}
    if limits.loopback_hosts:
        options["extra_hosts"] = {host: "127.0.0.1" for host in limits.loopback_hosts}
    if limits.tarpits:
        options["cap_add"] = ["NET_ADMIN"]
    return options


class DockerSandbox:
    """One detached container of `image`, kept warm for many commands."""

    def __init__(self, client, image: str, limits: Limits = Limits()):
        self.client, self.image, self.limits = client, image, limits
        self.container = None
        self._lifeline = None  # our end of the container's stdin: the container ends when it closes

    def __enter__(self) -> "DockerSandbox":
        import docker

        check_storage(self.client, f"starting a container of {self.image}")  # StorageFull: the run stops
        name = f"swe-monkeys-{uuid.uuid4().hex[:10]}"
        with _LIVE_LOCK:
            if _CLOSING.is_set():
                raise SandboxError("shutting down")
            _STARTING[0] += 1
            _STARTED[0] += 1
        try:
            api = self.client.api
            host_config = api.create_host_config(
                init=True, auto_remove=True, network_mode="none", mem_limit=self.limits.memory,
                memswap_limit=self.limits.memory, nano_cpus=int(self.limits.cpus * 1e9), pids_limit=self.limits.pids,
                tmpfs={"/tmp": f"size={self.limits.tmpfs},mode=1777"}, cap_drop=_DROPPED_CAPS,
                security_opt=["no-new-privileges"], ulimits=[docker.types.Ulimit(name="nofile", soft=4096, hard=4096)],
                **_stand_in_options(self.limits))
            # The container lives as long as this process holds its stdin: its one process reads
            # stdin to the end, and the engine closes that stdin when our attachment goes (StdinOnce:
            # detach=False with stdin_open), so a process killed with -9 leaves no container
            # running; auto_remove then deletes it. reap_orphans stays as the second line.
            created = api.create_container(self.image, ["sh", "-c", "exec cat >/dev/null"], name=name,
                                           detach=False, stdin_open=True, host_config=host_config,
                                           labels={OWNER_LABEL: str(os.getpid()), HOST_LABEL: HOST})
            self._lifeline = api.attach_socket(created["Id"], params={"stdin": 1, "stream": 1})
            api.start(created["Id"])
            self.container = self.client.containers.get(created["Id"])
            if self.limits.tarpits:
                self._add_loopback_addresses(self.limits.tarpits)
        except docker.errors.DockerException as exc:
            _remove_by_name(self.client, name)  # created but not started: nothing else knows it
            _close_quietly(self._lifeline)
            self._lifeline = None
            raise SandboxError(f"could not start a container of {self.image}: {exc}") from exc
        except BaseException:  # Ctrl-C while Docker creates it (the handler runs in this thread)
            _remove_by_name(self.client, name)
            _close_quietly(self._lifeline)
            self._lifeline = None
            raise
        finally:
            with _LIVE_LOCK:
                _STARTING[0] -= 1
                _LIVE_LOCK.notify_all()
        with _LIVE_LOCK:
            _LIVE[self.container.id] = self
            closing = _CLOSING.is_set()
        if closing:  # started while shutting down: remove_all may already have run
            self.close()
            raise SandboxError("shutting down")
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _add_loopback_addresses(self, addresses: tuple[str, ...]) -> None:
        import docker

        # SIOCSIFADDR on lo:N aliases, by the image's own Python: no iproute2 needed in any image.
        script = ("import fcntl,socket,struct,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                  "for n,a in enumerate(sys.argv[1:],1):\n"
                  " fcntl.ioctl(s.fileno(),0x8916,struct.pack('16sH2s4s8s',('lo:%d'%n).encode(),"
                  "socket.AF_INET,bytes(2),socket.inet_aton(a),bytes(8)))\n")
        result = self.container.exec_run(["/usr/bin/python3", "-c", script, *addresses], user="root")
        if result.exit_code != 0:
            raise docker.errors.DockerException(f"adding {', '.join(addresses)} to the loopback failed: "
                                                f"{result.output.decode(errors='replace')[-300:]}")

    def close(self) -> None:
        container, self.container = self.container, None
        lifeline, self._lifeline = self._lifeline, None
        if container is None:
            _close_quietly(lifeline)
            return
        with _LIVE_LOCK:
            _LIVE.pop(container.id, None)
        try:
            container.remove(force=True)
        except Exception:  # already gone (auto-removed), or the engine is down: reap_orphans retries
            pass
        _close_quietly(lifeline)

    def exec(self, cmd: list[str], timeout: float, user: str = "root") -> ExecResult:
        """Run cmd; past `timeout` seconds the container is killed (and must be replaced)."""
        if self.container is None:
            raise SandboxError("sandbox is not running")
        start = time.monotonic()
        try:
            exec_id = self.client.api.exec_create(self.container.id, cmd, user=user, workdir="/")["Id"]
            stream = self.client.api.exec_start(exec_id, stream=True, demux=False)
        except Exception as exc:
            raise SandboxError(f"exec failed: {exc}") from exc
        chunks: list[bytes] = []
        state = {"size": 0, "truncated": False}

        def pump() -> None:
            try:
                for chunk in stream:
                    if state["size"] < self.limits.output_cap:
                        chunks.append(chunk[: self.limits.output_cap - state["size"]])
                    state["truncated"] |= state["size"] + len(chunk) > self.limits.output_cap
                    state["size"] += len(chunk)
            except Exception:  # the stream breaks when the container is killed below
                pass

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        reader.join(timeout)
        timed_out = reader.is_alive()
        if timed_out:
            self.kill()
            reader.join(10)
        exit_code = None
        if not timed_out:
            try:
                exit_code = self.client.api.exec_inspect(exec_id).get("ExitCode")
            except Exception as exc:
                raise SandboxError(f"exec inspect failed: {exc}") from exc
        return ExecResult(exit_code=exit_code, output=b"".join(chunks).decode("utf-8", "replace"),
                          seconds=time.monotonic() - start, timed_out=timed_out, truncated=state["truncated"])

    def open_session(self, cmd: list[str]) -> ExecSession:
        """Start a long-lived command whose stdin/stdout carry line-framed requests and replies."""
        try:
            exec_id = self.client.api.exec_create(self.container.id, cmd, stdin=True, stdout=True, stderr=True)["Id"]
            sock = self.client.api.exec_start(exec_id, socket=True)
        except Exception as exc:
            raise SandboxError(f"exec failed: {exc}") from exc
        return ExecSession(getattr(sock, "_sock", sock), self.limits.output_cap)

    def kill(self) -> None:
        try:
            self.container.kill()
        except Exception:
            pass

    def put_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self.put_files({path: data}, mode)

    def put_files(self, files: dict[str, bytes], mode: int = 0o644) -> None:
        """Copy files in with one archive (each copy is a request the engine pays for: six of
        them cost a container start's worth of CPU)."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for path, data in files.items():
                info = tarfile.TarInfo(path.lstrip("/"))
                info.size, info.mode, info.mtime = len(data), mode, int(time.time())
                tar.addfile(info, io.BytesIO(data))
        try:
            self.container.put_archive("/", buf.getvalue())
        except Exception as exc:
            raise SandboxError(f"copy into the container failed: {exc}") from exc

    def get_file(self, path: str) -> bytes:
        try:
            bits, _ = self.container.get_archive(path)
            with tarfile.open(fileobj=io.BytesIO(b"".join(bits))) as tar:
                member = tar.next()
                return tar.extractfile(member).read() if member else b""
        except Exception as exc:
            raise SandboxError(f"copy out of the container failed: {exc}") from exc


def _close_quietly(sock) -> None:
    if sock is None:
        return
    try:
        getattr(sock, "_sock", sock).close()
        sock.close()
    except Exception:  # already closed by the engine
        pass


def _remove_by_name(client, name: str) -> None:
    try:
        client.api.remove_container(name, force=True)
    except Exception:  # never created, or already gone
        pass


def remove_all(wait: float = 10.0) -> None:
    """Remove every container this process started (cli/lifecycle.py's exit and signal handlers call it).

    Containers still being created are waited for (up to `wait` seconds) and removed too, so an
    interrupt that lands while Docker is starting one leaves nothing behind."""
    _CLOSING.set()
    with _LIVE_LOCK:
        _LIVE_LOCK.wait_for(lambda: _STARTING[0] == 0, timeout=wait)
        live = list(_LIVE.values())
    for sandbox in live:
        sandbox.close()
    if live or _STARTED[0]:
        _remove_own_containers()


def _remove_own_containers() -> None:
    """Every container labelled with this pid, through a new connection: a signal can land while the
    sandboxes' own client is in the middle of a request, and its connection is then unusable."""
    try:
        import docker

        client = docker.from_env(timeout=30)
        for container in client.containers.list(all=True, sparse=True, filters={
                "label": [f"{OWNER_LABEL}={os.getpid()}", f"{HOST_LABEL}={HOST}"]}):
            _remove_by_name(client, container.id)
        client.close()
    except Exception:  # the engine is gone: reap_orphans removes them on the next run
        pass


def reap_orphans(client, settle: float = 1.0) -> int:
    """Remove containers left by swe-monkeys processes that no longer exist.

    A process killed while it asked Docker for a container leaves a creation the engine still
    finishes: once a pass removes something, passes repeat until one `settle` seconds later finds
    nothing more."""
    removed = 0
    while True:
        found = _reap_pass(client)
        removed += found
        if not found:
            return removed
        time.sleep(settle)


def _reap_pass(client) -> int:
    removed = 0
    # sparse: no inspect per container, which would raise NotFound for one another process removes meanwhile
    for container in client.containers.list(all=True, sparse=True, filters={"label": OWNER_LABEL}):
        labels = container.attrs.get("Labels") or {}
        if labels.get(HOST_LABEL, HOST) != HOST:  # another host's process: only its host can tell it is dead
            continue
        pid = int(labels.get(OWNER_LABEL, "0") or 0)
        alive = pid > 0 and os.path.exists(f"/proc/{pid}") and pid != os.getpid()
        if not alive and container.id not in _LIVE:
            try:
                container.remove(force=True)
                removed += 1
            except Exception:
                pass
    return removed
