"""Where model-written programs run: warm containers of the base image, many programs each.

`ProgramPool(client, workers)` keeps up to `workers` hardened containers (sandbox/docker_sandbox.py:
network none, memory/CPU/pids limits, tmpfs /tmp, dropped capabilities) with harness/run_programs.py
serving in each; `run(jobs)` spreads the jobs over them and returns one reply per job, in order.
Inside, every program is its own process as an unprivileged user with its own rlimits and timeout
(see the harness). A container whose harness dies or overruns is replaced; its job's reply says
`error`, which the checker turns into an infra_error verdict, never a wrong answer.

`run_in_fresh_containers(jobs)` is the slow way (one container per program), kept for the benchmark.
"""

from __future__ import annotations

import json
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Optional

from swe_monkeys.paths import HARNESS
from swe_monkeys.sandbox.docker_sandbox import DockerSandbox, Limits, SandboxError

MARK = b"@@SWE_MONKEYS_PROGRAM@@ "
IN_CONTAINER = "/opt/swe-monkeys/run_programs.py"
MARGIN_S = 30.0  # beyond a program's own timeout before the harness itself counts as stuck
LIMITS = Limits(cpus=1.0, memory="2g", pids=256, tmpfs="512m", output_cap=8 << 20)


@dataclass(frozen=True)
class ProgramJob:
    """One run of an untrusted program: its source, its stdin and its limits."""

    program: str
    stdin: str = ""
    timeout: float = 10.0
    checked: bool = False  # pass = ran to its end (asserts included); see harness/run_programs.py
    memory_mb: int = 1024
    output_cap: int = 1 << 20


def base_image(client) -> str:
    """The base image (built from Debian packages the first time; nothing is pulled)."""
    from swe_monkeys.images.builder import ImageBuilder
    from swe_monkeys.images.sources import default_repo_cache

    return ImageBuilder(client, default_repo_cache()).build_base()


class _Runner:
    """One warm container serving the program harness."""

    def __init__(self, client, image: str, limits: Limits):
        self.client, self.image, self.limits = client, image, limits
        self.sandbox: Optional[DockerSandbox] = None
        self.session = None

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
        if self.sandbox is not None:
            self.sandbox.close()
        self.sandbox = self.session = None

    def run(self, job: ProgramJob) -> dict[str, Any]:
        try:
            if self.sandbox is None:
                sandbox = DockerSandbox(self.client, self.image, self.limits).__enter__()
                self.sandbox = sandbox
                sandbox.put_file(IN_CONTAINER, (HARNESS / "run_programs.py").read_bytes())
                self.session = sandbox.open_session(["python3", "-u", IN_CONTAINER])
            reply, timed_out = self.session.request(json.dumps(asdict(job)).encode(), MARK, job.timeout + MARGIN_S)
        except SandboxError as exc:
            self.close()
            return {"error": str(exc)}
        if reply is None:
            self.close()
            return {"error": "the program harness " + ("overran its time limit" if timed_out else "ended without a reply")}
        try:
            return json.loads(reply[len(MARK):])
        except ValueError:
            self.close()
            return {"error": "unreadable reply from the program harness"}


class ProgramPool:
    """Up to `workers` warm containers; `run` many jobs over them. A context manager."""

    def __init__(self, client=None, workers: int = 2, image: str = "", limits: Limits = LIMITS):
        from swe_monkeys.sandbox.docker_sandbox import docker_client, reap_orphans

        self.client = client or docker_client()
        reap_orphans(self.client)
        self.image = image or base_image(self.client)
        self.workers = max(1, workers)
        self._free: "queue.Queue[_Runner]" = queue.Queue()
        for _ in range(self.workers):
            self._free.put(_Runner(self.client, self.image, limits))
        self._all = list(self._free.queue)
        self._lock = threading.Lock()

    def __enter__(self) -> "ProgramPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for runner in self._all:
            runner.close()

    def _one(self, job: ProgramJob) -> dict[str, Any]:
        runner = self._free.get()
        try:
            return runner.run(job)
        finally:
            self._free.put(runner)

    def run(self, jobs: list[ProgramJob]) -> list[dict[str, Any]]:
        if len(jobs) <= 1 or self.workers == 1:
            return [self._one(job) for job in jobs]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(self._one, jobs))


def run_in_fresh_containers(client, image: str, jobs: list[ProgramJob], limits: Limits = LIMITS) -> list[dict]:
    """Each job in a container of its own, started and removed around it (the benchmark's baseline)."""
    out = []
    for job in jobs:
        runner = _Runner(client, image, limits)
        try:
            out.append(runner.run(job))
        finally:
            runner.close()
    return out
