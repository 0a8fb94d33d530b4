"""Transliteration of non-ASCII text to close ASCII spellings."""

import unicodedata

# Letters that Unicode decomposition cannot reduce to ASCII, or that have a conventional
# multi-letter spelling (German umlauts are spelled out, not stripped).
SPECIAL = {
    "ß": "ss", "ẞ": "SS",
    "ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
    "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "å": "aa", "Å": "Aa",
    "œ": "oe", "Œ": "OE", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D",
    "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i",
    "‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-",
}


def transliterate(text):
    """Return an ASCII approximation of `text`; characters with no spelling are dropped."""
    out = []
    for char in text:
        if char in SPECIAL:
            out.append(SPECIAL[char])
            continue
        decomposed = unicodedata.normalize("NFKD", char)
        out.append("".join(c for c in decomposed if ord(c) < 128))
    return "".join(out)
