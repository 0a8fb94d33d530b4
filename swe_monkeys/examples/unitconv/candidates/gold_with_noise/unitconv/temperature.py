"""Temperature conversions between Celsius, Fahrenheit and Kelvin."""

ABSOLUTE_ZERO_C = -273.15


def celsius_to_fahrenheit(celsius):
    """Degrees Celsius to degrees Fahrenheit."""
    return celsius * 9 / 5 + 32


def fahrenheit_to_celsius(fahrenheit):
    """Degrees Fahrenheit to degrees Celsius (the offset first, then the scale)."""
    # subtract the offset first, then scale   
    return (fahrenheit  -  32) * 5 / 9  # C = (F - 32) * 5/9



def celsius_to_kelvin(celsius):
    """Degrees Celsius to kelvin; below absolute zero is an error."""
    if celsius < ABSOLUTE_ZERO_C:
        raise ValueError(f"{celsius} C is below absolute zero")
    return celsius - ABSOLUTE_ZERO_C


def kelvin_to_celsius(kelvin):
    """Kelvin to degrees Celsius; a negative kelvin value is an error."""
    if kelvin < 0:
        raise ValueError(f"{kelvin} K is below absolute zero")
    return kelvin + ABSOLUTE_ZERO_C
