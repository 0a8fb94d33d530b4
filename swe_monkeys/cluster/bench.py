"""`swe-monkeys bench cluster`: verification throughput here and on Ray, for the same batch.

One batch of synthetic candidates on an example instance (swebench/bench.py's `synthetic_batch`:
distinct fixed and unfixed variants of the gold patch, with duplicates) is verified three times
through the pipeline's `verify_run`, each into a fresh run store with the cross-run verdict cache
off: with the local checker (one container), with one verification actor of one container on the
Ray cluster, with two such actors, and locally again (the local time is the mean of the runs
before and after, so a machine that gets busier or quieter meanwhile favours neither path). Times run from opening the checker (actors started, each
opening its own) to the last verdict committed, so the Ray figures include what Ray adds: actor
start, moving each call and its verdicts. `ray_overhead` is ray_1's time over the local time,
minus one; the verdicts of all three must be identical.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Optional

from swe_monkeys.cluster import ClusterSpec, connected


def _verify(target: Any, batch: list[str], run_dir: Path, cluster: Optional[ClusterSpec]) -> dict[str, Any]:
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks.pipeline import open_checker, record_task, verify_run
    from swe_monkeys.tasks.swebench import SWEBench
    from swe_monkeys.types import Candidate

    task = SWEBench(repo_cache=target.repo_cache)
    with RunStore(run_dir) as store:
        record_task(store, task, [task.problem(target.inst)], None)
        for i, patch in enumerate(batch):
            store.add_candidate(Candidate(target.inst.instance_id, patch, "bench", i))
        start = time.monotonic()
        with open_checker(task, {"workers": 1, "use_cache": False}, cluster) as checker:
            opened = time.monotonic()
            verify_run(store, task, checker)
        seconds = time.monotonic() - start
        verdicts = store.verdicts()
        statuses = [verdicts[cid].status.value for cid, _ in store.candidates()]
        judged = len(set(store.dedup_keys().values()) - {""})
    return {"seconds": seconds, "start_s": opened - start, "statuses": statuses, "judged": judged}


def run_cluster_bench(target: Any, total: int = 40, unique: int = 16, address: str = "local") -> dict[str, Any]:
    from swe_monkeys.images import sources
    from swe_monkeys.swebench.bench import synthetic_batch
    from swe_monkeys.swebench.checker import VerifyConfig, open_engine
    from swe_monkeys.swebench.spec import load_spec

    inst = target.inst
    client, builder = open_engine(VerifyConfig(repo_cache=target.repo_cache, workers=1), lambda line: None)
    builder.ensure(inst, load_spec(inst.repo, inst.version, inst.instance_id))  # built once, before any clock starts
    repo = sources.find_repo(inst.repo, target.repo_cache)
    batch = synthetic_batch(inst, lambda p: sources.read_file_at(repo, inst.base_commit, p), total, unique)
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        before = _verify(target, batch, Path(tmp) / "local-before", None)
        with connected(address, docker=2):  # one connection for both Ray runs (joining is not measured)
            for actors in (1, 2):
                spec = ClusterSpec(address=address, workers=1, actors=actors)
                runs[f"ray_{actors}"] = _verify(target, batch, Path(tmp) / f"ray-{actors}", spec)
        after = _verify(target, batch, Path(tmp) / "local-after", None)
    runs["local"] = {**before, "seconds": (before["seconds"] + after["seconds"]) / 2,
                     "start_s": (before["start_s"] + after["start_s"]) / 2}
    result: dict[str, Any] = {"instance": inst.instance_id, "candidates": total, "unique_judged": before["judged"],
                              "local_runs_s": [round(before["seconds"], 2), round(after["seconds"], 2)]}
    for name, run in runs.items():
        result[f"{name}_s"] = round(run["seconds"], 2)
        result[f"{name}_per_s"] = round(total / run["seconds"], 3)
        result[f"{name}_start_s"] = round(run["start_s"], 2)
    result["ray_overhead"] = round(runs["ray_1"]["seconds"] / runs["local"]["seconds"] - 1, 3)
    result["ray_2_speedup"] = round(runs["ray_1"]["seconds"] / runs["ray_2"]["seconds"], 2)
    result["verdicts_identical"] = (before["statuses"] == after["statuses"] == runs["ray_1"]["statuses"]
                                    == runs["ray_2"]["statuses"])
    result["verdicts"] = dict(Counter(runs["local"]["statuses"]))
    return result
