"""Streaming, mergeable label statistics.

Everything biascalc computes is a function of a few per-column summaries that can be
accumulated batch by batch and merged across partitions in any order:

* :class:`Moments` - weighted count, mean and sum of squared deviations (Chan et al.'s
  parallel update), plus min and max.  The mean is computed with power-of-two scaling so
  that values near 1e308 do not overflow.
* :class:`ExtraMeans` - weighted means of fixed transforms of the label (``log y``,
  ``y log y``, ``y**a``) that some deviances need.
* :class:`ValueCounts` - weighted counts per distinct value, kept as Arrow arrays, up to a
  limit on the number of distinct values.
* :class:`ValueStore` - the non-missing values themselves, only for losses whose minimiser
  is an order statistic (median, quantile, Huber).

:class:`LabelStats` ties them together for one or several target columns, drops rows
with a missing label and validates the weights.

References: T. F. Chan, G. H. Golub, R. J. LeVeque, "Algorithms for computing the sample
variance", The American Statistician 37 (1983) - the pairwise merge used in
:meth:`Moments.merge`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from ._arrow import from_numpy, to_numpy, validity
from .errors import DataError, OptionError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "CLASS_LIMIT",
    "ColumnStats",
    "ExtraMeans",
    "LabelStats",
    "Moments",
    "StatsSpec",
    "ValueCounts",
    "ValueStore",
]

FloatArray = npt.NDArray[np.float64]
Kind = Literal["null", "bool", "integer", "float", "string"]

#: The most distinct values kept as classes (a language model's vocabulary fits).
CLASS_LIMIT = 1_000_000
#: Integer columns with more distinct values than this are regression targets (tasks.py).
AUTO_MAX_CLASSES = 20


def _scaled_weighted_sum(y: FloatArray, w: FloatArray | None) -> tuple[float, float]:
    """Return (sum(w*y)/sum(w), sum(w)) without overflowing for |y| up to float max."""
    if y.size == 0:
        return 0.0, 0.0
    big = float(np.max(np.abs(y)))
    # Dividing by a power of two is exact, so the scaling costs no precision.
    exponent = math.frexp(big)[1] if big > 0 else 0
    scaled = np.ldexp(y, -exponent)
    if w is None:
        return math.ldexp(float(np.mean(scaled)), exponent), float(y.size)
    total = float(np.sum(w))
    if total == 0:
        return 0.0, 0.0
    # Plain multiply-and-sum, not np.dot: BLAS threads would fight the reader's threads.
    return math.ldexp(float(np.sum(w * scaled)) / total, exponent), total


@dataclass
class Moments:
    """Weighted count, mean, centred second moment, min and max of a numeric column."""

    weight: float = 0.0
    mean: float = 0.0
    m2: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf

    @classmethod
    def of(cls, y: FloatArray, w: FloatArray | None = None) -> Moments:
        mean, weight = _scaled_weighted_sum(y, w)
        if weight == 0:
            return cls()
        dev = y - mean
        with np.errstate(over="ignore"):
            sq = dev * dev
            m2 = float(np.sum(sq * w) if w is not None else np.sum(sq))
        return cls(weight, mean, m2, float(np.min(y)), float(np.max(y)))

    def merge(self, other: Moments) -> Moments:
        if other.weight == 0:
            return Moments(self.weight, self.mean, self.m2, self.minimum, self.maximum)
        if self.weight == 0:
            return Moments(other.weight, other.mean, other.m2, other.minimum, other.maximum)
        total = self.weight + other.weight
        a, b = self.weight / total, other.weight / total
        # a*m1 + b*m2 cannot overflow; m1 + (m2 - m1)*b can (m1 = -1e308, m2 = 1e308).
        mean = a * self.mean + b * other.mean
        with np.errstate(over="ignore"):
            delta = other.mean - self.mean
            m2 = self.m2 + other.m2 + self.weight * b * delta * delta
        return Moments(
            total,
            mean,
            float(m2),
            min(self.minimum, other.minimum),
            max(self.maximum, other.maximum),
        )

    @property
    def variance(self) -> float:
        """Weighted population variance, sum(w (y - mean)^2) / sum(w)."""
        return self.m2 / self.weight if self.weight > 0 else math.nan


def _transform(name: str, y: FloatArray) -> FloatArray:
    """The transforms ExtraMeans can accumulate: 'log', 'xlogx' and 'pow:<a>'."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if name == "log":
            return np.log(y)
        if name == "xlogx":  # y log y with the limit 0 log 0 = 0
            return np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)
        if name.startswith("pow:"):
            return np.power(np.maximum(y, 0.0), float(name[4:]))
    raise ValueError(f"unknown transform {name!r}")


@dataclass
class ExtraMeans:
    """Weighted means of transforms of the label, keyed by transform name."""

    means: dict[str, Moments] = field(default_factory=dict)

    @classmethod
    def of(cls, names: Sequence[str], y: FloatArray, w: FloatArray | None) -> ExtraMeans:
        # Out-of-domain labels (log 0) give inf/nan here; the loss rejects them later
        # with a message that names the column and value.
        with np.errstate(invalid="ignore", over="ignore"):
            return cls({n: Moments.of(_transform(n, y), w) for n in names})

    def merge(self, other: ExtraMeans) -> ExtraMeans:
        keys = self.means.keys() | other.means.keys()
        return ExtraMeans(
            {k: self.means.get(k, Moments()).merge(other.means.get(k, Moments())) for k in keys}
        )

    def mean(self, name: str) -> float:
        return self.means[name].mean


Keys = Any  # a NumPy array (numbers, booleans) or an Arrow array (text)


@dataclass
class CountPart:
    """Distinct values with their row counts and weight sums (one batch, or merged)."""

    keys: Keys
    weight: FloatArray
    count: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class ValueCounts:
    """Row counts and weight sums per distinct value.

    Numbers and booleans are counted in NumPy (dense ``bincount`` for integers), text
    through Arrow's dictionary encoding.  Partial counts are buffered and re-aggregated
    when the buffer grows, so the cost per batch stays proportional to the batch plus
    the number of distinct values.  Beyond ``limit`` distinct values the counts are
    dropped and :attr:`overflowed` is set.
    """

    limit: int = CLASS_LIMIT
    parts: list[CountPart] = field(default_factory=list)
    overflowed: bool = False
    _buffered_rows: int = 0

    def add(self, values: Keys, weights: FloatArray | None) -> None:
        """Count one batch of non-null values (NumPy or Arrow) with their weights, if any."""
        if self.overflowed or len(values) == 0:
            return
        keys, index = _encode(values)
        self._append(_aggregate(keys, index, None, weights))

    def _append(self, part: CountPart) -> None:
        if len(part) > self.limit:
            self._overflow()
            return
        self.parts.append(part)
        self._buffered_rows += len(part)
        if self._buffered_rows > 2 * self.limit or len(self.parts) > 64:
            self._compact()

    def _overflow(self) -> None:
        self.parts, self.overflowed, self._buffered_rows = [], True, 0

    def _compact(self) -> None:
        if self.overflowed or len(self.parts) <= 1:
            return
        keys = _concat_keys([p.keys for p in self.parts])
        counts = np.concatenate([p.count for p in self.parts])
        weights = np.concatenate([p.weight for p in self.parts])
        distinct, index = _encode(keys)
        merged = _aggregate(distinct, index, counts, weights)
        self.parts, self._buffered_rows = [merged], len(merged)
        if len(merged) > self.limit:
            self._overflow()

    def merge(self, other: ValueCounts) -> ValueCounts:
        out = ValueCounts(min(self.limit, other.limit))
        out.overflowed = self.overflowed or other.overflowed
        if not out.overflowed:
            for part in [*self.parts, *other.parts]:
                out._append(part)
            out._compact()
        return out

    def result(self) -> tuple[list[Any], npt.NDArray[np.int64], FloatArray] | None:
        """Sorted distinct values (as Python objects), their row counts and weight sums."""
        self._compact()
        if self.overflowed:
            return None
        if not self.parts:
            return [], np.zeros(0, np.int64), np.zeros(0)
        part = self.parts[0]
        values = part.keys.tolist() if isinstance(part.keys, np.ndarray) else part.keys.to_pylist()
        # Python's ordering: numbers numerically, text by code point, False < True.
        order = np.argsort(np.array(values, dtype=object), kind="stable")
        return [values[i] for i in order], part.count[order], part.weight[order]

    @property
    def n_distinct(self) -> int:
        self._compact()
        return sum(len(p) for p in self.parts)


#: Integer labels spanning fewer values than this are counted with a dense bincount.
_DENSE_SPAN = 1 << 22


def _encode(values: Keys) -> tuple[Keys, npt.NDArray[np.intp]]:
    """Distinct values and each row's index into them (NumPy keys for numbers)."""
    import pyarrow as pa

    if isinstance(values, pa.DictionaryArray):
        return values.dictionary, to_numpy(values.indices).astype(np.intp)
    if isinstance(values, pa.Array) and not (
        pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
    ):
        values = to_numpy(values)
    if isinstance(values, np.ndarray):
        if values.dtype == np.bool_:
            return np.array([False, True]), values.astype(np.intp)
        if values.dtype.kind in "iu" and values.size:
            lo, hi = int(values.min()), int(values.max())
            if hi - lo < _DENSE_SPAN:
                return np.arange(lo, hi + 1, dtype=values.dtype), (values - lo).astype(np.intp)
        keys, index = np.unique(values, return_inverse=True)
        return keys, index.astype(np.intp)
    encoded = values.dictionary_encode()  # hashing in C++; loads pyarrow.compute
    return encoded.dictionary, to_numpy(encoded.indices).astype(np.intp)


def _aggregate(
    keys: Keys,
    index: npt.NDArray[np.intp],
    counts: npt.NDArray[np.int64] | None,
    weights: FloatArray | None,
) -> CountPart:
    """Sum rows (or given counts) and weights per key with bincount; drop unseen keys."""
    n = len(keys)
    # bincount beats a hash aggregation by ~10x for the dense codes we have here.
    if counts is None:
        total = np.bincount(index, minlength=n)
    else:
        total = np.rint(np.bincount(index, counts.astype(np.float64), n)).astype(np.int64)
    wsum = np.asarray(
        total if weights is None else np.bincount(index, weights, n), dtype=np.float64
    )
    seen = np.flatnonzero(total)
    if seen.size < n:
        keys = keys[seen] if isinstance(keys, np.ndarray) else keys.take(from_numpy(seen))
        total, wsum = total[seen], wsum[seen]
    return CountPart(keys, wsum, total.astype(np.int64))


def _concat_keys(parts: list[Keys]) -> Keys:
    """Concatenate partial keys; integers and floats combine as floats."""
    import pyarrow as pa

    arrays = [p for p in parts if isinstance(p, np.ndarray)]
    if len(arrays) == len(parts):
        kinds = {a.dtype.kind for a in arrays}
        if "b" in kinds and len(kinds) > 1:
            raise DataError("a label column mixes booleans and numbers")
        return np.concatenate(arrays)
    if arrays:
        raise DataError("a label column mixes text and numbers")
    return pa.concat_arrays([p.cast(pa.string()) if p.type != pa.string() else p for p in parts])


@dataclass
class ValueStore:
    """The non-missing label values (and weights) of a column, for order statistics."""

    values: list[FloatArray] = field(default_factory=list)
    weights: list[FloatArray] | None = None

    def add(self, y: FloatArray, w: FloatArray | None) -> None:
        self.values.append(y)
        if w is not None:
            self.weights = [*(self.weights or []), w]

    def merge(self, other: ValueStore) -> ValueStore:
        weights = None
        if self.weights is not None or other.weights is not None:
            weights = [
                *(self.weights or _ones_like(self.values)),
                *(other.weights or _ones_like(other.values)),
            ]
        return ValueStore([*self.values, *other.values], weights)

    def arrays(self) -> tuple[FloatArray, FloatArray | None]:
        y = np.concatenate(self.values) if self.values else np.zeros(0)
        w = np.concatenate(self.weights) if self.weights else None
        return y, w


def _ones_like(arrays: list[FloatArray]) -> list[FloatArray]:
    return [np.ones(a.size) for a in arrays]


@dataclass(frozen=True)
class StatsSpec:
    """What to collect while reading.

    ``classes``: ``"auto"`` keeps counts of integer columns up to AUTO_MAX_CLASSES
    distinct values (enough for task detection) and of text/bool columns up to
    CLASS_LIMIT; ``"always"`` keeps counts up to CLASS_LIMIT for every column (the task is
    known to be classification); ``"never"`` keeps none and requires numeric labels.
    """

    targets: tuple[str, ...]
    weight: str | None = None
    classes: Literal["auto", "always", "never"] = "auto"
    keep_values: bool = False
    extra_means: tuple[str, ...] = ()
    class_limit: int = CLASS_LIMIT


@dataclass
class ColumnStats:
    """The statistics of one target column."""

    name: str
    kind: Kind = "null"
    moments: Moments = field(default_factory=Moments)
    extra: ExtraMeans = field(default_factory=ExtraMeans)
    counts: ValueCounts | None = None
    store: ValueStore | None = None
    integral: bool = True
    non_integral_example: float | None = None

    def merge(self, other: ColumnStats) -> ColumnStats:
        counts = self.counts
        if self.counts is not None and other.counts is not None:
            counts = self.counts.merge(other.counts)
        elif other.counts is not None:
            counts = other.counts
        store = self.store
        if self.store is not None and other.store is not None:
            store = self.store.merge(other.store)
        elif other.store is not None:
            store = other.store
        return ColumnStats(
            self.name,
            _merge_kinds(self.name, self.kind, other.kind),
            self.moments.merge(other.moments),
            self.extra.merge(other.extra),
            counts,
            store,
            self.integral and other.integral,
            self.non_integral_example
            if self.non_integral_example is not None
            else other.non_integral_example,
        )

    @property
    def numeric(self) -> bool:
        return self.kind in ("bool", "integer", "float")


def _merge_kinds(name: str, a: Kind, b: Kind) -> Kind:
    if a == b or b == "null":
        return a
    if a == "null":
        return b
    if {a, b} == {"integer", "float"}:
        return "float"
    raise DataError(
        f"column '{name}' holds {a} values in one part of the input and {b} values in another"
    )


def _kind_of(arrow_type: pa.DataType) -> Kind:
    import pyarrow as pa

    if pa.types.is_null(arrow_type):
        return "null"
    if pa.types.is_boolean(arrow_type):
        return "bool"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
        return "float"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_dictionary(arrow_type):
        return _kind_of(arrow_type.value_type)
    if pa.types.is_binary(arrow_type) or pa.types.is_large_binary(arrow_type):
        raise DataError(
            "the label column holds bytes that are not valid UTF-8; "
            "pass --encoding (for example --encoding latin-1) to say how the file is encoded"
        )
    raise DataError(f"labels of type {arrow_type} are not supported; use numbers, text or booleans")


class LabelStats:
    """Mergeable statistics of one or more label columns (and optional sample weights).

    Feed it Arrow record batches with :meth:`update`; combine partial results with
    :meth:`merge`.  Rows where any target is missing (null or NaN) are dropped and counted
    in :attr:`n_missing`.

    >>> import pyarrow as pa
    >>> s = LabelStats(StatsSpec(("y",)))
    >>> s.update(pa.record_batch({"y": [0, 1, 1, None]}))
    >>> s.n_rows, s.n_missing
    (3, 1)
    """

    def __init__(self, spec: StatsSpec) -> None:
        self.spec = spec
        self.columns = [ColumnStats(name) for name in spec.targets]
        self.n_rows = 0
        self.n_missing = 0
        self.rows_seen = 0
        self.weight_sum = 0.0

    @property
    def weighted(self) -> bool:
        return self.spec.weight is not None

    @classmethod
    def from_counts(
        cls, labels: Sequence[object], counts: Sequence[int], spec: StatsSpec
    ) -> LabelStats:
        """Statistics of a data set known only by its class counts (``--counts 0=9,1=1``)."""
        import pyarrow as pa

        if len(spec.targets) != 1:
            raise ValueError("counts describe one target")
        if any(n < 0 for n in counts) or sum(counts) <= 0:
            raise OptionError("--counts must be non-negative whole numbers, not all zero")
        if len(set(labels)) != len(labels):
            raise OptionError("--counts names a label more than once")
        try:
            values = pa.array(list(labels))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            raise OptionError(
                "--counts labels must all be numbers, all text or all booleans"
            ) from None
        n = np.asarray(counts, dtype=np.float64)
        stats = cls(
            StatsSpec(spec.targets, "__count__", spec.classes, spec.keep_values, spec.extra_means)
        )
        stats.update(pa.record_batch({spec.targets[0]: values, "__count__": pa.array(n)}))
        col = stats.columns[0]
        if col.counts is not None and not col.counts.overflowed:
            # Rows per class are the counts themselves, not one row per label.
            keys = values if pa.types.is_string(values.type) else to_numpy(values)
            part = CountPart(keys, n, np.asarray(counts, dtype=np.int64))
            col.counts = ValueCounts(col.counts.limit, [part])
        stats.spec = spec
        stats.n_rows = int(sum(counts))
        return stats

    def update(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Fold one batch (holding the target and weight columns) into the statistics."""
        n = batch.num_rows
        if n == 0:
            return
        offset = self.rows_seen
        self.rows_seen += n
        columns: list[tuple[pa.Array, np.ndarray[Any, Any] | None]] = []
        keep: npt.NDArray[np.bool_] | None = None  # None: every row has all its labels
        for name in self.spec.targets:
            arr = self._prepare(name, _as_array(batch.column(name)), offset)
            valid = validity(arr)
            values = to_numpy(arr) if _kind_of(arr.type) in ("bool", "integer", "float") else None
            if values is not None and values.dtype.kind == "f":
                nan = np.isnan(values)
                if nan.any():
                    valid = ~nan if valid is None else valid & ~nan
            if valid is not None:
                keep = valid if keep is None else keep & valid
            columns.append((arr, values))
        w = None
        if self.spec.weight is not None:
            w = _weights(self.spec.weight, batch.column(self.spec.weight), offset)
        n_keep = n if keep is None else int(keep.sum())
        self.n_missing += n - n_keep
        self.n_rows += n_keep
        if n_keep == 0:
            return
        if keep is not None and n_keep < n:
            mask = keep
            columns = [
                (a if v is not None else a.filter(from_numpy(mask)), None if v is None else v[mask])
                for a, v in columns
            ]
            w = None if w is None else w[mask]
        else:
            keep = None
        self.weight_sum += float(np.sum(w)) if w is not None else n_keep
        for col, (arr, values) in zip(self.columns, columns, strict=True):
            self._update_column(col, arr, values, w, keep, offset)

    def _prepare(self, name: str, arr: pa.Array, offset: int) -> pa.Array:
        """Decode dictionaries and decimals; parse text when the target must be numeric."""
        import pyarrow as pa

        if pa.types.is_dictionary(arr.type) and not (
            _kind_of(arr.type) == "string" and self.spec.classes != "never"
        ):
            arr = arr.cast(arr.type.value_type)  # text labels keep their codes for counting
        if self.spec.classes == "never" and _kind_of(arr.type) == "string":
            arr = _parse_numbers(name, arr, offset)
        if pa.types.is_decimal(arr.type):
            arr = arr.cast(pa.float64())
        return arr

    def _update_column(
        self,
        col: ColumnStats,
        arr: pa.Array,
        values: np.ndarray[Any, Any] | None,
        w: FloatArray | None,
        keep: npt.NDArray[np.bool_] | None,
        offset: int,
    ) -> None:
        kind = _kind_of(arr.type)
        col.kind = _merge_kinds(col.name, col.kind, kind)
        if values is not None:
            y = np.asarray(values, dtype=np.float64)
            bad = ~np.isfinite(y)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                row = int(np.flatnonzero(keep)[i]) if keep is not None else i
                raise DataError(
                    f"column '{col.name}' has an infinite value ({y[i]}) "
                    f"on line {offset + row + 2}; "
                    "remove it or replace it with a finite number or an empty cell"
                )
            if kind == "float" and col.integral:
                frac = np.flatnonzero(y != np.floor(y))
                if frac.size:
                    col.integral = False
                    col.non_integral_example = float(y[frac[0]])
            col.moments = col.moments.merge(Moments.of(y, w))
            if self.spec.extra_means:
                col.extra = col.extra.merge(ExtraMeans.of(self.spec.extra_means, y, w))
            if self.spec.keep_values:
                col.store = col.store or ValueStore()
                col.store.add(y, w)
        limit = self._count_limit(col)
        if limit > 0:
            if col.counts is None:
                col.counts = ValueCounts(limit)
            col.counts.limit = min(col.counts.limit, limit)
            col.counts.add(values if values is not None else arr, w)

    def _count_limit(self, col: ColumnStats) -> int:
        if self.spec.classes == "never":
            return 0
        if self.spec.classes == "always" or col.kind in ("string", "bool"):
            return self.spec.class_limit
        # Auto: numbers are classes only when integral with few distinct values, or
        # when exactly two distinct values appear (binary), see tasks.py.
        return AUTO_MAX_CLASSES if col.integral else 2

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (format in docs/distributed.md); see :meth:`from_dict`."""
        from .statsio import stats_to_dict

        return stats_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelStats:
        """Statistics written by :meth:`to_dict`, possibly on another machine."""
        from .statsio import stats_from_dict

        return stats_from_dict(data)

    def merge(self, other: LabelStats) -> LabelStats:
        """Combine the statistics of two disjoint parts of the same data set."""
        if other.spec.targets != self.spec.targets or other.spec.weight != self.spec.weight:
            raise ValueError("cannot merge statistics of different columns")
        out = LabelStats(self.spec)
        out.columns = [a.merge(b) for a, b in zip(self.columns, other.columns, strict=True)]
        out.n_rows = self.n_rows + other.n_rows
        out.n_missing = self.n_missing + other.n_missing
        out.rows_seen = self.rows_seen + other.rows_seen
        out.weight_sum = self.weight_sum + other.weight_sum
        return out


def _as_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return column


def _parse_numbers(name: str, arr: pa.Array, offset: int) -> pa.Array:
    """Cast text labels to float64, naming the first value that is not a number."""
    import pyarrow as pa

    try:
        return arr.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    for i, text in enumerate(arr.to_pylist()):
        if text is None:
            continue
        try:
            float(text)
        except ValueError:
            raise DataError(
                f"column '{name}' is a regression target but holds the text {text!r} on line "
                f"{offset + i + 2}; remove or fix that value, or choose a classification --task"
            ) from None
    return pa.array([None if t is None else float(t) for t in arr.to_pylist()], pa.float64())


def _weights(name: str, column: pa.Array | pa.ChunkedArray, offset: int) -> FloatArray:
    import pyarrow as pa

    arr = _as_array(column)
    if _kind_of(arr.type) == "string":
        arr = _parse_numbers(name, arr, offset)
    if not (
        pa.types.is_integer(arr.type)
        or pa.types.is_floating(arr.type)
        or pa.types.is_boolean(arr.type)
        or pa.types.is_decimal(arr.type)
    ):
        raise DataError(f"weight column '{name}' must hold numbers, not {arr.type}")
    if arr.null_count:
        i = arr.to_pylist().index(None)
        raise DataError(
            f"weight column '{name}' is missing (empty, NA or NaN) on line {offset + i + 2}; "
            "every row needs a weight"
        )
    w = np.asarray(to_numpy(arr), dtype=np.float64)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"weight column '{name}' has the value {w[i]} on line {offset + i + 2}; "
            "sample weights must be finite and non-negative"
        )
    return w
