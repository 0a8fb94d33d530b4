"""Run presets: sampling parameters and prompt settings as data (configs/presets/<name>.yaml).

`load_preset(name)` reads and validates one into a `Preset`: every key is known and typed, an
unknown key is an error (a misspelt `temprature` must not be ignored silently), and the preset
builds the sampling parameters a run uses (`sampling_params`). Command-line options override it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Optional

from swe_monkeys.errors import SweMonkeysError
from swe_monkeys.paths import CONFIGS

PRESET_DIR = CONFIGS / "presets"


class PresetError(SweMonkeysError, ValueError):
    """A preset that is missing, or has a key that is unknown or of the wrong type."""


@dataclass(frozen=True)
class Preset:
    """One preset. `task` names the task it was written for (swebench, math, code: informative)."""

    name: str
    task: str = ""
    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 512  # completion tokens per sample
    samples: int = 10  # default samples per problem (`solve -k`, `sweep -k`)
    # SWE-bench prompts
    template: str = "swebench_repair"  # configs/prompts/<template>.txt
    context_tokens: int = 12000  # budget for the retrieved files in the prompt (tokens ~ chars / 4)
    pick_files: int = 0  # >0: one model call per issue first picks up to this many files
    # math prompts
    few_shot: int = 5  # worked examples in front of each problem
    # program tasks (humaneval, mbpp, codecontests): seconds per program run; 0: the dataset's own
    # (3 s for HumanEval and MBPP, each CodeContests problem's time limit, twice for Python)
    timeout: float = 0.0

    def sampling_params(self, seed: int = 0, temperature: Optional[float] = None):
        from swe_monkeys.sampling.protocol import SamplingParams

        return SamplingParams(temperature=self.temperature if temperature is None else temperature,
                              top_p=self.top_p, max_tokens=self.max_tokens, seed=seed)


_TYPES = {f.name: f.type for f in fields(Preset)}


def load_preset(name: str) -> Preset:
    """A preset by name (configs/presets/<name>.yaml) or a path to a YAML file."""
    import yaml

    path = Path(name) if name.endswith((".yaml", ".yml")) else PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))
        raise PresetError(f"unknown preset {name!r}; valid: {', '.join(known)}")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise PresetError(f"{path}: a preset is a mapping")
    unknown = sorted(set(data) - set(_TYPES) - {"name"})
    if unknown:
        raise PresetError(f"{path}: unknown keys {', '.join(unknown)}; valid: {', '.join(sorted(set(_TYPES) - {'name'}))}")
    return Preset(name=path.stem, **{k: _typed(path, k, v) for k, v in data.items()})


def _typed(path: Path, key: str, value: Any) -> Any:
    kind = {"float": float, "int": int, "str": str}[_TYPES[key]]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise PresetError(f"{path}: {key} must be {kind.__name__}, not {value!r}")
    return value
