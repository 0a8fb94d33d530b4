"""slugify(): the one function most callers need."""

import re

from slugkit.translit import transliterate
from slugkit.truncate import truncate

_APOSTROPHES = re.compile(r"(\w)'(\w)")
_NOT_WORD = re.compile(r"[^A-Za-z0-9]+")


def slugify(text, separator="-", lowercase=True, max_length=None, word_boundary=False, stopwords=()):
    """Turn `text` into a slug: ASCII letters and digits joined by `separator`.

    max_length caps the length of the result; with word_boundary=True only whole words are kept.
    stopwords are dropped (compared case-insensitively) unless nothing else would be left.
    """
    if not separator:
        raise ValueError("separator must not be empty")
    text = transliterate(str(text))
    text = _APOSTROPHES.sub(r"\1\2", text)  # "don't" -> "dont", not "don-t"
    if lowercase:
        text = text.lower()
    words = [w for w in _NOT_WORD.split(text) if w]
    if stopwords:
        stop = {s.lower() for s in stopwords}
        kept = [w for w in words if w.lower() not in stop]
        words = kept or words
    slug = separator.join(words)
    return truncate(slug, max_length, separator=separator, word_boundary=word_boundary)
