"""The command line: `slugkit "Some Title"` prints its slug; several arguments give several lines."""

import argparse
import sys

from slugkit.core import slugify


def main(argv=None, stdout=None):
    parser = argparse.ArgumentParser(prog="slugkit", description="Print URL-safe slugs.")
    parser.add_argument("text", nargs="+")
    parser.add_argument("--separator", default="-")
    parser.add_argument("--max-length", type=int, default=None)
    parser.add_argument("--word-boundary", action="store_true")
    parser.add_argument("--keep-case", action="store_true")
    args = parser.parse_args(argv)
    stdout = stdout or sys.stdout
    for text in args.text:
        slug = slugify(text, separator=args.separator, lowercase=not args.keep_case,
                       max_length=args.max_length, word_boundary=args.word_boundary)
        stdout.write(slug + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
