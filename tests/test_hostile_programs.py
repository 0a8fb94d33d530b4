"""Nothing one program does survives into the next program's judgement (the program runner, class 1).

Each hostile program leaves something behind and tries to use it against whatever runs next in
the same warm container: a thread whose group leader exited (the leader shows as a zombie in
/proc, the thread runs on), a double-forked daemon in a new session, a stopped process that a
watcher wakes later, SysV shared memory. The survivors try to overwrite the next program's
source, kill it, or plant files for it. Ordinary wrong programs and a correct one follow in the
same container: the wrong ones must fail, the correct one must pass, and the server must report
that every trace of the hostile program was removed (`dirty` false).
"""

from __future__ import annotations

import pytest

from swe_monkeys.tasks.code_exec import ProgramJob, ProgramPool

pytestmark = [pytest.mark.docker, pytest.mark.slow]

SABOTAGE = '''
import glob, os, signal, time
def sabotage(seconds=20):
    end = time.time() + seconds
    while time.time() < end:
        for path in glob.glob("/tmp/*/program.py") + glob.glob("/tmp/*/w"):
            try:
                open(path if path.endswith(".py") else path + "/planted.py", "w").write("pass\\n")
            except OSError:
                pass
        for pid in os.listdir("/proc"):
            if pid.isdigit() and int(pid) != os.getpid():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except OSError:
                    pass
        for where in ("/tmp", "/dev/shm", "/var/tmp", "/run/lock"):
            try:
                open(where + "/sitecustomize.py", "w").write("import os; os._exit(0)\\n")
            except OSError:
                pass
        time.sleep(0.01)
'''

HOSTILE = {
    "zombie_leader": SABOTAGE + '''
import ctypes, threading
if os.fork() == 0:
    os.setsid()
    threading.Thread(target=sabotage).start()
    time.sleep(0.2)
    ctypes.CDLL(None).syscall(60, 0)  # SYS_exit: only this thread ends; the leader turns zombie
time.sleep(0.5)
assert False
''',
    "double_fork_daemon": SABOTAGE + '''
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        sabotage()
    os._exit(0)
time.sleep(0.2)
assert False
''',
    "stopped_then_woken": SABOTAGE + '''
sleeper = os.fork()
if sleeper == 0:
    os.setsid()
    os.kill(os.getpid(), signal.SIGSTOP)
    sabotage()
    os._exit(0)
if os.fork() == 0:
    os.setsid()
    time.sleep(1.0)
    os.kill(sleeper, signal.SIGCONT)
    os._exit(0)
time.sleep(0.2)
assert False
''',
    "sysv_shared_memory": '''
import ctypes, os
libc = ctypes.CDLL(None)
shmid = libc.shmget(0x5357, 4096, 0o1000 | 0o666)  # IPC_CREAT
print("shm", shmid)
assert False
''',
}
CORRECT = "def inc(x):\n    return x + 1\nassert inc(1) == 2\n"
WRONG = "def inc(x):\n    return x\nassert inc(1) == 2\n"
SEES_NOTHING = ("import glob, os\nleft = glob.glob('/tmp/*/w/planted.py') + [p for p in glob.glob('/*/sitecustomize.py')]\n"
                "shm = open('/proc/sysvipc/shm').read().splitlines()[1:]\nassert not left and not shm, (left, shm)\n")


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_program_leaves_nothing_for_the_next(docker_client, name):
    with ProgramPool(docker_client, workers=1, slots=1) as one:  # one container, one program at a time: in order
        jobs = [ProgramJob(HOSTILE[name], timeout=5, checked=True)]
        jobs += [ProgramJob(WRONG, checked=True), ProgramJob(CORRECT, checked=True), ProgramJob(WRONG, checked=True),
                 ProgramJob(SEES_NOTHING, checked=True), ProgramJob(CORRECT, checked=True)]
        replies = one.run(jobs)
    assert all("error" not in r for r in replies), replies
    assert [r["completed"] for r in replies] == [False, False, True, False, True, True], replies
    assert not any(r["dirty"] for r in replies), replies  # every task of the hostile uid was killed


# Class 2: the tests are disarmed from inside the program (issue 20, item 6). Each attack is a wrong
# `inc` (right on integers only), written as an outsider would against the old layout (the tests
# appended to the program, in one module); the tests now run from text the program never sees.
TESTS = ("def check(candidate):\n    assert abs(candidate(2.5) - 3.5) < 1e-9\n    import math\n"
         "    assert math.isclose(candidate(0.5), 1.5)\n    assert candidate(1) == 2\n")
WRONG_INC = "def inc(x):\n    return x + 1 if isinstance(x, int) else x\n"
DISARM = {
    "trace_skips_asserts": WRONG_INC + '''
import sys
def tracer(frame, event, arg):
    if frame.f_code.co_name == "check":
        def skip(frame, event, arg):
            if event == "line" and frame.f_lineno < frame.f_code.co_firstlineno + 5:
                try:
                    frame.f_lineno = frame.f_code.co_firstlineno + 5
                except ValueError:
                    pass
            return skip
        return skip
    return None
sys.settrace(tracer)
''',
    "code_swap_from_a_call_hook": WRONG_INC + '''
import sys
def swap(frame, event, arg):
    check = frame.f_globals.get("check")
    if callable(check) and check.__code__.co_name != "nothing":
        def nothing(candidate):
            return None
        check.__code__ = nothing.__code__
    return swap
sys.setprofile(swap)
sys.settrace(swap)
''',
    "builtins_replaced": WRONG_INC + '''
import builtins, types
class Quiet(Exception):
    pass
builtins.AssertionError = Quiet
builtins.abs = lambda x: 0
real_import = builtins.__import__
fake_math = types.SimpleNamespace(isclose=lambda *a, **k: True)
builtins.__import__ = lambda name, *a, **k: fake_math if name == "math" else real_import(name, *a, **k)
real_build = builtins.__build_class__
builtins.__build_class__ = lambda *a, **k: real_build(*a, **k)
''',
    "test_module_patched": WRONG_INC + '''
import math, sys, types
math.isclose = lambda *a, **k: True
sys.modules["math"] = types.SimpleNamespace(isclose=lambda *a, **k: True, __name__="math")
''',
    "exit_hooks_report_success": WRONG_INC + '''
import atexit, os, sys, threading
sys.excepthook = lambda *a: os._exit(0)
threading.excepthook = lambda *a: os._exit(0)
atexit.register(lambda: os._exit(0))
''',
    "signal_handler_edits_the_test_frame": WRONG_INC + '''
import signal
def edit(signum, frame):
    while frame is not None:
        frame.f_builtins["abs"] = lambda x: 0
        if "math" in frame.f_globals:
            frame.f_globals["math"] = type("M", (), {"isclose": staticmethod(lambda *a, **k: True)})
        frame = frame.f_back
signal.signal(signal.SIGALRM, edit)
signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
''',
    "frame_grab_during_the_call": '''
import sys
def inc(x):
    caller = sys._getframe(1)
    caller.f_builtins["abs"] = lambda y: 0
    return x + 1 if isinstance(x, int) else x
''',
    "gc_finds_the_checker": WRONG_INC + '''
import gc, threading, time
def hunt():
    end = time.time() + 3
    while time.time() < end:
        for o in gc.get_objects():
            if getattr(o, "__name__", "") == "check" and callable(o):
                o.__code__ = (lambda candidate: None).__code__
threading.Thread(target=hunt, daemon=True).start()
time.sleep(0.2)
''',
}
RIGHT_INC = "def inc(x):\n    return x + 1\n"


def _inc_job(program):
    return ProgramJob(program, timeout=5, checked=True, tests=TESTS, entry_point="inc")


@pytest.mark.parametrize("name", sorted(DISARM))
def test_a_program_cannot_disarm_its_tests(docker_client, name):
    with ProgramPool(docker_client, workers=1, slots=1) as one:
        jobs = [_inc_job(DISARM[name]), _inc_job(WRONG_INC), _inc_job("def inc(x):\n    return x\n"),
                _inc_job(RIGHT_INC), ProgramJob(WRONG, checked=True), _inc_job(RIGHT_INC)]
        replies = one.run(jobs)
    assert all("error" not in r for r in replies), replies
    assert [r["completed"] for r in replies] == [False, False, False, True, False, True], replies
    assert not any(r["dirty"] for r in replies), replies


DISK_FILL = '''
import os
for i in range(10000):
    with open("fill-%d" % i, "wb") as f:
        f.write(b"x" * (1 << 20))
'''


def test_a_program_is_stopped_at_the_disk_bound_and_the_next_is_judged(docker_client):
    from swe_monkeys.tasks.code import CodeChecker, HumanEval

    with ProgramPool(docker_client, workers=1, slots=1) as one:
        replies = one.run([ProgramJob(DISK_FILL + RIGHT_INC, timeout=20, checked=True, tests=TESTS, entry_point="inc",
                                      disk_mb=32), _inc_job(WRONG_INC), _inc_job(RIGHT_INC)])
        assert replies[0]["disk_exceeded"] and not replies[0]["completed"], replies[0]
        assert not replies[0]["timed_out"] and not replies[0]["dirty"]
        assert [r["completed"] for r in replies[1:]] == [False, True], replies
        checker = CodeChecker(HumanEval(), one)
        assert "disk bound" in checker._verdict(None, replies[:1]).reason
