"""Length conversions between kilometres and miles."""

KM_PER_MILE = 1.609344


def km_to_miles(km):
    """Kilometres to (international) miles."""
    return km / KM_PER_MILE


def miles_to_km(miles):
    """Miles to kilometres."""
    return miles * KM_PER_MILE
