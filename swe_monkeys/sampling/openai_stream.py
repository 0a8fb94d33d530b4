"""A streamed OpenAI-compatible answer (server-sent events) put back together as the answer the same
request gets without streaming, or refused when it is not whole.

A stream is whole only when every choice it opened has its `finish_reason` and the server said
`data: [DONE]`: a connection that closes cleanly half-way (a proxy timing out, a server restart
between two chunks) otherwise reads like a short answer, and a short answer recorded as a sample
would be a wrong candidate with the wrong token count. `IncompleteStream` says why one is not whole;
the HTTP client retries the request (same seed: the same samples). Usage comes from the final
`stream_options.include_usage` chunk, so the tokens counted are the server's own; a stream that ends
without it is `NoStreamUsage`, refused rather than counted as zero tokens.
"""

from __future__ import annotations

import json
import time
from typing import Any, Iterable, Optional


class IncompleteStream(Exception):
    """The stream ended (or went on too long) before the answer was whole."""


class NoStreamUsage(Exception):
    """The server streamed a whole answer but no usage: it ignores stream_options.include_usage."""


def assemble_stream(lines: Iterable[str], deadline: Optional[float] = None) -> dict[str, Any]:
    """The non-streamed answer (choices with text or message, finish_reason, token_ids when the
    server sent them; usage) from the lines of an SSE body. `deadline` is a time.monotonic() by
    which the whole answer must have arrived (a server dripping a byte at a time never stalls)."""
    choices: dict[int, dict[str, Any]] = {}
    usage: Optional[dict] = None
    for line in lines:
        if deadline is not None and time.monotonic() > deadline:
            raise IncompleteStream("no whole answer before the request's timeout")
        if not line.startswith("data:"):
            continue  # blank separators, ': keep-alive' comments, 'event:' names
        data = line[5:].strip()
        if data == "[DONE]":
            return _whole(choices, usage)
        try:
            event = json.loads(data)
        except ValueError:
            raise IncompleteStream(f"a stream event that is not JSON: {data[:120]!r}") from None
        if not isinstance(event, dict):
            raise IncompleteStream(f"a stream event that is not an object: {data[:120]!r}")
        if event.get("error"):
            error = event["error"]
            raise IncompleteStream(f"the server ended the stream with an error: "
                                   f"{(error.get('message') if isinstance(error, dict) else error)!s:.300}")
        usage = event.get("usage") or usage
        for part in event.get("choices") or ():
            _add(choices.setdefault(int(part.get("index", 0)), {"text": [], "token_ids": None}), part)
    raise IncompleteStream(f"the stream ended before [DONE] ({_progress(choices)})")


def _add(choice: dict[str, Any], part: dict[str, Any]) -> None:
    delta = part.get("delta")
    if isinstance(delta, dict):  # chat: {"delta": {"role"?, "content"?}}
        choice["chat"] = True
        choice["text"].append(delta.get("content") or "")
    else:  # completions: {"text": ...}
        choice["text"].append(part.get("text") or "")
    if part.get("token_ids") is not None:  # vLLM's return_token_ids: this chunk's tokens
        choice["token_ids"] = (choice["token_ids"] or []) + list(part["token_ids"])
    if part.get("finish_reason") is not None:
        choice["finish_reason"] = part["finish_reason"]


def _whole(choices: dict[int, dict[str, Any]], usage: Optional[dict]) -> dict[str, Any]:
    if not choices or any("finish_reason" not in c for c in choices.values()):
        raise IncompleteStream(f"[DONE] before every choice finished ({_progress(choices)})")
    if usage is None:
        raise NoStreamUsage("the server streamed no usage (stream_options.include_usage); "
                            "its tokens cannot be counted: sample without streaming")
    answer = []
    for index, c in sorted(choices.items()):
        text = "".join(c["text"])
        choice: dict[str, Any] = {"index": index, "finish_reason": c["finish_reason"]}
        choice.update({"message": {"role": "assistant", "content": text}} if c.get("chat") else {"text": text})
        if c["token_ids"] is not None:
            choice["token_ids"] = c["token_ids"]
        answer.append(choice)
    return {"choices": answer, "usage": usage}


def _progress(choices: dict[int, dict[str, Any]]) -> str:
    done = sum("finish_reason" in c for c in choices.values())
    return f"{done} of {len(choices)} choices finished"
