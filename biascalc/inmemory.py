"""Labels held in memory (lists, NumPy, pandas, polars, Arrow) -> an Arrow table."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["to_table"]


def to_table(y: Any) -> pa.Table:
    """Labels in memory -> an Arrow table with one column per target."""
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
        return to_table(y.to_arrow())
    if module == "datasets" and hasattr(y, "data") and hasattr(y.data, "table"):
        # A Hugging Face Dataset: its Arrow table keeps the features (ClassLabel names) in
        # the schema metadata, which readers.declared_classes reads.  After select(),
        # filter() or shuffle() the rows are an indices mapping over that table: apply it.
        if getattr(y, "_indices", None) is not None:
            y = y.flatten_indices()
        return to_table(y.data.table)
    if isinstance(y, np.ndarray) and y.ndim == 2:
        return pa.table({f"y{j}": _array(y[:, j]) for j in range(y.shape[1])})
    if isinstance(y, np.ndarray) and y.ndim != 1:
        raise DataError(f"labels must be 1-D or 2-D, not {y.ndim}-D")
    if isinstance(y, str | bytes):
        raise DataError("labels must be a sequence of values, not a single string")
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
