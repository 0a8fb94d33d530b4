import pytest

from calc.errors import ParseError
from calc.nodes import Assign, BinOp, Call, Name, Num, UnaryOp
from calc.parser import parse


def test_precedence_of_product_over_sum():
    assert parse("1 + 2 * 3") == BinOp("+", Num(1), BinOp("*", Num(2), Num(3)))


def test_subtraction_is_left_associative():
    assert parse("8 - 3 - 2") == BinOp("-", BinOp("-", Num(8), Num(3)), Num(2))


def test_parentheses():
    assert parse("(1 + 2) * 3") == BinOp("*", BinOp("+", Num(1), Num(2)), Num(3))


def test_unary_minus():
    assert parse("-x") == UnaryOp("-", Name("x"))


def test_call_with_arguments():
    assert parse("max(1, y)") == Call("max", (Num(1), Name("y")))


def test_assignment():
    assert parse("x = 2") == Assign("x", Num(2))


@pytest.mark.parametrize("text", ["1 +", "(1", "1 2", ")"])
def test_syntax_errors(text):
    with pytest.raises(ParseError):
        parse(text)
