"""Slugs that do not collide with ones already handed out."""

from slugkit.core import slugify


class UniqueSlugger:
    """Remembers the slugs it returned and numbers repeats: "post", "post-2", "post-3"..."""

    def __init__(self, existing=(), **options):
        self.options = options
        self.separator = options.get("separator", "-")
        self.used = set(existing)

    def __call__(self, text):
        base = slugify(text, **self.options) or "n-a"
        slug, number = base, 1
        while slug in self.used:
            number += 1
            slug = f"{base}{self.separator}{number}"
        self.used.add(slug)
        return slug
