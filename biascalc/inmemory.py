"""Labels held in memory (lists, NumPy, pandas, polars, Arrow) -> an Arrow table.

What is not a collection of labels is refused at once, with a one-line ``DataError``
naming what is read (:data:`ACCEPTED`): a set (one of each value, in no order: the
counts are gone), a path (``compute_bias_from_file`` reads files), an object that holds
no values.  An iterator (a generator, ``map``, ``iter(...)``) is read once, in order,
as the list it yields.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Set, Sized
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ACCEPTED", "plain_values", "to_table", "unsupported", "weight_array"]

#: What the in-memory API reads, for the message when it is given something else.
ACCEPTED = (
    "NumPy arrays, lists or tuples, pandas or polars Series and DataFrames, Arrow arrays "
    "and tables, a datasets.Dataset, torch or JAX arrays (anything with __array__ or "
    "__dlpack__), a dict of columns, or an iterator of labels; read files with "
    "compute_bias_from_file"
)
#: Libraries whose objects :func:`to_table` takes apart itself.
_TABLE_LIBRARIES = frozenset({"pyarrow", "pandas", "polars", "datasets"})


def to_table(y: Any) -> pa.Table:
    """Labels in memory -> an Arrow table with one column per target."""
    return _decode_bytes(_to_table(_plain_labels(y)))


def _to_table(y: Any) -> pa.Table:
    import pyarrow as pa

    if isinstance(y, pa.Table):
        return y
    if isinstance(y, pa.RecordBatch):
        return pa.Table.from_batches([y])
    if isinstance(y, pa.Array | pa.ChunkedArray):
        return pa.table({"y": y})
    module = type(y).__module__.split(".")[0]
    if module == "pandas":
        import pandas as pd

        if isinstance(y, pd.DataFrame):
            return pa.Table.from_pandas(y, preserve_index=False).rename_columns(
                [str(c) for c in y.columns]
            )
        if isinstance(y, pd.Series):
            return pa.table({str(y.name) if y.name is not None else "y": pa.Array.from_pandas(y)})
    if module == "polars" and (hasattr(y, "to_arrow") or hasattr(y, "collect")):
        if hasattr(y, "collect") and not hasattr(y, "to_arrow"):  # a LazyFrame
            y = y.collect()  # every column is a target: select() the labels first
        return _to_table(y.to_arrow())
    if module == "datasets" and hasattr(y, "data") and hasattr(y.data, "table"):
        # A Hugging Face Dataset: its Arrow table keeps the features (ClassLabel names) in
        # the schema metadata, which readers.declared_classes reads.  After select(),
        # filter() or shuffle() the rows are an indices mapping over that table: apply it.
        if getattr(y, "_indices", None) is not None:
            y = y.flatten_indices()
        return _to_table(y.data.table)
    if isinstance(y, np.ndarray) and y.ndim == 2:
        return pa.table({f"y{j}": _array(y[:, j]) for j in range(y.shape[1])})
    if isinstance(y, np.ndarray) and y.ndim != 1:
        raise DataError(f"labels must be 1-D or 2-D, not {y.ndim}-D")
    return pa.table({"y": _array(y)})


def _array(values: Any) -> pa.Array:
    import pyarrow as pa

    if isinstance(values, np.ndarray):
        if values.dtype.kind == "O":
            values = values.tolist()
        else:
            return pa.array(values, from_pandas=True)
    try:
        return pa.array(list(values), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(f"labels must all be numbers, all text or all booleans ({exc})") from None


def _plain_labels(y: Any) -> Any:
    """Framework tensors as NumPy; containers that are not label sequences refused."""
    if isinstance(y, Mapping):
        if y and all(_is_column(v) for v in y.values()):
            import pyarrow as pa

            return pa.table({str(k): _array(v) for k, v in y.items()})  # columns by name
        scalars = bool(y) and not any(_is_column(v) for v in y.values())
        raise DataError(
            ("labels are a dict of single values" if scalars else "labels are a dict")
            + "; for class counts use compute_bias_from_counts({label: count}), for "
            "several target columns pass {name: values} (equal-length columns) or a DataFrame"
        )
    return plain_values(y)


def plain_values(y: Any, what: str = "labels") -> Any:
    """``y`` as something :func:`to_table` (or ``numpy.asarray``) reads, or a one-line
    ``DataError`` saying what is read instead.

    Framework arrays (torch, JAX, ``__array__``, DLPack) become NumPy; an iterator is read
    into a list, once; a set, a path, a single value or an object that holds no values is
    refused.

    >>> plain_values(x * 2 for x in range(3))
    [0, 2, 4]
    >>> plain_values({"a", "b"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    biascalc.errors.DataError: labels are a set, which keeps one of each value in no order: ...
    """
    from ._tensors import is_framework_array, to_host

    if is_framework_array(y):
        y = to_host(y, what)
    if y is None:
        raise DataError(f"{what} are None; pass a sequence or an array of {what}")
    if isinstance(y, str | bytes | bytearray):
        raise DataError(
            f"{what} must be a sequence of values, not a single "
            f"{'string' if isinstance(y, str) else 'bytes object'}"
            + ("; read a file with compute_bias_from_file" if isinstance(y, str) else "")
        )
    if (isinstance(y, np.ndarray) and y.ndim == 0) or isinstance(y, bool | int | float | complex):
        raise DataError(
            f"{what} must be a sequence of values, not the single value {y!r}; "
            "for a known positive rate use compute_bias_from_prior"
        )
    module = type(y).__module__.split(".")[0]
    if isinstance(y, np.ndarray) or (
        module in _TABLE_LIBRARIES and (isinstance(y, Sized) or hasattr(y, "collect"))
    ):
        return y  # to_table takes these apart (a LazyFrame is collected)
    if module == "datasets" and isinstance(y, Iterable):
        raise DataError(
            f"{what} are a streaming {type(y).__name__}, read row by row as dicts; pass "
            "the label column, e.g. [row['label'] for row in ds], or a datasets.Dataset"
        )
    if isinstance(y, Mapping):  # a tokenizer's BatchEncoding, for one
        keys = ", ".join(repr(k) for k in list(y)[:3]) + (", ..." if len(y) > 3 else "")
        first = f"y[{next(iter(y))!r}]" if y else "a column"
        raise DataError(f"{what} are a dict (keys {keys}); pass one of its values, e.g. {first}")
    if isinstance(y, Set):
        raise DataError(
            f"{what} are a set, which keeps one of each value in no order: pass one label "
            "per sample (a list or an array); classes= names the classes"
        )
    if isinstance(y, os.PathLike):
        raise DataError(f"{what} are a path; read files with compute_bias_from_file(path, target)")
    if isinstance(y, Iterator) or (isinstance(y, Iterable) and not isinstance(y, Sized)):
        return list(y)  # a generator or another one-pass iterable: read once, in order
    if isinstance(y, Iterable) and isinstance(y, Sized):
        return y  # a sequence: list, tuple, range, array.array, deque, dict.values()
    raise DataError(unsupported(y, what))


def unsupported(y: object, what: str = "labels") -> str:
    """The message for an input of a type that holds no labels."""
    return f"{what} of type {type(y).__name__} are not supported; pass {ACCEPTED}"


def _is_column(values: Any) -> bool:
    return not isinstance(values, str | bytes | dict) and hasattr(values, "__len__")


def _decode_bytes(table: pa.Table) -> pa.Table:
    """Bytes labels (``[b"cat", ...]``, NumPy ``S`` arrays) are text when valid UTF-8."""
    import pyarrow as pa

    for i, field in enumerate(table.schema):
        if not (pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type)):
            continue
        try:
            text = table.column(i).cast(pa.string())
        except pa.ArrowInvalid:
            raise DataError(
                f"labels {field.name!r} are bytes that are not UTF-8 text; decode them "
                "(for example [b.decode('latin-1') for b in labels])"
            ) from None
        table = table.set_column(i, field.name, text)
    return table


def weight_array(sample_weight: Any, n_rows: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    """``sample_weight`` (list, NumPy, pandas, tensors) checked: one finite weight >= 0 per row.

    Messages name it ``sample_weight`` and give the row index, as the caller wrote them.
    """
    from ._tensors import is_framework_array, to_host

    if is_framework_array(sample_weight):
        sample_weight = to_host(sample_weight, "sample_weight")
    if isinstance(sample_weight, Iterator):
        sample_weight = list(sample_weight)  # a generator: read once, like the labels
    if isinstance(sample_weight, str | bytes | dict) or np.ndim(sample_weight) == 0:
        raise DataError(
            f"sample_weight must hold one number per row, not {type(sample_weight).__name__}"
        )
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"sample_weight must hold numbers ({exc})") from None
    if w.ndim == 2 and 1 in w.shape:
        w = w.reshape(-1)  # a column or row vector
    if w.ndim != 1 or w.shape[0] != n_rows:
        raise DataError(f"sample_weight has shape {w.shape} but y has {n_rows} rows")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "missing (NaN)" if np.isnan(w[i]) else repr(float(w[i]))
        raise DataError(
            f"sample_weight[{i}] is {what}; sample weights must be finite and non-negative"
        )
    return w
