"""slugkit: readable, URL-safe slugs from arbitrary text."""

from slugkit.core import slugify
from slugkit.translit import transliterate
from slugkit.truncate import truncate
from slugkit.unique import UniqueSlugger

__all__ = ["slugify", "transliterate", "truncate", "UniqueSlugger"]
__version__ = "1.0.0"
