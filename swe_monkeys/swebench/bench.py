"""`swe-monkeys bench verify`: what native many-candidate verification buys, measured in one run.

On an example instance it measures (1) the bare test run in a warm container, (2) the time per
unique candidate through the verifier's runner and its ratio to (1), (3) a 250-candidate batch
with realistic duplication through the full verifier against a SWE-bench-harness-style loop
(a fresh container and the whole eval script per prediction, no dedup), and (4) peak memory.
"""

from __future__ import annotations

import random
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from swe_monkeys.sandbox.docker_sandbox import DockerSandbox, Limits
from swe_monkeys.store.run_store import RunStore
from swe_monkeys.swebench.runner import CandidateRunner, test_args, test_patch_files
from swe_monkeys.swebench.spec import load_spec
from swe_monkeys.swebench.verifier import SWEVerifier, VerifyConfig, open_engine
from swe_monkeys.types import Candidate


def make_batch(example, total: int, unique: int, seed: int = 0) -> list[str]:
    """`unique` distinct candidates (half fixed, half not), repeated to `total` with a skewed
    distribution; repeats are exact copies or whitespace/comment variants (normalised duplicates)."""
    from swe_monkeys.examples import overlay_patch

    rng = random.Random(seed)
    uniques = []
    with tempfile.TemporaryDirectory() as tmp:
        fix = example.root / "fix"
        target = sorted(p.relative_to(fix) for p in fix.rglob("*.py"))[0]
        for i in range(unique):
            overlay = Path(tmp) / f"v{i}"
            if i % 2 == 0:
                shutil.copytree(fix, overlay)
            else:
                (overlay / target).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(example.root / "base" / target, overlay / target)
            with open(overlay / target, "a") as f:
                f.write(f"\nBENCH_VARIANT = {i}\n")
            uniques.append((overlay, overlay_patch(example, overlay)))
        batch = [p for _, p in uniques]
        weights = [1 / (rank + 1) for rank in range(unique)]
        for n in range(total - unique):
            overlay, patch = rng.choices(uniques, weights)[0]
            if n % 3:
                batch.append(patch)  # exact duplicate
                continue
            noisy = Path(tmp) / f"noisy{n}"
            shutil.copytree(overlay, noisy)
            text = (noisy / target).read_text()
            (noisy / target).write_text(text.replace("\n", "  \n", 1) + f"# sampled again ({n})\n")
            batch.append(overlay_patch(example, noisy))
    rng.shuffle(batch)
    return batch


TIMER = ("import subprocess, sys, time; t = time.monotonic(); "
         "subprocess.run(sys.argv[1], shell=True, cwd='/testbed', stdout=subprocess.DEVNULL, "
         "stderr=subprocess.STDOUT); print(time.monotonic() - t)")


def _per_candidate(runner: CandidateRunner, inst, spec, patches: list[str]) -> dict[str, float]:
    """Judge each patch, then time its bare test run on the very tree the judge left behind.

    Interleaving the two in one warm container compares like with like: the bare figure is the
    test process alone (timed inside the container), the judged figure everything the verifier
    does for a candidate (round trip, reset, apply, revert, test patch, tests, grading)."""
    cmd = f"{spec.test_cmd} {' '.join(test_args(inst, spec))}"
    judged, bare, bare_exec = [], [], []
    runner.judge(inst, spec, patches[0])  # warm the container, as the verifier's workers are
    for patch in patches:
        start = time.monotonic()
        runner.judge(inst, spec, patch)
        judged.append(time.monotonic() - start)
        res = runner.sandbox.exec(["python3", "-c", TIMER, cmd], timeout=spec.timeout, user=spec.user)
        bare.append(float(res.output.strip().splitlines()[-1]))
        bare_exec.append(res.seconds)
    return {"per_unique_s": statistics.median(judged), "bare_test_s": statistics.median(bare),
            "bare_exec_s": statistics.median(bare_exec)}


def _harness_style(client, image: str, inst, spec, patches: list[str]) -> float:
    """SWE-bench harness style: a fresh container per prediction running the whole eval script."""
    files = " ".join(test_patch_files(inst))
    script = (f"cd /testbed && git apply -v /opt/swe-monkeys/model.patch; git checkout HEAD -- {files}; "
              f"git apply -v /opt/swe-monkeys/test.patch && {spec.test_cmd} {' '.join(test_args(inst, spec))}")
    start = time.monotonic()
    for patch in patches:
        with DockerSandbox(client, image, Limits()) as box:
            box.put_file("/opt/swe-monkeys/model.patch", patch.encode())
            box.put_file("/opt/swe-monkeys/test.patch", inst.test_patch.encode())
            box.exec(["sh", "-c", script], timeout=spec.timeout)
    return time.monotonic() - start


def run_verify_bench(example_name: str = "calc", total: int = 250, unique: int = 60, workers: int = 1,
                     harness_sample: int | None = None) -> dict:
    from swe_monkeys.examples import materialise

    with tempfile.TemporaryDirectory(prefix="bench-verify-") as tmp:
        cache = Path(tmp) / "repos"
        example = materialise(cache, [example_name])[0]
        inst = example.instance
        spec = load_spec(inst.repo, inst.version)
        config = VerifyConfig(repo_cache=cache, workers=workers, use_cache=False)
        client, builder = open_engine(config, lambda line: None)
        image = builder.ensure(inst)
        batch = make_batch(example, total, unique)
        runner = CandidateRunner(client, image, config.limits)
        try:
            timing = _per_candidate(runner, inst, spec, list(dict.fromkeys(batch))[: min(unique, 20)])
        finally:
            runner.close()

        store = RunStore(Path(tmp) / "run")
        store.add_instances([inst])
        for i, patch in enumerate(batch):
            store.add_candidate(Candidate(inst.instance_id, patch, "bench", i))
        start = time.monotonic()
        counts = SWEVerifier(store, config).run()
        batch_s = time.monotonic() - start
        judged = len(set(store.dedup_keys().values()) - {""})

        sample = batch[: harness_sample or total]
        harness_s = _harness_style(client, image, inst, spec, sample) * total / len(sample)
    return {"instance": inst.instance_id, "candidates": total, "unique_judged": judged, "workers": workers,
            **{k: round(v, 3) for k, v in timing.items()},
            "overhead_ratio": round(timing["per_unique_s"] / timing["bare_test_s"], 3), "batch_s": round(batch_s, 2),
            "harness_style_batch_s": round(harness_s, 2), "harness_style_measured": len(sample),
            "speedup": round(harness_s / batch_s, 2), "verdicts": counts,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
