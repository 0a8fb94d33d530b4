"""What every command shares at its edges: one lifecycle handler and one way to fail.

`install()` runs in the root callback, before any command: SIGINT and SIGTERM both stop a command
like Ctrl-C (so model servers it started are stopped by their context managers; SIGINT included:
a shell starts background jobs with it ignored), and the Docker containers this process started
are removed on exit, on either signal, and -- after a SIGKILL -- by the next run (with `--ray`,
its verification actors are told to remove theirs). It imports
nothing heavy: the sandbox module is only asked when it was loaded.

`fail()` turns the project's own errors (errors.SweMonkeysError) into one line on stderr and exit
code 1 (2 for an errors.UsageError); what is done stays recorded. Any other exception is a bug and
keeps its traceback. `usage_now(message, option)` is the usage error a command finds in its own
options (a combination typer cannot check: `verify` with neither PREDICTIONS nor --run).
`interrupted(kept)` turns Ctrl-C / SIGTERM into one line saying what the run kept and that the same
command continues it, with exit code 130 (typer's own 130 said nothing).
`OneLineUsage`, the group class of the command line, prints what typer refuses (a value out of its
range, a missing file, an unknown option) the same way, one `error: ...` line, with exit code 2:
a script can tell a command line it got wrong from a command that failed.
"""

from __future__ import annotations

import atexit
import errno
import signal
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

import typer
from typer.core import TyperGroup

from swe_monkeys.errors import SweMonkeysError, UsageError

try:  # typer 0.29 carries its own click; earlier versions use the click package
    from typer._click.exceptions import UsageError as ClickUsageError
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover
    from click import get_current_context
    from click.exceptions import UsageError as ClickUsageError

# Exit codes, the same for every command (README "Exit codes"; the epilog of `swe-monkeys --help`).
# 0: done.
ERROR = 1  # one `error: ...` line (bad input, no engine, ...), or work left that the same command retries
USAGE = 2  # one `error: ...` line: the command line itself is wrong (typer's code for it)
NONE_RESOLVED = 3  # solve: candidates were verified and none resolved -- an answer, not an error
INTERRUPTED = 130  # Ctrl-C, SIGTERM (128 + SIGINT, as shells report it): what was done is kept

_installed = [False]


def _remove_containers() -> None:
    sandbox = sys.modules.get("swe_monkeys.sandbox.docker_sandbox")
    if sandbox is not None:
        sandbox.remove_all()
    cluster = sys.modules.get("swe_monkeys.cluster.verifiers")  # --ray: the actors' containers too
    if cluster is not None:
        cluster.interrupt_all()


def _stop(signum: int, frame: object) -> None:  # noqa: ARG001
    _remove_containers()
    raise KeyboardInterrupt


def install() -> None:
    """Install the handlers once per process (the main thread only: signals are delivered there)."""
    if _installed[0]:
        return
    _installed[0] = True
    atexit.register(_remove_containers)
    try:
        signal.signal(signal.SIGINT, _stop)
        signal.signal(signal.SIGTERM, _stop)
    except ValueError:  # not the main thread (an embedding application): atexit still cleans up
        pass


@contextmanager
def fail() -> Iterator[None]:
    """Known errors become `error: ...` on stderr and exit code 1 (a UsageError: 2)."""
    try:
        yield
    except SweMonkeysError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(USAGE if isinstance(exc, UsageError) else ERROR) from None
    except OSError as exc:  # a log or export file meeting a full disk: what was recorded is kept
        if exc.errno != errno.ENOSPC:
            raise
        typer.echo(f"error: no space left on the device ({exc.filename or exc}): what was recorded is kept; make "
                   "room and run the same command to continue", err=True)
        raise typer.Exit(ERROR) from None


@contextmanager
def interrupted(kept: Callable[[], str]) -> Iterator[None]:
    """Ctrl-C or SIGTERM (`_stop` makes both a KeyboardInterrupt): `interrupted: <kept()>; run the
    same command to continue` on stderr, exit code 130. `kept()` reads the run after the command's
    own context managers have closed it (and stopped any model server it started)."""
    try:
        yield
    except KeyboardInterrupt:
        typer.echo(f"interrupted: {kept()}; run the same command to continue", err=True)
        raise typer.Exit(INTERRUPTED) from None


def fail_now(message: str) -> None:
    """A failure the command finds itself: `error: ...` on stderr, exit code 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(ERROR)


def usage_now(message: str, option: str = "") -> None:
    """A usage error the command finds in its options: `error: Invalid value for OPTION: message (see
    '... --help')` (without OPTION: `error: message (see ...)`) on stderr, exit code 2, as typer's own."""
    ctx = get_current_context(silent=True)  # the command's own: the line names its --help
    raise typer.BadParameter(message, ctx, param_hint=option) if option else ClickUsageError(message, ctx)


@contextmanager
def _usage_in_one_line() -> Iterator[None]:
    try:
        yield
    except ClickUsageError as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":  # no arguments: the help was printed, as asked
            raise
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        typer.echo(f"error: {exc.format_message()}{where}", err=True)
        raise typer.Exit(USAGE) from None


class OneLineUsage(TyperGroup):
    """A command group whose usage errors, its own and its commands', are one `error: ...` line
    on stderr and exit code 2 (typer's default is a framed panel under the usage text)."""

    def parse_args(self, ctx, args):  # noqa: ANN001, ANN201 (click's signature)
        with _usage_in_one_line():
            return super().parse_args(ctx, args)

    def invoke(self, ctx):  # noqa: ANN001, ANN201
        with _usage_in_one_line():
            return super().invoke(ctx)
