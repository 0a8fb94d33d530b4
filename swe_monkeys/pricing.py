"""Prices and published baselines, loaded from configs/pricing.yaml and configs/baselines.yaml.

Knowledge is data: a new model price or a new frontier result is a YAML entry with its source and
date, never code. Lookups are by name or alias, case-insensitively, because runs record model and
benchmark names as whatever the sampler or dataset called them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from swe_monkeys.paths import CONFIGS
from swe_monkeys.errors import SweMonkeysError

__all__ = ["ModelPrice", "GpuPrice", "Pricing", "Baseline", "BaselineSet", "load_pricing", "load_baselines",
           "PricingError", "find_baselines", "format_dollars"]


class PricingError(SweMonkeysError, ValueError):
    """A pricing or baselines file that cannot be read or lacks a required field."""


@dataclass(frozen=True)
class ModelPrice:
    """One model's list prices (US$ per million tokens) and, optionally, its architecture."""

    name: str
    source: str
    as_of: str
    input_per_mtok: Optional[float] = None
    cached_input_per_mtok: Optional[float] = None
    output_per_mtok: Optional[float] = None
    params: Optional[float] = None
    layers: Optional[int] = None
    d_model: Optional[int] = None
    gpu: Optional[str] = None
    aliases: tuple[str, ...] = ()

    @property
    def has_api_price(self) -> bool:
        return self.input_per_mtok is not None and self.output_per_mtok is not None

    @property
    def has_architecture(self) -> bool:
        return None not in (self.params, self.layers, self.d_model)


@dataclass(frozen=True)
class GpuPrice:
    name: str
    dollars_per_hour: float
    source: str
    as_of: str


@dataclass(frozen=True)
class Pricing:
    models: dict[str, ModelPrice]
    gpus: dict[str, GpuPrice]

    def model(self, name: Optional[str]) -> Optional[ModelPrice]:
        """The entry whose name or alias matches `name` (also its last path part: org/model)."""
        if not name:
            return None
        wanted = {name.lower(), name.lower().rsplit("/", 1)[-1]}
        for price in self.models.values():
            if wanted & {n.lower() for n in (price.name, *price.aliases)}:
                return price
        return None

    def gpu(self, name: Optional[str]) -> Optional[GpuPrice]:
        return self.gpus.get(name.lower()) if name else None


@dataclass(frozen=True)
class Baseline:
    """A published result: what one attempt cost, how many attempts, what fraction was solved."""

    model: str
    dollars_per_attempt: float
    attempts: int
    solved_pct: float
    reference: bool = False
    note: str = ""
    printed_total_dollars: Optional[float] = None
    printed_relative: Optional[str] = None


@dataclass(frozen=True)
class BaselineSet:
    benchmark: str
    n_problems: int
    source: str
    url: str
    results: tuple[Baseline, ...]
    aliases: tuple[str, ...] = field(default=())


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise PricingError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise PricingError(f"{path}: expected a mapping at the top level")
    return data


def _require(entry: dict, keys: tuple[str, ...], where: str) -> None:
    missing = [k for k in keys if entry.get(k) in (None, "")]
    if missing:
        raise PricingError(f"{where} lacks {', '.join(missing)}")


def load_pricing(path: Optional[Path] = None) -> Pricing:
    """Read configs/pricing.yaml (or `path`); every entry must name its source and date."""
    path = path or CONFIGS / "pricing.yaml"
    data = _read_yaml(path)
    models = {}
    for name, entry in (data.get("models") or {}).items():
        _require(entry, ("source", "as_of"), f"{path}: model {name}")
        fields = {k: entry.get(k) for k in ("input_per_mtok", "cached_input_per_mtok", "output_per_mtok",
                                            "params", "layers", "d_model", "gpu")}
        models[name] = ModelPrice(name=name, source=str(entry["source"]), as_of=str(entry["as_of"]),
                                  aliases=tuple(entry.get("aliases") or ()), **fields)
    gpus = {}
    for name, entry in (data.get("gpus") or {}).items():
        _require(entry, ("dollars_per_hour", "source", "as_of"), f"{path}: gpu {name}")
        gpus[name.lower()] = GpuPrice(name, float(entry["dollars_per_hour"]), str(entry["source"]),
                                      str(entry["as_of"]))
    return Pricing(models, gpus)


def load_baselines(path: Optional[Path] = None) -> dict[str, BaselineSet]:
    """Read configs/baselines.yaml (or `path`): benchmark name -> its published results."""
    path = path or CONFIGS / "baselines.yaml"
    out = {}
    for name, entry in (_read_yaml(path).get("benchmarks") or {}).items():
        _require(entry, ("n_problems", "source", "results"), f"{path}: benchmark {name}")
        results = []
        for row in entry["results"]:
            _require(row, ("model", "dollars_per_attempt", "attempts", "solved_pct"), f"{path}: {name} result")
            results.append(Baseline(model=str(row["model"]), dollars_per_attempt=float(row["dollars_per_attempt"]),
                                    attempts=int(row["attempts"]), solved_pct=float(row["solved_pct"]),
                                    reference=bool(row.get("reference", False)), note=str(row.get("note", "")),
                                    printed_total_dollars=row.get("printed_total_dollars"),
                                    printed_relative=row.get("printed_relative")))
        out[name] = BaselineSet(benchmark=name, n_problems=int(entry["n_problems"]), source=str(entry["source"]),
                                url=str(entry.get("url", "")), results=tuple(results),
                                aliases=tuple(entry.get("aliases") or ()))
    return out


def find_baselines(sets: dict[str, BaselineSet], benchmark: Optional[str]) -> Optional[BaselineSet]:
    """The baseline set for a benchmark name or alias (case-insensitive), if any."""
    if not benchmark:
        return None
    wanted = benchmark.lower()
    for item in sets.values():
        if wanted in {n.lower() for n in (item.benchmark, *item.aliases)}:
            return item
    return None


def format_dollars(x: Optional[float]) -> str:
    """US dollars as people read them: "$1,234", "$12.50", "$0.0084", "$0.000000238" (three significant
    digits below a dollar, never "2.384e-07"); "-" for a missing or infinite amount."""
    if x is None or not math.isfinite(x):
        return "-"
    if x < 0:
        return "-" + format_dollars(-x)
    if x == 0 or x >= 100:
        return f"${x:,.0f}"
    if x >= 1:
        return f"${x:,.2f}"
    text = f"{x:.{max(2, 2 - math.floor(math.log10(x)))}f}".rstrip("0")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"
