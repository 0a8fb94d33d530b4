import pytest

from unitconv import km_to_miles, miles_to_km


def test_marathon():
    assert km_to_miles(42.195) == pytest.approx(26.2188, abs=1e-4)


def test_round_trip():
    assert miles_to_km(km_to_miles(10)) == pytest.approx(10)
