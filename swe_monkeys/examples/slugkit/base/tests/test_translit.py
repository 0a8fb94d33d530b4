import pytest

from slugkit import transliterate


@pytest.mark.parametrize(
    "text, expected",
    [("Straße", "Strasse"), ("Ærøskøbing", "AEroskobing"), ("Łódź", "Lodz"), ("café", "cafe")],
)
def test_transliterate(text, expected):
    assert transliterate(text) == expected


def test_unknown_symbols_are_dropped():
    assert transliterate("a☃b") == "ab"
