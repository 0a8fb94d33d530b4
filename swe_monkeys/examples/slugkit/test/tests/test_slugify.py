import pytest

from slugkit import slugify


def test_basic():
    assert slugify("Hello, World!") == "hello-world"


def test_umlauts_are_spelled_out():
    assert slugify("Grüße aus Köln") == "gruesse-aus-koeln"


def test_apostrophes_do_not_split_words():
    assert slugify("Don't stop") == "dont-stop"


def test_custom_separator_and_case():
    assert slugify("Hello World", separator="_", lowercase=False) == "Hello_World"


def test_stopwords():
    assert slugify("The Art of War", stopwords=["the", "of"]) == "art-war"


def test_max_length_cuts_mid_word():
    assert slugify("Hello World", max_length=8) == "hello-wo"


@pytest.mark.parametrize(
    "separator, max_length, expected",
    [
        pytest.param("-", 6, "hello", id="dash"),
        pytest.param("_", 6, "hello", id="underscore"),
        pytest.param("--", 7, "hello", id="double-dash"),
        pytest.param("--", 6, "hello", id="double-dash-partial"),
        pytest.param("-", 5, "hello", id="exact-word"),
    ],
)
def test_truncated_slug_has_no_trailing_separator(separator, max_length, expected):
    assert slugify("Hello World", separator=separator, max_length=max_length) == expected


def test_word_boundary_with_long_separator():
    assert slugify("one two three", separator="__", max_length=9, word_boundary=True) == "one__two"


def test_max_length_word_boundary():
    assert slugify("The quick brown fox", max_length=12, word_boundary=True) == "the-quick"


def test_empty_separator_is_rejected():
    with pytest.raises(ValueError):
        slugify("x", separator="")
