"""A new benchmark is one module: a toy task defined here runs sample -> verify -> report through the
same command line as SWE-bench (`--task module:Class`), with a FAKE scripted sampler."""

from __future__ import annotations

import json
from contextlib import contextmanager

from typer.testing import CliRunner

from swe_monkeys.cli import app
from swe_monkeys.sampling.protocol import Prompt
from swe_monkeys.tasks import Extracted, TaskProblem
from swe_monkeys.types import Status, Verdict


class ToyTask:
    """Say the number: a sample is right when its completion is the problem's number."""

    name, preset = "toy", "math"

    def load(self, source, select=()):
        return [TaskProblem(f"toy/{i}", Prompt.chat(f"Say {i}."), {"n": str(i)}) for i in range(3)]

    def extract(self, problem, completion):
        return Extracted(completion.strip(), {"extract_status": "ok", "answer": completion.strip()})

    @contextmanager
    def checker(self, options=None):
        yield self

    def judge(self, problem, candidates):
        return [Verdict(Status.RESOLVED if c == problem.data["n"] else Status.UNRESOLVED) for c, _ in candidates]


def test_a_toy_task_runs_through_the_same_command_line(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["0", "1", "2", "7"]))  # sample j of seed s answers script[(s + j) % 4]
    run, cli = tmp_path / "run", CliRunner()
    sampled = cli.invoke(app, ["sweep", "--task", f"{__name__}:ToyTask", "--run", str(run), "--fake", str(script),
                               "-k", "4", "--no-verify", "-q"])
    assert sampled.exit_code == 0, sampled.output
    verified = cli.invoke(app, ["verify", "--run", str(run), "-q"])
    assert verified.exit_code == 0, verified.output
    assert "12 verdicts written" in verified.output and "coverage 100.0%" in verified.output
    reported = cli.invoke(app, ["report", str(run)])
    assert reported.exit_code == 0, reported.output
    assert "coverage" in reported.output and "majority vote" in reported.output
