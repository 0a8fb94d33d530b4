"""Where the project's data folders live: configs/, harness/, images/ and the user cache.

They sit beside the package in a source checkout (the supported install is `pip install -e .`);
SWE_MONKEYS_HOME points elsewhere when they were copied, SWE_MONKEYS_CACHE moves the cache.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(os.environ.get("SWE_MONKEYS_HOME") or Path(__file__).resolve().parent.parent)
CONFIGS = PROJECT_ROOT / "configs"
HARNESS = PROJECT_ROOT / "harness"
IMAGES = PROJECT_ROOT / "images"


def cache_dir() -> Path:
    """The per-user cache (wheelhouses, rootfs tarballs, verdict cache); created on first use."""
    root = Path(os.environ.get("SWE_MONKEYS_CACHE") or Path.home() / ".cache" / "swe-monkeys")
    root.mkdir(parents=True, exist_ok=True)
    return root
