"""``--where EXPR``: the row filter, applied to Arrow record batches.

The expression is parsed by :mod:`._grammar` (a whitelist of :mod:`ast` nodes, never
evaluated).  A literal compares in its column's type: a number with a number column, a
string with a text column (or a date/time column, parsed as that type), ``True``/``False``
with a boolean column; anything else is an OptionError.  Missing values (null, and NaN in
float columns) compare as *unknown*, with SQL's three-valued logic: ``x != 1`` and
``not x == 1`` are unknown for a missing ``x``, and a row passes only when the whole
expression is true.

The filter is applied to Arrow record batches where they leave a reader
(:meth:`RowFilter.passing`), before statistics see them; the Dask engine uses the same
method on each partition, the Spark engine translates the same tree into a Spark column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import OptionError
from ._grammar import And, Compare, In, Node, Not, Or, Value, check_literal, parse_tree, walk

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["RowFilter", "parse_where"]

_ARROW_OPS = {
    "==": "equal",
    "!=": "not_equal",
    "<": "less",
    "<=": "less_equal",
    ">": "greater",
    ">=": "greater_equal",
}


def parse_where(text: str) -> RowFilter:
    """Parse a ``--where`` expression (never evaluated).

    >>> f = parse_where("split == 'train' and 0 <= fold < 3")
    >>> f.columns
    ('split', 'fold')
    """
    return RowFilter(*parse_tree(text))


@dataclass(frozen=True)
class RowFilter:
    """A parsed ``--where``: its text (as recorded in results), tree and columns."""

    text: str
    root: Node
    columns: tuple[str, ...] = field(init=False)
    _cache: dict[tuple[int, str], pa.Array] = field(
        init=False, default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        names = dict.fromkeys(test.column for test in walk(self.root))
        object.__setattr__(self, "columns", tuple(names))

    def mask(self, batch: pa.RecordBatch | pa.Table) -> pa.Array | pa.ChunkedArray:
        """Which rows of ``batch`` pass: true for passing rows, false or null otherwise."""
        return self._evaluate(self.root, batch)

    def passing(self, batch: pa.RecordBatch | pa.Table) -> pa.Array | pa.ChunkedArray:
        """Which rows of ``batch`` pass, as true/false without nulls."""
        import pyarrow.compute as pc

        return pc.fill_null(self.mask(batch), _bool(False))

    def apply(
        self, batch: pa.RecordBatch | pa.Table, columns: Sequence[str] | None = None
    ) -> pa.RecordBatch | pa.Table:
        """The rows of ``batch`` that pass (only ``columns``, when given)."""

        keep = self.passing(batch)
        if columns is not None:
            batch = batch.select(list(columns))
        return batch.filter(keep)

    def _literals(self, node: Compare | In, arrow_type: pa.DataType) -> pa.Array:
        """A test's literals as an Arrow array of the column's kind, made once per type."""
        key = (id(node), str(arrow_type))
        cached = self._cache.get(key)
        if cached is None:
            values = (node.value,) if isinstance(node, Compare) else node.values
            cached = self._cache[key] = _literal_array(node.column, arrow_type, values)
        return cached

    def _evaluate(self, node: Node, batch: pa.RecordBatch | pa.Table) -> pa.Array:
        import pyarrow.compute as pc

        if isinstance(node, And | Or):
            combine = pc.and_kleene if isinstance(node, And) else pc.or_kleene
            result = self._evaluate(node.items[0], batch)
            for item in node.items[1:]:
                result = combine(result, self._evaluate(item, batch))
            return result
        if isinstance(node, Not):
            return pc.invert(self._evaluate(node.item, batch))
        column = batch.column(node.column)
        literals = self._literals(node, column.type)
        if isinstance(node, Compare):
            result = getattr(pc, _ARROW_OPS[node.op])(column, literals[0])
        else:
            found = pc.is_in(column, value_set=literals)
            # is_in says false for a missing value; unknown keeps `not in` consistent.
            result = pc.if_else(pc.is_valid(column), found, _bool(None))
            if node.negated:
                result = pc.invert(result)
        return _unknown_where_nan(column, result)


def _unknown_where_nan(column: pa.Array, result: pa.Array) -> pa.Array:
    """NaN is a missing value in biascalc: its comparisons are unknown, as for null."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not pa.types.is_floating(column.type):
        return result
    return pc.if_else(pc.is_nan(column), _bool(None), result)


def _bool(value: bool | None) -> pa.Scalar:
    """A boolean Arrow scalar (or a null one) made without pandas (see _literal_array)."""
    import numpy as np
    import pyarrow as pa

    from .._arrow import from_numpy

    if value is None:
        return pa.nulls(1, pa.bool_())[0]
    return from_numpy(np.array([value]))[0]


def _value_type(arrow_type: pa.DataType) -> pa.DataType:
    import pyarrow as pa

    return arrow_type.value_type if pa.types.is_dictionary(arrow_type) else arrow_type


def kind_of_type(arrow_type: pa.DataType) -> str:
    """'number', 'text', 'boolean', 'time' or the type's name, for literal checks."""
    import pyarrow as pa

    t = _value_type(arrow_type)
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "number"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "text"
    if pa.types.is_temporal(t):
        return "time"
    return str(t)


def _literal_array(column: str, arrow_type: pa.DataType, values: Sequence[Value]) -> pa.Array:
    """``values`` as an Arrow array that compares with a column of ``arrow_type``.

    Built from NumPy and buffers: ``pyarrow.scalar`` and ``pyarrow.array`` import pandas
    (0.9 s on first use, measured), see biascalc/_arrow.py.
    """
    import numpy as np
    import pyarrow as pa

    from .._arrow import from_numpy, text_array

    kind = kind_of_type(arrow_type)
    for value in values:
        check_literal(column, kind, value)
    if kind == "boolean":
        return from_numpy(np.array(values, dtype=bool))
    if kind == "number":
        numbers = np.array(values)  # int64, or float64 when any literal is a float
        if numbers.dtype.kind not in "if":
            raise OptionError(f"--where compares '{column}' with a number too large: {values}")
        return from_numpy(numbers)
    text = text_array([str(v) for v in values])
    if kind == "text":
        return text
    target = _value_type(arrow_type)
    try:
        return text.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise OptionError(
            f"--where compares the date/time column '{column}' with {values[0]!r}, which is "
            f"not a {target} value; write it as 2024-01-31 or 2024-01-31T12:00:00"
        ) from None
