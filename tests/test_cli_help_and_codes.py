"""Help that reads at 80 and 200 columns, `images ls` a reader can use, usage errors that exit 2, and
input files read as JSON Lines says (issue 23).

Every test runs the real app through typer's CliRunner with no Docker engine and no model, except the
one `images ls` test, which lists the images of the real engine (it builds nothing).
"""

from __future__ import annotations

import json

import pytest
import typer

from swe_monkeys.cli import app
from tests.cli_helpers import invoke, nothing_real  # noqa: F401 (nothing_real: an autouse fixture)


def _commands(group=None, path=()):
    """(path, click command) of every command the app has, groups included."""
    group = group or typer.main.get_command(app)
    yield path, group
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, (*path, name))


COMMANDS = [path for path, _ in _commands()]


def _help(path, columns, monkeypatch, capsys):
    """`swe-monkeys PATH --help` on a terminal COLUMNS wide (typer's CliRunner pins 80 columns, so the
    command runs in this process as the console script runs it)."""
    monkeypatch.setenv("COLUMNS", str(columns))
    capsys.readouterr()
    code = typer.main.get_command(app).main([*path, "--help"], prog_name="swe-monkeys", standalone_mode=False)
    assert code in (0, None)
    return capsys.readouterr().out


def _description(text: str) -> list[list[str]]:
    """The paragraphs of prose under the usage line (up to the first section), as lists of lines."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Usage:")) + 1
    paragraphs, current = [], []
    for line in lines[start:]:
        if line.rstrip().endswith(":") and not line.startswith(" "):  # "Options:", "Commands:"
            break
        if line.strip():
            current.append(line)
        elif current:
            paragraphs, current = paragraphs + [current], []
    return paragraphs + ([current] if current else [])


# Help. At 80 columns Rich's table cut option names ("--dataset,--instance…", "SWE_MONKEYS_REPO_CAC…")
# and squeezed descriptions to ~22 columns; at 200 it kept each docstring's own line breaks.
@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "root" for p in COMMANDS])
def test_help_at_80_columns_cuts_no_name_and_no_line(path, monkeypatch, capsys):
    text = _help(path, 80, monkeypatch, capsys)
    assert "…" not in text, text
    assert max(len(line) for line in text.splitlines()) <= 80, text
    command = dict(_commands())[path]
    for param in command.params:
        if param.param_type_name == "option" and not param.hidden:
            for name in (*param.opts, *param.secondary_opts):
                assert name in text, (name, text)
            if isinstance(getattr(param, "envvar", None), str) and getattr(param, "show_envvar", False):
                assert param.envvar in text, text
    for name in getattr(command, "commands", {}):  # a group's commands: a whole first sentence each
        line = next(line for line in text.splitlines() if line.strip().startswith(name + " "))
        assert not line.endswith("..."), line


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "root" for p in COMMANDS])
def test_help_paragraphs_fill_their_lines(path, columns, monkeypatch, capsys):
    """A paragraph breaks a line only where the next word would not fit (a readable measure: at most
    100 columns on a wide terminal), never where its docstring's source line happened to end."""
    text = _help(path, columns, monkeypatch, capsys)
    width = min(columns, 100) - 2  # click's formatter: the terminal, capped by max_content_width, less 2
    assert max(len(line) for line in text.splitlines()) <= width + 2, text
    for paragraph in _description(text):
        for line, following in zip(paragraph, paragraph[1:]):
            assert len(line) + 1 + len(following.split()[0]) > width, (line, following)


def test_option_descriptions_get_room_at_80_columns(monkeypatch, capsys):
    text = _help(("solve",), 80, monkeypatch, capsys)
    assert "Samples to draw at most (default: the preset's)." in text
    assert "--repo-cache DIR" in text and "SWE_MONKEYS_REPO_CACHE" in text


def test_solve_help_names_every_embedded_example(monkeypatch, capsys):
    from swe_monkeys import examples

    text = " ".join(_help(("solve",), 200, monkeypatch, capsys).split())
    assert "example:" + "|".join(examples.names()) in text and "unitconv" in text


def test_instances_is_a_dataset_everywhere_and_ids_are_id(monkeypatch, capsys):
    """`--instances` is a dataset file or folder (verify, images build); ids and globs are `--id`,
    `sweep` included. `sweep --instances` and `solve --instances-file` still parse: hidden aliases."""
    sweep = _help(("sweep",), 200, monkeypatch, capsys)
    assert "--id ID|GLOB|SLICE" in sweep and "--instances" not in sweep
    assert "--instances FILE|DIR" in _help(("verify",), 200, monkeypatch, capsys)
    assert "--instances-file" not in _help(("solve",), 200, monkeypatch, capsys)
    for args in (["--id", "0:2"], ["--instances", "0:2"], ["--id", "a*", "--instances", "b*"]):
        result = invoke("sweep", "--task", "gsm8k", "--run", "run", *args)  # parsed; then: no model
        assert result.exit_code == 2 and "give a model" in result.stderr, result.output
    old = invoke("solve", "example:calc", "--instances-file", "lite")
    assert old.exit_code == 2 and "give a model" in old.stderr, old.output


# `images ls`: a header, sizes, the disk they take, and --json.
def test_images_ls_has_a_header_sizes_and_json(docker_client, monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)  # this one lists the real engine's images
    text = invoke("images", "ls")
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert lines[0].split() == ["kind", "tag", "size", "created"]
    assert lines[-1].split(" images (")[0].isdigit() and "GiB on disk" in lines[-1]
    listed = invoke("images", "ls", "--json")
    data = json.loads(listed.stdout)
    assert data["count"] == len(data["images"]) == len(lines) - 2
    assert {"disk_mb", "listed_mb", "instance_images"} <= set(data)
    assert all({"tag", "kind", "id", "size_mb", "created"} <= set(row) for row in data["images"])


# Usage errors: exit 2, one line, nothing started and no run folder made. Each of these exited 1
# (or made a run folder) before.
USAGE = [
    (["verify"], "give SWE-bench PREDICTIONS with --instances, or --run DIR"),
    (["verify", "{prompts}"], "SWE-bench predictions need --instances FILE|DIR"),
    (["verify", "nope.jsonl", "--instances", "{prompts}"], "Invalid value for 'PREDICTIONS': nope.jsonl: no such"),
    (["verify", "{prompts}", "--instances", "nope"], "Invalid value for '--instances': nope: no such file"),
    (["verify", "--run", "run"], "Invalid value for '--run': run: not a run (no run.sqlite)"),
    (["show", "run"], "Invalid value for 'RUN': run: not a run (no run.sqlite)"),
    (["score", "--run", "run"], "give a model: --base-url URL or --serve MODEL"),
    (["score", "--run", "run", "--base-url", "http://127.0.0.1:9/v1"], "Invalid value for '--run': run: not a run"),
    (["sample", "{prompts}", "--run", "run", "-k", "1"], "give a model: --base-url URL or --serve MODEL"),
    (["sample", "{prompts}", "--run", "run", "-k", "1", "--backend", "nope"], "Invalid value for '--backend'"),
    (["sample", "{prompts}", "--run", "run", "-k", "1", "--n-mode", "x"], "Invalid value for '--n-mode'"),
    (["solve", "example:calc", "--run", "run"], "give a model: --base-url URL, --serve MODEL or --fake SCRIPT"),
    (["solve", "some__id-1", "--fake", "{script}", "--run", "run"],
     "Invalid value for 'TARGET': some__id-1: no such file, and not example:NAME; to name an instance id give"),
    (["sweep", "--task", "gsm8k", "--run", "run"], "give a model"),
    (["sweep", "--task", "gsm8k", "--run", "run", "--export", "p.jsonl", "--fake", "{script}"],
     "--export writes SWE-bench predictions; it is for --task swebench"),
    (["validate", "nope.jsonl"], "Invalid value for 'INSTANCES': nope.jsonl: no such file or folder"),
    (["specs", "nope.jsonl"], "Invalid value for 'INSTANCES': nope.jsonl: no such file or folder"),
    (["images", "build", "--instances", "nope.jsonl"], "Invalid value for '--instances': nope.jsonl: no such"),
    (["bench", "flags", "--instances", "nope"], "Invalid value for '--instances': nope: no such file or folder"),
    (["import", "nope.jsonl", "--task", "gsm8k", "--run", "run"], "Invalid value for 'FILE': nope.jsonl: no such"),
]


@pytest.mark.parametrize("args, message", USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_usage_errors_exit_2_in_one_line_and_start_nothing(tmp_path, args, message):
    files = {"{prompts}": tmp_path / "prompts.jsonl", "{script}": tmp_path / "script.json"}
    files["{prompts}"].write_text('{"id": "a", "prompt": "x"}\n')
    files["{script}"].write_text('["no answer"]')
    result = invoke(*[files.get(a, a) for a in args])
    assert isinstance(result.exception, SystemExit), result.exception
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    where = " ".join(args[:2]) if args[0] in ("images", "bench") else args[0]
    assert message in lines[0] and lines[0].endswith(f"(see 'swe-monkeys {where} --help')"), lines
    assert not (tmp_path / "run").exists() and not (tmp_path / "runs").exists()


def test_a_library_usage_error_exits_2_through_the_one_exit_path():
    from swe_monkeys.cli.lifecycle import fail
    from swe_monkeys.errors import SweMonkeysError, UsageError

    for error, code in ((UsageError("give one of --target or --budget-dollars"), 2), (SweMonkeysError("x"), 1)):
        with pytest.raises(typer.Exit) as exited, fail():
            raise error
        assert exited.value.exit_code == code


def test_an_unwritable_demo_workdir_is_one_line_not_a_traceback(tmp_path):
    (tmp_path / "file").write_text("")
    result = invoke("demo", "--workdir", tmp_path / "file" / "demo")
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.output
    assert result.stderr.strip().startswith(f"error: --workdir {tmp_path / 'file' / 'demo'}: cannot write")


# Input files: JSON Lines end lines at "\n" only; bytes that are not UTF-8 are an error naming file
# and line; a failed import leaves no run folder behind.
@pytest.fixture
def gsm(tmp_path):
    folder = tmp_path / "gsm"
    folder.mkdir()
    rows = [{"question": "Tom has 3 apples and buys 3 more. How many?", "answer": "3+3=6\n#### 6"},
            {"question": "Ann has 2 pens. How many?", "answer": "#### 2"}]
    (folder / "test.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    (folder / "train.jsonl").write_text("".join(json.dumps({"question": f"Q{n}?", "answer": f"#### {n}"}) + "\n"
                                                for n in range(2, 10)))
    return folder


def _samples(tmp_path, *completions):
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps({"task_id": "gsm8k/1", "completion": c}, ensure_ascii=False) + "\n"
                            for c in completions))
    return path


def test_a_line_separator_inside_a_json_string_is_not_a_line_break(tmp_path, gsm):
    """JSON allows U+2028, U+0085 and the like unescaped in a string; str.splitlines broke there."""
    rows = [{"question": "Tom has 3 apples\u2028and buys 3 more. How many?", "answer": "3+3=6\n#### 6"},
            {"question": "Ann has 2 pens.\u0085 How many?", "answer": "#### 2"}]
    (gsm / "test.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    samples = _samples(tmp_path, "3 + 3\u2028= 6. The answer is 6.")
    result = invoke("import", samples, "--task", "gsm8k", "--dataset", gsm, "--run", tmp_path / "run")
    assert result.exit_code == 0 and "imported 1 samples for 1 problems" in result.stdout, result.output


def test_bytes_that_are_not_utf8_name_the_file_and_line(tmp_path, gsm):
    test = gsm / "test.jsonl"
    test.write_bytes(test.read_bytes() + b'{"question": "caf\xe9?", "answer": "#### 1"}\n')
    result = invoke("import", _samples(tmp_path, "6"), "--task", "gsm8k", "--dataset", gsm, "--run", tmp_path / "run")
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().startswith(f"error: {test}: line 3: not UTF-8 (byte "), result.output


def test_a_failed_import_leaves_no_new_run_folder_and_keeps_an_old_one(tmp_path, gsm):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"task_id": "gsm8k/999", "completion": "1"}) + "\n")
    run = tmp_path / "run"
    result = invoke("import", bad, "--task", "gsm8k", "--dataset", gsm, "--run", run)
    assert result.exit_code == 1 and "unknown gsm8k problem" in result.stderr, result.output
    assert not run.exists()
    assert invoke("import", _samples(tmp_path, "6"), "--task", "gsm8k", "--dataset", gsm, "--run", run).exit_code == 0
    assert invoke("import", bad, "--task", "gsm8k", "--dataset", gsm, "--run", run).exit_code == 1
    assert (run / "run.sqlite").is_file()  # a run that was there before stays, with what it had


def test_solve_without_an_engine_says_so_before_sampling_and_leaves_no_run(tmp_path):
    """No Docker engine (nothing_real points DOCKER_HOST nowhere): one line saying how to start one,
    exit 1, and no sample drawn nor run folder made (a paid endpoint is not called for nothing)."""
    script = tmp_path / "fake.json"
    script.write_text(json.dumps({"completions": ["no edit"], "max_n": 1}))
    result = invoke("solve", "example:calc", "--fake", script, "--run", tmp_path / "run", "-k", "1")
    assert result.exit_code == 1, result.output
    assert "Docker engine not reachable" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()
