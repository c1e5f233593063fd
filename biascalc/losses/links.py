"""Output activations of regression heads: prediction = g(raw output).

A regression loss L(y, c) minimised by the constant c* (the mean for squared error, the
median for absolute error, the Huber location, a quantile) is, behind a strictly
increasing activation g, minimised over the raw constant b by b = g^-1(c*), because g
maps the real line one-to-one onto its range.  When c* lies outside that range the
infimum is not attained by any finite bias, which is an error, never a silent clip.

* ``identity``: g(x) = x.
* ``exp``: g(x) = exp(x), range (0, inf), g^-1(c) = log c.
* ``softplus``: g(x) = log(1 + exp(x)) (PyTorch ``nn.Softplus``, beta = 1), range
  (0, inf), g^-1(c) = log(expm1(c)) = c + log(-expm1(-c)) (stable for large c).
* ``sigmoid`` with range (LO, HI): g(x) = LO + (HI - LO) sigmoid(x), fastai's
  ``SigmoidRange(low, high)``; g^-1(c) = logit((c - LO) / (HI - LO)).  Without
  ``--output-range`` the range is (0, 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import OptionError
from .base import FloatArray

__all__ = ["ACTIVATIONS", "IDENTITY", "OutputActivation", "inverse_softplus"]

ACTIVATIONS = ("identity", "exp", "softplus", "sigmoid")


def inverse_softplus(c: FloatArray) -> FloatArray:
    """log(expm1(c)) for c > 0, written as c + log(-expm1(-c)) so large c does not overflow."""
    return np.asarray(c + np.log(-np.expm1(-c)), dtype=np.float64)


@dataclass(frozen=True)
class OutputActivation:
    """A strictly increasing map from the raw output to the prediction."""

    name: str = "identity"
    low: float = 0.0
    high: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in ACTIVATIONS:
            raise OptionError(
                f"unknown activation {self.name!r}; choose one of {', '.join(ACTIVATIONS)}"
            )
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise OptionError(
                f"--output-range needs finite LO < HI, not {self.low!r},{self.high!r}"
            )

    def forward(self, raw: FloatArray) -> FloatArray:
        """g(raw)."""
        x = np.asarray(raw, dtype=np.float64)
        if self.name == "exp":
            return np.exp(x)
        if self.name == "softplus":
            return np.logaddexp(0.0, x)
        if self.name == "sigmoid":
            # sigmoid(x) = exp(-softplus(-x)): no overflow for large |x|.
            return self.low + (self.high - self.low) * np.exp(-np.logaddexp(0.0, -x))
        return x

    def contains(self, c: float) -> bool:
        """Whether the constant c is a value g takes (the open range)."""
        if self.name in ("exp", "softplus"):
            return c > 0
        if self.name == "sigmoid":
            return self.low < c < self.high
        return math.isfinite(c)

    def inverse(self, c: float) -> float:
        """g^-1(c) for c in the range (see :meth:`contains`)."""
        if self.name == "exp":
            return math.log(c)
        if self.name == "softplus":
            return float(inverse_softplus(np.array(c, dtype=np.float64)))
        if self.name == "sigmoid":
            u = (c - self.low) / (self.high - self.low)
            return math.log(u) - math.log1p(-u)
        return c

    @property
    def range_text(self) -> str:
        if self.name in ("exp", "softplus"):
            return "positive"
        if self.name == "sigmoid":
            return f"strictly between {self.low!r} and {self.high!r}"
        return "finite"

    @property
    def formula(self) -> str:
        """g^-1 as shown by --explain."""
        return {
            "identity": "b = c",
            "exp": "b = log(c) [exp activation]",
            "softplus": "b = log(expm1(c)) [softplus activation, PyTorch nn.Softplus]",
            "sigmoid": (
                f"b = logit((c - {self.low!r}) / ({self.high!r} - {self.low!r})) "
                "[LO + (HI - LO) sigmoid(x), fastai SigmoidRange]"
            ),
        }[self.name]

    def parameters(self) -> dict[str, object]:
        if self.name == "sigmoid" and (self.low, self.high) != (0.0, 1.0):
            return {"output_range": [self.low, self.high]}
        return {}


IDENTITY = OutputActivation()
