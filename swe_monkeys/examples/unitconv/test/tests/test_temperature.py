import pytest

from unitconv import celsius_to_fahrenheit, celsius_to_kelvin, fahrenheit_to_celsius, kelvin_to_celsius


@pytest.mark.parametrize("celsius, fahrenheit", [(0, 32), (100, 212), (-40, -40), (37, 98.6)])
def test_celsius_to_fahrenheit(celsius, fahrenheit):
    assert celsius_to_fahrenheit(celsius) == pytest.approx(fahrenheit)


@pytest.mark.parametrize("fahrenheit, celsius", [(32, 0), (212, 100), (-40, -40), (98.6, 37)])
def test_fahrenheit_to_celsius(fahrenheit, celsius):
    assert fahrenheit_to_celsius(fahrenheit) == pytest.approx(celsius)


def test_fahrenheit_round_trip():
    for celsius in (-273.15, -12.5, 0, 21.5, 1000):
        assert fahrenheit_to_celsius(celsius_to_fahrenheit(celsius)) == pytest.approx(celsius)


def test_kelvin_round_trip():
    assert kelvin_to_celsius(celsius_to_kelvin(21.5)) == pytest.approx(21.5)
    assert celsius_to_kelvin(0) == pytest.approx(273.15)


def test_below_absolute_zero_is_an_error():
    with pytest.raises(ValueError):
        celsius_to_kelvin(-300)
    with pytest.raises(ValueError):
        kelvin_to_celsius(-1)
