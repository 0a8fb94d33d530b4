"""What self-hosted sampling costs: hardware list prices (the `hardware` section of
configs/pricing.yaml) times the server's wall time.

A self-hosted model server is paid for every second it runs, busy or idle, so a run costs
wall hours x $/unit-hour x units (GPUs, or CPU cores), and a sample costs that divided by the
samples drawn. `self_hosted_cost` returns the same `LinearCost` as the API prices do
(swe_monkeys.metrics.cost), so reports and plans treat both alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from swe_monkeys.metrics.cost import LinearCost
from swe_monkeys.pricing import PricingError, _read_yaml, _require
from swe_monkeys.paths import CONFIGS

__all__ = ["HardwarePrice", "load_hardware", "find_hardware", "parse_hardware", "match_device", "run_dollars",
           "self_hosted_cost", "run_hosting_cost"]


@dataclass(frozen=True)
class HardwarePrice:
    name: str
    kind: str  # gpu | cpu
    unit: str  # GPU-hour, vCPU-hour
    dollars_per_hour: float  # per unit
    source: str
    as_of: str
    note: str = ""
    from_memory: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def basis(self) -> str:
        # A price written down without its page open is not a citation: say so, and where to check it.
        source = f"unverified, check {self.source}" if self.from_memory else self.source
        return f"{self.name} ${self.dollars_per_hour:g}/{self.unit} as of {self.as_of} ({source})"


def load_hardware(path: Optional[Path] = None) -> dict[str, HardwarePrice]:
    """The `hardware` section of configs/pricing.yaml (or `path`); each entry names its source and date."""
    path = path or CONFIGS / "pricing.yaml"
    out = {}
    for name, entry in (_read_yaml(path).get("hardware") or {}).items():
        _require(entry, ("kind", "unit", "dollars_per_hour", "source", "as_of"), f"{path}: hardware {name}")
        if entry["kind"] not in ("gpu", "cpu") or float(entry["dollars_per_hour"]) <= 0:
            raise PricingError(f"{path}: hardware {name} needs kind gpu|cpu and a positive dollars_per_hour")
        out[name] = HardwarePrice(name, str(entry["kind"]), str(entry["unit"]), float(entry["dollars_per_hour"]),
                                  str(entry["source"]), str(entry["as_of"]), str(entry.get("note") or ""),
                                  bool(entry.get("from_memory", False)), tuple(entry.get("aliases") or ()))
    return out


def find_hardware(prices: dict[str, HardwarePrice], name: str) -> HardwarePrice:
    """The entry whose name or alias is `name` (case-insensitive); an unknown name lists the known ones."""
    wanted = name.lower()
    for price in prices.values():
        if wanted in {n.lower() for n in (price.name, *price.aliases)}:
            return price
    raise PricingError(f"no hardware price for {name!r}; known: {', '.join(sorted(prices))}")


def parse_hardware(spec: str) -> tuple[str, float]:
    """"NAME" or "NAME:UNITS" (e.g. "cpu-core:2", "h100:8") -> (name, units)."""
    name, _, units = spec.strip().partition(":")
    try:
        count = float(units) if units else 1.0
    except ValueError:
        count = 0.0
    if not name or count <= 0:
        raise PricingError(f"hardware {spec!r}: expected NAME or NAME:UNITS with UNITS > 0 (e.g. cpu-core:2)")
    return name, count


def match_device(prices: dict[str, HardwarePrice], device: str) -> Optional[HardwarePrice]:
    """The GPU entry whose name or alias is a word of a device name as nvidia-smi prints it
    ("NVIDIA H100 80GB HBM3" -> h100-sxm-80gb); None when none is."""
    words = set(device.lower().replace("-", " ").split())
    for price in prices.values():
        if price.kind == "gpu" and words & {n.lower() for n in (price.name, *price.aliases)}:
            return price
    return None


def run_dollars(wall_seconds: float, price: HardwarePrice, units: float = 1) -> float:
    """Dollars for `units` of `price` held for `wall_seconds` (e.g. 2 cores of cpu-core, 8 H100s)."""
    if wall_seconds < 0 or units <= 0:
        raise ValueError("need wall_seconds >= 0 and units > 0")
    return wall_seconds / 3600.0 * price.dollars_per_hour * units


def self_hosted_cost(wall_seconds: float, samples: int, price: HardwarePrice, units: float = 1,
                     fixed_per_problem: float = 0.0) -> LinearCost:
    """Dollars per sample of a self-hosted run: its server's wall time at the hardware's price,
    spread over the samples it drew (a server start or a prefill per problem can go in the fixed part)."""
    if samples < 1:
        raise ValueError("need at least one sample to price per sample")
    dollars = run_dollars(wall_seconds, price, units)
    basis = f"{wall_seconds:.0f} s wall x {units:g} x {price.basis} / {samples} samples"
    return LinearCost(dollars / samples, fixed_per_problem, "$", basis)


def run_hosting_cost(hosting: dict, wall_seconds: float, samples: int, path: Optional[Path] = None) -> LinearCost:
    """The self-hosted cost of a run from what it recorded: `hosting` is the run meta "hardware"
    ({"name", "units", "how"}), `wall_seconds` the time its sampling held the server."""
    price = find_hardware(load_hardware(path), str(hosting["name"]))
    cost = self_hosted_cost(wall_seconds, samples, price, float(hosting.get("units") or 1))
    how = f"; hardware {hosting['how']}" if hosting.get("how") else ""
    return LinearCost(cost.per_sample, cost.fixed_per_problem, cost.unit, "self-hosted: " + cost.basis + how)
