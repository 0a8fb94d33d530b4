"""The command line's edges: what it refuses, how it says so, and what its exit codes mean.

Every test here runs the real `swe-monkeys` app through typer's CliRunner with no Docker engine
(DOCKER_HOST points nowhere) and no model: a refusal must come before any of them is needed.
"""

from __future__ import annotations

import json

import pytest

from tests.cli_helpers import invoke, nothing_real  # noqa: F401 (nothing_real: an autouse fixture)




def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


# Count options: a count below one is refused where it is parsed, before anything is read, started
# or drawn (`solve -k 0` used to draw the preset's 250 samples; `--workers 0` meant "one per core").
REFUSED = [
    (["solve", "example:calc", "-k", "0"], "'--samples' / '-k'"),
    (["solve", "example:calc", "-k", "-1"], "'--samples' / '-k'"),
    (["solve", "example:calc", "--workers", "0"], "'--workers'"),
    (["solve", "example:calc", "--concurrency", "0"], "'--concurrency'"),
    (["solve", "example:calc", "--concurrency", "-1"], "'--concurrency'"),
    (["solve", "example:calc", "--max-tokens", "0"], "'--max-tokens'"),
    (["sweep", "--task", "gsm8k", "-k", "0"], "'--samples' / '-k'"),
    (["sweep", "--task", "gsm8k", "--workers", "-1"], "'--workers'"),
    (["sweep", "--task", "gsm8k", "--concurrency", "0"], "'--concurrency'"),
    (["sample", "prompts.jsonl", "-k", "0"], "'--samples' / '-k'"),
    (["sample", "prompts.jsonl", "-k", "1", "--concurrency", "0"], "'--concurrency'"),
    (["sample", "prompts.jsonl", "-k", "1", "--max-n", "0"], "'--max-n'"),
    (["sample", "prompts.jsonl", "-k", "1", "--max-new-tokens", "0"], "'--max-new-tokens'"),
    (["verify", "preds.jsonl", "--instances", "x.jsonl", "--workers", "0"], "'--workers'"),
    (["verify", "preds.jsonl", "--instances", "x.jsonl", "--flaky-runs", "0"], "'--flaky-runs'"),
    (["validate", "x.jsonl", "--workers", "0"], "'--workers' / '-w'"),
    (["validate", "x.jsonl", "--repeats", "0"], "'--repeats' / '-r'"),
    (["score", "--concurrency", "0", "--base-url", "http://127.0.0.1:9/v1"], "'--concurrency'"),
    (["plan", "run", "--target", "0.5", "--problems", "0"], "'--problems'"),
    (["demo", "--workers", "0"], "'--workers'"),
    (["serve", "--model", "m", "-tp", "0"], "'--tensor-parallel-size' / '-tp'"),
]


@pytest.mark.parametrize("args, option", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_counts_below_one_are_one_line_usage_errors(tmp_path, args, option):
    (tmp_path / "prompts.jsonl").write_text('{"id": "a", "prompt": "x"}\n')
    wants_run = args[0] in ("solve", "sweep", "sample", "verify", "score")
    result = invoke(*args, *(["--run", tmp_path / "run"] if wants_run else []))
    assert result.exit_code == 2, result.output
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith(f"error: Invalid value for {option}: "), result.output
    assert f"(see 'swe-monkeys {args[0]} --help')" in lines[0]
    assert not (tmp_path / "run").exists() and not (tmp_path / "runs").exists()  # nothing begun


def test_other_usage_errors_are_one_line_too():
    for args, message in [(["nosuch"], "No such command 'nosuch'."), (["solve"], "Missing argument"),
                          (["solve", "example:calc", "--bogus"], "No such option: --bogus")]:
        result = invoke(*args)
        lines = error_lines(result)
        assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output
        assert message in lines[0]


def test_a_count_of_one_is_accepted():
    """The ranges start at one: `-k 1` gets past the parser (and is refused next, for want of a model)."""
    result = invoke("solve", "example:calc", "-k", "1", "--concurrency", "1", "--workers", "1", "--no-verify")
    assert result.exit_code == 2 and error_lines(result) == [
        "error: give a model: --base-url URL, --serve MODEL or --fake SCRIPT (see 'swe-monkeys solve --help')"], \
        result.output


# User mistakes: one `error: ...` line on stderr and a non-zero exit -- never a traceback -- and no
# run folder begun. Exit 1: the input is wrong (the project's errors); 2: the command line is.
MISTAKES = [
    (["solve", "example:nope", "--fake", "{script}", "--no-verify"], 1,
     "error: unknown example(s) nope; valid: calc, daterange, slugkit, unitconv"),
    (["solve", "example:calc", "--fake", "missing.json", "--no-verify"], 2,
     "error: Invalid value for '--fake': file 'missing.json' does not exist."),
    (["solve", "example:calc", "--fake", "{not_json}", "--no-verify"], 1, "cannot read a fake script"),
    (["solve", "example:calc", "--fake", "{script}", "--concurrency", "0"], 2,
     "error: Invalid value for '--concurrency': "),
    (["score"], 2, "error: give a model: --base-url URL or --serve MODEL"),
    (["sample", "missing.jsonl", "-k", "1"], 2,
     "error: Invalid value for 'prompts': file 'missing.jsonl' does not exist."),
    (["sample", "{bad_prompts}", "-k", "1", "--base-url", "http://127.0.0.1:9/v1"], 1,
     "bad_prompts.jsonl: line 2: not a prompt"),
]


@pytest.mark.parametrize("args, code, message", MISTAKES, ids=[" ".join(a) for a, _, _ in MISTAKES])
def test_user_mistakes_are_one_line_without_a_traceback(tmp_path, args, code, message):
    files = {"script": tmp_path / "script.json", "not_json": tmp_path / "not.json",
             "bad_prompts": tmp_path / "bad_prompts.jsonl"}
    files["script"].write_text('["no answer"]')
    files["not_json"].write_text("[not json")
    files["bad_prompts"].write_text('{"id": "a", "prompt": "x"}\n{"id": "b", "messages": [{"content": "x"}]}\n')
    args = [str(files[a[1:-1]]) if a[1:-1] in files else a for a in args]
    result = invoke(*args, "--run", tmp_path / "run")
    assert isinstance(result.exception, SystemExit), result.exception  # not an exception typer would print
    assert result.exit_code == code and "Traceback" not in result.output, result.output
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert not (tmp_path / "run").exists()


# `verify PREDICTIONS`: a file that cannot be judged as it stands is one line naming the place, before
# any run is opened -- no empty run folder, and an existing run keeps its candidates.
CALC = "swe-monkeys__calc-1"
ROW = (json.dumps({"instance_id": CALC, "model_name_or_path": "m", "model_patch": ""}) + "\n").encode()
BAD_PREDICTIONS = [
    (b"", "preds.jsonl: no predictions"),
    (b"\n \n", "preds.jsonl: no predictions"),
    (ROW + b"\n" + json.dumps({"instance_id": CALC}).encode(), "preds.jsonl: line 3: no model_patch"),
    (ROW + json.dumps({"instance_id": CALC, "model_patch": None}).encode(), "preds.jsonl: line 2: no model_patch"),
    (ROW + ROW[:40] + b"\xff\xfe" + ROW[40:], f"preds.jsonl: line 2: not UTF-8 (byte {len(ROW) + 40}: "),
]


@pytest.fixture
def instances(tmp_path, examples):
    path = tmp_path / "instances.jsonl"
    path.write_text(json.dumps(examples["calc"].instance.to_row()) + "\n")
    return path


@pytest.mark.parametrize("content, message", BAD_PREDICTIONS, ids=["empty", "blank", "missing", "null", "latin"])
def test_bad_predictions_are_one_line_naming_the_place(tmp_path, instances, content, message):
    (tmp_path / "preds.jsonl").write_bytes(content)
    result = invoke("verify", tmp_path / "preds.jsonl", "--instances", instances, "--run", tmp_path / "run")
    assert result.exit_code == 1, result.output
    lines = error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert not (tmp_path / "run").exists()


def test_bad_predictions_lose_nothing_of_the_run(tmp_path, instances, examples):
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.swebench.api import import_predictions
    from swe_monkeys.swebench.checker import VerifyConfig

    preds, run = tmp_path / "preds.jsonl", tmp_path / "run"
    patches = [examples["calc"].candidates[name] for name in ("gold", "wrong")]
    preds.write_text("".join(json.dumps({"instance_id": CALC, "model_patch": p}) + "\n" for p in patches))
    import_predictions(preds, instances, run, VerifyConfig())[0].close()  # recorded, not judged: no Docker
    for bad in BAD_PREDICTIONS:
        preds.write_bytes(bad[0])  # the same file, broken: before, an empty one emptied the run
        assert invoke("verify", preds, "--instances", instances, "--run", run).exit_code == 1
    with RunStore(run) as store:
        assert [c.content for _, c in store.candidates()] == patches


def test_verify_of_a_folder_that_is_no_run_leaves_it_alone(tmp_path):
    result = invoke("verify", "--run", tmp_path / "nope")
    assert result.exit_code == 2 and error_lines(result) == [
        f"error: Invalid value for '--run': {tmp_path / 'nope'}: not a run (no run.sqlite); give PREDICTIONS to "
        "verify SWE-bench patches (see 'swe-monkeys verify --help')"]
    assert not (tmp_path / "nope").exists()


# Exit codes: a script tells "the command line is wrong" (2) from "solve found no fix" (3) and from
# an error (1); the README's table, the help's epilog and the code say the same.
def test_solve_none_resolved_is_not_a_usage_error(tmp_path, monkeypatch):
    """The pipeline is replaced by a FAKE that drew two samples and resolved none: judging for
    real needs Docker (tests/test_solve.py); what is checked here is the exit code solve maps it to."""
    from swe_monkeys.sampling.progress import Progress
    from swe_monkeys.tasks import pipeline

    def fake_run_task(store, task, problems, sampler, config, **_):
        return pipeline.TaskRunResult(progress=Progress(instances=1, target=2, samples=2, valid=2, unique=1),
                                      stopped_early=False, winners={})

    monkeypatch.setattr(pipeline, "run_task", fake_run_task)
    monkeypatch.setattr("swe_monkeys.cli.solve.engine_first", lambda needed: None)  # the FAKE needs no engine
    (tmp_path / "script.json").write_text('["no answer"]')
    base = ["solve", "example:calc", "--fake", tmp_path / "script.json", "--run", tmp_path / "run"]
    none = invoke(*base, "-k", "2")
    assert none.exit_code == 3 and "no candidate resolved the issue" in none.stderr, none.output
    assert invoke(*base, "-k", "0").exit_code == 2  # the same command line, wrong
    assert invoke(*base, "-k", "2", "--no-verify").exit_code == 0  # sampled, nothing claimed


def test_exit_codes_are_documented_where_they_are_defined():
    from pathlib import Path

    from swe_monkeys.cli import lifecycle

    assert (lifecycle.ERROR, lifecycle.USAGE, lifecycle.NONE_RESOLVED) == (1, 2, 3)
    epilog = " ".join(invoke("--help").stdout.split())
    assert "Exit codes: 0 done; 1 an error" in epilog and "2 a usage error" in epilog
    assert "3 solve: candidates verified, none resolved" in epilog and "130 interrupted" in epilog
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme.split("## Exit codes\n", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip(): line for line in table.splitlines() if line.startswith("| ")}
    assert set(rows) >= {"0", "1", "2", "3", "130"}
    assert "usage error" in rows["2"] and "none resolved" in rows["3"] and "`solve`" in rows["3"]
    assert "3 when none resolved" in readme and "2 when none resolved" not in readme


def test_verify_with_id_keeps_the_other_instances_candidates(tmp_path, examples):
    """`verify PREDICTIONS --id X` on a run of several instances syncs X's candidates only (it
    removed every other instance's candidates and verdicts)."""
    from swe_monkeys.store.run_store import RunStore
    from swe_monkeys.swebench.api import import_predictions
    from swe_monkeys.swebench.checker import VerifyConfig

    calc, other = examples["calc"], examples["daterange"]
    instances = tmp_path / "instances.jsonl"
    instances.write_text("".join(json.dumps(e.instance.to_row()) + "\n" for e in (calc, other)))
    rows = [(calc, "gold"), (calc, "wrong"), (other, "gold")]
    preds, run = tmp_path / "preds.jsonl", tmp_path / "run"
    preds.write_text("".join(json.dumps({"instance_id": e.instance.instance_id, "model_patch": e.candidates[n]})
                             + "\n" for e, n in rows))
    import_predictions(preds, instances, run, VerifyConfig())[0].close()
    only_calc = tmp_path / "calc.jsonl"  # the calc lines only, one of them changed
    only_calc.write_text(json.dumps({"instance_id": calc.instance.instance_id, "model_patch": calc.candidates["gold"]})
                         + "\n")
    import_predictions(only_calc, instances, run, VerifyConfig(), ids=[calc.instance.instance_id])[0].close()
    with RunStore(run) as store:
        kept = sorted((c.problem_id, c.content) for _, c in store.candidates())
    assert kept == sorted([(calc.instance.instance_id, calc.candidates["gold"]),
                           (other.instance.instance_id, other.candidates["gold"])])
