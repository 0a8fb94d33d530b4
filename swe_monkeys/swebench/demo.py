"""The embedded default job: the example instances and their candidate patches as files.

`swe-monkeys demo` writes an instances file and a predictions file (several candidates per
instance: gold, duplicates of it, wrong, partial, malformed, empty, test-editing) into a work
folder and verifies them, so a newcomer sees candidates -> verdicts on a fresh machine.
"""

from __future__ import annotations

import json
from pathlib import Path

DEMO_CANDIDATES = ("gold", "gold_with_noise", "gold", "wrong", "partial", "breaks_p2p", "edits_tests",
                   "malformed", "empty")


def prepare_demo(workdir: Path) -> tuple[Path, Path, Path]:
    """Materialise the examples; returns (predictions, instances, repo cache)."""
    from swe_monkeys.examples import materialise

    workdir.mkdir(parents=True, exist_ok=True)
    repo_cache = workdir / "repos"
    examples = materialise(repo_cache)
    instances = workdir / "instances.jsonl"
    instances.write_text("".join(json.dumps(ex.instance.to_row()) + "\n" for ex in examples))
    predictions = workdir / "predictions.jsonl"
    with predictions.open("w") as f:
        for ex in examples:
            for name in DEMO_CANDIDATES:
                if name in ex.candidates:
                    f.write(json.dumps({"instance_id": ex.instance.instance_id, "model_name_or_path": f"demo/{name}",
                                        "model_patch": ex.candidates[name]}) + "\n")
    return predictions, instances, repo_cache
