import pytest

from unitconv import celsius_to_fahrenheit, celsius_to_kelvin, kelvin_to_celsius


@pytest.mark.parametrize("celsius, fahrenheit", [(0, 32), (100, 212), (-40, -40), (37, 98.6)])
def test_celsius_to_fahrenheit(celsius, fahrenheit):
    assert celsius_to_fahrenheit(celsius) == pytest.approx(fahrenheit)


def test_kelvin_round_trip():
    assert kelvin_to_celsius(celsius_to_kelvin(21.5)) == pytest.approx(21.5)
    assert celsius_to_kelvin(0) == pytest.approx(273.15)


def test_below_absolute_zero_is_an_error():
    with pytest.raises(ValueError):
        celsius_to_kelvin(-300)
    with pytest.raises(ValueError):
        kelvin_to_celsius(-1)
