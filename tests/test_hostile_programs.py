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
    with ProgramPool(docker_client, workers=1) as one:  # one container: everything below runs in it, in order
        jobs = [ProgramJob(HOSTILE[name], timeout=5, checked=True)]
        jobs += [ProgramJob(WRONG, checked=True), ProgramJob(CORRECT, checked=True), ProgramJob(WRONG, checked=True),
                 ProgramJob(SEES_NOTHING, checked=True), ProgramJob(CORRECT, checked=True)]
        replies = one.run(jobs)
    assert all("error" not in r for r in replies), replies
    assert [r["completed"] for r in replies] == [False, False, True, False, True, True], replies
    assert not any(r["dirty"] for r in replies), replies  # every task of the hostile uid was killed
