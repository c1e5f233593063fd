"""A small, deterministic, mergeable quantile sketch for weighted data.

The median, quantile and Huber losses need order statistics, which cannot be merged
exactly without keeping every value.  A distributed engine therefore summarises each
partition by at most ``k`` weighted points and merges the summaries up a tree.

The summary is a set of distinct values with positive weights.  Let ``W`` be the total
weight, ``R(x)`` the true weight of the labels ``<= x`` and ``R'(x)`` the summary's.  The
sketch tracks a number ``error`` (in units of weight) with

    |R'(x) - R(x)| <= error   and   |R'(x-) - R(x-)| <= error   for every x,

(``x-``: the weight strictly below ``x``).  Compression groups consecutive points into
buckets whose weight, without their last point, is below ``W / k``, and keeps each bucket
as one point at its largest value carrying the bucket's weight.  Only the bucket that
straddles ``x`` can be miscounted, by less than ``W / k``, so one compression adds less
than ``W / k``; merging adds the two errors.  In a tree of merges the compressions of one
level together add less than ``W / k``, so a tree with ``L`` levels above the partitions
has ``error / W < (L + 1) / k``.  The bound is a guarantee, not a probability, and the
sketch is deterministic: the same partitions give the same answer.  (A KLL sketch needs
less memory for the same error, but its bound holds with a probability, its answer varies
from run to run, and the Apache DataSketches implementation takes no fractional sample
weights; see docs/distributed.md.)

Reference: the equi-depth compression is the "q-digest"/GK idea in its simplest form;
M. Greenwald, S. Khanna, "Space-efficient online computation of quantile summaries",
SIGMOD 2001.

>>> s = QuantileSketch.of(np.arange(1000.0), k=100)
>>> len(s), s.rank_error < 0.01
(100, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .values import ValueStore

if TYPE_CHECKING:
    from .labels import LabelStats

__all__ = ["DEFAULT_K", "QuantileSketch", "SketchStore", "approximation_warning"]

FloatArray = npt.NDArray[np.float64]

#: Points kept per sketch: 8192 points (128 KiB) give a rank error below (L + 1) / 8192,
#: 0.05 % of the weight for a tree of three levels (512 partitions with fan-in 8).
DEFAULT_K = 8192


@dataclass(frozen=True)
class QuantileSketch:
    """Sorted distinct ``values`` with positive ``weights`` and a bound on the rank error."""

    values: FloatArray
    weights: FloatArray
    error: float = 0.0
    k: int = DEFAULT_K

    def __post_init__(self) -> None:
        if self.k < 2:
            raise ValueError("a quantile sketch needs k >= 2 points")

    @classmethod
    def of(cls, y: FloatArray, w: FloatArray | None = None, k: int = DEFAULT_K) -> QuantileSketch:
        """The sketch of values ``y`` with optional weights ``w`` (zero weights are dropped)."""
        y = np.asarray(y, dtype=np.float64)
        ws = np.ones(y.size) if w is None else np.asarray(w, dtype=np.float64)
        return cls(*_distinct(y, ws), 0.0, k)._compressed()

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        """The sketch of the union of both inputs (error: the sum, plus one compression)."""
        return QuantileSketch.merge_all([self, other])

    @staticmethod
    def merge_all(sketches: Sequence[QuantileSketch]) -> QuantileSketch:
        """Merge several sketches with one compression (one tree node of any fan-in).

        Merging them pairwise in a chain would compress once per pair and add up to
        ``len(sketches) - 1`` times ``W / k`` to the error.
        """
        values, weights = _distinct(
            np.concatenate([s.values for s in sketches]),
            np.concatenate([s.weights for s in sketches]),
        )
        k = min(s.k for s in sketches)
        error = sum(s.error for s in sketches)
        return QuantileSketch(values, weights, error, k)._compressed()

    def _compressed(self) -> QuantileSketch:
        if self.values.size <= self.k:
            return self
        total = float(self.weights.sum())
        step = total / self.k
        before = np.cumsum(self.weights) - self.weights  # weight strictly before each point
        # Bucket b holds the points whose preceding weight lies in [b step, (b+1) step): so
        # at most k buckets, and a bucket without its last point weighs less than step.
        bucket = np.minimum((before / step).astype(np.int64), self.k - 1)
        last = np.flatnonzero(np.diff(bucket, append=bucket[-1] + 1))
        first = np.concatenate([[0], last[:-1] + 1])
        weights = np.add.reduceat(self.weights, first)
        added = float(np.max(weights - self.weights[last]))
        return QuantileSketch(self.values[last], weights, self.error + added, self.k)

    def __len__(self) -> int:
        return int(self.values.size)

    @property
    def total_weight(self) -> float:
        return float(self.weights.sum())

    @property
    def rank_error(self) -> float:
        """The bound on the rank error as a share of the total weight (0 = exact)."""
        total = self.total_weight
        return self.error / total if total > 0 else 0.0

    def to_store(self) -> SketchStore:
        """The summary as the weighted values the order-statistic losses work from."""
        return SketchStore([self.values.copy()], [self.weights.copy()], self.error)

    def to_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "error": self.error,
            "values": self.values.tolist(),
            "weights": self.weights.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuantileSketch:
        return cls(
            np.asarray(data["values"], dtype=np.float64),
            np.asarray(data["weights"], dtype=np.float64),
            float(data["error"]),
            int(data["k"]),
        )


@dataclass
class SketchStore(ValueStore):
    """A sketch's points as the weighted values of a column, with the sketch's ``error``.

    The losses read it like exact values; ``rank_error`` says how far its ranks may be off.
    """

    values: list[FloatArray] = field(default_factory=list)
    weights: list[FloatArray] | None = None
    error: float = 0.0

    def merge(self, other: ValueStore) -> ValueStore:
        # A union of summaries is off by at most the sum of their errors (in weight).
        merged = super().merge(other)
        return SketchStore(merged.values, merged.weights, self.error + _error_of(other))

    @property
    def rank_error(self) -> float:
        """The bound on the rank error as a share of the total weight."""
        y, w = self.arrays()
        total = float(w.sum()) if w is not None else float(y.size)
        return self.error / total if total > 0 else 0.0


def approximation_warning(stats: LabelStats) -> str | None:
    """A note for results whose order statistics come from a sketch (None otherwise)."""
    errors = [c.store.rank_error for c in stats.columns if isinstance(c.store, SketchStore)]
    if not errors:
        return None
    return (
        f"order statistics come from a quantile sketch: their ranks are within "
        f"{max(errors):.2g} of the total weight of the exact ones (docs/distributed.md)"
    )


def _error_of(store: ValueStore) -> float:
    return store.error if isinstance(store, SketchStore) else 0.0


def _distinct(y: FloatArray, w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Distinct values (sorted) with their summed weights; zero-weight values dropped."""
    keep = w > 0
    if not keep.all():
        y, w = y[keep], w[keep]
    values, index = np.unique(y, return_inverse=True)
    return values, np.asarray(np.bincount(index.reshape(-1), w, values.size), dtype=np.float64)
