"""Picking one patch per issue without the oracle, and the gap to coverage that this leaves.

Coverage counts an issue solved when *any* sample is resolved (an oracle verifier). A submission
needs one patch, chosen without the hidden FAIL_TO_PASS tests: here a PASS_TO_PASS regression
filter (a candidate whose run shows an existing test failing is dropped: it breaks what worked)
followed by a majority vote over normalised patches (the largest cluster wins; ties go to the
cluster sampled first). The FAIL_TO_PASS results in a verdict are never looked at.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Optional

from swe_monkeys.store.run_store import RunStore
from swe_monkeys.types import Candidate, Status, SWEInstance, Verdict

FAILING = {"FAILED", "ERROR", "MISSING"}
NOT_A_PATCH = {Status.EMPTY, Status.MALFORMED, Status.TESTS_ONLY, Status.APPLY_FAILED, Status.INFRA_ERROR}


@dataclass(frozen=True)
class Selection:
    instance_id: str
    samples: int
    resolved: int  # resolved samples (oracle)
    candidate: Optional[Candidate]  # the pick, or None when no candidate survived the filters
    cluster: int  # samples in the picked cluster
    filtered: int  # candidates the PASS_TO_PASS filter dropped

    @property
    def covered(self) -> bool:
        return self.resolved > 0


def breaks_pass_to_pass(verdict: Verdict, inst: SWEInstance) -> bool:
    return any(verdict.tests.get(test) in FAILING for test in inst.pass_to_pass)


def select(store: RunStore) -> dict[str, Selection]:
    """The pick for every instance of the run, with what the oracle says about it."""
    instances = {i.instance_id: i for i in store.instances()}
    verdicts = store.verdicts()
    metas = {(r["problem_id"], r["sample_idx"]): r["meta"] or {} for r in store.sample_table()}
    by_instance: dict[str, list[tuple[Candidate, Optional[Verdict], dict]]] = defaultdict(list)
    for cid, cand in store.candidates():
        by_instance[cand.instance_id].append((cand, verdicts.get(cid), metas.get((cand.instance_id, cand.index), {})))
    out = {}
    for instance_id, rows in sorted(by_instance.items()):
        inst = instances.get(instance_id)
        clusters: dict[str, list[tuple[Candidate, bool]]] = defaultdict(list)
        filtered = 0
        for cand, verdict, meta in rows:
            key = meta.get("patch_key") or (cand.patch.strip() and cand.patch)
            if not key or verdict is None or verdict.status in NOT_A_PATCH:
                continue
            if inst is not None and breaks_pass_to_pass(verdict, inst):
                filtered += 1
                continue
            clusters[key].append((cand, verdict.resolved))
        best = min(clusters.values(), key=lambda c: (-len(c), min(x.index for x, _ in c)), default=None)
        pick = min(best, key=lambda t: t[0].index)[0] if best else None
        out[instance_id] = Selection(instance_id, len(rows), sum(bool(v and v.resolved) for _, v, _ in rows), pick,
                                     len(best or ()), filtered)
    return out


def verification_gap(store: RunStore) -> dict[str, float]:
    """Coverage (oracle) against selected accuracy over the run's instances; the gap between them."""
    picks = select(store)
    verdicts = store.verdicts()
    ids = {(c.instance_id, c.index): cid for cid, c in store.candidates()}
    right = 0
    for sel in picks.values():
        if sel.candidate is not None:
            v = verdicts.get(ids[(sel.instance_id, sel.candidate.index)])
            right += bool(v and v.resolved)
    n = max(len(store.instances()), 1)
    coverage = sum(s.covered for s in picks.values()) / n
    return {"instances": len(store.instances()), "coverage": coverage, "selected_accuracy": right / n,
            "gap": coverage - right / n}
