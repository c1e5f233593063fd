"""Spark: the label statistics of a Spark DataFrame, aggregated by Spark itself.

Spark computes a handful of aggregates (``agg`` for counts, weighted sums, min, max and
the second moment; ``groupBy(label)`` for the classes; ``percentile_approx`` for order
statistics) and only those aggregated rows are collected.  They fill a
:class:`~biascalc.stats.LabelStats` exactly as reading the files on one machine would,
so the task detection, the loss and the result are the same code as locally.

No pandas anywhere: no ``toPandas()``, no pandas UDFs (pyspark 4 does not fully support
pandas 3).  Importing this module imports pyspark; ``pip install 'biascalc[spark]'``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import DataError, OptionError
from ..options import BiasOptions
from ..readers import parse_where
from ..result import BiasResult
from ..stats import (
    AUTO_MAX_CLASSES,
    ColumnStats,
    ExtraMeans,
    Kind,
    LabelStats,
    Moments,
    StatsSpec,
    ValueCounts,
)
from ..stats.sketch import SketchStore
from ._spark_lists import ListTarget, counts_from_rows, split_text

try:
    from pyspark.sql import Column
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "biascalc.integrations.spark needs PySpark: pip install 'biascalc[spark]'"
    ) from exc

__all__ = ["DEFAULT_ACCURACY", "DEFAULT_GRID", "collect_stats", "compute_bias"]

#: percentile_approx's accuracy: its rank error is at most 1/accuracy of the rows.
DEFAULT_ACCURACY = 10_000
#: Quantiles fetched per column for the median/quantile/Huber losses: adds 1/(2 grid).
DEFAULT_GRID = 2_000

_INF = float("inf")


def compute_bias(
    frame: Any,
    target: str | Sequence[str],
    *,
    weight: str | None = None,
    accuracy: int = DEFAULT_ACCURACY,
    grid: int = DEFAULT_GRID,
    where: str | None = None,
    **options: Any,
) -> BiasResult:
    """The bias for the label column(s) ``target`` of a Spark DataFrame.

    ``options`` are those of :func:`biascalc.compute_bias`; ``where`` keeps the rows
    passing a filter (``"split == 'train'"``, the readers' grammar), as a Spark filter.
    With ``task="tokens"``, ``target`` is a column of token-id arrays (or ids) whose ids
    Spark counts.  The result equals the local
    computation to rounding, except for the mae, quantile and huber losses, which use
    ``percentile_approx`` (rank error at most ``1/accuracy + 1/(2 grid)``; stated in the
    result's warnings) and need unweighted rows.  Spark reads the data a few times
    (about four aggregations); ``frame.cache()`` first if producing it is expensive.

    >>> frame = spark.read.parquet("s3://bucket/events/")  # doctest: +SKIP
    >>> compute_bias(frame, "clicked").bias  # doctest: +SKIP
    array([-3.47...])
    """
    from ..api import result_from_stats

    opts = BiasOptions(**options)
    if opts.task == "tokens":  # a column of token-id arrays: Spark counts the ids
        from ._spark_tokens import collect_token_stats

        if weight is not None or not isinstance(target, str):
            raise OptionError("--task tokens counts one column of token ids, without weights")
        return result_from_stats(collect_token_stats(frame, target, opts, where), opts)
    stats = collect_stats(
        frame, target, weight=weight, options=opts, accuracy=accuracy, grid=grid, where=where
    )
    return result_from_stats(stats, opts)  # states a sketch's error bound in its warnings


def collect_stats(
    frame: Any,
    target: str | Sequence[str],
    *,
    weight: str | None = None,
    options: BiasOptions | None = None,
    accuracy: int = DEFAULT_ACCURACY,
    grid: int = DEFAULT_GRID,
    where: str | None = None,
) -> LabelStats:
    """The :class:`LabelStats` of a Spark DataFrame's label column(s), from aggregates."""
    opts = options or BiasOptions()
    from ..readers import expand_target_globs

    row_filter = None if where is None else parse_where(where)
    types = {f.name: f.dataType for f in frame.schema.fields}
    targets = [target] if isinstance(target, str) else list(target)
    targets = expand_target_globs(targets, list(types), "the DataFrame", weight)
    spec = opts.stats_spec(targets, weight, None if row_filter is None else row_filter.text)
    named = [*targets, *([weight] if weight else []), *(row_filter.columns if row_filter else ())]
    missing = [c for c in dict.fromkeys(named) if c not in types]
    if missing:
        raise OptionError(
            f"column {', '.join(repr(c) for c in missing)} is not in the data; "
            f"the columns are {', '.join(types)}"
        )
    if accuracy < 1 or grid < 1:
        raise OptionError("accuracy and grid must be positive")
    if row_filter is not None:
        from ._spark_filter import spark_condition

        frame = frame.filter(spark_condition(row_filter, types))
    cols = [_Target(t, types[t], spec) for t in targets]
    w = _weight(weight, types[weight]) if weight else F.lit(1.0)
    keep = F.lit(True)
    for c in cols:
        keep = keep & ~c.missing
    totals = _first_pass(frame, spec, cols, keep, w)
    stats = LabelStats(spec)
    # Rows of several numeric targets holding exactly one 1 (stats/onehot.py): the local rule.
    stats.one_hot_rows = int(totals["one hot"] or 0) if "one hot" in totals else None
    stats.rows_seen = int(totals["n"])
    stats.n_rows = int(totals["keep"] or 0)
    stats.n_missing = stats.rows_seen - stats.n_rows
    stats.weight_sum = float(totals["wsum"] or 0.0)
    if stats.n_rows == 0:
        return stats
    _second_pass(frame, cols, keep, w, totals)
    stats.columns = [c.column_stats(frame, keep, w, stats.weight_sum) for c in cols]
    if spec.keep_values:
        _quantiles(frame, stats, cols, keep, accuracy, grid)
    return stats


def _col(name: str) -> Column:
    return F.col("`" + name.replace("`", "``") + "`")


def _kind(name: str, dtype: Any) -> Kind:
    """The local reader's kind for a Spark type (see stats._kind_of)."""
    if isinstance(dtype, T.NullType):
        return "null"
    if isinstance(dtype, T.BooleanType):
        return "bool"
    if isinstance(dtype, T.IntegralType):
        return "integer"
    if isinstance(dtype, T.FractionalType):
        return "float"
    if isinstance(dtype, T.StringType):
        return "string"
    if isinstance(dtype, T.BinaryType):
        raise DataError(f"column '{name}' holds bytes; cast it to a string or number first")
    raise DataError(
        f"labels of type {dtype.simpleString()} are not supported; use numbers, text or booleans"
    )


def _weight(name: str, dtype: Any) -> Column:
    kind = _kind(name, dtype)
    if kind == "string":
        return _col(name).try_cast("double")
    if kind not in ("bool", "integer", "float"):
        raise DataError(f"weight column '{name}' must hold numbers, not {dtype.simpleString()}")
    return _col(name).cast("double")


class _Target:
    """One label column: its kind, its value as a double, and the aggregates it needs."""

    def __init__(self, name: str, dtype: Any, spec: StatsSpec) -> None:
        self.name, self.spec = name, spec
        self.raw = _col(name)
        self.lists: ListTarget | None = None
        if isinstance(dtype, T.ArrayType) or (
            spec.label_sep is not None and not isinstance(dtype, T.NullType)
        ):
            if not isinstance(dtype, T.ArrayType):
                self.raw = split_text(self.raw, spec.label_sep or "")
            self.lists = ListTarget(name, self.raw, dtype)
            dtype = T.NullType()  # no moments: the kind is 'list'
        self.kind: Kind = "list" if self.lists is not None else _kind(name, dtype)
        self.parsed = self.kind == "string" and spec.classes == "never"
        if self.parsed:  # a regression loss on text: the local reader parses numbers too
            self.kind = "float"
            self.y: Column | None = self.raw.try_cast("double")
        elif self.kind in ("bool", "integer", "float"):
            self.y = self.raw.cast("double")
        else:
            self.y = None
        self.missing = self.raw.isNull()
        if self.y is not None:
            self.missing = self.missing | self.y.isNull() | F.isnan(self.y)
        if self.parsed:  # text that is not a number is an error, not a missing label
            self.missing = self.raw.isNull() | (self.raw.isNotNull() & F.isnan(self.y))  # type: ignore[arg-type]
        # Expressions whose weighted moments are needed: the label and the loss's transforms.
        self.exprs: dict[str, Column] = {}
        if self.y is not None:
            self.exprs[""] = self.y
            for t in spec.extra_means:
                self.exprs[t] = _transform(t, self.y)
        self.moments: dict[str, Moments] = {}
        self.integral = True
        self.example: float | None = None

    def aggregates(self, keep: Column, w: Column) -> list[Column]:
        if self.lists is not None:
            return self.lists.aggregates(keep, w)
        i = self.name
        out = []
        if self.parsed:
            bad = self.raw.isNotNull() & self.y.isNull()  # type: ignore[union-attr]
            out.append(F.first(F.when(bad, self.raw), ignorenulls=True).alias(f"text {i}"))
        if self.y is None:
            return out
        y = self.y
        inf = keep & (F.abs(y) == _INF)
        frac = keep & (y % 1 != 0)
        out += [
            F.first(F.when(inf, y), ignorenulls=True).alias(f"inf {i}"),
            F.sum(F.when(frac, 1).otherwise(0)).alias(f"frac {i}"),
            F.first(F.when(frac, y), ignorenulls=True).alias(f"example {i}"),
        ]
        for t, e in self.exprs.items():
            out += [
                F.sum(F.when(keep, w * e)).alias(f"swe {t} {i}"),
                F.min(F.when(keep, e)).alias(f"min {t} {i}"),
                F.max(F.when(keep, e)).alias(f"max {t} {i}"),
            ]
        return out

    def check(self, row: dict[str, Any]) -> None:
        if self.lists is not None:
            self.lists.check(row)
            return
        i = self.name
        if self.parsed and row[f"text {i}"] is not None:
            raise DataError(
                f"column '{i}' is a regression target but holds the text {row[f'text {i}']!r}; "
                "remove or fix that value, or choose a classification --task"
            )
        if self.y is None:
            return
        if row[f"inf {i}"] is not None:
            raise DataError(
                f"column '{i}' has an infinite value ({row[f'inf {i}']}); "
                "remove it or replace it with a finite number or an empty cell"
            )
        if self.kind == "float" and row[f"frac {i}"]:
            self.integral, self.example = False, float(row[f"example {i}"])

    def column_stats(self, frame: Any, keep: Column, w: Column, wsum: float) -> ColumnStats:
        if self.lists is not None:
            return self.lists.column_stats(frame, keep, w, self.spec.class_limit)
        col = ColumnStats(self.name, self.kind, integral=self.integral)
        col.non_integral_example = self.example
        if self.y is not None:
            col.moments = self.moments[""]
            col.extra = ExtraMeans({t: m for t, m in self.moments.items() if t})
        limit = self._count_limit()
        if limit > 0:
            col.counts = self._counts(frame, keep, w, limit)
        return col

    def _count_limit(self) -> int:
        """The local rule (LabelStats._count_limit) for the finished column."""
        if self.spec.classes == "never":
            return 0
        if self.spec.classes == "always" or self.kind in ("string", "bool"):
            return self.spec.class_limit
        return AUTO_MAX_CLASSES if self.integral else 2

    def _counts(self, frame: Any, keep: Column, w: Column, limit: int) -> ValueCounts:
        key = {"bool": self.raw, "integer": self.raw.cast("long"), "string": self.raw}.get(
            self.kind, self.y
        )
        # Spark aggregates all groups but sends at most limit + 1 rows: enough to tell
        # whether the column has more distinct values than classes allowed.
        rows = (
            frame.where(keep)
            .groupBy(key.alias("k"))  # type: ignore[union-attr]
            .agg(F.count(F.lit(1)).alias("n"), F.sum(w).alias("w"))
            .limit(limit + 1)
            .collect()
        )
        return counts_from_rows(rows, limit, self.kind)


def _transform(name: str, y: Column) -> Column:
    """stats._transform in Spark SQL (Spark's log(0) is null, not -inf: the loss's domain
    check on the minimum rejects such labels first)."""
    if name == "log":
        return F.log(y)
    if name == "xlogx":
        return F.when(y > 0, y * F.log(y)).otherwise(0.0)
    if name.startswith("pow:"):
        return F.pow(F.greatest(y, F.lit(0.0)), float(name[4:]))
    raise ValueError(f"unknown transform {name!r}")


def _one_hot_row(cols: list[_Target]) -> Column | None:
    """Whether a row's targets are all 0/1 with exactly one 1 (None: not several numeric)."""
    if len(cols) < 2 or any(c.y is None for c in cols):
        return None
    zero_one = F.lit(True)
    ones = F.lit(0)
    for c in cols:
        assert c.y is not None
        zero_one = zero_one & ((c.y == 0) | (c.y == 1))
        ones = ones + F.when(c.y == 1, 1).otherwise(0)
    return zero_one & (ones == 1)


def _first_pass(
    frame: Any, spec: StatsSpec, cols: list[_Target], keep: Column, w: Column
) -> dict[str, Any]:
    aggs = [
        F.count(F.lit(1)).alias("n"),
        F.sum(F.when(keep, 1).otherwise(0)).alias("keep"),
        F.sum(F.when(keep, w)).alias("wsum"),
    ]
    if spec.weight is not None:
        bad = w.isNull() | F.isnan(w) | (w < 0) | (w == _INF)
        aggs += [
            F.sum(F.when(bad, 1).otherwise(0)).alias("bad weights"),
            F.first(F.when(bad, F.coalesce(w.cast("string"), F.lit("missing"))), True).alias(
                "bad weight"
            ),
        ]
    for c in cols:
        aggs += c.aggregates(keep, w)
    one_hot = _one_hot_row(cols)
    if one_hot is not None:
        aggs.append(F.sum(F.when(keep & one_hot, 1).otherwise(0)).alias("one hot"))
    row: dict[str, Any] = frame.agg(*aggs).collect()[0].asDict()
    if spec.weight is not None and row["bad weights"]:
        raise DataError(
            f"weight column '{spec.weight}' has the value {row['bad weight']} "
            f"({row['bad weights']} rows); sample weights must be finite, non-negative numbers"
        )
    for c in cols:
        c.check(row)
    return row


def _second_pass(
    frame: Any, cols: list[_Target], keep: Column, w: Column, totals: dict[str, Any]
) -> None:
    """Centred second moments around the means of the first pass (two-pass: stable)."""
    wsum = float(totals["wsum"] or 0.0)
    means: dict[tuple[str, str], float] = {}
    aggs = []
    for c in cols:
        for t, e in c.exprs.items():
            swe = totals[f"swe {t} {c.name}"]
            mean = float(swe) / wsum if wsum > 0 and swe is not None else math.nan
            means[c.name, t] = mean
            if math.isfinite(mean):
                aggs.append(
                    F.sum(F.when(keep, w * (e - mean) * (e - mean))).alias(f"m2 {t} {c.name}")
                )
    row = frame.agg(*aggs).collect()[0].asDict() if aggs else {}
    for c in cols:
        for t in c.exprs:
            mean = means[c.name, t]
            if wsum <= 0:
                c.moments[t] = Moments()
                continue
            lo, hi = totals[f"min {t} {c.name}"], totals[f"max {t} {c.name}"]
            c.moments[t] = Moments(
                wsum,
                mean,
                float(row.get(f"m2 {t} {c.name}") or 0.0) if math.isfinite(mean) else math.nan,
                math.inf if lo is None else float(lo),
                -math.inf if hi is None else float(hi),
            )


def _quantiles(
    frame: Any, stats: LabelStats, cols: list[_Target], keep: Column, accuracy: int, grid: int
) -> None:
    """An equi-depth summary per column from percentile_approx, as a SketchStore.

    Point i is the approximate quantile at (i + 1/2) / grid and carries n / grid of the
    rows.  Spark's rank error is at most n / accuracy (Greenwald-Khanna); the grid adds
    n / (2 grid), so the summary's ranks are within n (1/accuracy + 1/(2 grid)).
    """
    if stats.spec.weight is not None:
        raise OptionError(
            "the mae, quantile and huber losses need weighted quantiles, which Spark's "
            "percentile_approx cannot compute; drop the weight or use the Dask engine"
        )
    levels = [(i + 0.5) / grid for i in range(grid)]
    aggs = [
        F.percentile_approx(F.when(keep, c.y), levels, accuracy).alias(c.name)
        for c in cols
        if c.y is not None
    ]
    row = frame.agg(*aggs).collect()[0].asDict()
    n = float(stats.n_rows)
    for col, c in zip(stats.columns, cols, strict=True):
        if c.y is None:
            continue
        values = np.array(row[c.name], dtype=np.float64)
        col.store = SketchStore(
            [values], [np.full(values.size, n / grid)], n * (1 / accuracy + 0.5 / grid)
        )
