"""DateRange: an inclusive span of days."""

import datetime as dt
from dataclasses import dataclass

ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, order=True)
class DateRange:
    """The days from `start` to `end`, both included."""

    start: dt.date
    end: dt.date

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError(f"range ends ({self.end}) before it starts ({self.start})")

    @classmethod
    def single(cls, day):
        return cls(day, day)

    def __len__(self):
        return (self.end - self.start).days + 1

    def __contains__(self, day):
        return self.start <= day <= self.end

    def __iter__(self):
        day = self.start
        while day <= self.end:
            yield day
            day += ONE_DAY

    def overlaps(self, other):
        return self.start <= other.end and other.start <= self.end

    def touches(self, other):
        """True when the ranges overlap or one starts the day after the other ends."""
        return self.start <= other.end + ONE_DAY and other.start <= self.end + ONE_DAY

    def intersection(self, other):
        if not self.overlaps(other):
            return None
        return DateRange(max(self.start, other.start), min(self.end, other.end))

    def split_by_month(self):
        """The parts of this range that fall in each calendar month, in order."""
        parts, start = [], self.start
        while start <= self.end:
            next_month = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
            end = min(self.end, next_month - ONE_DAY)
            parts.append(DateRange(start, end))
            start = end + ONE_DAY
        return parts
