"""NumPy -> Arrow without ``pyarrow.array``.

``pyarrow.array`` imports pandas on first use (to check for pandas inputs), which costs
about 0.2 s of start-up and 40 MiB.  Building arrays from buffers does not, and is
zero-copy for numeric data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["compute", "from_numpy", "text_array", "to_numpy", "validity", "without_views"]


def from_numpy(values: np.ndarray[Any, Any]) -> pa.Array:
    """A 1-D numeric or boolean NumPy array as an Arrow array with no nulls."""
    import pyarrow as pa

    a = np.ascontiguousarray(values)
    if a.dtype == np.bool_:
        bits = np.packbits(a, bitorder="little")
        return pa.Array.from_buffers(pa.bool_(), a.size, [None, pa.py_buffer(bits)])
    return pa.Array.from_buffers(pa.from_numpy_dtype(a.dtype), a.size, [None, pa.py_buffer(a)])


_FLOATS = {"double": np.float64, "float": np.float32, "halffloat": np.float16}


def _chunk(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


def to_numpy(values: pa.Array | pa.ChunkedArray) -> np.ndarray[Any, Any]:
    """The values of a numeric or boolean Arrow array as NumPy, zero-copy where possible.

    Slots that are null hold unspecified values; combine with :func:`validity`.
    """
    import pyarrow as pa

    arr = _chunk(values)
    n, offset = len(arr), arr.offset
    data = arr.buffers()[1]
    if pa.types.is_boolean(arr.type):
        bits = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        return np.unpackbits(bits, bitorder="little", count=offset + n)[offset:].astype(bool)
    if pa.types.is_null(arr.type):
        return np.full(n, np.nan)
    name = str(arr.type)
    dtype = np.dtype(_FLOATS.get(name, name))
    return np.frombuffer(data, dtype=dtype, count=offset + n)[offset:]


def compute(function: str, *args: Any) -> Any:
    """Call an Arrow compute function by name (``"sort_indices"``, ``"take"``, ...).

    ``import pyarrow.compute`` builds a Python wrapper for each of Arrow's ~300 functions
    (30-50 ms of start-up); the methods ``Array.take``, ``.sort``, ``.dictionary_encode``
    and ``.cast`` import it.  ``pyarrow._compute.call_function``, which those wrappers
    call, loads in 4 ms.
    """
    try:
        from pyarrow._compute import call_function
    except ImportError:  # pragma: no cover - a pyarrow without the private module
        from pyarrow.compute import call_function
    return call_function(function, list(args))


def validity(values: pa.Array | pa.ChunkedArray) -> np.ndarray[Any, Any] | None:
    """A boolean mask of the non-null slots, or None when there are no nulls."""
    arr = _chunk(values)
    if arr.null_count == 0:
        return None
    n, offset = len(arr), arr.offset
    bitmap = arr.buffers()[0]
    if bitmap is None:  # null type: every slot is null
        return np.zeros(n, dtype=bool)
    bits = np.frombuffer(bitmap, dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little", count=offset + n)[offset:].astype(bool)


def text_array(values: list[str]) -> pa.Array:
    """Python strings as an Arrow ``large_string`` array, built from buffers."""
    import pyarrow as pa

    encoded = [v.encode("utf-8") for v in values]
    offsets = np.cumsum([0, *map(len, encoded)], dtype=np.int64)
    return pa.Array.from_buffers(
        pa.large_string(),
        len(encoded),
        [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))],
    )


def without_views(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``string_view`` / ``binary_view`` columns (polars' ``write_ipc``) as text.

    The statistics and the row filter work on Arrow's offset-based text types; the view
    types hold the same values, so the cast changes the layout, not the data.  Bytes
    (``binary_view``) become text when they are valid UTF-8, else plain bytes (which the
    statistics refuse, naming ``--encoding``).  Field and schema metadata are kept.
    """
    import pyarrow as pa

    types = batch.schema.types
    if not any(pa.types.is_string_view(t) or pa.types.is_binary_view(t) for t in types):
        return batch
    arrays = [_plain(column) for column in batch.columns]
    fields = [f.with_type(a.type) for f, a in zip(batch.schema, arrays, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields, batch.schema.metadata))


def _plain(column: pa.Array) -> pa.Array:
    import pyarrow as pa

    if pa.types.is_string_view(column.type):
        return column.cast(pa.large_string())
    if pa.types.is_binary_view(column.type):
        try:
            return column.cast(pa.large_string())  # validates UTF-8
        except pa.ArrowInvalid:
            return column.cast(pa.large_binary())
    return column
