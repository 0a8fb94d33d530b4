import math

import pytest

from calc import Calculator, EvalError, evaluate


def test_arithmetic():
    assert evaluate("2 * (3 + 4) - 10 / 4") == 11.5


def test_floor_division_and_modulo():
    assert evaluate("17 // 5") == 3
    assert evaluate("17 % 5") == 2


def test_power():
    assert evaluate("2 ** 10") == 1024


@pytest.mark.parametrize(
    "text, expected",
    [("2**3**2", 512), ("2**2**3", 256), ("(2**3)**2", 64), ("2**-1", 0.5)],
)
def test_power_is_right_associative(text, expected):
    assert evaluate(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [("-2**2", -4), ("-2**-2", -0.25), ("(-2)**2", 4), ("-3**2+10", 1)],
)
def test_unary_minus_binds_looser_than_power(text, expected):
    assert evaluate(text) == expected


def test_power_binds_tighter_than_product():
    assert evaluate("2 * 3 ** 2") == 18


def test_unary_plus():
    assert evaluate("+3 - -2") == 5


def test_variables_and_assignment():
    calc = Calculator()
    assert calc.evaluate("x = 4") == 4
    assert calc.evaluate("x * x + 1") == 17


def test_constants():
    assert evaluate("pi") == math.pi


def test_functions():
    assert evaluate("max(1, sqrt(16), abs(-3))") == 4.0


def test_division_by_zero():
    with pytest.raises(EvalError, match="division by zero"):
        evaluate("1 / 0")


def test_unknown_name():
    with pytest.raises(EvalError, match="unknown name 'y'"):
        evaluate("y + 1")
