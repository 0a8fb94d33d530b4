"""Where model-written programs run: warm containers of the base image, many programs each.

`ProgramPool(client, workers)` keeps up to `workers` hardened containers (sandbox/docker_sandbox.py:
network none, memory/CPU/pids limits, tmpfs /tmp, dropped capabilities) with harness/run_programs.py
serving in each; `run(jobs)` spreads the jobs over them and returns one reply per job, in order.
Inside, every program is its own process as a uid of its own with its own rlimits and timeout (see
harness/run_programs.py: nothing a program does survives into the next one's judgement). A
container whose harness dies or overruns is replaced; its job's reply says `error`, which the
checker turns into an infra_error verdict, never a wrong answer. A container in which something
of a program survived its kill (`dirty`) is replaced too.

`run_in_fresh_containers(jobs)` is the slow way (one container per program), kept for the benchmark.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional

from swe_monkeys.sandbox.docker_sandbox import Limits, SandboxError
from swe_monkeys.sandbox.session import HarnessSession, HarnessSpec, SessionBroken

MARK = b"@@SWE_MONKEYS_PROGRAM@@ "
MARGIN_S = 30.0  # beyond a program's own timeout before the harness itself counts as stuck
LIMITS = Limits(cpus=1.0, memory="2g", pids=256, tmpfs="512m", output_cap=8 << 20)


@dataclass(frozen=True)
class ProgramJob:
    """One run of an untrusted program: its source, its stdin and its limits."""

    program: str
    stdin: str = ""
    timeout: float = 10.0
    checked: bool = False  # pass = ran to its end (asserts included); see harness/run_programs.py
    # The dataset's tests, run by the harness's wrapper after the program from text the program never
    # sees (harness/program_wrapper.py); with an entry point, `check(<the program's entry point>)`.
    tests: str = ""
    entry_point: str = ""
    memory_mb: int = 1024
    output_cap: int = 1 << 20
    disk_mb: int = 256  # bytes it may keep in its working directory (a tmpfs in the container's memory)


def base_image(client, log: Callable[[str], None] = lambda line: None) -> str:
    """The base image (built from Debian packages the first time, ~1 min; nothing is pulled)."""
    from swe_monkeys.images.builder import ImageBuilder
    from swe_monkeys.images.sources import default_repo_cache

    return ImageBuilder(client, default_repo_cache(), log=log).build_base()


PROGRAM_HARNESS = HarnessSpec(files=("run_programs.py", "program_wrapper.py", "kill_user.py"), script="run_programs.py", marker=MARK)


class _Runner:
    """One warm container serving the program harness; replaced when a program leaves a trace."""

    def __init__(self, client, image: str, limits: Limits):
        self.client, self.image, self.limits = client, image, limits
        self.session: Optional[HarnessSession] = None

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def run(self, job: ProgramJob) -> dict[str, Any]:
        try:
            if self.session is None:
                self.session = HarnessSession(self.client, self.image, self.limits, PROGRAM_HARNESS).start()
            reply = self.session.request(asdict(job), job.timeout + MARGIN_S)
        except SandboxError as exc:
            self.close()
            return {"error": str(exc)}
        except SessionBroken as exc:
            self.close()
            return {"error": f"the program harness {exc}"}
        if reply.get("dirty"):
            self.close()  # something of that program survived its kill: nothing else runs beside it
        return reply


class ProgramPool:
    """Up to `workers` warm containers; `run` many jobs over them. A context manager."""

    def __init__(self, client=None, workers: int = 2, image: str = "", limits: Limits = LIMITS,
                 log: Callable[[str], None] = lambda line: None):
        from swe_monkeys.sandbox.docker_sandbox import docker_client, reap_orphans

        self.client = client or docker_client()
        reap_orphans(self.client)
        self.image = image or base_image(self.client, log)
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
