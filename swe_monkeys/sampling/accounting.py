"""What sampling spends, counted by us: budget caps enforced before a request is sent, and GPU-seconds.

A cap that trusts the provider's bill is checked too late (SWE-agent users saw a $4 per-instance
cap spend $700). Here every request first reserves its worst case, the prompt (an upper bound
until the server has counted it once) plus `max_tokens` for every sample, as if each sample were
billed its own prompt; a request that does not fit waits for in-flight ones to settle, is shrunk,
or is not sent. The caps cover everything the run has recorded, so resuming cannot exceed them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Optional
from swe_monkeys.errors import SweMonkeysError

MILLION = 1e6


class BudgetError(SweMonkeysError, ValueError):
    """A budget that cannot be enforced as given (e.g. dollars for a model without a price)."""


@dataclass(frozen=True)
class Budget:
    """Caps on the whole run: total tokens (prompt + completion) and list-price dollars."""

    max_tokens: Optional[int] = None
    max_dollars: Optional[float] = None


@dataclass(frozen=True)
class Cost:
    tokens: int = 0
    dollars: float = 0.0

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(self.tokens + other.tokens, self.dollars + other.dollars)

    def __sub__(self, other: "Cost") -> "Cost":
        return Cost(self.tokens - other.tokens, self.dollars - other.dollars)


class Ledger:
    """Thread-safe spent + reserved totals against a Budget, priced by a pricing.yaml entry."""

    def __init__(self, budget: Budget, price: Any = None, spent: Cost = Cost()):
        if budget.max_dollars is not None and (price is None or not price.has_api_price):
            raise BudgetError("--max-dollars needs the model's prices in configs/pricing.yaml "
                              "(or name a priced model with --price-as)")
        self.budget, self.price = budget, price
        self.spent, self.reserved = spent, Cost()
        self._lock = threading.Lock()

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> Cost:
        dollars = 0.0
        if self.price is not None and self.price.has_api_price:
            cached = min(cached_tokens, prompt_tokens)
            cached_rate = self.price.cached_input_per_mtok
            cached_rate = self.price.input_per_mtok if cached_rate is None else cached_rate
            dollars = ((prompt_tokens - cached) * self.price.input_per_mtok + cached * cached_rate
                       + completion_tokens * self.price.output_per_mtok) / MILLION
        return Cost(prompt_tokens + completion_tokens, dollars)

    def _fits(self, total: Cost) -> bool:
        b = self.budget
        return ((b.max_tokens is None or total.tokens <= b.max_tokens)
                and (b.max_dollars is None or total.dollars <= b.max_dollars + 1e-12))

    def try_reserve(self, worst: Cost) -> bool:
        with self._lock:
            if not self._fits(self.spent + self.reserved + worst):
                return False
            self.reserved = self.reserved + worst
            return True

    def settle(self, reserved: Cost, actual: Cost) -> None:
        """Replace a reservation by what the request really cost (or by nothing, if it failed)."""
        with self._lock:
            self.reserved = self.reserved - reserved
            self.spent = self.spent + actual

    def exhausted_reason(self) -> str:
        b, s = self.budget, self.spent
        parts = []
        if b.max_tokens is not None:
            parts.append(f"{s.tokens:,} of {b.max_tokens:,} tokens")
        if b.max_dollars is not None:
            parts.append(f"${s.dollars:.4f} of ${b.max_dollars:.4f}")
        return "budget reached: " + ", ".join(parts) + " spent; the next request's worst case does not fit"


class GpuClock:
    """Shares the wall-clock of `gpus` GPUs among the requests in flight, second by second.

    Each request is charged dt * gpus / (requests in flight) for every stretch dt it overlaps,
    so the charges add up to exactly gpus x busy wall-clock, however requests overlap.
    """

    def __init__(self, gpus: int):
        self.gpus = gpus
        self._lock = threading.Lock()
        self._charges: dict[int, float] = {}
        self._last = time.monotonic()

    def _advance(self) -> None:
        now = time.monotonic()
        if self._charges:
            share = (now - self._last) * self.gpus / len(self._charges)
            for key in self._charges:
                self._charges[key] += share
        self._last = now

    def start(self, key: int) -> None:
        if self.gpus:
            with self._lock:
                self._advance()
                self._charges[key] = 0.0

    def stop(self, key: int) -> float:
        if not self.gpus:
            return 0.0
        with self._lock:
            self._advance()
            return self._charges.pop(key, 0.0)
