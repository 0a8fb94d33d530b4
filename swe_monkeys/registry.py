"""Lazy registries: a name maps to "module:attr", imported only when asked for.

Modelled on mini-swe-agent's environment mapping and lm-eval's MODEL_MAPPING: registering costs
nothing at import time, and an unknown name lists the valid ones.
"""

from __future__ import annotations

import importlib
from typing import Any
from swe_monkeys.errors import SweMonkeysError


class UnknownName(SweMonkeysError, KeyError):
    """Raised for a name that is not registered; the message lists the valid names."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want a readable sentence.
        return str(self.args[0])


class Registry:
    """A mapping of names to lazily imported objects ("package.module:attr")."""

    def __init__(self, kind: str, entries: dict[str, str]):
        self.kind = kind
        self._entries = dict(entries)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def register(self, name: str, target: str) -> None:
        self._entries[name] = target

    def get(self, name: str) -> Any:
        target = self._entries.get(name)
        if target is None and ":" in name:
            target = name  # any "module:attr" path works too
        if target is None:
            raise UnknownName(f"unknown {self.kind} {name!r}; valid: {', '.join(self.names())}")
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)
