"""List columns taken apart: the elements of every row, and each element's row.

One place where an Arrow ``list``, ``large_list`` or ``fixed_size_list`` column (nested
lists too: a batch of sequences per row) is flattened, with
``pyarrow.compute.list_flatten`` and ``list_parent_indices``, so the statistics can say
in which row a bad element is.  A null list is a row with no elements (counted in
``null_rows``); an empty list is a row with no elements too.  Null *elements* are left in
``values`` for the caller to judge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._arrow import to_numpy

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Flat", "flatten_lists", "is_list_type"]


def is_list_type(arrow_type: pa.DataType) -> bool:
    """Whether a type is an Arrow list of any flavour (list, large_list, fixed_size_list)."""
    import pyarrow as pa

    return bool(
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
    )


@dataclass(frozen=True)
class Flat:
    """A column taken apart: ``values[i]`` is an element of row ``rows[i]``.

    ``rows`` is None when the column is not a list (element i is row i).
    """

    values: Any  # a pyarrow Array
    rows: npt.NDArray[np.intp] | None
    null_rows: int

    def row_and_index(self, i: int) -> tuple[int, int]:
        """Row of element ``i`` and its index within that row (both from 0)."""
        if self.rows is None:
            return i, 0
        row = int(self.rows[i])
        return row, i - int(np.searchsorted(self.rows, row))


def flatten_lists(column: pa.Array | pa.ChunkedArray) -> Flat:
    """The innermost elements of a (possibly nested) list column, with their rows.

    >>> import pyarrow as pa
    >>> f = flatten_lists(pa.array([[1, 2], None, [], [3]]))
    >>> f.values.to_pylist(), f.rows.tolist(), f.null_rows
    ([1, 2, 3], [0, 0, 3], 1)
    >>> flatten_lists(pa.array([[[1], [2, 3]], [[4]]])).rows.tolist()
    [0, 0, 0, 1]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not is_list_type(arr.type):
        return Flat(arr, None, 0)
    null_rows = arr.null_count
    rows: npt.NDArray[np.intp] | None = None
    while is_list_type(arr.type):
        parents = to_numpy(pc.list_parent_indices(arr)).astype(np.intp)
        rows = parents if rows is None else rows[parents]
        arr = pc.list_flatten(arr)
        if pa.types.is_dictionary(arr.type):
            arr = arr.cast(arr.type.value_type)
    return Flat(arr, rows, null_rows)
