"""LabelStats: the statistics of one or more label columns, fed batch by batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from .._arrow import from_numpy, to_numpy, validity
from ..errors import DataError, OptionError
from .arrays import Kind, _as_array, _kind_of, _Lines, _merge_kinds, _parse_numbers, _weights
from .counts import CLASS_LIMIT, CountPart, ValueCounts, dense_integer_counts
from .declared import DeclaredClasses, merge_declared, note_dictionary
from .lists import ListStats, element_kind, is_list_type, list_part, split_labels
from .moments import ExtraMeans, FloatArray, Moments
from .onehot import count_one_hot_rows, merge_one_hot
from .values import ValueStore

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pyarrow as pa

__all__ = ["AUTO_MAX_CLASSES", "ColumnStats", "Kind", "LabelStats", "StatsSpec"]

#: Integer columns with more distinct values than this are regression targets (tasks.py).
AUTO_MAX_CLASSES = 20
#: Exact medians, quantiles and Huber locations keep at most this many label values in
#: memory (8 bytes each, 16 with weights: 400-800 MB).  Beyond it the values are summarised
#: by a quantile sketch of SKETCH_POINTS points whose rank error the result states.
MAX_VALUES = 50_000_000
SKETCH_POINTS = 1 << 16


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
    max_values: int = MAX_VALUES
    #: Split text labels at this separator into label sets (``--label-sep``).
    label_sep: str | None = None
    #: The row filter the rows passed (``--where``, as recorded in results), if any.
    where: str | None = None


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
    #: The classes the column declares (categories, ClassLabel names), if any.
    declared: DeclaredClasses | None = None
    #: List-valued columns: what the rows look like (label sets or multi-hot).
    lists: ListStats | None = None
    # The last dictionary whose names were checked (a batch of the same row group shares it).
    _dictionary: Any = field(default=None, repr=False, compare=False)

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
            merge_declared(self.declared, other.declared),
            _merge_lists(self.lists, other.lists),
        )

    @property
    def numeric(self) -> bool:
        return self.kind in ("bool", "integer", "float")


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
        #: Kept rows of several numeric targets that are one-hot (stats/onehot.py); None
        #: when some target is not numeric or the statistics did not record it (Spark).
        self.one_hot_rows: int | None = 0
        #: Warnings from reading the data (a file reached twice), shown with the result.
        self.notes: list[str] = []

    @property
    def weighted(self) -> bool:
        return self.spec.weight is not None

    def declare(self, declared: dict[str, DeclaredClasses]) -> None:
        """Record the classes the input's schema declares for the target columns.

        ``declared`` comes from :func:`biascalc.readers.declared_classes`.
        """
        for col in self.columns:
            if col.name in declared:
                col.declared = merge_declared(col.declared, declared[col.name])

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

    def update(
        self, batch: pa.RecordBatch | pa.Table, rows: npt.NDArray[np.int64] | None = None
    ) -> None:
        """Fold one batch (holding the target and weight columns) into the statistics.

        ``rows``: the position in its file of each row, when rows were filtered out
        before (``--where``), so that errors name the right line.
        """
        n = batch.num_rows
        if n == 0:
            return
        line = _Lines(self.rows_seen, rows)
        self.rows_seen += n
        columns: list[tuple[pa.Array, np.ndarray[Any, Any] | None]] = []
        keep: npt.NDArray[np.bool_] | None = None  # None: every row has all its labels
        for name, col in zip(self.spec.targets, self.columns, strict=True):
            arr = _as_array(batch.column(name))
            if self.spec.label_sep is not None and not is_list_type(arr.type):
                arr = split_labels(arr, self.spec.label_sep)
            if col.declared is not None:
                col.declared, col._dictionary = note_dictionary(col.declared, col._dictionary, arr)
            arr = self._prepare(name, arr, line)
            valid = validity(arr)
            values = to_numpy(arr) if _kind_of(arr.type) in ("bool", "integer", "float") else None
            if values is not None and values.dtype.kind == "f":
                nan = np.isnan(values)
                if nan.any():
                    valid = ~nan if valid is None else valid & ~nan
            if (
                values is not None
                and col.declared is not None
                and col.declared.source == "ClassLabel"
            ):
                unlabelled = values == -1  # datasets' "no label"
                if unlabelled.any():
                    valid = ~unlabelled if valid is None else valid & ~unlabelled
            if valid is not None:
                keep = valid if keep is None else keep & valid
            columns.append((arr, values))
        w = None
        if self.spec.weight is not None:
            w = _weights(self.spec.weight, batch.column(self.spec.weight), line)
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
        with np.errstate(over="ignore"):  # an overflowing total is reported later
            self.weight_sum += float(np.sum(w)) if w is not None else n_keep
        if len(columns) > 1:
            found = count_one_hot_rows([v for _, v in columns])
            self.one_hot_rows = merge_one_hot(self.one_hot_rows, found)
        for col, (arr, values) in zip(self.columns, columns, strict=True):
            self._update_column(col, arr, values, w, keep, line)

    def _prepare(self, name: str, arr: pa.Array, line: _Lines) -> pa.Array:
        """Decode dictionaries and decimals; parse text when the target must be numeric."""
        import pyarrow as pa

        if pa.types.is_dictionary(arr.type) and pa.types.is_string_view(arr.type.value_type):
            arr = arr.cast(pa.dictionary(arr.type.index_type, pa.string()))  # polars' text
        if pa.types.is_dictionary(arr.type) and not (
            _kind_of(arr.type) == "string" and self.spec.classes != "never"
        ):
            arr = arr.cast(arr.type.value_type)  # text labels keep their codes for counting
        if pa.types.is_string_view(arr.type):
            arr = arr.cast(pa.string())
        if self.spec.classes == "never" and _kind_of(arr.type) == "string":
            arr = _parse_numbers(name, arr, line)
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
        line: _Lines,
    ) -> None:
        kind = _kind_of(arr.type)
        col.kind = _merge_kinds(col.name, col.kind, kind)
        if kind == "list":
            self._update_list(col, arr, w, _kept_lines(line, keep))
            return
        counted = None
        if values is not None and not self.spec.keep_values:
            counted = dense_integer_counts(values, w)
        if counted is not None:
            # Integers with a small span: the moments over the distinct values weighted by
            # their counts (or weight sums) are those of the rows, sum_k w_k (k - mean)^2.
            keys = counted.keys.astype(np.float64)
            col.moments = col.moments.merge(Moments.of(keys, counted.weight))
            if self.spec.extra_means:
                col.extra = col.extra.merge(
                    ExtraMeans.of(self.spec.extra_means, keys, counted.weight)
                )
        elif values is not None:
            y = np.asarray(values, dtype=np.float64)
            bad = ~np.isfinite(y)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                row = int(np.flatnonzero(keep)[i]) if keep is not None else i
                raise DataError(
                    f"column '{col.name}' has an infinite value ({y[i]}) "
                    f"on line {line(row)}; "
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
                if col.store.size > self.spec.max_values:
                    col.store = _sketched(col.store, min(SKETCH_POINTS, self.spec.max_values // 2))
        limit = self._count_limit(col)
        if limit > 0:
            if col.counts is None:
                col.counts = ValueCounts(limit)
            col.counts.limit = min(col.counts.limit, limit)
            if counted is not None:
                col.counts.add_part(counted)
            else:
                col.counts.add(values if values is not None else arr, w)

    def _update_list(
        self, col: ColumnStats, arr: pa.Array, w: FloatArray | None, line: Callable[[int], int]
    ) -> None:
        """Label sets: rows per label (once per row); multi-hot: ones per position."""
        element = element_kind(col.name, arr.type, _kind_of)
        part, labels, label_weights = list_part(col.name, arr, w, element, line)
        col.lists = _merge_lists(col.lists, part)
        if col.counts is None:
            col.counts = ValueCounts(self.spec.class_limit)
        col.counts.add(labels, label_weights)

    def _count_limit(self, col: ColumnStats) -> int:
        if self.spec.classes == "never":
            return 0
        if (
            self.spec.classes == "always"
            or col.kind in ("string", "bool")
            or col.declared is not None
        ):
            return self.spec.class_limit
        # Auto: numbers are classes only when integral with few distinct values, or
        # when exactly two distinct values appear (binary), see tasks.py.
        return AUTO_MAX_CLASSES if col.integral else 2

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (format in docs/distributed.md); see :meth:`from_dict`."""
        from .serialize import stats_to_dict

        return stats_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelStats:
        """Statistics written by :meth:`to_dict`, possibly on another machine."""
        from .serialize import stats_from_dict

        return stats_from_dict(data)

    def merge(self, other: LabelStats) -> LabelStats:
        """Combine the statistics of two disjoint parts of the same data set."""
        if other.spec.targets != self.spec.targets or other.spec.weight != self.spec.weight:
            raise DataError(
                f"statistics of targets {list(other.spec.targets)} (weight {other.spec.weight}) "
                f"cannot be merged with those of {list(self.spec.targets)} "
                f"(weight {self.spec.weight})"
            )
        if other.spec.where != self.spec.where:
            raise DataError(
                f"statistics of rows filtered by {_filter_words(other.spec.where)} cannot be "
                f"merged with those filtered by {_filter_words(self.spec.where)}; collect every "
                "part with the same --where"
            )
        mine, theirs = _collected(self.spec), _collected(other.spec)
        if mine != theirs:
            raise DataError(
                f"these statistics were collected for different options ({mine} and {theirs}); "
                "collect every part with the same --task and --loss"
            )
        out = LabelStats(self.spec)
        out.columns = [a.merge(b) for a, b in zip(self.columns, other.columns, strict=True)]
        out.n_rows = self.n_rows + other.n_rows
        out.n_missing = self.n_missing + other.n_missing
        out.rows_seen = self.rows_seen + other.rows_seen
        out.weight_sum = self.weight_sum + other.weight_sum
        out.one_hot_rows = merge_one_hot(self.one_hot_rows, other.one_hot_rows)
        out.notes = list(dict.fromkeys([*self.notes, *other.notes]))
        return out


def _kept_lines(line: _Lines, keep: npt.NDArray[np.bool_] | None) -> Callable[[int], int]:
    """The file line of row ``i`` of a batch whose rows with a missing label were dropped."""
    if keep is None:
        return line
    kept = np.flatnonzero(keep)
    return lambda i: line(int(kept[i]))


def _merge_lists(a: ListStats | None, b: ListStats | None) -> ListStats | None:
    if a is None or b is None:
        return b if a is None else a
    return a.merge(b)


def _filter_words(where: str | None) -> str:
    return "no --where" if where is None else f"--where {where!r}"


def _is_class_label(col: ColumnStats) -> bool:
    return col.declared is not None and col.declared.source == "ClassLabel"


def _collected(spec: StatsSpec) -> str:
    """What a spec collects, in words (parts to be merged must agree on it)."""
    parts = [f"classes={spec.classes}"]
    if spec.label_sep is not None:
        parts.append(f"label separator {spec.label_sep!r}")
    if spec.keep_values:
        parts.append("label values")
    if spec.extra_means:
        parts.append("means of " + ", ".join(spec.extra_means))
    return "; ".join(parts)


def _sketched(store: ValueStore, points: int) -> ValueStore:
    """Replace stored values by a quantile sketch, keeping any earlier sketch's error.

    Each compression adds less than W / SKETCH_POINTS to the rank error (sketch.py), and
    one happens per MAX_VALUES - points rows, so 1e9 rows stay within 21 / 65,536 = 0.03 %.
    """
    from .sketch import QuantileSketch, SketchStore  # only past MAX_VALUES label values

    y, w = store.arrays()
    prior = store.error if isinstance(store, SketchStore) else 0.0
    sketch = QuantileSketch.of(y, w, k=max(points, 2))
    return SketchStore([sketch.values], [sketch.weights], sketch.error + prior)
