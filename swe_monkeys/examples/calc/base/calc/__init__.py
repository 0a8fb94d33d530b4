"""calc: a small, safe arithmetic expression evaluator."""

from calc.errors import CalcError, EvalError, ParseError
from calc.evaluator import Calculator, evaluate
from calc.parser import parse

__all__ = ["CalcError", "EvalError", "ParseError", "Calculator", "evaluate", "parse"]
__version__ = "1.0.0"
