"""Numbers written with thousands separators or a decimal comma, as spreadsheets export them.

``1,739.26`` (English), ``1.739,26`` (German, Italian, ...), ``1 739,26`` (French) and
``1'739.26`` (Swiss) all mean 1739.26.  pyarrow reads them as text, and text labels are
classes: a price column would silently become hundreds of classes.  So a text column whose
values all look like such numbers is an error that says what was found and what to pass
(``--thousands`` and ``--decimal``); with those options the separators are removed and
the column is read as numbers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..errors import DataError, OptionError
from ._common import quoted

if TYPE_CHECKING:
    import pyarrow as pa

DECIMALS = (".", ",")
THOUSANDS = (",", ".", " ", "'", "_")
_SAMPLE = 1000
# A number with at least one group of three digits after a separator, as written in the
# two conventions (the separator is the group(1) character; the decimal part is optional).
_POINT_GROUPED = re.compile(r"[+-]?\d{1,3}([, '])\d{3}(?:\1\d{3})*(?:\.\d+)?")
_COMMA_GROUPED = re.compile(r"[+-]?\d{1,3}([. '])\d{3}(?:\1\d{3})*(?:,\d+)?")
_PLAIN_POINT = re.compile(r"[+-]?\d+(?:\.\d+)?")
_PLAIN_COMMA = re.compile(r"[+-]?\d+(?:,\d+)?")


def check_separators(decimal: str | None, thousands: str | None) -> None:
    """Validate ``--decimal`` / ``--thousands`` (an OptionError names what is allowed)."""
    if decimal is not None and decimal not in DECIMALS:
        raise OptionError(f"--decimal takes '.' or ',', not {decimal!r}")
    if thousands is not None and thousands not in THOUSANDS:
        shown = ", ".join(repr(t) for t in THOUSANDS)
        raise OptionError(f"--thousands takes one of {shown}, not {thousands!r}")
    if decimal is not None and decimal == thousands:
        raise OptionError(f"--decimal and --thousands cannot both be {decimal!r}")


def _looks_grouped(values: list[str]) -> tuple[str, str] | None:
    """(thousands, decimal) when every value is a number and some have separators."""
    for grouped, plain, decimal in (
        (_POINT_GROUPED, _PLAIN_POINT, "."),
        (_COMMA_GROUPED, _PLAIN_COMMA, ","),
    ):
        seps = {m.group(1) for v in values if (m := grouped.fullmatch(v))}
        if len(seps) == 1 and all(grouped.fullmatch(v) or plain.fullmatch(v) for v in values):
            return seps.pop(), decimal
    return None


def refuse_grouped_numbers(column: str, name: str, array: pa.Array) -> None:
    """Raise when a text column holds only numbers written with thousands separators."""
    values = [v.strip() for v in array.drop_null().slice(0, _SAMPLE).to_pylist()]
    values = [v for v in values if v]
    found = _looks_grouped(values) if values else None
    if found is None:
        return
    thousands, decimal = found
    example = next(v for v in values if thousands in v)
    options = f"--thousands {_shell(thousands)}" + (" --decimal ," if decimal == "," else "")
    raise DataError(
        f"column {quoted(column)} of {quoted(name)} holds numbers written with a thousands "
        f"separator, such as {example!r}, which would be read as text (one class per "
        f"value); pass {options} to read them as numbers"
    )


def _shell(text: str) -> str:
    return repr(text) if text in (" ", "'") else text


def parse_grouped(array: pa.Array, thousands: str | None, decimal: str) -> pa.Array:
    """Text with separators -> int64 (no decimal part anywhere) or float64; else unchanged.

    Text that is not a number once the separators are removed stays text (a label).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.utf8_trim_whitespace(array)
    if thousands is not None:
        text = pc.replace_substring(text, thousands, "")
    if decimal != ".":
        text = pc.replace_substring(text, decimal, ".")
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    for target in (pa.int64(), pa.float64()):
        try:
            return pc.cast(text, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return array
