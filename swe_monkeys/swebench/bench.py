"""`swe-monkeys bench verify`: what verification costs and buys, measured in one run.

On an example instance or a real SWE-bench one it measures
(1) the bare test run: the spec's test command alone, in a warm container of the instance image
    whose tree has the gold patch and the test patch applied;
(2) the time per unique candidate through the verifier's runner -- clean containers taking turns
    (each reset and checked, then given the next candidate, while the other is tested), the
    harness's put-back, configuration and guard included -- and its ratio to (1);
(3) a batch of synthetic candidates with realistic duplication through the full verifier, with
    and without fail-fast, checking that both give the same verdicts;
(4) optionally a SWE-bench-harness-style loop (a fresh container and the whole eval script per
    prediction, no dedup) over part of the batch, scaled; and peak memory.
Synthetic candidates are made from the gold patch: gold plus a distinct harmless assignment
(resolves, a key of its own), the same assignment without the fix (fails), and copies of either
with comments and spacing added (the same key).
"""

from __future__ import annotations

import random
import resource
import shlex
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from swe_monkeys.images import sources
from swe_monkeys.sandbox.docker_sandbox import DockerSandbox, Limits
from swe_monkeys.sandbox.session import HarnessSession
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.swebench.edits import unified_diff
from swe_monkeys.swebench.patches import apply_in_memory
from swe_monkeys.swebench.rules import REVERT_RULES
from swe_monkeys.swebench.runner import CANDIDATE_HARNESS, CandidateRunner, test_args, test_patch_files
from swe_monkeys.swebench.spec import load_spec
from swe_monkeys.swebench.checker import VerifyConfig, open_engine
from swe_monkeys.types import Candidate, SWEInstance


@dataclass(frozen=True)
class BenchTarget:
    """The instance to benchmark and where its repository is."""

    inst: SWEInstance
    repo_cache: Path


def synthetic_batch(inst: SWEInstance, read_file: Callable[[str], str | None], total: int, unique: int,
                    seed: int = 0) -> list[str]:
    """`unique` distinct candidates (a third fixed, the rest not), repeated to `total` with a skewed
    distribution; repeats are exact copies or comment/spacing variants (normalised duplicates)."""
    rng = random.Random(seed)
    fixed = apply_in_memory(inst.patch, read_file)
    path = sorted(p for p, c in fixed.items() if c is not None and p.endswith(".py"))[0]
    old = {path: read_file(path)}
    uniques = []
    for i in range(unique):
        base = fixed[path] if i % 3 == 0 else old[path]
        uniques.append(base.rstrip("\n") + f"\n\nBENCH_VARIANT = {i}\n")
    batch = [unified_diff(old, {path: text}) for text in uniques]
    weights = [1 / (rank + 1) for rank in range(unique)]
    for n in range(total - unique):
        text = rng.choices(uniques, weights)[0]
        if n % 3 == 0:
            text = text.replace("\nBENCH_VARIANT", f"\n# sampled again ({n})\n\n\nBENCH_VARIANT", 1)
        batch.append(unified_diff(old, {path: text}))
    rng.shuffle(batch)
    return batch


TIMER = ("import subprocess, sys, time; t = time.monotonic(); "
         "subprocess.run(sys.argv[1], shell=True, cwd='/testbed', stdout=subprocess.DEVNULL, "
         "stderr=subprocess.STDOUT); print(time.monotonic() - t)")


def _bare_test_runs(client, image: str, inst: SWEInstance, spec, runs: int) -> list[float]:
    """The test command alone, timed inside a warm container prepared with gold + test patch, in
    the environment every judged run gets (the spec's variables, PYTHONHASHSEED=0: without it
    sympy's bin/test starts itself again with a random seed, which a judged run never pays)."""
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in {**spec.env, "PYTHONHASHSEED": "0"}.items())
    cmd = f"cd /testbed && PATH=/opt/venv/bin:$PATH {env} {spec.test_cmd} {' '.join(test_args(inst, spec))}"
    with HarnessSession(client, image, Limits(), CANDIDATE_HARNESS) as session:
        session.request({"op": "prepare", "patch": inst.patch, "test_patch": inst.test_patch,
                         "test_files": test_patch_files(inst), "revert_patterns": [list(r) for r in REVERT_RULES]},
                        600)
        box = session.sandbox
        times = []
        for _ in range(runs):
            res = box.exec(["python3", "-c", TIMER, cmd], timeout=spec.timeout + 60, user=spec.user)
            times.append(float(res.output.strip().splitlines()[-1]))
    return times


def _per_candidate(client, image: str, inst: SWEInstance, spec, patches: list[str]) -> dict[str, float]:
    """Candidates judged back to back as the verifier judges a batch (`judge_many`: the next one
    applied while one is tested; full runs, fail-fast off) against the bare test run before and after."""
    bare = _bare_test_runs(client, image, inst, spec, max(3, len(patches) // 2))
    runner = CandidateRunner(client, image, Limits())
    try:
        for _ in runner.judge_many(inst, spec, patches[:2]):  # both containers started: a start is once per runner
            pass
        start = time.monotonic()
        for _ in runner.judge_many(inst, spec, patches):
            pass
        per_unique = (time.monotonic() - start) / len(patches)
    finally:
        runner.close()
    bare += _bare_test_runs(client, image, inst, spec, max(3, len(patches) // 2))
    return {"per_unique_s": per_unique, "bare_test_s": statistics.median(bare)}


def _batch(target: BenchTarget, batch: list[str], config: VerifyConfig, tmp: Path, name: str):
    from collections import Counter

    from swe_monkeys.swebench.api import checker_options
    from swe_monkeys.tasks.pipeline import record_task, verify_run
    from swe_monkeys.tasks.swebench import SWEBench

    task = SWEBench(repo_cache=target.repo_cache)
    store = RunStore(tmp / name)
    record_task(store, task, [task.problem(target.inst)], None)
    for i, patch in enumerate(batch):
        store.add_candidate(Candidate(target.inst.instance_id, patch, "bench", i))
    start = time.monotonic()
    verify_run(store, task, options=checker_options(config))
    seconds = time.monotonic() - start
    verdicts = store.verdicts()
    statuses = [verdicts[cid].status.value for cid, _ in store.candidates()]
    stopped = sum(v.reason.startswith("fail fast") for v in verdicts.values())
    return seconds, dict(Counter(statuses)), statuses, len(set(store.dedup_keys().values()) - {""}), stopped


def _harness_style(client, image: str, inst, spec, patches: list[str]) -> float:
    """SWE-bench harness style: a fresh container per prediction running the whole eval script."""
    files = " ".join(test_patch_files(inst))
    script = (f"cd /testbed && git apply -v /opt/swe-monkeys/model.patch; git checkout HEAD -- {files}; "
              f"git apply -v /opt/swe-monkeys/test.patch && PATH=/opt/venv/bin:$PATH {spec.test_cmd} "
              f"{' '.join(test_args(inst, spec))}")
    start = time.monotonic()
    for patch in patches:
        with DockerSandbox(client, image, Limits()) as box:
            box.put_file("/opt/swe-monkeys/model.patch", patch.encode())
            box.put_file("/opt/swe-monkeys/test.patch", inst.test_patch.encode())
            box.exec(["sh", "-c", script], timeout=spec.timeout)
    return time.monotonic() - start


def example_target(name: str, tmp: Path) -> BenchTarget:
    from swe_monkeys.examples import materialise

    cache = tmp / "repos"
    return BenchTarget(materialise(cache, [name])[0].instance, cache)


def run_verify_bench(target: BenchTarget, total: int = 250, unique: int = 60, workers: int = 1,
                     per_unique_sample: int = 10, harness_sample: int = 0) -> dict:
    inst = target.inst
    spec = load_spec(inst.repo, inst.version, inst.instance_id)
    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        config = VerifyConfig(repo_cache=target.repo_cache, workers=workers, use_cache=False)
        client, builder = open_engine(config, lambda line: None)
        image = builder.ensure(inst, spec)
        repo = sources.find_repo(inst.repo, target.repo_cache)
        batch = synthetic_batch(inst, lambda p: sources.read_file_at(repo, inst.base_commit, p), total, unique)
        distinct = list(dict.fromkeys(batch))
        timing = _per_candidate(client, image, inst, spec, distinct[:per_unique_sample])
        fast_s, counts, fast, judged, stopped = _batch(target, batch, config, Path(tmp), "fail-fast")
        config.fail_fast = False
        full_s, _, full, _, _ = _batch(target, batch, config, Path(tmp), "full")
        result = {"instance": inst.instance_id, "candidates": total, "unique_judged": judged, "workers": workers,
                  **{k: round(v, 3) for k, v in timing.items()},
                  "overhead_ratio": round(timing["per_unique_s"] / timing["bare_test_s"], 3),
                  "batch_s": round(fast_s, 2), "batch_no_fail_fast_s": round(full_s, 2),
                  "fail_fast_speedup": round(full_s / fast_s, 2), "verdicts_identical": fast == full,
                  # candidates stopped after the FAIL_TO_PASS run (0 where gold's timings say it cannot pay)
                  "fail_fast_stopped": stopped,
                  "verdicts": counts}
        if harness_sample:
            sample = batch[:harness_sample]
            harness_s = _harness_style(client, image, inst, spec, sample) * total / len(sample)
            result.update(harness_style_batch_s=round(harness_s, 2), harness_style_measured=len(sample),
                          speedup=round(harness_s / fast_s, 2))
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result
