"""The label values themselves, for losses whose minimiser is an order statistic."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .moments import FloatArray

__all__ = ["ValueStore"]


@dataclass
class ValueStore:
    """The non-missing label values (and weights) of a column, for order statistics."""

    values: list[FloatArray] = field(default_factory=list)
    weights: list[FloatArray] | None = None

    def add(self, y: FloatArray, w: FloatArray | None) -> None:
        # Weights stay aligned with values: unit weights fill in on whichever side lacks them.
        if w is not None and self.weights is None:
            self.weights = _ones_like(self.values)
        if self.weights is not None:
            self.weights.append(np.ones(y.size) if w is None else w)
        self.values.append(y)

    def merge(self, other: ValueStore) -> ValueStore:
        if type(self) is ValueStore and type(other) is not ValueStore:
            return other.merge(self)  # a sketch's points keep their error bound (sketch.py)
        weights = None
        if self.weights is not None or other.weights is not None:
            weights = [
                *(self.weights or _ones_like(self.values)),
                *(other.weights or _ones_like(other.values)),
            ]
        return ValueStore([*self.values, *other.values], weights)

    @property
    def size(self) -> int:
        """How many values are held."""
        return sum(v.size for v in self.values)

    def arrays(self) -> tuple[FloatArray, FloatArray | None]:
        """All values (and weights) as one array each.  The parts are joined once and kept
        joined: a loss asks several times (the fit, then each expected loss), and joining
        5M values each time cost 25 ms.  Callers must not modify the arrays in place."""
        if len(self.values) > 1:
            self.values = [np.concatenate(self.values)]
            if self.weights:
                self.weights = [np.concatenate(self.weights)]
        y = self.values[0] if self.values else np.zeros(0)
        w = self.weights[0] if self.weights else None
        return y, w


def _ones_like(arrays: list[FloatArray]) -> list[FloatArray]:
    return [np.ones(a.size) for a in arrays]
