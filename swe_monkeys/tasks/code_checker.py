"""Judges the programs of a code task (tasks/code.py) in a ProgramPool (tasks/code_exec.py).

`CodeChecker.judge(problem, candidates)` turns each program into the task's runs (`ProgramTask.jobs`),
runs them all at once and makes one verdict per program from the replies: every run passed
(the task's `passed`: the program's own end after its tests, or the expected output), a run that
could not be judged (infra_error, never a wrong answer), or the first failing run with why. Its
`parallel` lets the pipeline judge candidates of many problems at the same time, so the pool always
has programs queued and no container waits for a problem's slowest program.
"""

from __future__ import annotations

from typing import Any, Sequence

from swe_monkeys.tasks import TaskProblem
from swe_monkeys.types import Status, Verdict

QUEUED_PER_SLOT = 4  # candidates judged at once per program slot: the pool's queue never runs dry


class CodeChecker:
    """Judges candidate programs of one task in a ProgramPool."""

    def __init__(self, task: Any, pool: Any):
        self.task, self.pool = task, pool
        self.parallel = pool.workers * pool.slots * QUEUED_PER_SLOT

    def judge(self, problem: TaskProblem, candidates: Sequence[tuple[str, dict[str, Any]]]) -> list[Verdict]:
        plans, jobs = [], []
        for content, meta in candidates:
            if not content.strip() or meta.get("extract_status", "ok") != "ok":
                plans.append(None)
                continue
            mine = self.task.jobs(problem, content)
            plans.append((len(jobs), len(mine)))
            jobs += mine
        replies = self.pool.run(jobs)
        return [Verdict(Status.MALFORMED, "no code in the answer") if plan is None else
                self._verdict(problem, replies[plan[0]:plan[0] + plan[1]]) for plan in plans]

    def _verdict(self, problem: TaskProblem, replies: list[dict[str, Any]]) -> Verdict:
        seconds = sum(float(r.get("seconds") or 0) for r in replies)
        for index, reply in enumerate(replies):
            if "error" in reply:
                return Verdict(Status.INFRA_ERROR, reason=reply["error"], seconds=seconds)
            if not self.task.passed(problem, index, reply):
                return Verdict(Status.UNRESOLVED, reason=why_failed(reply, index, len(replies)), seconds=seconds,
                               log=(reply.get("stdout") or "")[-2000:] + (reply.get("stderr") or ""))
        return Verdict(Status.RESOLVED, reason=f"passed {len(replies)} run(s)", seconds=seconds)


def why_failed(reply: dict[str, Any], index: int, total: int) -> str:
    case = f"test {index + 1}/{total}: " if total > 1 else ""
    if reply.get("disk_exceeded"):
        return case + "stopped at the disk bound (wrote too much)"
    if reply.get("tampered"):
        return case + f"tampered with its tests ({reply['tampered'][:100]})"
    if reply.get("timed_out"):
        return case + "timed out"
    if reply.get("signal"):
        return case + f"killed by signal {reply['signal']}"
    last = (reply.get("stderr") or "").strip().splitlines()
    if reply.get("exit_code") not in (0, None) and last:
        return case + last[-1][:200]
    if reply.get("exit_code") == 0 and "completed" in reply and not reply.get("completed"):
        return case + "exited before its checks ran to the end"
    return case + "wrong output" if reply.get("exit_code") == 0 else case + f"exit code {reply.get('exit_code')}"


