"""A FAKE scripted sampler that answers repair prompts with edit blocks, for tests and dry runs.

`FakeEditSampler(script)` implements the Sampler protocol: sample j of a request with seed s is
`script[(s + j) % len(script)]`, so a run is a pure function of its seeds (resume and kill tests
compare runs exactly). `edit_blocks_for(before, after)` writes the SEARCH/REPLACE blocks that
turn one file tree into another, so scripts can be made from an example's `fix/` overlay.
`load_script(path)` reads a script file (a JSON list of completions, or {"completions": [...]}).
"""

from __future__ import annotations

import difflib
import json
import threading
import time
from pathlib import Path
from typing import Any, Mapping

from swe_monkeys.sampling.protocol import Completion, Request, Sample, SamplerError


class FakeEditSampler:
    """A FAKE model: scripted completions chosen by seed; thread-safe; counts requests."""

    def __init__(self, script: list[str], *, model: str = "fake-edit", max_n: int = 4, latency: float = 0.0,
                 fail_with: SamplerError | None = None):
        if not script:
            raise ValueError("a fake sampler needs at least one scripted completion")
        self.script, self.model, self._max_n, self.latency, self.fail_with = list(script), model, max_n, latency, \
            fail_with
        self.requests = 0
        self._lock = threading.Lock()

    def complete(self, request: Request) -> Completion:
        with self._lock:
            self.requests += 1
        if self.fail_with is not None:
            raise self.fail_with
        if self.latency:
            time.sleep(self.latency)
        samples = []
        for j in range(request.n):
            text = self.script[(request.seed + j) % len(self.script)]
            samples.append(Sample(text=text, completion_tokens=max(1, len(text) // 4), finish_reason="stop",
                                  seed=request.seed + j))
        prompt = sum(len(m["content"]) for m in request.prompt.messages) if request.prompt.is_chat else len(
            request.prompt.text or "")
        return Completion(samples=samples, prompt_tokens=max(1, prompt // 4), seconds=self.latency)

    def max_n(self) -> int:
        return self._max_n

    def identity(self) -> dict[str, Any]:
        if self.fail_with is not None:
            raise self.fail_with
        return {"backend": "fake", "model": self.model}

    def close(self) -> None:
        pass


def load_script(path: Path) -> FakeEditSampler:
    """A fake sampler from a script file: a JSON list of completions, or an object with `completions`
    and optionally `latency` (seconds per request) and `max_n`."""
    data = json.loads(Path(path).read_text())
    options = data if isinstance(data, dict) else {"completions": data}
    items = options.get("completions")
    if not isinstance(items, list) or not items or not all(isinstance(t, str) for t in items):
        raise ValueError(f"{path}: a fake script is a non-empty JSON list of completion strings")
    return FakeEditSampler(items, latency=float(options.get("latency", 0.0)), max_n=int(options.get("max_n", 4)))


def _file_blocks(path: str, before: str, after: str) -> list[str]:
    """Blocks with 2 lines of context per change; the whole file when a SEARCH would be ambiguous."""
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    out = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(2):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        search, replace = "".join(a[i1:i2]), "".join(b[j1:j2])
        if not search.strip() or before.count(search) != 1:
            return [_block(path, before, after)]
        out.append(_block(path, search, replace))
    return out


def _block(path: str, search: str, replace: str) -> str:
    tail = "" if not search or search.endswith("\n") else "\n"
    rtail = "" if not replace or replace.endswith("\n") else "\n"
    return f"### {path}\n<<<<<<< SEARCH\n{search}{tail}=======\n{replace}{rtail}>>>>>>> REPLACE\n"


def edit_blocks_for(before: Mapping[str, str], after: Mapping[str, str], prose: str = "") -> str:
    """A completion whose edit blocks turn the files `before` into `after` (same keys or new files)."""
    blocks = []
    for path in sorted(after):
        old = before.get(path)
        if old == after[path]:
            continue
        blocks += [_block(path, "", after[path])] if old is None else _file_blocks(path, old, after[path])
    return (prose + "\n\n" if prose else "") + "```python\n" + "\n".join(blocks) + "```\n"


def overlay_completion(base_dir: Path, overlay_dir: Path, prose: str = "") -> str:
    """Edit blocks for an example overlay folder (files of `overlay_dir` replacing those of `base_dir`)."""
    after = {str(p.relative_to(overlay_dir)): p.read_text() for p in sorted(Path(overlay_dir).rglob("*"))
             if p.is_file()}
    before = {k: (Path(base_dir) / k).read_text() for k in after if (Path(base_dir) / k).is_file()}
    return edit_blocks_for(before, after, prose)
