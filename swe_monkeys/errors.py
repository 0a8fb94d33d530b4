"""The project's one error base class.

Every error that means "the input or the environment is not as it must be" (a bad dataset row, a
missing spec, Docker down, an unreachable endpoint, an unknown name) is a `SweMonkeysError`, and
the command line turns exactly these into one-line messages with exit code 1 (cli/lifecycle.py).
Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class SweMonkeysError(Exception):
    """A known failure with a message for the user."""
