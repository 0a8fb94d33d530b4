"""Forecasts 10x beyond a pilot, checked on real per-problem sample sets: `python -m swe_monkeys.metrics.realdata`.

The sets are committed under tests/data/forecast (its README names sources and licences):

- counts: problems x (n samples, c correct), e.g. Monkey Business' 10,000 MATH samples per problem.
  A sample order is a random permutation of each problem's samples: its first n' samples are a
  hypergeometric draw of the counts, and the same order's coverage at k follows exactly from the
  counts (selfcheck.same_order_coverage), with no noise of its own.
- ordered: each problem's 0/1 outcomes in the order drawn (as the indices of its successes), in
  batches that were drawn whole before the run decided to stop (Best-of-N jailbreaking stopped a
  behaviour after the first batch of 60 with a success). Order 0 is the recorded order; other
  orders shuffle within batches, which keeps every stopping decision as it was.

For each set, pilot size n' and order, `check` fits the forecast on the first n' samples of every
problem and compares its coverage at 10 n' with the same order's observed coverage there.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from swe_monkeys.metrics.selfcheck import AUTO, forecast, same_order_coverage

__all__ = ["SampleSet", "load_sets", "check", "summarise", "FIXTURES"]

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "data" / "forecast"


@dataclass(frozen=True)
class SampleSet:
    """One real set: `n` samples per problem and either `c` (counts) or `successes` (ordered)."""

    name: str
    n: np.ndarray
    c: np.ndarray
    successes: Optional[tuple[np.ndarray, ...]] = None  # per problem, indices of its correct samples
    batch: int = 0

    def pilot(self, n_fit: int, k: int, order: int) -> tuple[np.ndarray, float]:
        """(successes in the first n_fit samples of each problem, the same order's coverage at k)."""
        rng = np.random.default_rng([order, n_fit])
        if self.successes is None:
            c_fit = rng.hypergeometric(self.c, self.n - self.c, np.minimum(n_fit, self.n))
            return c_fit, same_order_coverage(self.n, self.c, np.minimum(n_fit, self.n), c_fit, k)
        firsts = [self._reordered(i, rng, order) for i in range(self.n.size)]
        c_fit = np.array([int(np.sum(f < n_fit)) for f in firsts])
        return c_fit, float(np.mean([bool(np.any(f < k)) for f in firsts]))

    def _reordered(self, i: int, rng: np.random.Generator, order: int) -> np.ndarray:
        hits = self.successes[i]
        if order == 0 or not hits.size:
            return hits
        out = []
        for start in range(0, int(self.n[i]), self.batch):  # a permutation of each batch
            size = min(self.batch, int(self.n[i]) - start)
            inside = hits[(hits >= start) & (hits < start + size)] - start
            out.append(start + rng.permutation(size)[inside])
        return np.concatenate(out)


def load_sets(folder: Path = FIXTURES) -> dict[str, SampleSet]:
    """Every set of every JSON file in `folder`, named 'file stem / set'."""
    out = {}
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text())
        for name, row in data["sets"].items():
            n = np.broadcast_to(np.asarray(row["n"], dtype=np.int64), (len(row.get("c") or row["successes"]),))
            if data["kind"] == "counts":
                out[f"{path.stem}/{name}"] = SampleSet(name, n.copy(), np.asarray(row["c"], dtype=np.int64))
            else:
                hits = tuple(np.asarray(s, dtype=np.int64) for s in row["successes"])
                out[f"{path.stem}/{name}"] = SampleSet(name, n.copy(), np.array([h.size for h in hits]), hits,
                                                       int(data["batch"]))
    return out


def check(sample_set: SampleSet, n_fit: int, orders: Sequence[int] = range(8), multiple: int = 10,
          method: str = AUTO, n_boot: int = 50, level: float = 0.9) -> list[dict[str, Any]]:
    """One row per order: the forecast at k = multiple x n_fit from the first n_fit samples per
    problem, its interval and the observed coverage there (fractions)."""
    k = multiple * n_fit
    rows = []
    for order in orders:
        c_fit, observed = sample_set.pilot(n_fit, k, order)
        fit = forecast(np.full(c_fit.size, n_fit), c_fit, method, n_boot=n_boot, level=level, seed=order)
        predicted = float(fit.predict(k))
        low, high = (float(x) for x in fit.interval(k))
        rows.append({"set": sample_set.name, "fit_on": n_fit, "k": k, "order": order, "predicted": predicted,
                     "low": low, "high": high, "observed": observed, "error": predicted - observed,
                     "held": low - 1e-6 <= observed <= high + 1e-6,
                     "choice": fit.choice.reason if method == AUTO else method})
    return rows


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Order 0's error and interval, and over all orders: mean and RMS error (points), the share
    within 3 points and the share of intervals that held."""
    errors = 100 * np.array([r["error"] for r in rows])
    first = rows[0]
    return {"set": first["set"], "fit_on": first["fit_on"], "k": first["k"], "orders": len(rows),
            "observed": first["observed"], "predicted": first["predicted"], "low": first["low"],
            "high": first["high"], "error": 100 * first["error"], "held": first["held"],
            "mean_error": float(errors.mean()), "rmse": float(np.sqrt(np.mean(errors ** 2))),
            "within_3": float(np.mean(np.abs(errors) <= 3.0)), "hold_rate": float(np.mean([r["held"] for r in rows]))}


def _line(s: dict[str, Any]) -> str:
    return (f"| {s['set']} | {s['fit_on']} | {s['k']} | {100 * s['observed']:.1f} | {100 * s['predicted']:.1f} "
            f"[{100 * s['low']:.1f}, {100 * s['high']:.1f}] | {s['error']:+.1f} | {'yes' if s['held'] else 'no'} "
            f"| {s['mean_error']:+.1f} / {s['rmse']:.1f} | {s['within_3']:.0%} | {s['hold_rate']:.0%} |")


def main(argv: Sequence[str] = ()) -> None:
    """`python -m swe_monkeys.metrics.realdata [orders] [set,...] [method]`: print the table."""
    orders = int(argv[0]) if argv else 8
    sets = load_sets()
    names = argv[1].split(",") if len(argv) > 1 and argv[1] else list(sets)
    method = argv[2] if len(argv) > 2 else AUTO
    print("| set | n' | k | observed | forecast [90%] | error | held | mean / RMS error | within 3 | held (all) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        for n_fit in (5, 10, 20):
            print(_line(summarise(check(sets[name], n_fit, range(orders), method=method))), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
