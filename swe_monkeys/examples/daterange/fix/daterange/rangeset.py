"""DateRangeSet: a set of days stored as sorted, non-overlapping ranges."""

from daterange.range import ONE_DAY, DateRange


def merge(ranges):
    """Sort ranges and join those that overlap or touch, so that no day is listed twice."""
    merged = []
    for current in sorted(ranges):
        if merged and current.start <= merged[-1].end + ONE_DAY:
            # The current range may end inside the previous one (it is nested): keep the later end.
            merged[-1] = DateRange(merged[-1].start, max(merged[-1].end, current.end))
        else:
            merged.append(current)
    return merged


class DateRangeSet:
    """Days booked, free or on leave, kept as a normalised list of DateRange."""

    def __init__(self, ranges=()):
        self._ranges = merge(ranges)

    def __repr__(self):
        return f"DateRangeSet({self._ranges!r})"

    def __eq__(self, other):
        return isinstance(other, DateRangeSet) and self._ranges == other._ranges

    def __contains__(self, day):
        return any(day in r for r in self._ranges)

    def __bool__(self):
        return bool(self._ranges)

    def ranges(self):
        return list(self._ranges)

    def add(self, rng):
        self._ranges = merge(self._ranges + [rng])

    def remove(self, rng):
        """Take the days of `rng` out of the set, splitting ranges where needed."""
        kept = []
        for r in self._ranges:
            if not r.overlaps(rng):
                kept.append(r)
                continue
            if r.start < rng.start:
                kept.append(DateRange(r.start, rng.start - ONE_DAY))
            if rng.end < r.end:
                kept.append(DateRange(rng.end + ONE_DAY, r.end))
        self._ranges = kept

    def total_days(self):
        return sum(len(r) for r in self._ranges)

    def gaps(self, within=None):
        """The free ranges between the set's ranges (inside `within` if given)."""
        ranges = self._ranges
        if within is not None:
            ranges = [r.intersection(within) for r in ranges]
            ranges = [r for r in ranges if r is not None]
        free = [DateRange(a.end + ONE_DAY, b.start - ONE_DAY) for a, b in zip(ranges, ranges[1:])]
        if within is not None and ranges:
            if within.start < ranges[0].start:
                free.insert(0, DateRange(within.start, ranges[0].start - ONE_DAY))
            if ranges[-1].end < within.end:
                free.append(DateRange(ranges[-1].end + ONE_DAY, within.end))
        elif within is not None:
            free = [within]
        return free
