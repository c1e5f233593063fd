"""List-valued label columns: label sets and multi-hot rows, and the one list flattener.

:func:`flatten` is the single place where an Arrow ``list``, ``large_list`` or
``fixed_size_list`` column (nested lists too: a batch of sequences per row) is taken
apart, with ``pyarrow.compute.list_flatten`` and ``list_parent_indices``: the innermost
elements in row order, each element's row (so a message can say in which row a bad
element is), and how many elements each row holds.  A null list is a *missing row*
(counted in ``null_rows``; label sets drop such rows before counting, token counts
report them); an empty list is a row with *no elements*, which still counts in the
denominator.  Null *elements* are kept for the caller to judge.  Label sets (and
``--label-sep`` text) and token columns both build on it.

:class:`ListStats` is what a list column needs besides the per-label row counts (which
live in :class:`~biascalc.stats.ValueCounts`, one count per row that contains the label,
however often the row repeats it): the elements' kind, whether every row has the same
length and, while it does, the weighted count of ones per position (a multi-hot row is
a fixed-length vector of 0/1, one output per position).  Everything merges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._arrow import from_numpy, to_numpy
from ..errors import DataError
from .moments import FloatArray

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["Flat", "ListStats", "decoded", "flatten", "is_list_type", "split_labels"]

#: Element kinds a label set may hold (bool, integer and float only as 0/1 multi-hot).
_ELEMENT_KINDS = ("string", "integer", "bool", "float", "null")


def is_list_type(arrow_type: pa.DataType) -> bool:
    """Whether a type is an Arrow list of any flavour (list, large_list, fixed_size_list)."""
    import pyarrow as pa

    return bool(
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
    )


def decoded(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One array (chunks combined), a dictionary-encoded one as its plain values.

    >>> import pyarrow as pa
    >>> decoded(pa.array(["a", "b", "a"]).dictionary_encode()).to_pylist()
    ['a', 'b', 'a']
    """
    import pyarrow as pa

    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    # take, not cast: Arrow casts no dictionary of lists to a list
    return arr.dictionary.take(arr.indices) if pa.types.is_dictionary(arr.type) else arr


@dataclass(frozen=True)
class Flat:
    """A list column taken apart: ``values[i]`` is an element of row ``rows[i]``.

    ``rows`` is sorted; ``lengths[r]`` is the number of elements of row ``r`` (0 for an
    empty or a null list); ``null_rows`` counts the null lists.
    """

    values: pa.Array
    rows: npt.NDArray[np.intp]
    lengths: npt.NDArray[np.int64]
    null_rows: int

    def row_and_index(self, i: int) -> tuple[int, int]:
        """Row of element ``i`` and its index within that row (both from 0)."""
        row = int(self.rows[i])
        return row, i - int(np.searchsorted(self.rows, row))


def flatten(column: pa.Array | pa.ChunkedArray) -> Flat:
    """The innermost elements of a list column (nested lists too) with their rows.

    Dictionary-encoded *elements* stay encoded (their codes are cheap to count); a
    dictionary of lists is decoded to be taken apart.

    >>> import pyarrow as pa
    >>> f = flatten(pa.array([["a", "b"], [], None, ["c"]]))
    >>> f.values.to_pylist(), f.rows.tolist(), f.lengths.tolist(), f.null_rows
    (['a', 'b', 'c'], [0, 0, 3], [2, 0, 0, 1], 1)
    >>> f = flatten(pa.array([[[1], None, [2, 3]], [[4]]]))
    >>> f.values.to_pylist(), f.rows.tolist(), f.lengths.tolist()
    ([1, 2, 3, 4], [0, 0, 0, 1], [3, 1])
    """
    import pyarrow.compute as pc

    arr = decoded(column)
    if not is_list_type(arr.type):
        raise TypeError(f"flatten takes a list array, not {arr.type}")
    n, null_rows = len(arr), arr.null_count
    lengths = pc.fill_null(pc.list_value_length(arr), 0)
    rows: npt.NDArray[np.intp] | None = None
    values: pa.Array = arr
    nested = False
    while is_list_type(values.type):
        # Parent indices count from the start of the (possibly sliced) array, and
        # list_flatten skips null lists, so both line up element for element.
        parents = to_numpy(pc.list_parent_indices(values)).astype(np.intp)
        rows = parents if rows is None else rows[parents]
        values = pc.list_flatten(values)
        if _is_dictionary_of_lists(values.type):
            values = decoded(values)
        nested = nested or is_list_type(values.type)
    assert rows is not None
    if nested:  # the innermost elements per row, not the inner lists
        counts = np.bincount(rows, minlength=n).astype(np.int64)
    else:
        counts = to_numpy(lengths).astype(np.int64)
    return Flat(values, rows, counts, null_rows)


def _is_dictionary_of_lists(arrow_type: pa.DataType) -> bool:
    import pyarrow as pa

    return pa.types.is_dictionary(arrow_type) and is_list_type(arrow_type.value_type)


def split_labels(arr: pa.Array, sep: str) -> pa.Array:
    """``'a|b'`` -> ``['a', 'b']``: text cells split at ``sep`` into label sets.

    Pieces are stripped of surrounding blanks and empty pieces dropped, so ``'a | b|'`` is
    ``['a', 'b']``; an empty (or missing) cell is a row with no labels.

    >>> import pyarrow as pa
    >>> split_labels(pa.array(["a|b", None, " c |"]), "|").to_pylist()
    [['a', 'b'], [], ['c']]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_struct(arr.type) or pa.types.is_map(arr.type) or pa.types.is_binary(arr.type):
        raise DataError(f"--label-sep splits text, but the column holds {arr.type} values")
    # A CSV column whose cells are all single labels may be typed as numbers: labels, as text.
    lists = pc.split_pattern(pc.fill_null(arr.cast(pa.string()), ""), sep)
    flat = flatten(lists)
    pieces = pc.utf8_trim_whitespace(flat.values)
    keep = to_numpy(pc.not_equal(pieces, "").fill_null(False))
    counts = np.bincount(flat.rows[keep], minlength=len(arr)).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(from_numpy(offsets), pieces.filter(from_numpy(keep)))


@dataclass
class ListStats:
    """What a list column's rows look like (the per-label counts are in ValueCounts)."""

    element: str = "null"
    #: An Arrow fixed_size_list: a multi-hot vector by its type.
    fixed: bool = False
    #: The common length of every list so far; -1 once two differ; None before any row.
    width: int | None = None
    #: While every list has one length and 0/1 elements: rows and weight with a 1, per
    #: position (the multi-hot reading of the column).
    ones: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    ones_weight: FloatArray = field(default_factory=lambda: np.zeros(0))
    zero_one: bool = True
    #: Some row holds one value twice (a label set never does; a multi-hot vector must).
    repeats: bool = False
    elements: int = 0

    @property
    def _positions(self) -> bool:
        """Every row one length (> 0), every element 0 or 1: readable as 0/1 vectors."""
        return self.width is not None and self.width > 0 and self.zero_one

    @property
    def multi_hot(self) -> bool:
        """Whether the rows read as 0/1 vectors: by type, by element (a set of floats or
        booleans means nothing), or equal lengths with repeats (a set never repeats)."""
        return self._positions and (self.fixed or self.repeats or self.element in ("float", "bool"))

    @property
    def ambiguous(self) -> bool:
        """Equal-length lists of integer 0/1 that never repeat a value: label sets of the
        ids 0 and 1, or multi-hot vectors of one or two positions; the data cannot say.
        (With three positions or more a 0/1 vector repeats a value.)"""
        return self._positions and not self.multi_hot

    def merge(self, other: ListStats) -> ListStats:
        if other.width is None:
            return self
        if self.width is None:
            return other
        if self.element != other.element and "null" not in (self.element, other.element):
            raise DataError(
                f"a list column holds {self.element} elements in one part of the input and "
                f"{other.element} elements in another"
            )
        same = self.width == other.width and self.width >= 0
        zero_one = self.zero_one and other.zero_one
        keep = same and zero_one
        return ListStats(
            self.element if self.element != "null" else other.element,
            self.fixed and other.fixed,
            self.width if same else -1,
            self.ones + other.ones if keep else np.zeros(0, np.int64),
            self.ones_weight + other.ones_weight if keep else np.zeros(0),
            zero_one,
            self.repeats or other.repeats,
            self.elements + other.elements,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "element": self.element,
            "fixed": self.fixed,
            "width": self.width,
            "ones": self.ones.tolist(),
            "ones_weight": self.ones_weight.tolist(),
            "zero_one": self.zero_one,
            "repeats": self.repeats,
            "elements": self.elements,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> ListStats | None:
        if d is None:
            return None
        return cls(
            str(d["element"]),
            bool(d["fixed"]),
            None if d["width"] is None else int(d["width"]),
            np.asarray(d["ones"], dtype=np.int64),
            np.asarray(d["ones_weight"], dtype=np.float64),
            bool(d["zero_one"]),
            bool(d["repeats"]),
            int(d["elements"]),
        )


def list_part(
    name: str, arr: pa.Array, weights: FloatArray | None, element: str, line: Callable[[int], int]
) -> tuple[ListStats, pa.Array, FloatArray | None]:
    """One batch of a list column (no null lists left) -> its ListStats, and the distinct
    elements of each row with their rows' weights (to count rows per label).
    """
    import pyarrow as pa

    flat = flatten(arr)
    if flat.values.null_count:
        row = int(flat.rows[np.flatnonzero(~to_numpy(flat.values.is_valid()))[0]])
        raise DataError(
            f"column '{name}' has a missing value inside the list on line {line(row)}; "
            "remove it (an empty list is a row with no labels)"
        )
    n = len(arr)
    lengths = flat.lengths
    width = int(lengths[0]) if n and bool(np.all(lengths == lengths[0])) else -1
    stats = ListStats(
        element, pa.types.is_fixed_size_list(arr.type), width, elements=len(flat.values)
    )
    values = flat.values
    if pa.types.is_dictionary(values.type) and element != "string":
        values = values.cast(values.type.value_type)
    if pa.types.is_string_view(values.type) or pa.types.is_large_string(values.type):
        values = values.cast(pa.string())
    numbers = None if element == "string" else np.asarray(to_numpy(values), dtype=np.float64)
    stats.zero_one = numbers is not None and bool(np.all((numbers == 0) | (numbers == 1)))
    if width > 0 and stats.zero_one and numbers is not None:
        grid = numbers.reshape(n, width) == 1
        stats.ones = grid.sum(axis=0).astype(np.int64)
        stats.ones_weight = (
            stats.ones.astype(np.float64) if weights is None else weights @ grid.astype(np.float64)
        )
    else:
        stats.ones, stats.ones_weight = np.zeros(0, np.int64), np.zeros(0)
    firsts = _first_of_each(values, flat.rows)
    stats.repeats = firsts.size < len(values)
    if firsts.size < len(values):
        values = values.take(from_numpy(firsts))
        rows = flat.rows[firsts]
    else:
        rows = flat.rows
    return stats, values, None if weights is None else weights[rows]


def _first_of_each(values: pa.Array, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """Positions of the first occurrence of each (row, value) pair, in order."""
    import pyarrow as pa

    if len(values) == 0:
        return np.zeros(0, np.intp)
    if pa.types.is_dictionary(values.type):
        codes = to_numpy(values.indices).astype(np.int64)
    elif pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        codes = to_numpy(values.dictionary_encode().indices).astype(np.int64)
    else:
        _, inverse = np.unique(to_numpy(values), return_inverse=True)
        codes = inverse.astype(np.int64)
    key = rows.astype(np.int64) * (int(codes.max()) + 1) + codes
    _, first = np.unique(key, return_index=True)
    return np.sort(first).astype(np.intp)


def element_kind(name: str, arrow_type: pa.DataType, kind_of: Any) -> str:
    """The kind of a list column's elements, or a one-line error for what is not a label."""
    import pyarrow as pa

    inner = arrow_type.value_type
    if is_list_type(inner):
        raise DataError(
            f"column '{name}' holds lists of lists; biascalc reads a list of labels (text or "
            "integers) or a fixed-size list of 0/1 per row: flatten the inner lists first"
        )
    if pa.types.is_struct(inner) or pa.types.is_map(inner):
        raise DataError(
            f"column '{name}' holds lists of {'structs' if pa.types.is_struct(inner) else 'maps'}; "
            "biascalc reads a list of labels (text or integers) or a fixed-size list of 0/1"
        )
    kind: str = kind_of(inner)
    if kind not in _ELEMENT_KINDS:
        raise DataError(f"column '{name}' holds lists of {inner}; use text or integer labels")
    return kind
