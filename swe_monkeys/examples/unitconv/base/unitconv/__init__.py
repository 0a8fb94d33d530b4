"""unitconv: small, dependency-free unit conversions."""

from unitconv.length import km_to_miles, miles_to_km
from unitconv.temperature import (celsius_to_fahrenheit, celsius_to_kelvin, fahrenheit_to_celsius,
                                  kelvin_to_celsius)

__all__ = ["celsius_to_fahrenheit", "fahrenheit_to_celsius", "celsius_to_kelvin", "kelvin_to_celsius",
           "km_to_miles", "miles_to_km"]
__version__ = "1.0.0"
