"""Weighted moments and means of transforms: the statistics behind mean and log-link losses.

The mean is computed with power-of-two scaling so that values near 1e308 do not overflow;
partial moments merge with the pairwise update of T. F. Chan, G. H. Golub, R. J. LeVeque,
"Algorithms for computing the sample variance", The American Statistician 37 (1983).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["ExtraMeans", "FloatArray", "Moments"]

FloatArray = npt.NDArray[np.float64]


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
    # Weights are scaled by a power of two too, so weights near 1e308 keep the mean exact;
    # a total that overflows is reported by assemble.result_from_stats.
    wbig = float(np.max(w)) if w.size else 0.0
    wexp = math.frexp(wbig)[1] if wbig > 0 else 0
    ws = np.ldexp(w, -wexp)
    scaled_total = float(np.sum(ws))
    if scaled_total == 0:
        return 0.0, 0.0
    try:
        total = math.ldexp(scaled_total, wexp)
    except OverflowError:
        total = math.inf
    # Plain multiply-and-sum, not np.dot: BLAS threads would fight the reader's threads.
    return math.ldexp(float(np.sum(ws * scaled)) / scaled_total, exponent), total


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
