"""Heteroscedastic regression heads: the network predicts a location and a spread.

For T targets the head has 2 T outputs, first the T locations, then the T raw spreads
(PyTorch: ``mean, raw_var = out.chunk(2, dim=-1)``); the spread is
``--variance-activation`` of its raw output: ``exp`` (the head predicts a log-variance,
the default) or ``softplus``.  For a constant output both halves separate:

* Gaussian NLL, ``torch.nn.GaussianNLLLoss(full=False, eps=1e-6)``:
  l = 0.5 (log v + (y - mu)^2 / v), v clamped below at eps.  The mean over the data is
  0.5 (log v + (s^2 + (m - mu)^2) / v) with m, s^2 the weighted mean and population
  variance, minimised at mu = m, v = s^2 (the maximum-likelihood estimates), where it is
  0.5 (log s^2 + 1).
* Laplace NLL, l = log s + |y - mu| / s (the Laplace negative log-likelihood without its
  constant log 2, as ``full=False`` drops 0.5 log 2 pi for the Gaussian): minimised at
  mu = the weighted median, s = the weighted mean absolute deviation from it, where it
  is log s + 1.

A spread below eps (a constant target) is raised to eps = 1e-6, GaussianNLLLoss's own
clamp, with a warning: below it the loss no longer changes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import OptionError
from ..quantiles import weighted_quantile
from ..stats import ColumnStats
from .base import DEFAULT_EPS, Fit, FloatArray, LossData, fmt
from .links import OutputActivation
from .regression import _RegressionLoss, _ValueLoss

__all__ = ["SPREAD_EPS", "GaussianNLL", "LaplaceNLL"]

#: torch.nn.GaussianNLLLoss's default eps: the variance is clamped to at least this.
SPREAD_EPS = 1e-6
SPREAD_ACTIVATIONS = ("exp", "softplus")


class _LocationScaleLoss(_RegressionLoss):
    """Two outputs per target: a location (identity) and a raw spread (``spread_link``)."""

    #: What the spread is called ("variance", "scale").
    spread: str = ""

    def __init__(self, spread_activation: str = "exp", eps: float = DEFAULT_EPS) -> None:
        super().__init__(eps)
        if spread_activation not in SPREAD_ACTIVATIONS:
            raise OptionError(
                f"--variance-activation must be one of {', '.join(SPREAD_ACTIVATIONS)}, "
                f"not {spread_activation!r}"
            )
        self.spread_link = OutputActivation(spread_activation)

    def parameters(self) -> dict[str, Any]:
        return {"variance_activation": self.spread_link.name}

    def output_names(self, names: tuple[str, ...]) -> tuple[str, ...]:
        raw = "raw_var" if self.spread == "variance" else "raw_scale"
        return (*(f"mean:{n}" for n in names), *(f"{raw}:{n}" for n in names))

    def _location(self, col: ColumnStats) -> float:
        raise NotImplementedError

    def _spread(self, col: ColumnStats, location: float) -> float:
        raise NotImplementedError

    def _nll(self, col: ColumnStats, location: float, spread: float) -> float:
        raise NotImplementedError

    def fit(self, data: LossData) -> Fit:
        locations, raw, warnings, lines = [], [], [], []
        for col in data.columns:
            mu = self._location(col)
            s = self._spread(col, mu)
            if not s >= SPREAD_EPS:
                warnings.append(
                    f"column '{col.name}' has {self.spread} {s!r}; raised to {SPREAD_EPS} "
                    "(GaussianNLLLoss's eps), below which the loss does not change"
                )
                s = SPREAD_EPS
            locations.append(mu)
            raw.append(self.spread_link.inverse(s))
            lines.append(
                f"{col.name}: mean output {fmt(mu)}; {self.spread} {fmt(s)}, "
                f"raw output {fmt(raw[-1])}"
            )
        inverse = "log(s)" if self.spread_link.name == "exp" else "log(expm1(s))"
        head = (
            f"{self.formula}; raw {self.spread} output = {inverse} for {self.spread} s "
            f"({self.spread_link.name} activation) [{self.source}]"
        )
        return Fit(np.array(locations + raw, dtype=np.float64), tuple(warnings), (head, *lines))

    def mean_loss(self, data: LossData, raw: FloatArray) -> float:
        t = len(data.columns)
        spreads = np.maximum(self.spread_link.forward(raw[t:]), SPREAD_EPS)
        with np.errstate(over="ignore", invalid="ignore"):
            return float(
                np.mean(
                    [
                        self._nll(c, float(mu), float(s))
                        for c, mu, s in zip(data.columns, raw[:t], spreads, strict=True)
                    ]
                )
            )


class GaussianNLL(_LocationScaleLoss):
    """Gaussian NLL head: bias = (weighted mean, g^-1(weighted population variance)).

    Loss: ``torch.nn.GaussianNLLLoss(full=False, eps=1e-6)`` (see the module docstring).
    """

    name = "gaussian_nll"
    reference = "torch.nn.GaussianNLLLoss(full=False, eps=1e-6)"
    formula = "mean output = weighted mean m, variance v = weighted population variance"
    source = "Gaussian maximum likelihood; PyTorch GaussianNLLLoss"
    spread = "variance"

    def _location(self, col: ColumnStats) -> float:
        return col.moments.mean

    def _spread(self, col: ColumnStats, location: float) -> float:
        return col.moments.variance

    def _nll(self, col: ColumnStats, location: float, spread: float) -> float:
        d = np.float64(col.moments.mean) - location
        return float(0.5 * (math.log(spread) + (col.moments.variance + d * d) / spread))


class LaplaceNLL(_LocationScaleLoss, _ValueLoss):
    """Laplace NLL head: bias = (weighted median, g^-1(mean absolute deviation from it)).

    Loss: log s + |y - mu| / s, mean over samples (see the module docstring).
    """

    name = "laplace_nll"
    reference = "Laplace NLL log(s) + |y - mu| / s (no log 2), mean over samples"
    formula = "mean output = weighted median m, scale s = weighted mean of |y - m|"
    source = "Laplace maximum likelihood (Norton 1984)"
    spread = "scale"

    def _location(self, col: ColumnStats) -> float:
        y, w = self._values(col)
        return weighted_quantile(y, 0.5, w)

    def _spread(self, col: ColumnStats, location: float) -> float:
        y, w = self._values(col)
        return float(np.average(np.abs(y - location), weights=w))

    def _nll(self, col: ColumnStats, location: float, spread: float) -> float:
        return math.log(spread) + self._spread(col, location) / spread
