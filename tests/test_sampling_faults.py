"""Sampling survives its endpoint: the OpenAI-compatible backend against a FAKE scripted server on
loopback (a real HTTP server, real sockets, no mocked client) that answers 429 with Retry-After and
5xx, drops the connection, cuts a body or a stream half-way, ends a stream early, and stalls.

A disturbed run must hold exactly the samples and token counts of an undisturbed one (no partial
completion recorded), say each retry in one line, and, when the server never recovers, stop in one
error line that says what was kept and that the same command continues.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import typer
from typer.testing import CliRunner

from swe_monkeys.cli import sample as commands
from swe_monkeys.sampling.fake_server import FakeOpenAIServer
from swe_monkeys.sampling.openai_backend import OpenAIConfig, OpenAISampler
from swe_monkeys.sampling.openai_stream import IncompleteStream, NoStreamUsage, assemble_stream
from swe_monkeys.sampling.phase import Problem, SampleConfig, sample_problems
from swe_monkeys.sampling.protocol import EndpointFailing, Prompt, Request, SamplerError, SamplingParams
from swe_monkeys.store.run_store import RunStore

PARAMS = SamplingParams(temperature=0.8, max_tokens=8, seed=500)
PROBLEMS = [Problem(f"p{i}", Prompt.chat(f"Fix bug {i} in parse().")) for i in range(3)]
FAULTS = [(429, 0.3), 503, "drop", "cut", "truncate", "stall", 502]
RETRY_LINE = re.compile(r"^http://127\.0\.0\.1:\d+/v1: (.+), retry (\d+)/(\d+) in (\d+\.\d) s$")


def sampler(server: FakeOpenAIServer, lines: list, **options) -> OpenAISampler:
    options = {"backoff": 0.01, "backoff_max": 0.05, "retries": 8, "timeout": 1.0, **options}
    return OpenAISampler(OpenAIConfig(base_url=server.url, max_n=2, **options), on_log=lines.append)


def sample_run(path, server, lines, **options):
    with RunStore(path) as store:
        config = SampleConfig(samples=4, params=PARAMS, concurrency=2, price_as="gpt-4o")
        report = sample_problems(store, PROBLEMS, sampler(server, lines, **options), config)
        texts = {(c.problem_id, c.index): c.content for _, c in store.candidates()}
        rows = [(r["problem_id"], r["sample_idx"], texts[r["problem_id"], r["sample_idx"]], r["prompt_tokens"],
                 r["completion_tokens"], r["meta"]["seed"], r["meta"]["finish_reason"]) for r in store.sample_table()]
    return report, sorted(rows)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_a_disturbed_run_keeps_exactly_the_samples_and_tokens_of_an_undisturbed_one(tmp_path, stream):
    # The stall is seen by the read timeout: the whole answer's without streaming, between chunks with it.
    options = {"stream": True, "timeout": 30.0, "stall_timeout": 0.5} if stream else {"timeout": 1.0}
    with FakeOpenAIServer() as server:
        calm, calm_rows = sample_run(tmp_path / "calm", server, [], **options)
        sent = len(server.requests)
        server.behaviour.script = list(FAULTS)
        lines: list[str] = []
        start = time.monotonic()
        rough, rough_rows = sample_run(tmp_path / "rough", server, lines, **options)
        took = time.monotonic() - start
        assert len(server.requests) == 2 * sent + len(FAULTS)  # each fault cost one request, sent again whole
        assert all(bool(r.get("stream")) == stream for r in server.requests)
    assert len(calm_rows) == 12 and rough_rows == calm_rows  # same texts, seeds, finish reasons, tokens
    assert all(row[6] in ("stop", "length") for row in rough_rows)  # no partial completion among them
    for field in ("added", "prompt_tokens", "completion_tokens", "dollars"):
        assert getattr(rough, field) == getattr(calm, field), field
    assert rough.dollars > 0 and not rough.failed
    # One line per retry, saying why, which retry of how many, and the wait.
    parsed = [RETRY_LINE.match(line) for line in lines]
    assert all(parsed) and len(parsed) == len(FAULTS), lines
    reasons = " | ".join(m.group(1) for m in parsed)
    for said in ("endpoint answered 429", "endpoint answered 503", "endpoint answered 502", "connection dropped",
                 "(stalled)"):
        assert said in reasons, reasons
    assert ("stream cut short" if stream else "answer cut short (not JSON)") in reasons
    assert float(next(m.group(4) for m in parsed if "429" in m.group(1))) >= 0.3  # Retry-After honoured
    assert all(m.group(3) == "8" for m in parsed)
    assert ("no answer for 0.5 s (stalled)" if stream else "no answer for 1 s (stalled)") in reasons
    assert took < 15


def test_an_endpoint_that_never_recovers_fails_within_its_time_bound(tmp_path):
    lines: list[str] = []
    with FakeOpenAIServer() as server:
        server.behaviour.script = [503] * 1000
        s = sampler(server, lines, retries=1000, retry_for=0.6, backoff=0.05, backoff_max=0.1)
        s.identity()  # the endpoint check (and the client's one-time setup) before the clock starts
        start = time.monotonic()
        with pytest.raises(EndpointFailing, match=r"kept failing: HTTP 503 .* \(gave up after \d+ attempts in"):
            s.complete(Request(PROBLEMS[0].prompt, PARAMS, n=2, seed=0))
    # no retry whose wait would end past retry_for (without the bound: 1000 retries, ~100 s); the margin
    # is for a loaded machine (0.5 s was once not enough beside two busy cores)
    assert time.monotonic() - start < 0.6 + 3.0
    assert lines and all("endpoint answered 503, retry" in line and "/1000 in" in line for line in lines)


def test_a_request_the_server_always_fails_while_it_answers_others_fails_alone(tmp_path):
    # One prompt the server chokes on must not stop a sweep: the others were answered meanwhile.
    problems = [Problem("poison", Prompt.chat("the poison prompt")), *PROBLEMS[:2]]
    lines: list[str] = []
    with FakeOpenAIServer() as server, RunStore(tmp_path / "run") as store:
        server.behaviour.choke_on, server.behaviour.latency = "poison", 0.05
        s = sampler(server, lines, retries=3, backoff=0.1, backoff_max=0.2)
        report = sample_problems(store, problems, s, SampleConfig(samples=2, params=PARAMS, concurrency=3))
        kept = {r["problem_id"] for r in store.sample_table()}
    assert set(report.failed) == {"poison"} and kept == {"p0", "p1"} and report.added == 4
    assert "HTTP 500" in report.failed["poison"] and "other requests were answered meanwhile" in report.failed["poison"]
    assert len(lines) == 3 and all("endpoint answered 500" in line for line in lines)


app = typer.Typer()
app.command("sample")(commands.sample)
app.command("other")(lambda: None)  # two commands: `sample` is invoked by name, as on the command line


def test_the_command_stops_in_one_line_when_the_endpoint_never_recovers_and_the_same_command_continues(tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps({"id": p.id, "prompt": p.prompt.messages[0]["content"]}) + "\n"
                               for p in PROBLEMS))
    run = tmp_path / "run"
    with FakeOpenAIServer() as server:
        def sample(k: int, *extra: str):
            args = ["sample", prompts, "--run", run, "--base-url", server.url, "-k", k, "--max-new-tokens", 8, "-q"]
            return CliRunner().invoke(app, [str(a) for a in [*args, *extra]])

        assert sample(2).exit_code == 0
        server.behaviour.script = [503] * 1000  # the server answers nothing but 503 from now on
        down = sample(4, "--retries", 1)
        server.behaviour.script = []  # it recovers
        again = sample(4)
    assert down.exit_code == 1, down.output
    errors = [line for line in down.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0] == down.output.splitlines()[-1], down.output
    assert "kept failing: HTTP 503" in errors[0] and f"6 of 12 samples kept in {run}" in errors[0]
    assert errors[0].endswith("run the same command to continue") and "Traceback" not in down.output
    assert re.search(r": endpoint answered 503, retry 1/1 in \d+\.\d s\n", down.output), down.output
    assert again.exit_code == 0 and "samples 6 existing + 6 drawn of 12" in again.output


def test_ctrl_c_while_a_request_waits_to_retry_ends_the_command_at_once(tmp_path):
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "p0", "prompt": "Fix bug 0."}) + "\n")
    with FakeOpenAIServer() as server:
        server.behaviour.script = [503] * 1000
        command = [sys.executable, "-m", "swe_monkeys.cli", "sample", str(prompts), "--run", str(tmp_path / "run"),
                   "-k", "2", "--base-url", server.url, "-q"]
        proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        try:
            first = proc.stderr.readline()  # the first retry line: the request now waits 1-2 s to retry
            proc.send_signal(signal.SIGINT)
            start = time.monotonic()
            rest = proc.communicate(timeout=20)[1]
        finally:
            proc.kill()
    assert "endpoint answered 503, retry 1/10 in" in first
    assert proc.returncode == 130 and time.monotonic() - start < 5, rest  # not the ~5 minutes of retries left
    assert "retry 2/10" not in rest


def test_closing_the_sampler_ends_a_request_waiting_out_a_long_backoff():
    lines: list[str] = []
    errors: list[Exception] = []
    with FakeOpenAIServer() as server:
        server.behaviour.script = [503] * 1000
        s = sampler(server, lines, backoff=30.0, backoff_max=60.0)
        s.identity()

        def ask() -> None:
            try:
                s.complete(Request(PROBLEMS[0].prompt, PARAMS, n=1, seed=0))
            except SamplerError as exc:
                errors.append(exc)

        waiting = threading.Thread(target=ask)
        waiting.start()
        while not lines:
            time.sleep(0.01)
        start = time.monotonic()
        s.close()
        waiting.join(5)
    assert not waiting.is_alive() and time.monotonic() - start < 2
    assert float(RETRY_LINE.match(lines[0]).group(4)) >= 30  # it would have waited that long
    assert len(errors) == 1 and "closed while a request waited to retry" in str(errors[0])


def test_a_stream_is_whole_only_with_every_finish_reason_its_usage_and_done():
    def events(*objects):
        return [f"data: {json.dumps(o)}" if not isinstance(o, str) else o for o in objects]

    words = [{"choices": [{"index": 0, "delta": {"content": "def f"}, "token_ids": [1, 2]}]},
             {"choices": [{"index": 1, "delta": {"content": "x"}, "token_ids": [3]}]},
             {"choices": [{"index": 0, "delta": {"content": "(): pass"}, "token_ids": [4]}]}]
    ends = [{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {"choices": [{"index": 1, "delta": {}, "finish_reason": "length"}]}]
    usage = {"choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 4}}
    whole = assemble_stream(events(*words, ": keep-alive", "", *ends, usage, "data: [DONE]"))
    assert whole["usage"]["completion_tokens"] == 4
    assert [(c["message"]["content"], c["finish_reason"], c["token_ids"]) for c in whole["choices"]] == [
        ("def f(): pass", "stop", [1, 2, 4]), ("x", "length", [3])]
    with pytest.raises(IncompleteStream, match="ended before"):  # closed cleanly half-way
        assemble_stream(events(*words, ends[0]))
    with pytest.raises(IncompleteStream, match="1 of 2 choices finished"):  # [DONE] with a choice unfinished
        assemble_stream(events(*words, ends[0], usage, "data: [DONE]"))
    with pytest.raises(IncompleteStream, match="with an error: engine died"):
        assemble_stream(events(words[0], {"error": {"message": "engine died"}}))
    with pytest.raises(NoStreamUsage):  # whole but uncounted: refused rather than counted as zero tokens
        assemble_stream(events(*words, *ends, "data: [DONE]"))
    with pytest.raises(IncompleteStream, match="timeout"):
        assemble_stream(events(*words), deadline=time.monotonic() - 1)
