"""Spark: list-valued label columns (ArrayType, or text split by ``--label-sep``).

The same statistics as :mod:`biascalc.stats.lists` computes locally, from Spark
aggregates: rows per label (``explode(array_distinct(...))`` then ``groupBy``: a row
counts once per label it holds), the lists' common length, whether every element is 0/1
and whether some row repeats a value, and for multi-hot rows the ones per position
(``posexplode``).  A null array is a missing row; an empty array a row with no labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..errors import DataError
from ..stats import ColumnStats, CountPart, ValueCounts
from ..stats.lists import ListStats

__all__ = ["ListTarget", "split_text"]


def split_text(raw: Column, sep: str) -> Column:
    """``--label-sep``: stats.lists.split_labels in Spark SQL (a missing cell: no labels)."""
    pieces = F.split(F.coalesce(raw.cast("string"), F.lit("")), "\\Q" + sep + "\\E")
    return F.filter(F.transform(pieces, lambda p: F.trim(p)), lambda p: p != "")


def _element(name: str, dtype: Any) -> str:
    """The local element_kind for a Spark ArrayType's elements."""
    inner = dtype.elementType
    if isinstance(inner, T.ArrayType):
        raise DataError(
            f"column '{name}' holds lists of lists; biascalc reads a list of labels (text or "
            "integers) or a fixed-size list of 0/1 per row: flatten the inner lists first"
        )
    if isinstance(inner, T.StructType | T.MapType):
        what = "structs" if isinstance(inner, T.StructType) else "maps"
        raise DataError(
            f"column '{name}' holds lists of {what}; biascalc reads a list of labels (text or "
            "integers) or a fixed-size list of 0/1"
        )
    for kind, types in (
        ("bool", T.BooleanType),
        ("integer", T.IntegralType),
        ("float", T.FractionalType),
        ("string", T.StringType),
        ("null", T.NullType),
    ):
        if isinstance(inner, types):
            return kind
    raise DataError(f"column '{name}' holds lists of {inner.simpleString()}; use text or integers")


def _not_zero_one(v: Column) -> Column:
    x = v.cast("double")
    return (x != 0) & (x != 1)


class ListTarget:
    """One list column: the aggregates of its rows, then its ColumnStats."""

    def __init__(self, name: str, raw: Column, dtype: Any) -> None:
        self.name, self.raw = name, raw
        self.element = "string" if isinstance(dtype, T.StringType) else _element(name, dtype)
        self.numeric = self.element in ("bool", "integer", "float")
        self.row: dict[str, Any] = {}

    def aggregates(self, keep: Column, w: Column) -> list[Column]:
        i, raw = self.name, self.raw
        size = F.size(raw)
        on = F.when(keep, 1).otherwise(0)
        out = [
            F.min(F.when(keep, size)).alias(f"list min {i}"),
            F.max(F.when(keep, size)).alias(f"list max {i}"),
            F.sum(F.when(keep, size)).alias(f"list elements {i}"),
            F.sum(on * F.when(F.size(F.array_distinct(raw)) < size, 1).otherwise(0)).alias(
                f"list repeats {i}"
            ),
            F.sum(on * F.when(F.exists(raw, lambda x: x.isNull()), 1).otherwise(0)).alias(
                f"list nulls {i}"
            ),
        ]
        if self.numeric:
            # Booleans and integers compare as 0/1 once cast to double.
            not01 = F.exists(raw, _not_zero_one)
            out.append(F.sum(on * F.when(not01, 1).otherwise(0)).alias(f"list not01 {i}"))
        return out

    def check(self, row: dict[str, Any]) -> None:
        self.row = row
        if row[f"list nulls {self.name}"]:
            raise DataError(
                f"column '{self.name}' has a missing value inside the list in "
                f"{row[f'list nulls {self.name}']} row(s); remove it (an empty list is a row "
                "with no labels)"
            )

    def column_stats(self, frame: Any, keep: Column, w: Column, limit: int) -> ColumnStats:
        i, row = self.name, self.row
        lo, hi = row[f"list min {i}"], row[f"list max {i}"]
        width = None if lo is None else (int(lo) if lo == hi else -1)
        zero_one = self.numeric and not row[f"list not01 {i}"]
        lists = ListStats(
            self.element,
            False,
            width,
            zero_one=zero_one,
            repeats=bool(row[f"list repeats {i}"]),
            elements=int(row[f"list elements {i}"] or 0),
        )
        if width is not None and width > 0 and zero_one:
            lists.ones, lists.ones_weight = self._positions(frame, keep, w, width)
        col = ColumnStats(i, "list", lists=lists)
        col.counts = self._counts(frame, keep, w, limit)
        return col

    def _positions(
        self, frame: Any, keep: Column, w: Column, width: int
    ) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
        rows = (
            frame.where(keep)
            .select(F.posexplode(self.raw).alias("pos", "x"), w.alias("w"))
            .where(F.col("x").cast("double") == 1)
            .groupBy("pos")
            .agg(F.count(F.lit(1)).alias("n"), F.sum("w").alias("w"))
            .collect()
        )
        ones, weight = np.zeros(width, np.int64), np.zeros(width)
        for r in rows:
            ones[int(r["pos"])], weight[int(r["pos"])] = int(r["n"]), float(r["w"])
        return ones, weight

    def _counts(self, frame: Any, keep: Column, w: Column, limit: int) -> ValueCounts:
        rows = (
            frame.where(keep)
            .select(F.explode(F.array_distinct(self.raw)).alias("k"), w.alias("w"))
            .groupBy("k")
            .agg(F.count(F.lit(1)).alias("n"), F.sum("w").alias("w"))
            .limit(limit + 1)
            .collect()
        )
        return counts_from_rows(rows, limit, self.element)


def counts_from_rows(rows: list[Any], limit: int, kind: str) -> ValueCounts:
    """Collected Spark rows (k, n, w), at most ``limit + 1`` of them, as class counts.

    More than ``limit`` rows means more distinct values than classes are kept for.
    """
    counts = ValueCounts(limit)
    if len(rows) > limit:
        counts.overflowed = True
        return counts
    if rows:
        values = [r["k"] for r in rows]
        if kind == "string":
            import pyarrow as pa

            keys: Any = pa.array(values, pa.string())
        else:
            dtype = {"bool": np.bool_, "integer": np.int64}.get(kind, np.float64)
            keys = np.array(values, dtype=dtype)
        counts.parts = [
            CountPart(
                keys,
                np.array([float(r["w"]) for r in rows]),
                np.array([int(r["n"]) for r in rows], dtype=np.int64),
            )
        ]
    return counts
