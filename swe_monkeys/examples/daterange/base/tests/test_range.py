import datetime as dt

import pytest

from daterange import DateRange, parse_range

D = dt.date


def test_length_is_inclusive():
    assert len(DateRange(D(2024, 1, 1), D(2024, 1, 31))) == 31


def test_end_before_start_is_rejected():
    with pytest.raises(ValueError):
        DateRange(D(2024, 1, 2), D(2024, 1, 1))


def test_touches_next_day():
    assert DateRange(D(2024, 1, 1), D(2024, 1, 5)).touches(DateRange(D(2024, 1, 6), D(2024, 1, 9)))
    assert not DateRange(D(2024, 1, 1), D(2024, 1, 5)).overlaps(DateRange(D(2024, 1, 6), D(2024, 1, 9)))


def test_intersection():
    a, b = parse_range("2024-01-01..2024-01-10"), parse_range("2024-01-05..2024-02-01")
    assert a.intersection(b) == parse_range("2024-01-05..2024-01-10")


def test_split_by_month_handles_leap_february():
    parts = parse_range("2024-01-30..2024-03-02").split_by_month()
    assert [len(p) for p in parts] == [2, 29, 2]
