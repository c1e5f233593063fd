"""``--where EXPR``: a row filter, parsed from a small subset of Python, never evaluated.

The grammar (checked node by node against a whitelist of :mod:`ast` node types)::

    expr    := expr 'or' expr | expr 'and' expr | 'not' expr | '(' expr ')' | test
    test    := column OP literal [OP literal ...]    (also literal OP column)
             | column 'in' '(' literal, ... ')' | column 'not in' '(' literal, ... ')'
    OP      := '==' | '!=' | '<' | '<=' | '>' | '>='
    column  := a Python identifier, or col('any name') for other names
    literal := a number (optionally negative), a quoted string, True or False

``0 <= fold < 3`` is ``0 <= fold and fold < 3``.  Anything else (calls other than
``col('...')``, attributes, arithmetic, column-to-column comparisons, ``None``) is an
:class:`~biascalc.errors.OptionError` naming what is not allowed.

A literal compares in its column's type: a number with a number column, a string with a
text column (or a date/time column, parsed as that type), ``True``/``False`` with a
boolean column; anything else is an OptionError.  Missing values (null, and NaN in float
columns) compare as *unknown*, with SQL's three-valued logic: ``x != 1`` and
``not x == 1`` are unknown for a missing ``x``, and a row passes only when the whole
expression is true.

The parsed filter is applied to Arrow record batches where they leave a reader
(:meth:`RowFilter.mask`), before statistics see them; the Dask engine uses the same
method on each partition, the Spark engine translates the same tree into a Spark column.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Union

from ..errors import OptionError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["And", "Compare", "In", "Not", "Or", "RowFilter", "parse_where"]

Value = bool | int | float | str
Op = Literal["==", "!=", "<", "<=", ">", ">="]
_OPS: dict[type[ast.cmpop], Op] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
}
#: ``3 < x`` is ``x > 3``.
_FLIPPED: dict[Op, Op] = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ARROW_OPS = {
    "==": "equal",
    "!=": "not_equal",
    "<": "less",
    "<=": "less_equal",
    ">": "greater",
    ">=": "greater_equal",
}
_MAX_LENGTH = 10_000


@dataclass(frozen=True)
class Compare:
    """``column op value``."""

    column: str
    op: Op
    value: Value


@dataclass(frozen=True)
class In:
    """``column in values`` (``negated``: ``not in``)."""

    column: str
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Union[Compare, In, And, Or, Not]  # noqa: UP007 - a runtime alias for the tree


def _describe(node: ast.AST) -> str:
    """What a disallowed piece of the expression is, in words a user knows."""
    text = ast.unparse(node)
    shown = text if len(text) <= 40 else text[:37] + "..."
    kinds = {
        ast.Call: "a function call",
        ast.Attribute: "an attribute",
        ast.BinOp: "arithmetic",
        ast.Subscript: "indexing",
        ast.Lambda: "a lambda",
        ast.IfExp: "an if-expression",
        ast.NamedExpr: "an assignment",
    }
    kind = next((v for k, v in kinds.items() if isinstance(node, k)), type(node).__name__)
    return f"{kind} ({shown})"


def _not_allowed(node: ast.AST, why: str = "") -> OptionError:
    return OptionError(
        f"--where does not allow {_describe(node)}{why}; it takes comparisons of a column with "
        "a literal (== != < <= > >=, in (...), not in (...)) joined by and, or, not"
    )


def _column(node: ast.expr) -> str | None:
    """The column a node names (``x`` or ``col('x')``), or None if it is not a column."""
    if isinstance(node, ast.Name):
        if node.id in ("True", "False", "None"):  # pragma: no cover - parsed as Constant
            return None
        return node.id
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "col"
        and not node.keywords
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def _literal(node: ast.expr) -> Value | None:
    """The value of a literal node (``-3`` included), or None if it is not a literal."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool | int | float | str):
            return value
        return None
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub | ast.UAdd)
        and isinstance(node.operand, ast.Constant)
        and isinstance(node.operand.value, int | float)
        and not isinstance(node.operand.value, bool)
    ):
        number = node.operand.value
        return -number if isinstance(node.op, ast.USub) else number
    return None


def _operand(node: ast.expr) -> tuple[str | None, Value | None]:
    column = _column(node)
    if column is not None:
        return column, None
    value = _literal(node)
    if value is None:
        if isinstance(node, ast.Constant) and node.value is None:
            raise OptionError(
                "--where cannot compare with None; missing values never pass a comparison "
                "(they are unknown), so leave the test out or compare with a value"
            )
        raise _not_allowed(node)
    return None, value


def _convert(node: ast.expr) -> Node:
    if isinstance(node, ast.BoolOp):
        items = tuple(_convert(v) for v in node.values)
        return And(items) if isinstance(node.op, ast.And) else Or(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return Not(_convert(node.operand))
    if isinstance(node, ast.Compare):
        return _comparison(node)
    if _column(node) is not None:
        raise OptionError(
            f"--where needs a comparison, not the bare column {ast.unparse(node)}; "
            f"for example {ast.unparse(node)} == True"
        )
    raise _not_allowed(node)


def _comparison(node: ast.Compare) -> Node:
    tests: list[Node] = []
    left = node.left
    for op, right in zip(node.ops, node.comparators, strict=True):
        tests.append(_test(node, left, op, right))
        left = right
    return tests[0] if len(tests) == 1 else And(tuple(tests))


def _test(whole: ast.Compare, left: ast.expr, op: ast.cmpop, right: ast.expr) -> Node:
    if isinstance(op, ast.In | ast.NotIn):
        column = _column(left)
        if column is None:
            raise _not_allowed(whole, ": the left of 'in' must be a column")
        if not isinstance(right, ast.Tuple | ast.List | ast.Set) or not right.elts:
            raise _not_allowed(whole, ": 'in' takes a parenthesised list of literals, (1, 2)")
        values = []
        for element in right.elts:
            value = _literal(element)
            if value is None:
                raise _not_allowed(element, " inside 'in (...)': only literals may be listed")
            values.append(value)
        return In(column, tuple(values), isinstance(op, ast.NotIn))
    if type(op) not in _OPS:
        raise _not_allowed(whole, f": the operator {type(op).__name__} is not supported")
    symbol = _OPS[type(op)]
    left_column, left_value = _operand(left)
    right_column, right_value = _operand(right)
    if left_column is not None and right_value is not None:
        return Compare(left_column, symbol, right_value)
    if right_column is not None and left_value is not None:
        return Compare(right_column, _FLIPPED[symbol], left_value)
    what = "two columns" if left_column is not None else "two literals"
    raise OptionError(
        f"--where compares {what} in {ast.unparse(whole)}; compare a column with a literal"
    )


def parse_where(text: str) -> RowFilter:
    """Parse a ``--where`` expression (never evaluated).

    >>> f = parse_where("split == 'train' and 0 <= fold < 3")
    >>> f.columns
    ('split', 'fold')
    """
    if not isinstance(text, str):
        raise OptionError(f"--where takes an expression as text, not {type(text).__name__}")
    if len(text) > _MAX_LENGTH:
        raise OptionError(f"--where is longer than {_MAX_LENGTH} characters")
    stripped = text.strip()
    if not stripped:
        raise OptionError("--where is empty; give an expression such as  split == 'train'")
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        column = f" at column {exc.offset}" if exc.offset else ""
        raise OptionError(
            f"--where is not a valid expression{column}: {exc.msg}; quote text values "
            "(split == 'train') and use col('name') for names that are not identifiers"
        ) from None
    root = _convert(tree.body)
    # Recorded as given; an expression over several lines is recorded on one.
    shown = stripped if not re.search(r"[\r\n\x0b\x0c\x85\u2028\u2029]", stripped) else None
    return RowFilter(shown or ast.unparse(tree), root)


def _walk(node: Node) -> Iterator[Compare | In]:
    if isinstance(node, Compare | In):
        yield node
    elif isinstance(node, Not):
        yield from _walk(node.item)
    else:
        for item in node.items:
            yield from _walk(item)


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
        names = dict.fromkeys(test.column for test in _walk(self.root))
        object.__setattr__(self, "columns", tuple(names))

    def tests(self) -> Iterator[Compare | In]:
        """Every comparison in the expression (for type checks and other engines)."""
        return _walk(self.root)

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


def check_literal(column: str, kind: str, value: Value) -> None:
    """An OptionError unless ``value`` may be compared with a column of this kind."""
    given = "boolean" if isinstance(value, bool) else "text" if isinstance(value, str) else "number"
    if given == kind or (kind == "time" and given == "text"):
        return
    advice = {
        "number": f"compare it with a number, such as {column} == 1",
        "text": f"compare it with quoted text, such as {column} == '1'",
        "boolean": f"compare it with True or False, such as {column} == True",
        "time": f"compare it with a quoted date or time, such as {column} >= '2024-01-01'",
    }.get(kind, "--where compares numbers, text, booleans and dates only")
    raise OptionError(
        f"--where compares column '{column}', which holds {kind} values, with the {given} "
        f"{value!r}; {advice}"
    )


def _literal_array(column: str, arrow_type: pa.DataType, values: Sequence[Value]) -> pa.Array:
    """``values`` as an Arrow array that compares with a column of ``arrow_type``.

    Built from NumPy and buffers: ``pyarrow.scalar`` and ``pyarrow.array`` import pandas
    (0.9 s on first use, measured), see biascalc/_arrow.py.
    """
    import numpy as np
    import pyarrow as pa

    from .._arrow import from_numpy

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
    encoded = [str(v).encode("utf-8") for v in values]
    offsets = np.cumsum([0, *map(len, encoded)], dtype=np.int64)
    text = pa.Array.from_buffers(
        pa.large_string(),
        len(encoded),
        [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))],
    )
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
