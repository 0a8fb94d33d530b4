"""The harness names entry-point plugins with `-p` in the form the installed pytest resolves:
entry-point names for pytest >= 4.5, the modules they load for older pytest, none where pytest
(3.3: astropy 1.3 and 2.0) autoloads them anyway -- there `-p hypothesispytest` was imported as a
module and every run ended before a test ran."""

import importlib.util
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "harness"


def _pytest_setup():
    spec = importlib.util.spec_from_file_location("pytest_setup_under_test", HARNESS / "pytest_setup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _site(tmp_path, pytest_file, pytest_text):
    site = tmp_path / "site-packages"
    (site / pytest_file).parent.mkdir(parents=True)
    (site / pytest_file).write_text(pytest_text)
    meta = site / "hypothesis-3.66.dist-info"
    meta.mkdir()
    (meta / "entry_points.txt").write_text(
        "[console_scripts]\nx = y:z\n\n[pytest11]\nhypothesispytest = hypothesis.extra.pytestplugin\n")
    egg = site / "pytest_cov-2.5.egg-info"
    egg.mkdir()
    (egg / "entry_points.txt").write_text("[pytest11]\npytest_cov = pytest_cov.plugin:plugin_object\n")
    return [str(site)]


AUTOLOAD_SWITCH = "if not os.environ.get('PYTEST_DISABLE_PLUGIN_AUTOLOAD'):\n    load()\n"


@pytest.mark.parametrize("loader, expected", [
    # pytest 3.7-4.4: autoloading can be turned off, `-p` imports a module
    ("def import_plugin(self, modname):\n    __import__(modname)\n",
     ["hypothesis.extra.pytestplugin", "pytest_cov.plugin"]),
    # pytest >= 4.5: `-p` resolves entry-point names
    ("def import_plugin(self, modname, consider_entry_points=False):\n    pass\n", ["hypothesispytest", "pytest_cov"]),
])
def test_plugins_are_named_as_the_installed_pytest_resolves_them(tmp_path, loader, expected):
    dirs = _site(tmp_path, "_pytest/config/__init__.py", AUTOLOAD_SWITCH + loader)
    assert _pytest_setup().entry_point_plugins(dirs) == expected


def test_pytest_that_always_autoloads_gets_none(tmp_path):
    """pytest 3.3 (astropy 1.3/2.0) autoloads every entry point; naming one again registers it twice."""
    setup = _pytest_setup()
    dirs = _site(tmp_path, "_pytest/config.py", "def import_plugin(self, modname):\n    __import__(modname)\n")
    assert setup.entry_point_plugins(dirs) == []
