"""The project's one error base class, and its one subclass for a command line that cannot be right.

Every error that means "the input or the environment is not as it must be" (a bad dataset row, a
missing spec, Docker down, an unreachable endpoint, an unknown name) is a `SweMonkeysError`, and
the command line turns exactly these into one-line messages with exit code 1 (cli/lifecycle.py).
A `UsageError` is the same with exit code 2: what was asked cannot be done whatever the files and
the machine hold (a missing or conflicting option, a path given that is not there), so a script
can tell "my command line is wrong" from "the run failed". Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class SweMonkeysError(Exception):
    """A known failure with a message for the user."""


class UsageError(SweMonkeysError):
    """The request itself is wrong (its message names the option); nothing was started."""
