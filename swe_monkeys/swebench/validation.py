"""Validation runs: does an instance's environment tell right from wrong?

For each instance, in clean containers: the gold patch `repeats` times (it must resolve every time)
and the empty patch once (it must not resolve). Gold's per-test statuses become what candidates
are graded against; tests whose status changed between gold runs are reported as flaky. Each
instance yields one row for configs/swebench/validation.jsonl (see validation_table) as soon as
it is done, so an interrupted validation keeps what it finished; an instance that cannot be
built or run yields a row that says why instead of stopping the rest.
"""

from __future__ import annotations

import datetime
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from swe_monkeys.errors import SweMonkeysError
from swe_monkeys.store.verdict_cache import VerdictCache
from swe_monkeys.sandbox.engine import EngineInterrupted, EngineOutage
from swe_monkeys.swebench.checker import ENGINE_COMEBACKS, VerifyConfig, gold_key, open_engine
from swe_monkeys.swebench.spec import load_spec
from swe_monkeys.swebench.validation_table import spec_hash
from swe_monkeys.types import SWEInstance, Verdict


def flaky_tests(runs: Iterable[dict[str, str]]) -> list[str]:
    """Tests whose status was not the same in every run (a test missing from a run counts)."""
    runs = list(runs)
    names = set().union(*runs) if runs else set()
    return sorted(t for t in names if len({run.get(t, "MISSING") for run in runs}) > 1)


def validate(instances: list[SWEInstance], repeats: int, config: VerifyConfig,
             log: Callable[[str], None] = lambda line: None, log_dir: Path | None = None,
             workers: int = 1) -> Iterator[dict[str, Any]]:
    """One row per instance (validation_table.FIELDS plus `valid` and `flaky`), as each finishes.
    `workers` instances are judged at once; image builds are taken one at a time (they compete for
    the same CPUs and share env layers), so one worker builds while the others run tests."""
    client, builder = open_engine(config, log)
    cache = VerdictCache()
    build_lock = threading.Lock()
    if workers <= 1:
        for inst in instances:
            yield _row(client, builder, build_lock, cache, inst, repeats, config, log_dir)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="validate") as pool:
        futures = [pool.submit(_row, client, builder, build_lock, cache, inst, repeats, config, log_dir)
                   for inst in instances]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:  # an interrupt: instances not started are not started
            for future in futures:
                future.cancel()


def _row(client, builder, build_lock, cache, inst, repeats, config, log_dir) -> dict[str, Any]:
    start = time.monotonic()
    base = {"instance": inst.instance_id, "date": datetime.date.today().isoformat(),
            "log_dir": str(log_dir / inst.instance_id) if log_dir else ""}
    try:
        spec = load_spec(inst.repo, inst.version, inst.instance_id)
        base["spec_hash"] = spec_hash(spec)
        for comeback in range(ENGINE_COMEBACKS):
            try:
                row = _validate_one(client, builder, build_lock, cache, inst, spec, repeats, config, log_dir)
                break
            except EngineInterrupted:  # the engine restarted under it: validated again from the start
                if comeback + 1 == ENGINE_COMEBACKS:
                    raise EngineOutage(f"the Docker engine stopped answering {ENGINE_COMEBACKS} times while "
                                       f"{inst.instance_id} was validated") from None
    except EngineOutage:
        raise  # the run stops; the rows already recorded are kept
    except (SweMonkeysError, OSError) as exc:  # this instance only: the rest still run
        row = {"gold_resolved": 0, "runs": 0, "empty_resolved": 0, "empty_runs": 0, "flaky_tests": [],
               "reason": f"{type(exc).__name__}: {exc}"}
    seconds = time.monotonic() - start - row.pop("waited", 0.0)
    row = {"spec_hash": "", **base, **row, "seconds": round(seconds, 1)}
    row["valid"] = row["runs"] > 0 and row["gold_resolved"] == row["runs"] and row["empty_resolved"] == 0
    row["flaky"] = bool(row["flaky_tests"]) or 0 < row["gold_resolved"] < row["runs"]
    return row


def _validate_one(client, builder, build_lock, cache, inst, spec, repeats, config, log_dir) -> dict[str, Any]:
    from swe_monkeys.swebench.runner import CandidateRunner, spec_limits

    waited = time.monotonic()
    with build_lock:  # the time waited for another worker's build is not this instance's
        waited = time.monotonic() - waited
        image = builder.ensure(inst, spec)
    image_id = client.images.get(image).id
    runner = CandidateRunner(client, image, spec_limits(config.limits, spec))
    try:
        # The FAIL_TO_PASS-first pass (what fail-fast needs to know) once; repeats confirm the rest.
        golds = [runner.judge_gold(inst, spec, first_pass=n == 0) for n in range(repeats)]
        record = next((g for _, g in golds if g is not None), None)
        # Fail-fast where gold allows it: the verdict is the full run's (the property fail-fast keeps).
        empty = [runner.judge(inst, spec, "", record, fail_fast=True)]
    finally:
        runner.close()
    gold = [v for v, _ in golds]
    if log_dir is not None:
        keep_logs(log_dir / inst.instance_id, {"gold": gold, "empty": empty})
    gold_ok, empty_ok = sum(v.resolved for v in gold), sum(v.resolved for v in empty)
    if record is not None and gold_ok * 2 > repeats:
        cache.put_gold(gold_key(inst, spec, image_id, runner.limits), record.record())
    detail = {"gold": [v.summary() for v in gold], "empty": [v.summary() for v in empty]}
    cache.record_validation(inst.instance_id, image_id, repeats, gold_ok, empty_ok, detail)
    failed = next((v for v in gold if not v.resolved), None)
    reason = (f"gold: {failed.reason}" if failed else
              f"empty patch resolved: {empty[0].reason}" if empty_ok else "")
    return {"waited": waited, "gold_resolved": gold_ok, "runs": repeats, "empty_resolved": empty_ok, "empty_runs": len(empty),
            "flaky_tests": flaky_tests(v.tests for v in gold), "reason": reason[:500]}


def keep_logs(folder: Path, runs: dict[str, list[Verdict]]) -> None:
    """<folder>/<kind>-<n>.log for each run's log (gold-1.log, empty-1.log, ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind, verdicts in runs.items():
        for n, verdict in enumerate(verdicts, 1):
            (folder / f"{kind}-{n}.log").write_text(f"# {verdict.status.value}: {verdict.reason}\n{verdict.log}",
                                                    errors="replace")
