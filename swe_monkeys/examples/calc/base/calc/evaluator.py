"""Evaluates calc syntax trees, with variables and a few built-in functions."""

import math
import operator

from calc.errors import EvalError
from calc.nodes import Assign, BinOp, Call, Name, Num, UnaryOp
from calc.parser import parse

BINARY = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}

UNARY = {"+": operator.pos, "-": operator.neg}

FUNCTIONS = {
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "sqrt": math.sqrt,
    "floor": math.floor,
    "ceil": math.ceil,
}

CONSTANTS = {"pi": math.pi, "e": math.e}


class Calculator:
    """Evaluates statements; assignments are remembered between calls."""

    def __init__(self, variables=None):
        self.variables = dict(CONSTANTS)
        self.variables.update(variables or {})

    def evaluate(self, text):
        return self.visit(parse(text))

    def visit(self, node):
        method = getattr(self, "visit_" + type(node).__name__)
        return method(node)

    def visit_Num(self, node):
        return node.value

    def visit_Name(self, node):
        try:
            return self.variables[node.id]
        except KeyError:
            raise EvalError(f"unknown name {node.id!r}") from None

    def visit_Assign(self, node):
        value = self.visit(node.value)
        self.variables[node.target] = value
        return value

    def visit_UnaryOp(self, node):
        return UNARY[node.op](self.visit(node.operand))

    def visit_BinOp(self, node):
        left, right = self.visit(node.left), self.visit(node.right)
        try:
            return BINARY[node.op](left, right)
        except ZeroDivisionError:
            raise EvalError("division by zero") from None
        except OverflowError:
            raise EvalError("result too large") from None

    def visit_Call(self, node):
        func = FUNCTIONS.get(node.func)
        if func is None:
            raise EvalError(f"unknown function {node.func!r}")
        args = [self.visit(arg) for arg in node.args]
        try:
            return func(*args)
        except (TypeError, ValueError) as exc:
            raise EvalError(f"{node.func}(): {exc}") from None


def evaluate(text, variables=None):
    """Evaluate one expression with an optional mapping of variables."""
    return Calculator(variables).evaluate(text)
