"""Shortening slugs to a maximum length."""


def truncate(slug, max_length, separator="-", word_boundary=False):
    """Cut `slug` to at most `max_length` characters.

    With word_boundary=True the cut is moved back to the end of the last whole word, unless the
    first word alone is too long (then it is cut inside that word).
    """
    if max_length is None or len(slug) <= max_length:
        return slug
    if max_length <= 0:
        return ""
    if word_boundary:
        # Look one separator past the limit: a word that ends exactly at the limit is kept.
        window = slug[: max_length + len(separator)]
        end = window.rfind(separator)
        if end > 0:
            return slug[:end]
    cut = slug[:max_length]
    # A cut inside a separator, or right after one, would leave it dangling ("hello-"):
    # find a separator that overlaps the limit and cut before it instead.
    start = slug.rfind(separator, 0, max_length + len(separator) - 1)
    if start != -1 and start + len(separator) >= max_length:
        cut = slug[:start]
    return cut
