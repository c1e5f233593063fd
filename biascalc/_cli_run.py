"""How the command runs and exits: library errors -> one-line messages and exit codes.

The one place where errors meet the terminal (pypa/build's habit): :func:`run` maps
``DataError`` -> exit 1 and ``OptionError`` -> exit 2 with a one-line, capped
``Error: ...`` (a traceback only with ``--debug``); :func:`run_command` is the console
entry point's body: Ctrl-C -> exit 130, a closed pipe (``biascalc ... | head``) -> a quiet
exit 0, a failed write of the output (``> /dev/full``) -> one line and exit 1.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

import click

__all__ = ["MESSAGE_LIMIT", "OptionFailure", "PipeClosed", "one_line", "run", "run_command"]


class PipeClosed(Exception):
    """Standard output was closed by its reader (``biascalc ... | head``)."""


class OptionFailure(click.ClickException):
    """A usage error shown as one line (click's UsageError adds the usage text)."""

    exit_code = 2


#: Characters of a message shown at most (a type or a schema can be megabytes long).
MESSAGE_LIMIT = 1000


def one_line(message: str) -> str:
    """Names and values from the data may hold line breaks; a message stays on one line,
    and short (``MESSAGE_LIMIT``)."""
    from .readers import escaped

    text = escaped(message)
    if len(text) > MESSAGE_LIMIT:
        # The start says what is wrong, the end what to do: keep both.
        head, tail = MESSAGE_LIMIT * 2 // 3, MESSAGE_LIMIT // 4
        skipped = len(text) - head - tail
        text = f"{text[:head]} ... ({skipped:,} more characters) ... {text[-tail:]}"
    return text


def run(action: Callable[[], None], debug: bool) -> None:
    """Call ``action``, mapping library errors to one-line messages and exit codes."""
    import traceback

    from .errors import DataError, OptionError

    try:
        action()
    except OptionError as exc:
        if debug:
            traceback.print_exc()
        raise OptionFailure(one_line(str(exc))) from None
    except DataError as exc:
        if debug:
            traceback.print_exc()
        raise click.ClickException(one_line(str(exc))) from None
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except KeyboardInterrupt:
        raise click.Abort from None  # click would print a blank line for KeyboardInterrupt
    except BrokenPipeError:
        # The reader of our output went away: main() exits quietly.  (Not as an OSError:
        # click's own handler would turn it into exit 1.)
        raise PipeClosed from None
    except MemoryError:
        raise click.ClickException("out of memory; see the README on large inputs") from None
    except OSError as exc:
        if debug:
            traceback.print_exc()
        raise click.ClickException(
            f"{exc.strerror or exc}" + (f": '{exc.filename}'" if exc.filename else "")
        ) from None
    except Exception as exc:
        if debug:
            raise
        raise click.ClickException(
            f"unexpected {type(exc).__name__}: {exc}; this is a bug in biascalc, please report it "
            "(run again with --debug for the traceback)"
        ) from None


def run_command(command: click.Command, argv: Sequence[str] | None) -> int:
    """Run ``command`` on ``argv`` (None: the process's arguments) -> the exit code.

    Run as the console script (no ``argv``), Ctrl-C leaves at once with exit 130 (see
    :mod:`biascalc._signals`).  Output that cannot be written is one line: a closed pipe
    (``biascalc ... | head``) ends quietly, a full disk (``> /dev/full``) is an error.
    """
    console = argv is None
    if console:
        from . import _signals

        _signals.watch()
        _signals.leave(_main_guarded(command, argv, console))
    return _main_guarded(command, argv, console)


def _main_guarded(command: click.Command, argv: Sequence[str] | None, console: bool) -> int:
    """:func:`_main` with interrupts and failed writes of the output mapped to exit codes."""
    try:
        code = _main(command, argv)
        sys.stdout.flush()  # here, not at exit, so that a failed write is reported
    except (click.Abort, KeyboardInterrupt):
        if console:
            from . import _signals

            _signals.abort()
        click.echo("Aborted.", err=True)
        return 130
    except (BrokenPipeError, PipeClosed):
        # The reader of our stdout went away (biascalc ... | head): not an error of ours.
        _silence_stdout()
        return 0
    except OSError as exc:
        _silence_stdout()
        click.echo(f"Error: cannot write the output: {exc.strerror or exc}", err=True)
        return 1
    return code


def _main(command: click.Command, argv: Sequence[str] | None) -> int:
    try:
        command.main(
            args=list(argv) if argv is not None else None,
            prog_name="biascalc",
            standalone_mode=False,
        )
    except click.UsageError as exc:
        # click would print the usage line and a hint first: errors are one line here.
        message = one_line(exc.format_message()).rstrip(".")
        click.echo(f"Error: {message}; see 'biascalc --help'", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:
        if exc.code == 1 and _stdout_closed():
            return 0  # click's answer to a closed pipe (EPIPE) is exit 1: ours is quiet
        raise
    return 0


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone (poll reports an error on it)."""
    import select

    try:
        poll = select.poll()
        poll.register(sys.__stdout__.fileno() if sys.__stdout__ else 1, select.POLLOUT)
        return any(event & select.POLLERR for _, event in poll.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the exit's flush of what is left cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # not a real file (a test's capture)
        pass
