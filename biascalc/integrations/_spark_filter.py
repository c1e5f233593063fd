"""``where`` for the Spark engine: the readers' parsed row filter as a Spark column.

The same tree and the same literal checks as :mod:`biascalc.readers._filter`, built with
``pyspark.sql.functions``; Spark's SQL three-valued logic keeps rows where the condition
is true, as the readers do, and NaN compares as unknown here too (Spark itself treats NaN
as a value larger than any number).
"""

from __future__ import annotations

import operator
from typing import Any

from ..readers._filter import And, Compare, In, Node, Not, Or, RowFilter, Value, check_literal
from .spark import _col

try:
    from pyspark.sql import Column
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "biascalc's Spark engine needs PySpark: pip install 'biascalc[spark]'"
    ) from exc

__all__ = ["spark_condition"]

_OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _kind(dtype: Any) -> str:
    if isinstance(dtype, T.BooleanType):
        return "boolean"
    if isinstance(dtype, T.NumericType):
        return "number"
    if isinstance(dtype, T.StringType):
        return "text"
    if isinstance(dtype, T.DateType | T.TimestampType | T.TimestampNTZType):
        return "time"
    return str(dtype.simpleString())


def _literal(name: str, dtype: Any, value: Value) -> Column:
    kind = _kind(dtype)
    check_literal(name, kind, value)
    return F.lit(value).cast(dtype) if kind == "time" else F.lit(value)


def _unknown_where_nan(name: str, dtype: Any, condition: Column) -> Column:
    if isinstance(dtype, T.FloatType | T.DoubleType):
        return F.when(~F.isnan(_col(name)), condition)  # otherwise null: unknown
    return condition


def _build(node: Node, types: dict[str, Any]) -> Column:
    if isinstance(node, And | Or):
        result = _build(node.items[0], types)
        for item in node.items[1:]:
            other = _build(item, types)
            result = (result & other) if isinstance(node, And) else (result | other)
        return result
    if isinstance(node, Not):
        return ~_build(node.item, types)
    dtype = types[node.column]
    c = _col(node.column)
    if isinstance(node, Compare):
        lit = _literal(node.column, dtype, node.value)
        compared: Column = _OPERATORS[node.op](c, lit)
        return _unknown_where_nan(node.column, dtype, compared)
    assert isinstance(node, In)
    found = c.isin([_literal(node.column, dtype, v) for v in node.values])
    return _unknown_where_nan(node.column, dtype, ~found if node.negated else found)


def spark_condition(row_filter: RowFilter, types: dict[str, Any]) -> Column:
    """The filter as a Spark boolean column over a frame with these column types."""
    return _build(row_filter.root, types)
