"""Reading ranges from text: "2024-01-01..2024-01-31", "2024-02" (a month), "2024-03-15" (a day)."""

import calendar
import datetime as dt
import re

from daterange.range import DateRange

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_date(text):
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a date: {text!r}") from None


def parse_range(text):
    """Parse "START..END" (inclusive), a month "YYYY-MM" or a single day "YYYY-MM-DD"."""
    text = text.strip()
    if ".." in text:
        start, _, end = text.partition("..")
        return DateRange(parse_date(start), parse_date(end))
    month = _MONTH.match(text)
    if month:
        year, number = int(month.group(1)), int(month.group(2))
        if not 1 <= number <= 12:
            raise ValueError(f"not a month: {text!r}")
        last = calendar.monthrange(year, number)[1]
        return DateRange(dt.date(year, number, 1), dt.date(year, number, last))
    return DateRange.single(parse_date(text))
