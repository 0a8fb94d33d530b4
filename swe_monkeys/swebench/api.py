"""Library entry points behind `swe-monkeys verify` and `swe-monkeys validate`.

They take paths and a config, return data, and never print: the CLI layer does the talking.
"""

from __future__ import annotations

import fnmatch
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable

from swe_monkeys.store.run_store import RunStore
from swe_monkeys.store.verdict_cache import VerdictCache
from swe_monkeys.swebench.dataset import DatasetError, load_instances, load_predictions
from swe_monkeys.swebench.spec import load_spec
from swe_monkeys.swebench.verifier import SWEVerifier, VerifyConfig, open_engine
from swe_monkeys.types import Candidate, SWEInstance, Verdict


def verify_predictions(predictions: Path, instances: Path, run_dir: Path, config: VerifyConfig,
                       on_verdict: Callable[[Candidate, Verdict], None] = lambda c, v: None,
                       log: Callable[[str], None] = lambda line: None, ids: list[str] | None = None) -> RunStore:
    """Record predictions in the run store at run_dir and verify whatever is not verified yet
    (only the instances matching `ids`, ids or globs, when given)."""
    candidates = load_predictions(predictions)
    if ids:
        candidates = [c for c in candidates if any(fnmatch.fnmatchcase(c.instance_id, p) for p in ids)]
        if not candidates:
            raise DatasetError(f"{predictions}: no prediction for an instance matching {', '.join(ids)}")
    wanted = sorted({c.instance_id for c in candidates})
    known = {i.instance_id: i for i in load_instances(instances)}
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise DatasetError(f"{predictions}: {len(unknown)} instance ids not in {instances}: "
                           f"{', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}")
    store = RunStore(run_dir)
    store.add_instances([known[i] for i in wanted])
    sync_candidates(store, candidates)
    SWEVerifier(store, config, on_verdict=on_verdict, log=log).run()
    return store


def sync_candidates(store: RunStore, candidates: list[Candidate]) -> None:
    """Make the run's candidates of these instances exactly the file's, identified by content
    (instance, model name, patch), not by line position: a line whose patch changed is a new
    candidate and its old patch leaves the run (its verdict stays in the cross-run cache)."""
    wanted: dict[tuple[str, str, str], int] = Counter((c.instance_id, c.model, c.patch) for c in candidates)
    have: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for cid, cand in store.candidates():
        have[(cand.instance_id, cand.model, cand.patch)].append(cid)
    stale = []
    for key, ids in have.items():
        stale += ids[wanted.get(key, 0):]
    store.remove_candidates(stale)
    for key, count in wanted.items():
        for _ in range(count - len(have.get(key, []))):
            store.add_candidate(Candidate(key[0], key[2], key[1], store.next_index(key[0])))


def summarize(store: RunStore) -> list[dict[str, Any]]:
    """Per instance: candidates, unique patches judged, resolved count and statuses."""
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {"candidates": 0, "resolved": 0, "statuses": Counter(),
                                                           "unique": set()})
    verdicts = store.verdicts()
    keys = store.dedup_keys()
    for cid, cand in store.candidates():
        row = rows[cand.instance_id]
        row["candidates"] += 1
        verdict = verdicts.get(cid)
        status = verdict.status.value if verdict else "pending"
        row["statuses"][status] += 1
        row["resolved"] += int(bool(verdict and verdict.resolved))
        if keys.get(cid):
            row["unique"].add(keys[cid])
    return [{"instance_id": k, "candidates": v["candidates"], "unique": len(v["unique"]),
             "resolved": v["resolved"], "statuses": dict(v["statuses"])} for k, v in sorted(rows.items())]


def validate(instances: list[SWEInstance], repeats: int, config: VerifyConfig,
             log: Callable[[str], None] = lambda line: None, log_dir: Path | None = None) -> list[dict[str, Any]]:
    """Run gold and empty patches `repeats` times per instance, each in a fresh container; record
    gold's per-test statuses (what candidates are graded against) and which instances are flaky."""
    from swe_monkeys.swebench.runner import CandidateRunner
    from swe_monkeys.swebench.verifier import gold_key

    client, builder = open_engine(config, log)
    cache = VerdictCache()
    out = []
    for inst in instances:
        spec = load_spec(inst.repo, inst.version)
        image = builder.ensure(inst)
        image_id = client.images.get(image).id
        runner = CandidateRunner(client, image, config.limits)
        try:
            golds = [runner.judge_gold(inst, spec) for _ in range(repeats)]
            record = next((g for _, g in golds if g is not None), None)
            empty = [runner.judge(inst, spec, "", record) for _ in range(repeats)]
        finally:
            runner.close()
        gold = [v for v, _ in golds]
        if log_dir is not None:
            keep_logs(log_dir / inst.instance_id, {"gold": gold, "empty": empty})
        gold_ok, empty_ok = sum(v.resolved for v in gold), sum(v.resolved for v in empty)
        if record is not None and gold_ok * 2 > repeats:
            cache.put_gold(gold_key(inst, image_id), {"resolved": True, "reason": gold[0].reason,
                                                      "statuses": record.statuses, "first": record.first})
        detail = {"gold": [v.summary() for v in gold], "empty": [v.summary() for v in empty]}
        flaky = cache.record_validation(inst.instance_id, image_id, repeats, gold_ok, empty_ok, detail)
        out.append({"instance_id": inst.instance_id, "runs": repeats, "gold_resolved": gold_ok,
                    "empty_resolved": empty_ok, "flaky": flaky,
                    "valid": gold_ok == repeats and empty_ok == 0,
                    "gold_reason": next((v.reason for v in gold if not v.resolved), "")})
    return out


def keep_logs(folder: Path, runs: dict[str, list[Verdict]]) -> None:
    """<folder>/<kind>-<n>.log for each run's log (gold-1.log, empty-1.log, ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    for kind, verdicts in runs.items():
        for n, verdict in enumerate(verdicts, 1):
            (folder / f"{kind}-{n}.log").write_text(f"# {verdict.status.value}: {verdict.reason}\n{verdict.log}",
                                                    errors="replace")
