"""A command line that tells the truth (issue 23): why a candidate failed (`show`), what a run holds
(`--json`), a line per verdict as it lands, no made-up selection figures, and what an interrupt kept.

Everything runs the real `swe-monkeys` app through typer's CliRunner with no Docker engine: math
runs are judged for real (no engine needed); SWE-bench candidates go through the real predictions
intake, the real patch intake (its refusals are the real ones), the real store and its real tamper
flagger, and a FAKE checker scripts the verdicts of the patches intake lets through (judging them
for real needs Docker: tests/test_verify_docker.py).
"""

from __future__ import annotations

import contextlib
import json
import re

import pytest

from tests.cli_helpers import invoke, nothing_real  # noqa: F401 (nothing_real: an autouse fixture)
from swe_monkeys.types import Status, Verdict

CALC = "swe-monkeys__calc-1"
F2P = "tests/test_parser.py::test_power_is_right_associative"
P2P = "tests/test_evaluator.py::test_arithmetic"
HOOK = ("diff --git a/calc/_hook.py b/calc/_hook.py\nnew file mode 100644\n--- /dev/null\n+++ b/calc/_hook.py\n"
        "@@ -0,0 +1,2 @@\n+import sys\n+sys.settrace(lambda *args: None)\n")
OUTSIDE = "diff --git a/../evil.py b/../evil.py\n--- a/../evil.py\n+++ b/../evil.py\n@@ -1 +1 @@\n-a\n+b\n"




class FakeSWEChecker:
    """A FAKE SWE-bench checker: the real patch intake, then a scripted verdict per patch it lets
    through (by which example candidate it is), with per-test statuses and a log as the real one has."""

    parallel = 1

    def __init__(self, patches: dict[str, str]):
        self.patches = patches

    def judge(self, problem, candidates):
        from swe_monkeys.swebench.patches import intake

        out = []
        for patch, _ in candidates:
            taken = intake(patch)
            out.append(Verdict(taken.status, reason=taken.reason) if taken.status is not None else self._script(patch))
        return out

    def _script(self, patch):
        log = f"== test log of a scripted run ==\n{F2P} ...\n"
        if added(patch) == added(self.patches["wrong"]):
            return Verdict(Status.UNRESOLVED, reason=f"FAIL_TO_PASS {F2P}: FAILED", apply_method="git apply",
                           tests={P2P: "PASSED", F2P: "FAILED"}, log=log)
        if added(patch) == added(self.patches["partial"]):
            return Verdict(Status.UNRESOLVED, reason="guard: tampering seen: sys.settrace from calc/parser.py",
                           apply_method="git apply", log=log)
        return Verdict(Status.RESOLVED, reason="all FAIL_TO_PASS and PASS_TO_PASS tests passed",
                       apply_method="git apply", tests={F2P: "PASSED", P2P: "PASSED"}, log=log)


def added(patch: str) -> list[str]:
    """A patch's added lines: the same change whether the example's diff or one extracted from edits."""
    return [line for line in patch.splitlines() if line.startswith("+") and not line.startswith("+++")]


@pytest.fixture
def fake_swe_checker(monkeypatch, examples):
    from swe_monkeys.tasks.swebench import SWEBench

    patches = examples["calc"].candidates

    @contextlib.contextmanager
    def checker(self, options=None):
        yield FakeSWEChecker(patches)

    monkeypatch.setattr(SWEBench, "checker", checker)
    monkeypatch.setattr("swe_monkeys.cli.solve.engine_first", lambda needed: None)  # the FAKE needs no engine
    return patches


@pytest.fixture
def predictions(tmp_path, examples, repo_cache, fake_swe_checker):
    """Verify arguments for a predictions file of calc: gold, wrong, a guard-failed one, a resolved one
    that adds a trace hook, one over 1 MiB, one writing outside the checkout, an empty one."""
    patches = fake_swe_checker
    huge = patches["gold"] + "+# padding\n" * (110 * 1024)
    lines = [patches["gold"], patches["wrong"], patches["partial"], patches["gold"] + HOOK, huge, OUTSIDE, ""]
    preds, instances = tmp_path / "preds.jsonl", tmp_path / "instances.jsonl"
    preds.write_text("".join(json.dumps({"instance_id": CALC, "model_name_or_path": "m", "model_patch": p}) + "\n"
                          for p in lines))
    instances.write_text(json.dumps(examples["calc"].instance.to_row()) + "\n")
    return ["verify", preds, "--instances", instances, "--run", tmp_path / "run", "--repo-cache", repo_cache]


def by_id(result) -> dict[int, str]:
    return {int(line.split()[0]): line for line in result.stdout.splitlines()[1:]}


# 1. `show`: why a candidate failed, without opening run.sqlite.
def test_show_lists_every_candidate_and_explains_one(tmp_path, predictions):
    assert invoke(*predictions).exit_code == 0
    listed = invoke("show", tmp_path / "run")
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.split("\n")[0].split() == ["id", "candidate", "status", "reason"]
    lines = by_id(listed)
    assert len(lines) == 7
    text = {line.split()[1]: line for line in lines.values()}
    assert "unresolved" in text[f"{CALC}#1"] and f"FAIL_TO_PASS {F2P}: FAILED" in text[f"{CALC}#1"]
    assert "guard: tampering seen" in text[f"{CALC}#2"]
    assert "resolved" in text[f"{CALC}#3"] and "[flagged: " in text[f"{CALC}#3"]  # the real flagger's
    assert "malformed" in text[f"{CALC}#4"] and "refused: the patch is over 1 MiB" in text[f"{CALC}#4"]
    assert "refused: " in text[f"{CALC}#5"] and "empty" in text[f"{CALC}#6"]

    wrong_id = next(i for i, line in lines.items() if f"{CALC}#1 " in line)
    detail = invoke("show", tmp_path / "run", wrong_id)
    assert detail.exit_code == 0, detail.output
    out = detail.stdout
    assert f"candidate {wrong_id}: {CALC}#1 (m)" in out and "status: unresolved" in out
    assert f"reason: FAIL_TO_PASS {F2P}: FAILED" in out and "tests: 1 of 2 passed" in out
    assert out.index(f"FAILED   {F2P}") < out.index(f"PASSED   {P2P}")  # what failed comes first
    log = (tmp_path / "run" / "logs" / f"{wrong_id}.log").resolve()
    assert f"log: {log}" in out and log.is_file()

    hooked = invoke("show", tmp_path / "run", f"{CALC}#3").stdout  # PROBLEM#INDEX names it too
    assert "status: resolved" in hooked and "flagged: calc/_hook.py:2 " in hooked

    as_json = json.loads(invoke("show", tmp_path / "run", f"{CALC}#4", "--json").stdout)
    assert as_json["status"] == "malformed" and as_json["verdict"]["reason"].startswith("refused: the patch is over")
    assert as_json["log"] is None
    listing = json.loads(invoke("show", tmp_path / "run", "--json").stdout)
    assert [c["index"] for c in listing["candidates"]] == list(range(7))
    assert {"id", "problem", "index", "status", "reason", "flags"} <= set(listing["candidates"][0])


def test_show_refuses_what_is_not_there_in_one_line(tmp_path, predictions):
    missing = invoke("show", tmp_path / "nope")
    assert missing.exit_code == 2 and missing.stderr.strip() == (
        f"error: Invalid value for 'RUN': {tmp_path / 'nope'}: not a run (no run.sqlite) (see 'swe-monkeys show --help')")
    assert not (tmp_path / "nope").exists()
    assert invoke(*predictions).exit_code == 0
    unknown = invoke("show", tmp_path / "run", "99")
    assert unknown.exit_code == 1 and "no candidate '99' (ids 1..7; or PROBLEM#INDEX)" in unknown.stderr


# 4. A predictions run has no selection: coverage, and no made-up "selected 0.0%, gap 100%".
def test_a_predictions_run_shows_coverage_and_no_fake_gap(predictions):
    result = invoke(*predictions)
    assert result.exit_code == 0, result.output
    summary = next(line for line in result.stdout.splitlines() if line.startswith("coverage "))
    assert summary.startswith("coverage 100.0%  pass@1 ") and "no selection: a predictions file" in summary
    assert "selected" not in summary and "gap" not in summary


def gsm8k_sweep(tmp_path, run="run") -> list:
    """`sweep --task gsm8k` on three problems of a local GSM8K with a FAKE scripted model: judged for
    real, no engine. Sample i of every problem is SCRIPT[i % 4]."""
    data = tmp_path / "gsm8k"
    data.mkdir(exist_ok=True)
    rows = [{"question": f"Tom has {i} apples and buys {i} more. How many now?", "answer": f"{i}+{i}\n#### {2 * i}"}
            for i in range(1, 9)]
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:3]))
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[3:]))
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["The answer is 2.", "#### 4", "no idea", "The answer is 6."]))
    return ["sweep", "--task", "gsm8k", "--dataset", data, "--run", tmp_path / run, "--fake", script]


def verdict_lines(text: str) -> list[str]:
    """The lines that begin with a verdict's status (after verify's `[n/total] ` count)."""
    statuses = {s.value for s in Status}
    return [line for line in text.splitlines()
            if re.sub(r"^\[\d+/\d+\] ", "", line).split(" ", 1)[0] in statuses]


# 3. A line per verdict as it lands, with its reason when not resolved; -q hides them.
def test_sweep_prints_a_line_per_verdict_and_q_hides_them(tmp_path):
    result = invoke(*gsm8k_sweep(tmp_path), "-k", "2")
    assert result.exit_code == 0, result.output
    lines = verdict_lines(result.stderr)
    assert sorted(lines) == sorted([
        "resolved     gsm8k/0#0", "unresolved   gsm8k/0#1  answer 4 != gold 2",
        "unresolved   gsm8k/1#0  answer 2 != gold 4", "resolved     gsm8k/1#1",
        "unresolved   gsm8k/2#0  answer 2 != gold 6", "unresolved   gsm8k/2#1  answer 4 != gold 6"]), result.stderr
    assert not verdict_lines(result.stdout)  # stdout keeps the table
    quiet = invoke(*gsm8k_sweep(tmp_path, "quiet"), "-k", "2", "-q")
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.stderr


def test_verify_of_a_run_prints_a_counted_line_per_verdict(tmp_path):
    assert invoke(*gsm8k_sweep(tmp_path), "-k", "1", "--no-verify", "-q").exit_code == 0
    samples = tmp_path / "more.jsonl"
    samples.write_text("".join(json.dumps({"task_id": "gsm8k/1", "completion": c}) + "\n"
                               for c in ("no idea", "#### 5")))
    assert invoke("import", samples, "--task", "gsm8k", "--run", tmp_path / "run", "--dataset",
                  tmp_path / "gsm8k").exit_code == 0
    result = invoke("verify", "--run", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert verdict_lines(result.stderr) == [
        "[1/5] resolved     gsm8k/0#0", "[2/5] unresolved   gsm8k/1#0  answer 2 != gold 4",
        "[3/5] malformed    gsm8k/1#1  no final number found", "[4/5] unresolved   gsm8k/1#2  answer 5 != gold 4",
        "[5/5] unresolved   gsm8k/2#0  answer 2 != gold 6"], result.stderr
    assert invoke("show", tmp_path / "run", "gsm8k/1#1").stdout.splitlines()[1] == "extraction: no_answer"


# 2. --json: one JSON object on stdout (per candidate: id, problem, status, reason; totals); the
# human text goes to stderr or is left out; the exit codes stay those of README's table.
def test_verify_json_is_the_only_thing_on_stdout(tmp_path, predictions):
    result = invoke(*predictions, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # nothing else on stdout
    assert [(c["index"], c["status"]) for c in data["candidates"]] == [
        (0, "resolved"), (1, "unresolved"), (2, "unresolved"), (3, "resolved"), (4, "malformed"), (5, "malformed"),
        (6, "empty")]
    first = data["candidates"][1]
    assert first["problem"] == CALC and first["reason"] == f"FAIL_TO_PASS {F2P}: FAILED"
    assert isinstance(first["id"], int)
    assert data["totals"]["statuses"] == {"resolved": 2, "unresolved": 2, "malformed": 2, "empty": 1}
    assert data["totals"]["coverage"] == 1.0 and data["totals"]["selected"] is None  # no selection, no gap
    assert data["candidates"][3]["flags"] and data["candidates"][3]["flags"][0]["file"] == "calc/_hook.py"
    assert len(verdict_lines(result.stderr)) == 7  # the lines per verdict stay, on stderr

    again = invoke("verify", "--run", tmp_path / "run", "--json")  # a run of any task: nothing left to judge
    assert again.exit_code == 0 and json.loads(again.stdout)["written"] == 0, again.output


def test_sweep_json(tmp_path):
    result = invoke(*gsm8k_sweep(tmp_path), "-k", "2", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["task"] == "gsm8k" and data["sampling"]["samples"] == 6 and data["sampling"]["dollars"] is None
    assert [(c["problem"], c["index"], c["status"], c["reason"]) for c in data["candidates"]][:2] == [
        ("gsm8k/0", 0, "resolved", "answer 2 = gold 2"), ("gsm8k/0", 1, "unresolved", "answer 4 != gold 2")]
    totals = data["totals"]
    assert totals["candidates"] == 6 and totals["coverage"] == pytest.approx(2 / 3)
    assert totals["selected"] == pytest.approx(1 / 3) and totals["statuses"] == {"resolved": 2, "unresolved": 4}
    assert [r["problem_id"] for r in data["problems"]] == ["gsm8k/0", "gsm8k/1", "gsm8k/2"]
    assert "coverage" not in result.stderr  # the table is in the JSON, not printed beside it


def solve_args(tmp_path, repo_cache, *names):
    from swe_monkeys.examples import EXAMPLES_DIR
    from swe_monkeys.swebench.fake import overlay_completion

    calc = EXAMPLES_DIR / "calc"
    folders = {"gold": calc / "fix", "wrong": calc / "candidates" / "wrong"}
    script = tmp_path / f"{'-'.join(names)}.json"
    script.write_text(json.dumps([overlay_completion(calc / "base", folders[n]) for n in names]))
    return ["solve", "example:calc", "--fake", script, "--repo-cache", repo_cache, "--run", tmp_path / "-".join(names)]


def test_solve_json_carries_the_winner_and_keeps_the_exit_codes(tmp_path, repo_cache, fake_swe_checker):
    won = invoke(*solve_args(tmp_path, repo_cache, "wrong", "gold"), "-k", "2", "--json")
    assert won.exit_code == 0, won.output
    data = json.loads(won.stdout)  # the patch is in it, not printed after it
    assert [(c["index"], c["status"]) for c in data["candidates"]] == [(0, "unresolved"), (1, "resolved")]
    assert data["winner"]["index"] == 1 and added(data["winner"]["patch"]) == added(fake_swe_checker["gold"])
    assert data["totals"]["coverage"] == 1.0 and data["sampling"]["samples"] == 2
    assert "winning patch: sample #1" in won.stderr

    lost = invoke(*solve_args(tmp_path, repo_cache, "wrong"), "-k", "1", "--json")
    assert lost.exit_code == 3, lost.output  # README: verified, none resolved
    data = json.loads(lost.stdout)
    assert data["winner"] is None and data["candidates"][0]["reason"] == f"FAIL_TO_PASS {F2P}: FAILED"
    assert "unresolved   swe-monkeys__calc-1#0  FAIL_TO_PASS" in lost.stderr


# 5. An interrupt says what the run kept and how to go on, with exit code 130 (README's table); and
# the first line comes at once, before any sample or verdict.
def test_an_interrupted_verify_says_what_it_kept_and_the_same_command_continues(tmp_path, monkeypatch):
    from swe_monkeys.tasks.math import MathChecker

    assert invoke(*gsm8k_sweep(tmp_path), "-k", "2", "--no-verify", "-q").exit_code == 0
    judge, calls = MathChecker.judge, []

    def interrupted_at_the_second_problem(self, problem, candidates):
        calls.append(problem.id)
        if len(calls) == 2:
            raise KeyboardInterrupt  # what lifecycle's handler makes of Ctrl-C and SIGTERM
        return judge(self, problem, candidates)

    monkeypatch.setattr(MathChecker, "judge", interrupted_at_the_second_problem)
    result = invoke("verify", "--run", tmp_path / "run")
    assert result.exit_code == 130, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "verifying 6 candidates ..."  # before the first verdict
    assert lines[-1] == (f"interrupted: kept 2 of 6 verdicts in {tmp_path / 'run'}; "
                         "run the same command to continue"), result.stderr
    monkeypatch.setattr(MathChecker, "judge", judge)
    again = invoke("verify", "--run", tmp_path / "run")
    assert again.exit_code == 0 and "4 verdicts written" in again.stdout, again.output
    assert again.stderr.splitlines()[0] == "verifying 4 candidates ..."


def test_sigterm_mid_sweep_is_one_line_with_the_run_s_numbers_and_130(tmp_path):
    """A real process and a real SIGTERM (the FAKE model answers in 0.15 s per request)."""
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    args = [str(a) for a in gsm8k_sweep(tmp_path)]
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"completions": json.loads(script.read_text()), "latency": 0.15, "max_n": 1}))
    command = [sys.executable, "-m", "swe_monkeys.cli", *args, "-k", "6", "--concurrency", "1"]
    env = {**os.environ, "SWE_MONKEYS_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def counts():
        db = sqlite3.connect(tmp_path / "run" / "run.sqlite")
        try:
            return [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("candidates", "verdicts")]
        finally:
            db.close()

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if counts()[1] >= 2:
                break
        except sqlite3.OperationalError:  # no run or no schema yet
            pass
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    samples, verdicts = counts()
    assert 2 <= verdicts <= samples < 18, "the signal landed after the sweep ended; slow the fake down"
    lines = err.splitlines()
    assert lines[0] == f"sweep: 3 gsm8k problems x 6 samples -> {tmp_path / 'run'}; verifying as they arrive ..."
    assert lines[-1] == (f"interrupted: kept {verdicts} of {samples} verdicts and {samples} of 18 samples in "
                         f"{tmp_path / 'run'}; run the same command to continue"), err
    assert "Traceback" not in err and out == ""
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and counts() == [18, 18], done.stderr
