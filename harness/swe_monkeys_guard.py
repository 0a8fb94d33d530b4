"""In-container pytest plugin (-p swe_monkeys_guard): vouches that pytest's reporting was not rewired.

A candidate's source code runs inside the pytest process it is judged by, so it can monkeypatch
pytest's internals (e.g. wrap TestReport.from_item_and_call so every report says "passed"); the
log and the exit code are then genuine pytest output. This plugin is imported before any of the
candidate's code, remembers the functions that make and report results, and at the end writes a
line carrying a one-time nonce -- only if none of them was replaced and no plugin that rewrites
reports was registered during the run. The harness counts a run without that line as tampered.

The nonce arrives on a pipe that is read and closed at import, so it is in no file, argument or
environment a candidate can read later. Standard library only; works with pytest 4 to 8.
"""

import importlib
import os

_WATCHED = (
    ("_pytest.reports", "TestReport", "from_item_and_call"),
    ("_pytest.reports", "TestReport", "__init__"),
    ("_pytest.reports", "BaseReport", "passed"),
    ("_pytest.reports", "BaseReport", "failed"),
    ("_pytest.runner", None, "call_and_report"),
    ("_pytest.runner", None, "runtestprotocol"),
    ("_pytest.runner", None, "call_runtest_hook"),
    ("_pytest.runner", None, "pytest_runtest_makereport"),
    ("_pytest.runner", "CallInfo", "from_call"),
    ("_pytest.python", None, "pytest_pyfunc_call"),
    ("_pytest.python", "Function", "runtest"),
    ("_pytest.terminal", "TerminalReporter", "pytest_runtest_logreport"),
    ("_pytest.terminal", "TerminalReporter", "summary_stats"),
    ("_pytest.terminal", "TerminalReporter", "short_test_summary"),
    ("_pytest.main", None, "pytest_runtestloop"),
    ("_pytest.main", "Session", "perform_collect"),
)
_REPORT_HOOKS = ("pytest_runtest_makereport", "pytest_report_teststatus", "pytest_runtest_logreport",
                 "pytest_runtest_protocol", "pytest_terminal_summary", "pytest_sessionfinish")


def _lookup(module, owner, attr):
    try:
        obj = importlib.import_module(module)
        if owner:
            obj = getattr(obj, owner).__dict__
            return obj.get(attr)
        return getattr(obj, attr, None)
    except Exception:
        return None


def _read_nonce():
    fd = os.environ.pop("SWE_MONKEYS_GUARD_FD", None)
    if not fd:
        return None
    try:
        data = os.read(int(fd), 128).decode().strip()
        os.close(int(fd))
        return data or None
    except (OSError, ValueError):
        return None


def _conftests(root):
    """(path -> (mtime, size)) of the conftest.py files present before any candidate code ran."""
    found = {}
    for top, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in (".git", "__pycache__", "node_modules")]
        if "conftest.py" in files:
            path = os.path.join(top, "conftest.py")
            st = os.stat(path)
            found[path] = (st.st_mtime_ns, st.st_size)
    return found


def _trusted_conftest(plugin):
    """A conftest module of the pristine tree (the harness reverted any the candidate made)."""
    path = os.path.realpath(getattr(plugin, "__file__", "") or "")
    try:
        st = os.stat(path)
    except OSError:
        return False
    return _CONFTESTS.get(path) == (st.st_mtime_ns, st.st_size)


_NONCE = _read_nonce()
_OUT = os.dup(1)  # pytest's fd capture has not started yet
_ORIGINAL = [(key, _lookup(*key)) for key in _WATCHED]
_CONFTESTS = _conftests(os.getcwd())
_PLUGINS_AT_START = set()


def pytest_sessionstart(session):
    _PLUGINS_AT_START.update(id(p) for p in session.config.pluginmanager.get_plugins())


def pytest_unconfigure(config):
    if _NONCE is None:
        return  # a nested pytest (pytester) inherited nothing to vouch for
    changed = [".".join(k for k in key if k) for key, original in _ORIGINAL if _lookup(*key) is not original]
    for plugin in config.pluginmanager.get_plugins():
        if (id(plugin) not in _PLUGINS_AT_START and any(hasattr(plugin, h) for h in _REPORT_HOOKS)
                and not _trusted_conftest(plugin)):
            changed.append("plugin %s" % (config.pluginmanager.get_name(plugin),))
    line = "\n@@SWE-MONKEYS-GUARD %s@@\n" % ("ok " + _NONCE if not changed else "tampered: " + ", ".join(changed))
    try:
        os.write(_OUT, line.encode())
    except OSError:
        pass
