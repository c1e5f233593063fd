"""Arrow columns -> what the statistics count: label kinds, parsed numbers, weights.

The checks here name what is wrong and where (the line of the first bad value), in one
line, as everything biascalc says about the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from .._arrow import to_numpy
from ..errors import DataError
from .lists import is_list_type
from .moments import FloatArray

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Kind"]

Kind = Literal["null", "bool", "integer", "float", "string", "list"]


def _merge_kinds(name: str, a: Kind, b: Kind) -> Kind:
    if a == b or b == "null":
        return a
    if a == "null":
        return b
    if {a, b} == {"integer", "float"}:
        return "float"
    raise DataError(
        f"column '{name}' holds {a} values in one part of the input and {b} values in another"
    )


def _kind_of(arrow_type: pa.DataType) -> Kind:
    import pyarrow as pa

    if pa.types.is_null(arrow_type):
        return "null"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "float"
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
    ):
        return "string"
    if pa.types.is_dictionary(arrow_type):
        return _kind_of(arrow_type.value_type)
    if is_list_type(arrow_type):
        return "list"
    if pa.types.is_struct(arrow_type) or pa.types.is_map(arrow_type):
        what = "a struct" if pa.types.is_struct(arrow_type) else "a map"
        raise DataError(
            f"the label column holds {what} per row; biascalc reads numbers, text, booleans, "
            "a list of labels per row (multilabel) or a fixed-size list of 0/1; select or "
            "flatten the field that holds the labels"
        )
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        raise DataError(
            "the label column holds bytes that are not valid UTF-8; "
            "pass --encoding (for example --encoding latin-1) to say how the file is encoded"
        )
    raise DataError(f"labels of type {arrow_type} are not supported; use numbers, text or booleans")


@dataclass(frozen=True)
class _Lines:
    """The line of a batch's row ``i`` in its file: after ``start`` rows, or at ``rows[i]``;
    the header is line 1."""

    start: int
    rows: npt.NDArray[np.int64] | None = None

    def __call__(self, i: int) -> int:
        return (int(self.rows[i]) if self.rows is not None else self.start + i) + 2


def _as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _parse_numbers(name: str, arr: pa.Array, line: _Lines) -> pa.Array:
    """Cast text labels to float64, naming the first value that is not a number."""
    import pyarrow as pa

    try:
        return arr.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for i, text in enumerate(arr.to_pylist()):
        if text is None:
            continue
        try:
            float(text)
        except ValueError:
            raise DataError(
                f"column '{name}' is a regression target but holds the text {text!r} on line "
                f"{line(i)}; remove or fix that value, or choose a classification --task"
            ) from None
    return pa.array([None if t is None else float(t) for t in arr.to_pylist()], pa.float64())


def _weights(name: str, column: pa.Array | pa.ChunkedArray, line: _Lines) -> FloatArray:
    import pyarrow as pa

    arr = _as_array(column)
    if _kind_of(arr.type) == "string":
        arr = _parse_numbers(name, arr, line)
    if not (
        pa.types.is_integer(arr.type)
        or pa.types.is_floating(arr.type)
        or pa.types.is_boolean(arr.type)
        or pa.types.is_decimal(arr.type)
    ):
        raise DataError(f"weight column '{name}' must hold numbers, not {arr.type}")
    if arr.null_count:
        i = arr.to_pylist().index(None)
        raise DataError(
            f"weight column '{name}' is missing (empty, NA or NaN) on line {line(i)}; "
            "every row needs a weight"
        )
    if pa.types.is_decimal(arr.type):
        arr = arr.cast(pa.float64())
    w = np.asarray(to_numpy(arr), dtype=np.float64)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"weight column '{name}' has the value {w[i]} on line {line(i)}; "
            "sample weights must be finite and non-negative"
        )
    return w
