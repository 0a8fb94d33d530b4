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


def test_max_length_word_boundary():
    assert slugify("The quick brown fox", max_length=12, word_boundary=True) == "the-quick"


def test_empty_separator_is_rejected():
    with pytest.raises(ValueError):
        slugify("x", separator="")
