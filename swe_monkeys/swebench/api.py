"""Library entry points behind `swe-monkeys verify` and `swe-monkeys validate`.

They take paths and a config, return data, and never print: the CLI layer does the talking.
"""

from __future__ import annotations

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
                       log: Callable[[str], None] = lambda line: None) -> RunStore:
    """Record predictions in the run store at run_dir and verify whatever is not verified yet."""
    candidates = load_predictions(predictions)
    wanted = sorted({c.instance_id for c in candidates})
    known = {i.instance_id: i for i in load_instances(instances)}
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise DatasetError(f"{predictions}: {len(unknown)} instance ids not in {instances}: "
                           f"{', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}")
    store = RunStore(run_dir)
    store.add_instances([known[i] for i in wanted])
    for cand in candidates:
        store.add_candidate(cand)
    SWEVerifier(store, config, on_verdict=on_verdict, log=log).run()
    return store


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
             log: Callable[[str], None] = lambda line: None) -> list[dict[str, Any]]:
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
