"""Exceptions raised by biascalc.

The library raises these; the CLI maps them to exit codes in one place
(:func:`biascalc._cli_run.run`): :class:`DataError` -> exit 1, :class:`OptionError` -> exit 2.
"""

from __future__ import annotations

__all__ = ["BiascalcError", "ColumnNotFoundError", "DataError", "OptionError"]


class BiascalcError(Exception):
    """Base class of every error biascalc raises on purpose."""


class DataError(BiascalcError, ValueError):
    """The input or its values cannot give a result (missing file, bad values, no rows)."""


class ColumnNotFoundError(DataError, KeyError):
    """A requested column is not in the input."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class OptionError(BiascalcError, ValueError):
    """The options do not fit together or do not fit the task (a usage error)."""
