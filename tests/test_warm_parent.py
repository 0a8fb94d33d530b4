"""Hostile programs against what the warm parent opens (harness/warm_parent.py): one long-lived root
interpreter in each container forks every program, and several programs run at once.

Each test has a program attack the parent or leave something in it for the next program forked
from it, then checks from the next program, in the same container, that nothing got through: the
parent cannot be signalled, traced or read; no descriptor but the program's own is inherited (the
control socket forks as root); what a program changes in its memory (modules, builtins, the random
state, sys.path, the environment) is its own copy; the memory every child inherits holds no other
program's source or tests, even while that program runs; and programs running side by side with a
saboteur are judged as when alone.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from swe_monkeys.tasks.code_exec import ProgramJob, ProgramPool

pytestmark = [pytest.mark.docker, pytest.mark.slow]

TESTS = "def check(candidate):\n    assert candidate(1) == 2\n"
RIGHT = "def inc(x):\n    return x + 1\n"
WRONG = "def inc(x):\n    return x\n"


def _inc(program: str, timeout: float = 5) -> ProgramJob:
    return ProgramJob(program, timeout=timeout, checked=True, tests=TESTS, entry_point="inc")


def _report(reply: dict) -> dict:
    assert "error" not in reply and reply["exit_code"] == 0, reply
    return json.loads(reply["stdout"].strip().splitlines()[-1])


REACH_THE_PARENT = '''
import ctypes, json, os, signal
me, parent, done = os.getpid(), os.getppid(), {}
open_fds = []
for fd in range(4096):
    try:
        os.fstat(fd)
        open_fds.append(fd)
    except OSError:
        pass
done["fds"] = open_fds
signalled = []
for pid in [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != me]:
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        try:
            os.kill(pid, sig)
            signalled.append(pid)
        except OSError:
            pass
done["signalled"] = sorted(set(signalled))
try:
    open("/proc/%d/mem" % parent, "rb").read(1)
    done["parent_memory"] = "read"
except OSError as exc:
    done["parent_memory"] = type(exc).__name__
libc = ctypes.CDLL(None, use_errno=True)
done["ptrace"] = libc.ptrace(16, parent, 0, 0)  # PTRACE_ATTACH: -1 unless we may
done["uid"] = os.getuid()
print(json.dumps(done))
'''


def test_a_program_cannot_signal_trace_or_read_the_warm_parent(docker_client):
    with ProgramPool(docker_client, workers=1, slots=1) as one:
        replies = one.run([ProgramJob(REACH_THE_PARENT, timeout=10), _inc(WRONG), _inc(RIGHT),
                           ProgramJob(REACH_THE_PARENT + "import sys\nsys.stdout.flush()\n", timeout=10, checked=True),
                           _inc(RIGHT)])
    plain = _report(replies[0])
    assert plain["fds"] == [0, 1, 2], plain  # not the parent's control socket, nor anything else of it
    assert plain["signalled"] == [] and plain["parent_memory"] in ("PermissionError", "FileNotFoundError")
    assert plain["ptrace"] == -1 and plain["uid"] >= 20000
    checked = json.loads(replies[3]["stdout"].strip().splitlines()[-1])
    assert checked["fds"][:3] == [0, 1, 2] and len(checked["fds"]) == 5 and min(checked["fds"][3:]) >= 64, checked
    assert [r["completed"] for r in replies[1:3]] == [False, True] and replies[4]["completed"], replies
    assert not any(r.get("dirty") for r in replies), replies


CHANGE_EVERYTHING = '''
import atexit, builtins, json, math, os, random, signal, sys, warnings
import program_wrapper
math.isclose = lambda *a, **k: True
builtins.abs = lambda x: 0
builtins.planted = "planted"
sys.modules["json"].dumps = lambda *a, **k: "planted"
sys.modules["planted_module"] = type(sys)("planted_module")
sys.path.insert(0, "/tmp/planted")
sys.setrecursionlimit(60)
os.environ["PLANTED"] = "1"
random.seed(42)
warnings.filterwarnings("error")
signal.signal(signal.SIGTERM, signal.SIG_IGN)
atexit.register(lambda: print("planted atexit"))
program_wrapper.run_checked = lambda *a: None
program_wrapper.FD_FLOOR = 3
frame = sys._getframe()
while frame.f_back is not None:  # the warm parent's own module, at the bottom of the stack
    frame = frame.f_back
frame.f_globals["become_program"] = frame.f_globals["serve"] = None
'''
SEES_A_PRISTINE_PARENT = '''
import builtins, json, math, os, random, signal, sys, warnings
import program_wrapper
frame = sys._getframe()
while frame.f_back is not None:
    frame = frame.f_back
left = [name for name, bad in (
    ("math.isclose", math.isclose(1, 2)), ("abs", abs(-1) != 1), ("builtins", hasattr(builtins, "planted")),
    ("json", json.dumps(1) != "1"), ("sys.modules", "planted_module" in sys.modules),
    ("sys.path", "/tmp/planted" in sys.path), ("recursion", sys.getrecursionlimit() != 1000),
    ("environ", "PLANTED" in os.environ), ("warnings", any(f[0] == "error" for f in warnings.filters)),
    ("signal", signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL),
    ("wrapper", program_wrapper.FD_FLOOR != 64 or program_wrapper.run_checked.__name__ != "run_checked"),
    ("parent", frame.f_globals.get("become_program") is None or frame.f_globals.get("serve") is None))
    if bad]
print(json.dumps({"left": left, "random": random.random()}))
'''


def test_what_a_program_changes_in_its_memory_is_not_what_the_next_inherits(docker_client):
    with ProgramPool(docker_client, workers=1, slots=1) as one:
        replies = one.run([ProgramJob(CHANGE_EVERYTHING), ProgramJob(SEES_A_PRISTINE_PARENT),
                           ProgramJob(SEES_A_PRISTINE_PARENT), _inc(WRONG), _inc(RIGHT)])
    assert replies[0]["exit_code"] == 0 and "planted atexit" in replies[0]["stdout"], replies[0]
    first, second = _report(replies[1]), _report(replies[2])
    assert first["left"] == [] and second["left"] == [], (first, second)
    assert first["random"] != second["random"]  # each child reseeded: not 42's sequence, not each other's
    assert first["random"] != 0.6394267984578837  # random.seed(42); random.random()
    assert [r["completed"] for r in replies[3:]] == [False, True], replies


SECRET = "ZQXJ" + hashlib.sha256(b"a program's own secret").hexdigest()[:28]
TEST_SECRET = "ZQXJ" + hashlib.sha256(b"the tests' own secret").hexdigest()[:28]
HOLDS_SECRETS = f'''
import time
mine = "{SECRET}"
time.sleep(float(__import__("os").environ.get("HOLD", "0") or 0))
''' + RIGHT
SEARCH_MEMORY = '''
import ctypes, hashlib, json
wanted = set(%r)
found, scanned = [], 0
with open("/proc/self/maps") as f:
    regions = [line.split() for line in f]
for region in regions:
    start, end = (int(x, 16) for x in region[0].split("-"))
    if not region[1].startswith("r") or (len(region) > 5 and region[5] not in ("[heap]", "[stack]")):
        continue  # anonymous memory, the heap and the stack: where a parent's data would be
    try:
        data = ctypes.string_at(start, end - start)
    except Exception:
        continue
    scanned += end - start
    at = data.find(b"ZQXJ")
    while at >= 0:
        if hashlib.sha256(data[at:at + 32]).hexdigest() in wanted:
            found.append(data[at:at + 32].decode("ascii", "replace"))
        at = data.find(b"ZQXJ", at + 1)
print(json.dumps({"found": sorted(set(found)), "scanned": scanned}))
''' % ([hashlib.sha256(s.encode()).hexdigest() for s in (SECRET, TEST_SECRET)],)


def test_the_memory_a_child_inherits_holds_no_other_programs_source_or_tests(docker_client):
    secret_tests = TESTS + f"# {TEST_SECRET}\n"
    holds = ProgramJob(HOLDS_SECRETS, timeout=10, checked=True, tests=secret_tests, entry_point="inc")
    search = ProgramJob(SEARCH_MEMORY, timeout=30, memory_mb=2048)
    with ProgramPool(docker_client, workers=1, slots=1) as one:
        after = one.run([holds, search])  # one after the other: the secrets were in a sibling before
    with ProgramPool(docker_client, workers=1, slots=2) as two:
        beside = two.run([ProgramJob(HOLDS_SECRETS.replace('"HOLD", "0"', '"HOLD", "3"'), timeout=10, checked=True,
                                     tests=secret_tests, entry_point="inc"), search])  # while the sibling runs
        # the search itself works: a secret the searching program makes (at run time) is found
        control = two.run([ProgramJob(f"kept = 'ZQXJ' + {SECRET[4:]!r}.strip()\n" + SEARCH_MEMORY, timeout=30,
                                      memory_mb=2048)])[0]
    assert after[0]["completed"] and beside[0]["completed"], (after[0], beside[0])
    assert _report(control)["found"] == [SECRET], control
    for reply in (after[1], beside[1]):
        report = _report(reply)
        assert report["found"] == [] and report["scanned"] > 1 << 20, report


SABOTEUR = '''
import glob, os, signal, time
end = time.time() + 4
while time.time() < end:
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
    for path in glob.glob("/tmp/*/w") + glob.glob("/tmp/*/program.py") + glob.glob("/tmp/*/.std*"):
        try:
            open(path + "/planted.py" if path.endswith("/w") else path, "w").write("raise SystemExit(0)\\n")
        except OSError:
            pass
'''


def test_programs_beside_a_saboteur_are_judged_as_alone(docker_client):
    with ProgramPool(docker_client, workers=1, slots=2) as two:
        jobs = [ProgramJob(SABOTEUR, timeout=6)] + [_inc(RIGHT), _inc(WRONG)] * 20
        replies = two.run(jobs)
    assert all("error" not in r for r in replies), [r for r in replies if "error" in r][:2]
    assert [r["completed"] for r in replies[1:]] == [True, False] * 20, replies
    assert not any(r["dirty"] for r in replies)
