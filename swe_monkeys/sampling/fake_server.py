"""FAKE model endpoints for tests and dry runs: a scripted OpenAI-compatible HTTP server on loopback.

`FakeOpenAIServer` is a real `http.server` in a thread that answers /v1/models, /v1/completions
and /v1/chat/completions the way vLLM does (owned_by "vllm", per-choice token_ids, usage with the
prompt counted once), with deterministic text: sample j of a request with seed s reads
"fake sample seed=<s+j> ...", so tests can check seeds, resumption and fan-out exactly.
A request with `stream` is answered as vLLM streams: server-sent events over chunked encoding, the
choices' words interleaved one per chunk (with their token_ids), a usage chunk, `data: [DONE]`.
`script` lists what to answer before behaving normally: an HTTP status to fail with (optionally
with a Retry-After), or a fault of the connection -- "drop" (closed before any answer), "cut" (a body
shorter than its Content-Length; a stream closed after `cut_after` chunks), "truncate" (JSON that
stops half-way, the end of the body marked only by the closed connection; a stream whose chunked
encoding ends properly after `cut_after` chunks, as a proxy ending it would), "stall" (nothing more is
sent, the connection held open: before any byte, or a stream after `cut_after` chunks). Switches
make it misbehave the ways real servers do: ignore `n`, return fewer choices than asked, reject
prompts longer than a context limit, or fail every request for one prompt.

Run as `python -m swe_monkeys.sampling.fake_server --port P --served-model-name M [vLLM args]` it
stands in for `vllm serve` (it ignores the arguments it does not know), so the server lifecycle
is tested without vLLM.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional


@dataclass
class FakeBehaviour:
    """How the fake server answers; tests change it between requests."""

    models: tuple[str, ...] = ("fake-model",)
    owned_by: str = "vllm"
    script: list[Any] = field(default_factory=list)  # e.g. [429, 503, (429, 2.0), "cut"] answered first, in order
    ignore_n: bool = False  # answer one choice whatever n is (llama-cpp-python)
    drop_choices: int = 0  # return this many fewer choices than asked for
    context_limit: Optional[int] = None  # prompt "tokens" (words) + max_tokens above this -> HTTP 400
    latency: float = 0.0  # seconds to sleep per request (to see concurrency)
    token_ids: bool = True  # include per-choice token_ids when asked for (vLLM's return_token_ids)
    words: int = 6  # words per sample when max_tokens allows
    choke_on: str = ""  # a prompt holding this text is answered 500, always (a request the server chokes on)
    cut_after: int = 3  # chunks a "cut" or "stall" stream sends first
    stall_seconds: float = 60.0  # how long a "stall" holds the connection (or until the server stops)


class FakeOpenAIServer:
    """A scripted fake OpenAI-compatible endpoint (on 127.0.0.1 by default); use as a context manager."""

    def __init__(self, behaviour: Optional[FakeBehaviour] = None, port: int = 0, host: str = "127.0.0.1"):
        self.behaviour = behaviour or FakeBehaviour()
        self.requests: list[dict[str, Any]] = []  # bodies of completion requests, in arrival order
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self.stopping = threading.Event()  # ends stalls when the server stops
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> "FakeOpenAIServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- what the handler calls ---------------------------------------------------------------
    def answer(self, path: str, body: Optional[dict]) -> tuple[int, dict, dict, str]:
        """(status, headers, JSON body, fault) for one request: a fault ("cut", ...) breaks the
        connection while the answer is sent; "" sends it whole."""
        b = self.behaviour
        if path == "/health":
            return 200, {}, {}, ""
        if path == "/v1/models":
            return 200, {}, {"object": "list", "data": [{"id": m, "object": "model", "owned_by": b.owned_by}
                                                         for m in b.models]}, ""
        if path not in ("/v1/completions", "/v1/chat/completions") or body is None:
            return 404, {}, {"error": {"message": f"no route {path}"}}, ""
        with self._lock:
            self.requests.append(body)
            scripted = b.script.pop(0) if b.script else None
        fault = scripted if isinstance(scripted, str) else ""
        if scripted is not None and not fault:
            status, wait = scripted if isinstance(scripted, tuple) else (scripted, None)
            headers = {"Retry-After": str(wait)} if wait is not None else {}
            return status, headers, {"error": {"message": f"scripted failure {status}"}}, ""
        if body.get("model") not in b.models:
            return 404, {}, {"error": {"message": f"The model `{body.get('model')}` does not exist."}}, ""
        if b.choke_on and b.choke_on in json.dumps(body.get("messages") or body.get("prompt")):
            return 500, {}, {"error": {"message": "scripted failure: this prompt always fails"}}, ""
        return (*self._complete(path.endswith("chat/completions"), body), fault)

    def _complete(self, chat: bool, body: dict) -> tuple[int, dict, dict]:
        b = self.behaviour
        prompt = json.dumps(body.get("messages")) if chat else str(body.get("prompt"))
        prompt_tokens = len(prompt.split())
        max_tokens = int(body.get("max_tokens") or 16)
        if b.context_limit is not None and prompt_tokens + max_tokens > b.context_limit:
            return 400, {}, {"error": {"message": f"This model's maximum context length is {b.context_limit} "
                                                  f"tokens. However, you requested {prompt_tokens + max_tokens}."}}
        n = 1 if b.ignore_n else max(0, int(body.get("n") or 1) - b.drop_choices)
        seed = int(body.get("seed") or 0)
        digest = hashlib.sha256(prompt.encode()).hexdigest()[:8]
        choices = []
        for j in range(n):
            words = [f"seed={seed + j}", f"prompt={digest}"] + ["word"] * max(0, b.words - 2)
            words = words[:max_tokens]
            text = " ".join(words)
            choice: dict[str, Any] = {"index": j, "finish_reason": "length" if len(words) == max_tokens else "stop"}
            choice.update({"message": {"role": "assistant", "content": text}} if chat else {"text": text})
            if b.token_ids and body.get("return_token_ids"):
                choice["token_ids"] = list(range(len(words)))
            choices.append(choice)
        completion = sum(len(c.get("token_ids") or (c.get("message") or c)["content" if chat else "text"].split())
                         for c in choices)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                 "total_tokens": prompt_tokens + completion}
        return 200, {}, {"id": f"cmpl-{len(self.requests)}", "object": "chat.completion" if chat else "text_completion",
                         "model": body["model"], "choices": choices, "usage": usage}


def stream_events(answer: dict, chat: bool, include_usage: bool) -> list[bytes]:
    """The SSE events vLLM would send for `answer`: the choices' words interleaved one per chunk,
    each choice's finish_reason, the usage chunk when asked for, and [DONE]."""
    def event(choices: list, **extra: Any) -> bytes:
        kind = "chat.completion.chunk" if chat else "text_completion"
        return b"data: " + json.dumps({"id": answer["id"], "object": kind, "choices": choices, **extra}).encode() + b"\n\n"

    pieces = []
    for c in answer["choices"]:
        text = c["message"]["content"] if chat else c["text"]
        words = [w if k == 0 else " " + w for k, w in enumerate(text.split(" "))] if text else []
        pieces.append([(w, [c["token_ids"][k]] if "token_ids" in c else None) for k, w in enumerate(words)])
    events = []
    for k in range(max(map(len, pieces), default=0)):
        for c, words in zip(answer["choices"], pieces):
            if k < len(words):
                part: dict[str, Any] = {"index": c["index"], "finish_reason": None}
                part.update({"delta": {"content": words[k][0]}} if chat else {"text": words[k][0]})
                if words[k][1] is not None:
                    part["token_ids"] = words[k][1]
                events.append(event([part]))
    for c in answer["choices"]:
        events.append(event([{"index": c["index"], "finish_reason": c["finish_reason"],
                              **({"delta": {}} if chat else {"text": ""})}]))
    if include_usage:
        events.append(event([], usage=answer["usage"]))
    return events + [b"data: [DONE]\n\n"]


def _handler(server: FakeOpenAIServer) -> type:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _reply(self, body: Optional[dict]) -> None:
            with server._lock:
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                if body is not None and server.behaviour.latency:
                    time.sleep(server.behaviour.latency)
                status, headers, payload, fault = server.answer(self.path, body)
            finally:
                with server._lock:
                    server.in_flight -= 1
            try:
                if fault == "drop":
                    return
                if fault == "stall" and not (body or {}).get("stream"):
                    server.stopping.wait(server.behaviour.stall_seconds)
                    return
                if status == 200 and (body or {}).get("stream"):
                    self._stream(payload, self.path.endswith("chat/completions"),
                                 bool((body.get("stream_options") or {}).get("include_usage")), fault)
                    return
                self._json(status, headers, payload, fault)
            except OSError:  # the client gave up on this connection (it saw a stall and retried)
                pass

        def _json(self, status: int, headers: dict, payload: Any, fault: str) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            for key, value in {**headers, "Content-Type": "application/json"}.items():
                self.send_header(key, value)
            if fault != "truncate":  # without a length the body ends where the connection closes
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2] if fault in ("cut", "truncate") else data)

        def _stream(self, answer: dict, chat: bool, include_usage: bool, fault: str) -> None:
            events = stream_events(answer, chat, include_usage)
            if fault:
                events = events[:server.behaviour.cut_after]
            self.protocol_version = "HTTP/1.1"  # chunked encoding, as uvicorn streams
            self.send_response(200)
            for key, value in {"Content-Type": "text/event-stream", "Transfer-Encoding": "chunked",
                               "Connection": "close"}.items():
                self.send_header(key, value)
            self.end_headers()
            for data in events:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            if fault == "stall":
                server.stopping.wait(server.behaviour.stall_seconds)
            elif fault != "cut":  # "cut" closes without the last chunk; "truncate" ends well-formed, short
                self.wfile.write(b"0\r\n\r\n")

        def do_GET(self) -> None:
            self._reply(None)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self._reply(json.loads(self.rfile.read(length) or b"{}"))

    return Handler


def main(argv: list[str]) -> int:
    """Serve like `vllm serve --port P --served-model-name M ...` until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--served-model-name", default="fake-model")
    args, _ = parser.parse_known_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with FakeOpenAIServer(FakeBehaviour(models=(args.served_model_name,)), port=args.port, host=args.host):
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
