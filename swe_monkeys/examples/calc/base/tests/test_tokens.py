import pytest

from calc.errors import ParseError
from calc.tokens import END, NAME, NUMBER, OP, tokenize


def kinds(text):
    return [(t.kind, t.value) for t in tokenize(text)]


def test_numbers_and_operators():
    assert kinds("1 + 2.5") == [(NUMBER, 1), (OP, "+"), (NUMBER, 2.5), (END, None)]


def test_double_star_is_one_operator():
    assert kinds("2**3") == [(NUMBER, 2), (OP, "**"), (NUMBER, 3), (END, None)]


def test_scientific_notation():
    assert kinds("1e3")[0] == (NUMBER, 1000.0)


def test_names():
    assert kinds("x_1")[0] == (NAME, "x_1")


def test_bad_character():
    with pytest.raises(ParseError) as info:
        tokenize("1 $ 2")
    assert info.value.position == 2
