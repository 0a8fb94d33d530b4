"""Short human-readable forms of ranges: "3–7 Mar 2024", "28 Feb – 2 Mar 2024"."""


def _day_month(day):
    return "%d %s" % (day.day, day.strftime("%b"))


def format_range(rng):
    """Render an inclusive range compactly, naming month and year only where they change."""
    start, end = rng.start, rng.end
    if start == end:
        return f"{_day_month(start)} {start.year}"
    if start.year != end.year:
        return f"{_day_month(start)} {start.year} – {_day_month(end)} {end.year}"
    if start.month != end.month:
        return f"{_day_month(start)} – {_day_month(end)} {end.year}"
    return f"{start.day}–{end.day} {end:%b} {end.year}"
