"""What hardware serves a run's model, so that a self-hosted run can be priced by its wall time.

A run served by `--serve MODEL`, or by an endpoint on this machine, is priced by this machine's
hardware: its GPUs (nvidia-smi's name matched to a `hardware` entry of configs/pricing.yaml) or,
without any, its CPU cores at the `cpu-core` price. `--hardware NAME[:UNITS]` names it instead
(a remote server, or a detection that guessed wrong). The run records the answer as its meta
"hardware" ({"name", "units", "how"}); the sampling phase adds up the wall time its sampling held
the server ("sampling_seconds"), and the report multiplies the two (metrics/hardware.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from typing import Any, Optional
from urllib.parse import urlparse

__all__ = ["Hosting", "hosting_for", "detect_hosting", "hourly_dollars"]

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "0.0.0.0"}
CPU_ENTRY = "cpu-core"


@dataclass(frozen=True)
class Hosting:
    name: str  # a `hardware` entry of configs/pricing.yaml
    units: float  # GPUs, or CPU cores
    how: str  # "given (--hardware)" or what was detected

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _gpu_names() -> list[str]:
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def detect_hosting(gpus_used: Optional[int] = None) -> Optional[Hosting]:
    """This machine's serving hardware: its GPUs of a priced kind (`gpus_used` of them, default
    all), else its CPU cores. None when the GPUs are of a kind pricing.yaml does not know."""
    from swe_monkeys.metrics.hardware import load_hardware, match_device

    prices = load_hardware()
    names = _gpu_names()
    if names:
        price = match_device(prices, names[0])
        if price is None:
            return None
        units = gpus_used or len(names)
        return Hosting(price.name, float(units), f"detected: {units} x {names[0]} on this machine")
    cores = _cpu_count()
    return Hosting(CPU_ENTRY, float(cores), f"detected: no GPU, {cores} CPU cores on this machine")


def hosting_for(hardware: str = "", base_url: str = "", serve: str = "", fake: bool = False) -> Optional[Hosting]:
    """The hosting a run records: given (`hardware`, "NAME[:UNITS]"), detected (a model served here
    or an endpoint on this machine), or None (a FAKE sampler; a remote endpoint priced by tokens)."""
    from swe_monkeys.metrics.hardware import find_hardware, load_hardware, parse_hardware

    if hardware:
        name, units = parse_hardware(hardware)
        return Hosting(find_hardware(load_hardware(), name).name, units, "given (--hardware)")
    if fake:
        return None
    if serve:
        return detect_hosting(gpus_used=1)
    if base_url and (urlparse(base_url).hostname or "") in LOCAL_HOSTS:
        return detect_hosting()
    return None


def hourly_dollars(hosting: Optional[dict]) -> tuple[float, str]:
    """($ per wall-clock hour of the whole server, its basis) for a recorded hosting; (0, "") for none."""
    from swe_monkeys.metrics.hardware import find_hardware, load_hardware

    if not hosting:
        return 0.0, ""
    price = find_hardware(load_hardware(), str(hosting["name"]))
    units = float(hosting.get("units") or 1)
    return price.dollars_per_hour * units, f"self-hosted: {units:g} x {price.basis}"
