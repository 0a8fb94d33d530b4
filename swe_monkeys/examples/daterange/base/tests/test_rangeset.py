import datetime as dt

from daterange import DateRangeSet, parse_range

D = dt.date


def ranges(*texts):
    return [parse_range(t) for t in texts]


def test_overlapping_ranges_are_merged():
    booked = DateRangeSet(ranges("2024-01-01..2024-01-10", "2024-01-05..2024-01-20"))
    assert booked.ranges() == ranges("2024-01-01..2024-01-20")


def test_adjacent_ranges_are_merged():
    booked = DateRangeSet(ranges("2024-01-06..2024-01-09", "2024-01-01..2024-01-05"))
    assert booked.ranges() == ranges("2024-01-01..2024-01-09")


def test_disjoint_ranges_stay_apart():
    booked = DateRangeSet(ranges("2024-01-01..2024-01-03", "2024-01-10..2024-01-12"))
    assert booked.total_days() == 6
    assert D(2024, 1, 5) not in booked


def test_remove_splits_a_range():
    booked = DateRangeSet(ranges("2024-01-01..2024-01-31"))
    booked.remove(parse_range("2024-01-10..2024-01-19"))
    assert booked.ranges() == ranges("2024-01-01..2024-01-09", "2024-01-20..2024-01-31")


def test_gaps_within_a_month():
    booked = DateRangeSet(ranges("2024-01-05..2024-01-10", "2024-01-20..2024-01-25"))
    free = booked.gaps(within=parse_range("2024-01"))
    assert free == ranges("2024-01-01..2024-01-04", "2024-01-11..2024-01-19", "2024-01-26..2024-01-31")


def test_empty_set():
    assert not DateRangeSet()
    assert DateRangeSet().gaps(within=parse_range("2024-01")) == ranges("2024-01")
