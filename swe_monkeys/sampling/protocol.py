"""The Sampler noun: a prompt and sampling parameters in, completions with token usage out.

A `Sampler` answers one request at a time (`complete`), for `n` samples that share one prompt,
and may answer several requests concurrently (the sampling phase calls it from a thread pool).
Usage is counted the way providers bill it: the prompt once per *request*, completion tokens per
*sample*. A request that cannot be answered raises a `SamplerError`; the phase records which
sample indices it failed for, so a failure is never a silent gap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional, Protocol, Union, runtime_checkable
from swe_monkeys.errors import SweMonkeysError

Message = dict[str, str]  # {"role": "user", "content": "..."}


@dataclass(frozen=True)
class Prompt:
    """A chat prompt (`messages`) or a completion prompt (`text`), never both."""

    messages: tuple[Message, ...] = ()
    text: Optional[str] = None

    def __post_init__(self) -> None:
        if bool(self.messages) == (self.text is not None):
            raise ValueError("a Prompt has either messages (chat) or text (completion)")

    @property
    def is_chat(self) -> bool:
        return bool(self.messages)

    @classmethod
    def chat(cls, user: str, system: Optional[str] = None) -> "Prompt":
        head = ({"role": "system", "content": system},) if system else ()
        return cls(messages=head + ({"role": "user", "content": user},))

    @classmethod
    def from_json(cls, data: Union[str, list, dict]) -> "Prompt":
        """A plain string is a user message; a list is messages; {"text": ...} a completion prompt."""
        if isinstance(data, str):
            return cls.chat(data)
        if isinstance(data, list):
            return cls(messages=tuple({"role": str(m["role"]), "content": str(m["content"])} for m in data))
        if isinstance(data, dict) and "text" in data:
            return cls(text=str(data["text"]))
        raise ValueError(f"not a prompt: {str(data)[:80]!r}")

    def to_json(self) -> Union[list, dict]:
        return list(self.messages) if self.is_chat else {"text": self.text}

    def byte_length(self) -> int:
        parts = [m["content"] for m in self.messages] if self.is_chat else [self.text or ""]
        return sum(len(p.encode()) for p in parts)


class SamplingParamsError(SweMonkeysError, ValueError):
    """Sampling parameters out of range (temperature < 0, top_p outside (0, 1], max_tokens < 1)."""


@dataclass(frozen=True)
class SamplingParams:
    """What every sample of a run shares. Sample i of a problem is drawn with seed `seed + i`."""

    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 1024
    stop: tuple[str, ...] = ()
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise SamplingParamsError("max_tokens must be at least 1")
        if not 0 < self.top_p <= 1:
            raise SamplingParamsError("top_p must be in (0, 1]")
        if self.temperature < 0:
            raise SamplingParamsError("temperature must be >= 0")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["stop"] = list(self.stop)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SamplingParams":
        return cls(**{**data, "stop": tuple(data.get("stop") or ())})


@dataclass(frozen=True)
class Request:
    """One request to a backend: `n` samples of `prompt`, the first drawn with `seed`."""

    prompt: Prompt
    params: SamplingParams
    n: int
    seed: int
    salt: Optional[str] = None  # a prefix-cache salt: requests with different salts share no cache


@dataclass(frozen=True)
class Sample:
    """One completion of a request."""

    text: str
    completion_tokens: int
    finish_reason: str  # "stop", "length", ...
    seed: Optional[int] = None
    tokens_exact: bool = True  # False when the server did not count this choice on its own


@dataclass
class Completion:
    """A backend's answer to one Request: its samples in seed order and the request's usage."""

    samples: list[Sample]
    prompt_tokens: int  # counted once for the request, however many samples it holds
    seconds: float
    cached_tokens: int = 0  # prompt tokens the server served from its prefix cache, when it says
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def completion_tokens(self) -> int:
        return sum(s.completion_tokens for s in self.samples)


class SamplerError(SweMonkeysError, RuntimeError):
    """A request could not be answered (after retries). The message says what to do about it."""

    retryable = False


class EndpointUnreachable(SamplerError):
    """Nothing answers at the endpoint."""


class EndpointFailing(EndpointUnreachable):
    """The endpoint answers, but not usably: failures only (5xx, 429, cut answers, stalls) for as
    long as the retries were bounded to, or streams without usage. The phase stops, as for an
    unreachable one, with what it kept."""


class ModelNotServed(SamplerError):
    """The endpoint answers but does not serve the model asked for."""


class ContextOverflow(SamplerError):
    """Prompt plus max_tokens exceed the model's context: this problem cannot be sampled as asked."""


class TooFewChoices(SamplerError):
    """The server returned fewer samples than asked, even when asked one at a time."""


@runtime_checkable
class Sampler(Protocol):
    """A model backend. Thread-safe: the sampling phase calls `complete` from several threads."""

    def complete(self, request: Request) -> Completion: ...

    def max_n(self) -> int:
        """The most samples one request may ask for (1 for servers that ignore `n`)."""
        ...

    def identity(self) -> dict[str, Any]:
        """What produced the samples (backend, model, server version), stored with the run."""
        ...

    def close(self) -> None: ...
