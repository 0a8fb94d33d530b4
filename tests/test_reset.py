"""A container judges another candidate only after its harness has reset it and proved it clean.

Real containers of an example image: state is planted as the unprivileged test user in every
place it can reach (the tree, ignored files included, scratch directories, its home, processes
that hide), then the harness's reset must leave the container indistinguishable from a new one
-- or, where it cannot undo something, say so, and the session supply must throw it away.
"""

from __future__ import annotations

import pytest

from swe_monkeys.sandbox.docker_sandbox import Limits
from swe_monkeys.sandbox.session import CleanSessions, HarnessSession
from swe_monkeys.swebench.runner import CANDIDATE_HARNESS

pytestmark = [pytest.mark.docker]

# The state of a container, as root sees it: every path outside /proc and /sys with its type,
# mode and owner (and a file's size), every task with its uids, System V IPC objects.
SNAPSHOT = r"""
import os, stat
out = []
for top, dirs, files in os.walk("/"):
    if top in ("/proc", "/sys") or top.startswith(("/proc/", "/sys/", "/dev/pts")):
        dirs[:] = []
        continue
    for name in sorted(dirs + files):
        p = os.path.join(top, name)
        if p.startswith("/opt/swe-monkeys") or "/__pycache__/" in p and p.startswith("/usr/lib"):
            continue
        st = os.lstat(p)
        size = st.st_size if stat.S_ISREG(st.st_mode) else 0
        out.append("%s %o %d:%d %d" % (p, st.st_mode, st.st_uid, st.st_gid, size))
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            status = open("/proc/%s/status" % pid).read()
        except OSError:
            continue
        uid = [l for l in status.splitlines() if l.startswith("Uid:")][0].split()[1]
        if uid != "0":
            out.append("task %s uid %s" % (pid, uid))
for kind in ("shm", "sem", "msg"):
    out += ["ipc %s %s" % (kind, l.split()[1]) for l in open("/proc/sysvipc/" + kind).readlines()[1:]]
print("\n".join(sorted(out)))
"""

PLANT = r"""
import os, subprocess, time
for top, dirs, _ in os.walk("/testbed"):
    dirs[:] = [d for d in dirs if d != ".git"]
    if os.access(top, os.W_OK):
        open(os.path.join(top, "conftest.py"), "w").write("planted\n")
for where in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/testbed/tests"):
    os.makedirs(os.path.join(where, ".hidden/deeper"), exist_ok=True)
    open(os.path.join(where, ".hidden/deeper/sitecustomize.py"), "w").write("planted\n")
    os.chmod(os.path.join(where, ".hidden/deeper"), 0)
    os.chmod(os.path.join(where, ".hidden"), 0)
    os.mkfifo(os.path.join(where, "fifo"))
os.symlink("/tmp/.hidden", "/testbed/link_out")
os.makedirs("/testbed/build/lib", exist_ok=True)
open("/testbed/x-1.0.dist-info", "w").write("ignored by git\n")
open("/dev/mqueue/planted", "w").close() if os.access("/dev/mqueue", os.W_OK) else None
# processes that hide: a double-forked daemon in its own session, a stopped one
subprocess.Popen(["setsid", "sh", "-c", "trap '' TERM HUP; while :; do touch /tmp/replant; sleep 0.05; done"],
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
p = subprocess.Popen(["sleep", "600"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.kill(p.pid, 19)
time.sleep(0.3)
"""


def _session(docker_client, image):
    session = HarnessSession(docker_client, image, Limits(), CANDIDATE_HARNESS).start()
    assert session.request(CANDIDATE_HARNESS.ready, 300)["ok"]
    return session


def _snapshot(session) -> str:
    res = session.sandbox.exec(["/usr/bin/python3", "-c", SNAPSHOT], timeout=120)
    assert res.exit_code == 0, res.output
    return res.output


def _as_user(session, code: str, user: str = "swe") -> None:
    res = session.sandbox.exec(["/opt/venv/bin/python", "-c", code], timeout=120, user=user)
    assert res.exit_code == 0, res.output


def test_reset_leaves_the_container_as_a_new_one(docker_client, images, no_leftover_containers):
    with _session(docker_client, images["calc"]) as fresh, _session(docker_client, images["calc"]) as used:
        before = _snapshot(used)
        assert before == _snapshot(fresh)  # two new containers look alike
        _as_user(used, PLANT)
        planted = _snapshot(used)
        assert "task" in planted and "/testbed/calc/conftest.py" in planted and "/tmp/.hidden" in planted
        reply = used.request({"op": "reset"}, 300)
        assert reply["ok"] and reply["clean"], reply
        assert _snapshot(used) == before


def test_reset_undoes_a_judged_candidate(docker_client, images, examples, no_leftover_containers):
    """prepare + run (the candidate's patch, the test patch, sealed paths, bytecode) and back."""
    from swe_monkeys.swebench.rules import REVERT_RULES
    from swe_monkeys.swebench.runner import test_patch_files

    inst = examples["calc"].instance
    with _session(docker_client, images["calc"]) as session:
        before = _snapshot(session)
        for patch in (examples["calc"].candidates["partial"], inst.patch):
            prep = session.request({"op": "prepare", "patch": patch, "test_patch": inst.test_patch,
                                    "test_files": test_patch_files(inst),
                                    "revert_patterns": [list(r) for r in REVERT_RULES]}, 300)
            assert prep["stage"] == "prepared", prep
            run = session.request({"op": "run", "cmd": "pytest -rA -p no:cacheprovider", "args": ["tests"],
                                   "env": {}, "timeout": 120, "output_cap": 1 << 20, "user": "swe",
                                   "path": "/opt/venv/bin:/usr/bin:/bin", "pytest": True, "guard": True}, 300)
            assert run["ok"] and run["guard"] == "ok", run
            reply = session.request({"op": "reset"}, 300)
            assert reply["clean"], reply
            assert _snapshot(session) == before


@pytest.mark.parametrize("what, user, plant", [
    ("written: /home/swe/.profile", "swe", "open('/home/swe/.profile', 'a').write('export X=1\\n')"),
    ("System V IPC shm", "swe", "import ctypes; ctypes.CDLL('libc.so.6').shmget(0x5EED, 4096, 0o1666)"),
    # what root's tools would leave if one ever wrote through a candidate's symlink: a start-up hook
    ("changed: /opt/venv/lib/python3.11/site-packages", "root",
     "open('/opt/venv/lib/python3.11/site-packages/zz_escape.pth', 'w').write('import os\\n')"),
])
def test_reset_refuses_what_it_cannot_undo(docker_client, images, no_leftover_containers, what, user, plant):
    with _session(docker_client, images["calc"]) as session:
        _as_user(session, plant, user)
        reply = session.request({"op": "reset"}, 300)
        assert reply["ok"] and reply["clean"] is False
        assert any(d.startswith(what) for d in reply["dirty"]), reply["dirty"]


def test_a_container_is_reused_only_when_clean(docker_client, images, no_leftover_containers):
    pool = CleanSessions(lambda: HarnessSession(docker_client, images["calc"], Limits(), CANDIDATE_HARNESS))
    try:
        used = set()
        for _ in range(6):  # at most two containers, each reset while the other is out
            session = pool.take()
            used.add(session.sandbox.container.id)
            pool.give_back(session)
        assert len(used) <= 2 and pool.started <= 2 and pool.reused >= 4
        session = pool.take()
        dirty = session.sandbox.container.id
        _as_user(session, "open('/home/swe/.bashrc', 'a').write('# planted\\n')")
        pool.give_back(session)
        for _ in range(4):  # the written one never comes back
            session = pool.take()
            assert session.sandbox.container.id != dirty
            pool.give_back(session)
        assert any("written: /home/swe/.bashrc" in d for d in pool.dirty), pool.dirty
    finally:
        pool.close()


PLANT_FOR_THE_SECOND_RUN = '''

import os as _os
# hostile: planted during the FAIL_TO_PASS run, to mask this candidate's broken PASS_TO_PASS test in
# its full run (pytest loads tests/conftest.py before any test module imports this package)
for _where, _text in (("/testbed/tests/conftest.py", "import pytest\\n\\n@pytest.hookimpl(hookwrapper=True)\\n"
                       "def pytest_runtest_makereport(item, call):\\n    outcome = yield\\n"
                       "    outcome.get_result().outcome = 'passed'\\n"), ("/tmp/sitecustomize.py", "")):
    try:
        open(_where, "a").write(_text)
    except OSError:
        pass
'''


def test_fail_fast_second_run_sees_nothing_of_the_first(docker_client, images, examples, no_leftover_containers):
    """Between one candidate's FAIL_TO_PASS run and its full run, what its first run planted is
    gone: a fix that breaks a PASS_TO_PASS test and plants a force-pass conftest is unresolved for
    that test, not rescued (nor caught only by the guard). Fail fast is forced on, as on a long suite."""
    from dataclasses import replace

    from swe_monkeys.paths import PROJECT_ROOT
    from swe_monkeys.swebench.edits import unified_diff
    from swe_monkeys.swebench.runner import CandidateRunner
    from swe_monkeys.swebench.spec import load_spec

    example = examples["calc"]
    inst, spec = example.instance, load_spec(example.instance.repo, example.instance.version)
    init = "calc/__init__.py"
    base = (PROJECT_ROOT / "swe_monkeys/examples/calc/base" / init).read_text()
    hostile = example.candidates["breaks_p2p"] + unified_diff({init: base}, {init: base + PLANT_FOR_THE_SECOND_RUN})
    runner = CandidateRunner(docker_client, images["calc"], Limits())
    try:
        _, gold = runner.judge_gold(inst, spec)
        forced = replace(gold, seconds={"first": 0.01, "full": 10.0})
        assert forced.fail_fast_agrees(inst) and forced.fail_fast_pays()
        verdicts = list(runner.judge_many(inst, spec, [hostile, example.candidates["breaks_p2p"],
                                                       example.candidates["wrong"]], forced, fail_fast=True))
    finally:
        runner.close()
    planted, plain, wrong = verdicts
    assert planted.status.value == "unresolved" and "PASS_TO_PASS" in planted.reason, planted.reason
    assert "guard" not in planted.reason and not planted.reason.startswith("fail fast"), planted.reason
    assert plain.reason == planted.reason  # the same verdict as the candidate without the plant
    assert wrong.status.value == "unresolved" and wrong.reason.startswith("fail fast")
