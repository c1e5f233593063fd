"""The one list flattener (stats/lists.py) against an independent flatten in plain Python.

Every Arrow list flavour the readers hand over (list, large_list, fixed_size_list, nested,
with dictionary-encoded elements, null and empty lists, null elements, sliced arrays with
offsets, chunked columns) is taken apart by ``flatten`` and by :func:`py_flatten`, a walk
over ``to_pylist()`` that knows nothing of Arrow offsets; then token counts and label-set
counts built on it are checked against ``collections.Counter`` over the same Python rows.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from biascalc.errors import DataError
from biascalc.stats import LabelStats, StatsSpec
from biascalc.stats.lists import decoded, flatten
from biascalc.stats.tokens import TokenSpec, TokenStats


def py_flatten(rows: list[Any], depth: int) -> dict[str, Any]:
    """Innermost elements, their rows, their index within the row, per-row counts, and the
    number of null rows, of Python rows nested ``depth`` lists deep (None: a null list above
    the innermost level, a null element at it)."""
    values: list[Any] = []
    parents: list[int] = []
    index: list[int] = []

    def walk(x: Any, d: int, row: int) -> None:
        if d == 0:
            index.append(parents.count(row))
            values.append(x)
            parents.append(row)
        elif x is not None:
            for e in x:
                walk(e, d - 1, row)

    for r, x in enumerate(rows):
        walk(x, depth, r)
    return {
        "values": values,
        "rows": parents,
        "index": index,
        "lengths": [parents.count(r) for r in range(len(rows))],
        "null_rows": sum(x is None for x in rows),
    }


def _check(column: pa.Array | pa.ChunkedArray, rows: list[Any], depth: int) -> None:
    flat = flatten(column)
    want = py_flatten(rows, depth)
    assert flat.values.to_pylist() == want["values"]
    assert flat.rows.tolist() == want["rows"]
    assert flat.lengths.tolist() == want["lengths"]
    assert flat.null_rows == want["null_rows"]
    located = [flat.row_and_index(i) for i in range(len(flat.values))]
    assert located == list(zip(want["rows"], want["index"], strict=True))


_DICT_STR = pa.dictionary(pa.int32(), pa.string())
CASES: dict[str, tuple[list[Any], pa.DataType, int]] = {
    "null and empty lists": ([[1, 2], None, [], [3], []], pa.list_(pa.int64()), 1),
    "null elements": ([[None, 1], [None]], pa.list_(pa.int64()), 1),
    "large_list": ([["a"], None, [], ["b", "a"]], pa.large_list(pa.string()), 1),
    "fixed_size_list": ([[1, 0, 1], None, [0, 0, 1]], pa.list_(pa.int8(), 3), 1),
    "fixed_size_list of width 0": ([[], None, []], pa.list_(pa.int8(), 0), 1),
    "list<dictionary>": ([["x", "y"], None, ["y", None]], pa.list_(_DICT_STR), 1),
    "nested": ([[[1, 2], [3]], None, [[]], [None, [4]], []], pa.list_(pa.list_(pa.int64())), 2),
    "nested fixed in large": (
        [[[1, None], None], None, [[2, 3]]],
        pa.large_list(pa.list_(pa.int64(), 2)),
        2,
    ),
    "three deep": ([[[[1]], [[2, 3], None]], [None]], pa.list_(pa.list_(pa.list_(pa.int16()))), 3),
}


@pytest.mark.parametrize("case", list(CASES))
def test_flatten_matches_plain_python(case: str) -> None:
    rows, typ, depth = CASES[case]
    arr = pa.array(rows, typ)
    _check(arr, rows, depth)
    for start in range(1, len(rows) + 1):  # sliced arrays: parent indices from the slice start
        for stop in range(start, len(rows) + 1):
            _check(arr.slice(start, stop - start), rows[start:stop], depth)
    _check(pa.chunked_array([arr.slice(0, 2), arr.slice(2)], typ), rows, depth)


def test_dictionary_elements_stay_encoded_and_a_dictionary_of_lists_is_decoded() -> None:
    rows = [["x", "y"], None, ["y"]]
    flat = flatten(pa.array(rows, pa.list_(_DICT_STR)))
    assert pa.types.is_dictionary(flat.values.type)  # label sets count codes
    assert decoded(flat.values).to_pylist() == ["x", "y", "y"]
    lists = pa.array([[1], [2, 3]])
    encoded = pa.DictionaryArray.from_arrays(pa.array([1, 0, None, 1], pa.int8()), lists)
    _check(encoded, encoded.to_pylist(), 1)


def test_flatten_refuses_a_column_that_is_not_a_list() -> None:
    with pytest.raises(TypeError, match="not int64"):
        flatten(pa.array([1, 2]))


_LEVELS = st.sampled_from(["list", "large_list", "fixed"])


@st.composite
def list_columns(draw: st.DrawFn) -> tuple[list[Any], pa.DataType, int]:
    """Python rows of 1 to 3 list levels, each level a random Arrow flavour, and their type."""
    depth = draw(st.integers(1, 3))
    levels = [draw(_LEVELS) for _ in range(depth)]
    widths = [draw(st.integers(0, 3)) for _ in range(depth)]
    strings, encoded = draw(st.booleans()), draw(st.booleans())
    element = st.none() | (st.sampled_from("abc") if strings else st.integers(-3, 3))

    def level(d: int) -> st.SearchStrategy[Any]:
        if d == depth:
            return element
        size = widths[d] if levels[d] == "fixed" else None
        lists = st.lists(level(d + 1), min_size=size or 0, max_size=4 if size is None else size)
        return st.none() | lists

    rows = draw(st.lists(level(0), max_size=10))
    typ: pa.DataType = pa.string() if strings else pa.int64()
    if encoded:
        typ = pa.dictionary(pa.int16(), typ)
    for d in reversed(range(depth)):
        kind = levels[d]
        typ = (
            {"list": pa.list_, "large_list": pa.large_list}[kind](typ)
            if kind != "fixed"
            else pa.list_(typ, widths[d])
        )
    return rows, typ, depth


@settings(max_examples=150, deadline=None)
@given(list_columns(), st.integers(0, 10), st.integers(0, 10))
def test_any_list_column_any_slice(
    case: tuple[list[Any], pa.DataType, int], a: int, b: int
) -> None:
    rows, typ, depth = case
    start, stop = sorted((min(a, len(rows)), min(b, len(rows))))
    arr = pa.array(rows, typ)
    _check(arr, rows, depth)
    _check(arr.slice(start, stop - start), rows[start:stop], depth)


# ---- what is built on it: token counts and label sets ---------------------------------


@pytest.mark.parametrize(
    ("rows", "typ"),
    [
        ([[3, 1], None, [], [3]], pa.large_list(pa.int32())),
        ([[1, 0, 1], None, [2, 2, 2]], pa.list_(pa.uint16(), 3)),
        ([[5, 5], None, [0]], pa.list_(pa.dictionary(pa.int8(), pa.int64()))),
        ([[[1, 2], None], None, [[], [2]]], pa.list_(pa.large_list(pa.int64()))),
    ],
    ids=["large_list", "fixed_size_list", "list<dictionary>", "nested"],
)
def test_token_counts_of_every_list_flavour_and_slice(rows: list[Any], typ: pa.DataType) -> None:
    table = pa.table({"ids": pa.array(rows, typ)})
    depth = str(typ).count("list")
    for start in range(len(rows)):
        part = rows[start:]
        stats = TokenStats(TokenSpec("ids"))
        for batch in table.slice(start).to_batches(max_chunksize=2):  # sliced batches
            stats.update(batch)
        ids = py_flatten(part, depth)["values"]
        counter = collections.Counter(ids)
        want = [counter.get(k, 0) for k in range(max(ids, default=-1) + 1)]
        assert stats.counts.tolist() == want
        assert stats.n_null_rows == sum(r is None for r in part)
        assert stats.rows_seen == len(part)


def test_a_null_token_id_is_named_by_row_and_element_after_a_slice() -> None:
    table = pa.table({"ids": pa.array([[1], [2], [3, 4, None]], pa.large_list(pa.int64()))})
    with pytest.raises(DataError, match=r"in row 1, element 2 of column 'ids'"):
        TokenStats(TokenSpec("ids")).update(table.slice(1).to_batches()[0])
    untyped = pa.table({"ids": pa.array([[], [None]], pa.list_(pa.null()))})
    with pytest.raises(DataError, match=r"token id missing \(null\) in row 1, element 0"):
        TokenStats(TokenSpec("ids")).update(untyped)
    empty = TokenStats(TokenSpec("ids"))
    empty.update(pa.table({"ids": pa.array([[], None], pa.list_(pa.null()))}))
    assert (empty.n_seen, empty.n_null_rows, empty.rows_seen) == (0, 1, 2)


@pytest.mark.parametrize(
    "typ",
    [
        pa.large_list(pa.string()),
        pa.list_(_DICT_STR),
        pa.large_list(pa.dictionary(pa.int8(), pa.large_string())),
    ],
    ids=["large_list", "list<dictionary>", "large_list<dictionary<large_string>>"],
)
def test_label_set_counts_of_every_list_flavour_and_slice(typ: pa.DataType) -> None:
    rows = [["a", "b", "a"], None, [], ["c"], ["b"], None, ["a", "c"]]
    table = pa.table({"t": pa.array(rows, typ)})
    for start in range(len(rows)):
        part = rows[start:]
        stats = LabelStats(StatsSpec(("t",)))
        for batch in table.slice(start).to_batches(max_chunksize=3):
            stats.update(batch)
        used = [set(r) for r in part if r is not None]
        want = collections.Counter(x for r in used for x in r)
        got = stats.columns[0].counts.result()  # type: ignore[union-attr]
        if not want:
            assert got is None or list(got[1]) == [0] * len(got[0])
            continue
        assert got is not None
        assert dict(zip(got[0], np.asarray(got[1]).tolist(), strict=True)) == dict(want)
        assert stats.n_rows == len(used)
