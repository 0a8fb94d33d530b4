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
    if cut.endswith(separator):
        cut = cut[: -len(separator)]
    return cut
