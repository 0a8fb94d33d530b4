"""`swe-monkeys bench edits`: what a model's answers become as edits, and how many resolve.

For each embedded example (and any real instances given) it draws `samples` completions with the
preset's prompt through the one task pipeline, extracts patches with every recovery rule on, judges
them in Docker, and counts from the run: the share of samples by outcome (no edit, parse error,
missing file, apply failure, applied; edit_stats.py), how many each recovery rule saved, and the
share resolved. Different prompt formats are compared by running it once per preset/template.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Optional

from swe_monkeys.swebench.edit_stats import edit_outcome_table
from swe_monkeys.swebench.edits import EditOutcome
from swe_monkeys.types import SWEInstance

EXAMPLES = ("calc", "daterange", "slugkit")


def bench_instances(names: tuple[str, ...], extra: list[SWEInstance], repo_cache: Optional[Path],
                    cache: Path) -> list[SWEInstance]:
    """The examples, materialised in `cache`, and the real instances, their mirrors linked beside them."""
    from swe_monkeys import examples
    from swe_monkeys.images import sources

    found = [ex.instance for ex in examples.materialise(cache, list(names))]
    for inst in extra:
        link = cache / f"{inst.repo.replace('/', '__')}.git"
        if not link.exists():
            link.symlink_to(sources.find_repo(inst.repo, repo_cache or sources.default_repo_cache()))
    return found + extra


def outcomes_of(rows: list[dict[str, Any]]) -> list[EditOutcome]:
    """The edit outcome each sample's meta records (status, and the recovery rules that fired)."""
    return [EditOutcome(status=(r["meta"] or {}).get("extract_status", "?"),
                        rules=tuple((r["meta"] or {}).get("edit_rules", ()))) for r in rows]


def run_edits_bench(sampler: Any, preset: Any, instances: list[SWEInstance], cache: Path, samples: int,
                    seed: int = 0, verify: bool = True, workers: Optional[int] = None,
                    run_dir: Optional[Path] = None) -> dict[str, Any]:
    """Sample, extract and judge; the figures of `bench edits` (see the module docstring). The run
    is kept at `run_dir` when given (a fresh folder: the bench never resumes an older run)."""
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.tasks.pipeline import TaskRunConfig, run_task
    from swe_monkeys.tasks.swebench import SWEBench

    task = SWEBench.from_preset(preset, cache)
    config = TaskRunConfig(samples=samples, params=preset.sampling_params(seed), verify=verify,
                           checker_options={"workers": workers})
    if run_dir is not None and run_dir.exists() and any(run_dir.iterdir()):
        raise FileExistsError(f"{run_dir} is not empty: the bench keeps its run in a new folder")
    with tempfile.TemporaryDirectory(prefix="bench-edits-") as tmp, RunStore(run_dir or Path(tmp) / "run") as store:
        result = run_task(store, task, [task.problem(i) for i in instances], sampler, config)
        rows = store.sample_table()
    table = edit_outcome_table(outcomes_of(rows))
    by_problem: dict[str, Counter] = {}
    for r in rows:
        c = by_problem.setdefault(r["problem_id"], Counter())
        c["samples"] += 1
        c["applied"] += (r["meta"] or {}).get("extract_status") == "ok"
        c["resolved"] += bool(r["resolved"])
    n = max(len(rows), 1)
    return {"model": str(sampler.identity().get("model", "")), "preset": preset.name, "template": preset.template,
            "samples": len(rows), "applied_share": round(table["applied"] / n, 4),
            "resolved_share": round(sum(bool(r["resolved"]) for r in rows) / n, 4) if verify else None,
            "status": {k: v["count"] for k, v in table["status"].items()},
            "rescued": table["rescued"], "applied_by_rule": {k: v for k, v in table["applied_by_rule"].items() if v},
            "by_problem": {k: dict(v) for k, v in by_problem.items()}, "failures": result.failures,
            "seconds": round(result.progress.seconds, 1), "tokens": result.progress.tokens}
