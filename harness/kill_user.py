"""In-container: stop every task of one uid, and prove that none is left (standard library only).

The one kill routine of the harness, used by the candidate harness (between the runs of one
candidate) and by the program runner (after every program). It works on *tasks* (threads), not
on process-table entries, because a process whose thread-group leader has exited shows in
/proc/PID/stat as a zombie while another of its threads keeps running: a loop over /proc/PID that
skips zombies leaves that thread alive, and it was seen re-planting files after each reset.
A task counts as the uid's when any of its real, effective, saved or filesystem uids is it.
SIGKILL to the thread group id kills every thread of the group, stopped and traced ones too; no
fork is needed, so it works under a fork bomb. Tasks in uninterruptible sleep can outlive the
deadline: the caller then learns that something survived and must throw the sandbox away.
"""

import os
import signal
import time


def _task_uids(status_path):
    """The set of uids of one task (from its status file), or None when it is gone or dead."""
    try:
        with open(status_path) as f:
            text = f.read()
    except OSError:
        return None
    uids, state = set(), ""
    for line in text.splitlines():
        if line.startswith("State:"):
            state = line.split()[1] if len(line.split()) > 1 else ""
        elif line.startswith("Uid:"):
            uids.update(int(x) for x in line.split()[1:5])
    if state in ("Z", "X"):
        return None  # a dead task: it holds nothing and awaits only its parent (or init)
    return uids


def live_tasks(uid):
    """{thread group id: [task ids]} of the uid's tasks that are not dead (uid None: of every
    task that has any uid other than root's)."""
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            tids = os.listdir("/proc/%s/task" % pid)
        except OSError:
            continue
        for tid in tids:
            uids = _task_uids("/proc/%s/task/%s/status" % (pid, tid))
            if uids is not None and (uid in uids if uid is not None else uids != {0}):
                found.setdefault(int(pid), []).append(int(tid))
    return found


def kill_uid(uid, deadline_s=5.0):
    """SIGKILL every task of uid (None: of every uid but root) until none is left; True when none
    is, False past the deadline."""
    if uid == 0:
        raise ValueError("refusing to kill root's tasks")
    end = time.monotonic() + deadline_s
    while True:
        tasks = live_tasks(uid)
        if not tasks:
            return True
        if time.monotonic() > end:
            return False
        for tgid in tasks:
            try:
                os.kill(tgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.005)
