"""Regression losses: identity link (mean, median, Huber, quantile) and log link (deviances).

The identity-link losses may sit behind an output activation (``--activation``,
:mod:`.links`): the bias is then the inverse activation of the loss's optimal constant,
and the expected loss is the loss at the activated output.
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

import numpy as np

from ..errors import DataError, OptionError
from ..quantiles import huber_location, weighted_quantile
from ..stats import ColumnStats
from .base import DEFAULT_EPS, Fit, FloatArray, Loss, LossData, fmt
from .links import IDENTITY, OutputActivation

__all__ = [
    "Gamma",
    "Huber",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "Pinball",
    "Poisson",
    "Tweedie",
]


class _RegressionLoss(Loss):
    family = "regression"
    activation = "identity"

    #: The formula, as shown by --explain; formatted with b (the bias) and the column.
    formula: ClassVar[str] = ""
    source: ClassVar[str] = ""

    def __init__(self, eps: float = DEFAULT_EPS, output: OutputActivation = IDENTITY) -> None:
        super().__init__(eps)
        self.output = output
        self.activation = output.name if output.name != "identity" else type(self).activation

    def parameters(self) -> dict[str, Any]:
        return dict(self.output.parameters())

    def fit(self, data: LossData) -> Fit:
        constants = [self._fit_column(c) for c in data.columns]
        for col, c in zip(data.columns, constants, strict=True):
            if not self.output.contains(c):
                raise DataError(
                    f"the {self.name} optimum of column '{col.name}' is {c!r}, but a "
                    f"{self.output.name} output is always {self.output.range_text}; no bias "
                    "reaches it: choose another --activation or --output-range"
                )
        bias = np.array([self.output.inverse(c) for c in constants], dtype=np.float64)
        lines = [
            f"{c.name}: {self._explain(c, float(k))}"
            + (f", b = {fmt(b)}" if self.output is not IDENTITY else "")
            for c, k, b in zip(data.columns, constants, bias, strict=True)
        ]
        head = [f"{self.formula} [{self.source}]"]
        if self.output is not IDENTITY:
            head = [
                re.sub(r"\bb\b", "c", head[0]),
                f"then {self.output.formula}, the activation's inverse at the optimal constant c",
            ]
        return Fit(bias, explanation=(*head, *lines))

    def _explain(self, col: ColumnStats, b: float) -> str:
        return f"{'b' if self.output is IDENTITY else 'c'} = {fmt(b)}"

    def mean_loss(self, data: LossData, raw: FloatArray) -> float:
        # Framework losses average over all N x J elements; every column has the same
        # rows and weights, so that is the mean of the per-column means.
        predicted = self.output.forward(raw)
        with np.errstate(over="ignore", invalid="ignore"):
            return float(
                np.mean(
                    [
                        self._column_loss(c, float(b))
                        for c, b in zip(data.columns, predicted, strict=True)
                    ]
                )
            )

    def _fit_column(self, col: ColumnStats) -> float:
        raise NotImplementedError

    def _column_loss(self, col: ColumnStats, b: float) -> float:
        raise NotImplementedError


class MeanSquaredError(_RegressionLoss):
    """Squared error, identity link: bias = weighted mean.  Loss: torch.nn.MSELoss.

    mean_i w_i (y_i - b)^2 / W = Var_w(y) + (mean_w(y) - b)^2.
    """

    name = "mse"
    reference = "torch.nn.MSELoss"
    formula = "b = weighted mean of y = sum(w y) / sum(w)"
    source = "least squares; the minimiser of sum w (y - b)^2"

    def _explain(self, col: ColumnStats, b: float) -> str:
        return f"{super()._explain(col, b)} (sum of weights {fmt(col.moments.weight)})"

    def _fit_column(self, col: ColumnStats) -> float:
        return col.moments.mean

    def _column_loss(self, col: ColumnStats, b: float) -> float:
        d = np.float64(col.moments.mean) - b
        return float(col.moments.variance + d * d)


class _ValueLoss(_RegressionLoss):
    """A loss computed from the label values held in memory."""

    def needs_values(self) -> bool:
        return True

    def _values(self, col: ColumnStats) -> tuple[FloatArray, FloatArray | None]:
        if col.store is None:
            raise DataError(
                f"the {self.name} loss needs the label values, which these statistics of "
                f"'{col.name}' do not hold; collect them again with --loss {self.name}"
            )
        return col.store.arrays()

    def _column_loss(self, col: ColumnStats, b: float) -> float:
        y, w = self._values(col)
        return float(np.average(self._pointwise(y - b), weights=w))

    def _pointwise(self, r: FloatArray) -> FloatArray:
        raise NotImplementedError


class MeanAbsoluteError(_ValueLoss):
    """Absolute error, identity link: bias = weighted median.  Loss: torch.nn.L1Loss."""

    name = "mae"
    reference = "torch.nn.L1Loss"
    formula = "b = weighted median of y (midpoint of the minimisers of sum w |y - b|)"
    source = "Koenker & Bassett 1978, q = 0.5"

    def _fit_column(self, col: ColumnStats) -> float:
        y, w = self._values(col)
        return weighted_quantile(y, 0.5, w)

    def _pointwise(self, r: FloatArray) -> FloatArray:
        return np.abs(r)


class Huber(_ValueLoss):
    """Huber loss, identity link: bias = exact Huber location.  Loss: torch.nn.HuberLoss."""

    name = "huber"
    reference = "torch.nn.HuberLoss(delta)"
    formula = "b solves sum w clip(y - b, -delta, delta) = 0 exactly"
    source = "Huber 1964; PyTorch HuberLoss"

    def __init__(
        self, delta: float = 1.0, eps: float = DEFAULT_EPS, output: OutputActivation = IDENTITY
    ) -> None:
        super().__init__(eps, output)
        if not (delta > 0 and math.isfinite(delta)):
            raise OptionError(f"--huber-delta must be a positive number, not {delta}")
        self.delta = delta

    def parameters(self) -> dict[str, Any]:
        return {"huber_delta": self.delta, **super().parameters()}

    def _fit_column(self, col: ColumnStats) -> float:
        y, w = self._values(col)
        return huber_location(y, self.delta, w)

    def _pointwise(self, r: FloatArray) -> FloatArray:
        a = np.abs(r)
        return np.where(a <= self.delta, 0.5 * r * r, self.delta * (a - 0.5 * self.delta))


class Pinball(_ValueLoss):
    """Pinball (quantile) loss, identity link: bias = weighted q-quantile.

    rho_q(r) = q r for r >= 0, (q - 1) r for r < 0, r = y - b (Koenker & Bassett 1978).
    """

    name = "quantile"
    reference = "pinball loss, mean over samples"
    formula = "b = weighted q-quantile of y (midpoint of the minimisers of the pinball loss)"
    source = "Koenker & Bassett 1978"

    def __init__(
        self, quantile: float = 0.5, eps: float = DEFAULT_EPS, output: OutputActivation = IDENTITY
    ) -> None:
        super().__init__(eps, output)
        if not 0 < quantile < 1:
            raise OptionError(f"--quantile must be strictly between 0 and 1, not {quantile}")
        self.quantile = quantile

    def parameters(self) -> dict[str, Any]:
        return {"quantile": self.quantile, **super().parameters()}

    def _fit_column(self, col: ColumnStats) -> float:
        y, w = self._values(col)
        return weighted_quantile(y, self.quantile, w)

    def _pointwise(self, r: FloatArray) -> FloatArray:
        return np.maximum(self.quantile * r, (self.quantile - 1) * r)


class _LogLinkLoss(_RegressionLoss):
    """Losses with a log link: bias = log(weighted mean), the deviance minimiser."""

    activation = "exp"
    #: (lowest allowed label, whether it may equal that value)
    domain: ClassVar[tuple[float, bool]] = (0.0, True)

    def _check(self, col: ColumnStats) -> None:
        low, inclusive = self.domain
        bad = col.moments.minimum < low if inclusive else col.moments.minimum <= low
        if bad:
            need = "non-negative" if inclusive else "positive"
            raise DataError(
                f"the {self.name} loss needs {need} labels, but column '{col.name}' has the value "
                f"{col.moments.minimum!r}; choose another --loss (mse, huber) or fix the labels"
            )

    def fit(self, data: LossData) -> Fit:
        bias, warnings = [], []
        for col in data.columns:
            self._check(col)
            mean = col.moments.mean
            if mean <= 0:  # every label is 0: log(0) = -inf
                warnings.append(
                    f"column '{col.name}' has mean {mean!r}; it was raised to {self.eps} "
                    "so log(mean) stays finite"
                )
                mean = self.eps
            bias.append(math.log(mean))
        lines = [
            f"{c.name}: b = log({fmt(math.exp(b))}) = {fmt(b)}"
            for c, b in zip(data.columns, bias, strict=True)
        ]
        formula = "b = log(weighted mean of y), the deviance minimiser under a log link"
        return Fit(np.array(bias), tuple(warnings), (f"{formula} [{self.reference}]", *lines))


class Poisson(_LogLinkLoss):
    """Poisson loss, log link.  Loss: torch.nn.PoissonNLLLoss(log_input=True, full=False).

    l(y, b) = exp(b) - y b, so the mean loss is exp(b) - mean_w(y) b.
    """

    name = "poisson"
    reference = "torch.nn.PoissonNLLLoss(log_input=True)"

    def _column_loss(self, col: ColumnStats, b: float) -> float:
        return float(np.exp(b) - col.moments.mean * b)


class Tweedie(_LogLinkLoss):
    """Half Tweedie deviance with power p >= 1, log link (scikit-learn ``HalfTweedieLoss``
    with its constant terms, i.e. half of ``mean_tweedie_deviance``).

    With mu = exp(b):
      p = 1: y log(y/mu) - y + mu
      p = 2: log(mu/y) + y/mu - 1
      else:  y^(2-p)/((1-p)(2-p)) - y mu^(1-p)/(1-p) + mu^(2-p)/(2-p)
    The mean over samples needs only mean(y) and the mean of y log y, log y or y^(2-p).
    """

    name = "tweedie"
    reference = "half Tweedie deviance (scikit-learn)"

    def __init__(self, power: float = 1.5, eps: float = DEFAULT_EPS) -> None:
        super().__init__(eps)
        if not (power >= 1 and math.isfinite(power)):
            raise OptionError(f"--tweedie-power must be at least 1, not {power}")
        self.power = power

    @property
    def domain(self) -> tuple[float, bool]:  # type: ignore[override]
        return (0.0, self.power < 2)

    def parameters(self) -> dict[str, Any]:
        return {"tweedie_power": self.power}

    def extra_means(self) -> tuple[str, ...]:
        if self.power == 1:
            return ("xlogx",)
        if self.power == 2:
            return ("log",)
        return (f"pow:{2 - self.power!r}",)

    def _column_loss(self, col: ColumnStats, b: float) -> float:
        p, mean = self.power, np.float64(col.moments.mean)
        missing = [k for k in self.extra_means() if k not in col.extra.means]
        if missing:
            raise DataError(
                f"the {self.name} loss needs the mean of {missing[0]} of '{col.name}', which "
                f"these statistics do not hold; collect them again with --loss {self.name}"
            )
        (extra,) = (col.extra.mean(k) for k in self.extra_means())
        if p == 1:
            return float(extra - mean * b - mean + np.exp(b))
        if p == 2:
            return float(b - extra + mean * np.exp(-b) - 1)
        return float(
            extra / ((1 - p) * (2 - p))
            - mean * np.exp(b * (1 - p)) / (1 - p)
            + np.exp(b * (2 - p)) / (2 - p)
        )


class Gamma(Tweedie):
    """Half gamma deviance, log link: log(mu/y) + y/mu - 1 (scikit-learn ``HalfGammaLoss``)."""

    name = "gamma"
    reference = "half gamma deviance (scikit-learn)"

    def __init__(self, eps: float = DEFAULT_EPS) -> None:
        super().__init__(2.0, eps)

    def parameters(self) -> dict[str, Any]:
        return {}
