"""Labels held in memory (lists, NumPy, pandas, polars, Arrow) -> an Arrow table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["to_table", "weight_array"]


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
    if module == "polars":
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
    from ._tensors import is_framework_array, to_host

    if is_framework_array(y):
        y = to_host(y)
    if y is None:
        raise DataError("labels are None; pass a sequence or an array of labels")
    if isinstance(y, str | bytes | bytearray):
        raise DataError(
            "labels must be a sequence of values, not a single "
            f"{'string' if isinstance(y, str) else 'bytes object'}"
        )
    if (isinstance(y, np.ndarray) and y.ndim == 0) or isinstance(y, bool | int | float | complex):
        raise DataError(
            f"labels must be a sequence of values, not the single value {y!r}; "
            "for a known positive rate use compute_bias_from_prior"
        )
    if isinstance(y, dict):
        if y and all(_is_column(v) for v in y.values()):
            import pyarrow as pa

            return pa.table({str(k): _array(v) for k, v in y.items()})  # columns by name
        raise DataError(
            "labels are a dict; for class counts use compute_bias_from_counts("
            "{label: count}), for several target columns pass {name: values} or a DataFrame"
        )
    return y


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
