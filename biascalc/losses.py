"""Losses: for each, the constant raw prediction (bias) that minimises it and its mean value.

Each loss pairs a link (identity, log, logit, multinomial logit) with a loss, in the
style of scikit-learn's ``sklearn/_loss``.  ``fit`` returns the bias that minimises the
mean loss over a constant raw prediction; ``mean_loss`` evaluates the loss a network with
all-zero weights and that bias would report at step 0, in the framework's own definition
(PyTorch's ``MSELoss``, ``L1Loss``, ``HuberLoss``, ``PoissonNLLLoss(log_input=True)``,
``BCEWithLogitsLoss``, ``CrossEntropyLoss``, mean reduction; scikit-learn's half
deviances for gamma and Tweedie; the pinball loss for quantiles).  With sample weights,
every mean is the weighted mean  sum_i w_i l_i / sum_i w_i.

All closed forms below are checked in ``tests/test_losses.py`` against a numerical
minimiser of the loss written directly on the raw labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

from .errors import DataError, OptionError
from .quantiles import huber_location, weighted_quantile
from .stats import ColumnStats

__all__ = ["DEFAULT_EPS", "LOSSES", "Fit", "Loss", "LossData", "make_loss"]

FloatArray = npt.NDArray[np.float64]
Family = Literal["regression", "binary", "multiclass"]

#: Probabilities (and Poisson/Tweedie means) are clipped into [eps, 1 - eps] so a class
#: that never (or always) occurs still gets a finite bias.  1e-7 is Keras' backend
#: epsilon; log(1e-7) = -16.1 is representable and harmless in float32.
DEFAULT_EPS = 1e-7


@dataclass(frozen=True)
class LossData:
    """What a loss works from.

    ``priors``: sigmoid losses, the weighted positive share per output; softmax losses,
    the weighted share of each class.  ``labels`` names each entry (for warnings).
    ``columns``: regression losses, the statistics of each target column.
    """

    priors: FloatArray | None = None
    labels: tuple[str, ...] = ()
    columns: tuple[ColumnStats, ...] = ()


@dataclass(frozen=True)
class Fit:
    """A fitted bias (one value per output unit) and any warnings about it."""

    bias: FloatArray
    warnings: tuple[str, ...] = ()


class Loss:
    """Base class.  Subclasses set the class attributes and implement fit / mean_loss."""

    name: ClassVar[str]
    family: ClassVar[Family]
    activation: ClassVar[str]
    #: The framework loss whose definition ``mean_loss`` follows.
    reference: ClassVar[str]

    def __init__(self, eps: float = DEFAULT_EPS) -> None:
        self.eps = eps

    def parameters(self) -> dict[str, float]:
        return {}

    def needs_values(self) -> bool:
        return False

    def extra_means(self) -> tuple[str, ...]:
        return ()

    def fit(self, data: LossData) -> Fit:
        raise NotImplementedError

    def mean_loss(self, data: LossData, raw: FloatArray) -> float:
        raise NotImplementedError


# --------------------------------------------------------------------------- regression


class _RegressionLoss(Loss):
    family = "regression"
    activation = "identity"

    def fit(self, data: LossData) -> Fit:
        return Fit(np.array([self._fit_column(c) for c in data.columns], dtype=np.float64))

    def mean_loss(self, data: LossData, raw: FloatArray) -> float:
        # Framework losses average over all N x J elements; every column has the same
        # rows and weights, so that is the mean of the per-column means.
        with np.errstate(over="ignore", invalid="ignore"):
            return float(
                np.mean(
                    [self._column_loss(c, float(b)) for c, b in zip(data.columns, raw, strict=True)]
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
        assert col.store is not None, "statistics were collected without the values"
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

    def _fit_column(self, col: ColumnStats) -> float:
        y, w = self._values(col)
        return weighted_quantile(y, 0.5, w)

    def _pointwise(self, r: FloatArray) -> FloatArray:
        return np.abs(r)


class Huber(_ValueLoss):
    """Huber loss, identity link: bias = exact Huber location.  Loss: torch.nn.HuberLoss."""

    name = "huber"
    reference = "torch.nn.HuberLoss(delta)"

    def __init__(self, delta: float = 1.0, eps: float = DEFAULT_EPS) -> None:
        super().__init__(eps)
        if not (delta > 0 and math.isfinite(delta)):
            raise OptionError(f"--huber-delta must be a positive number, not {delta}")
        self.delta = delta

    def parameters(self) -> dict[str, float]:
        return {"huber_delta": self.delta}

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

    def __init__(self, quantile: float = 0.5, eps: float = DEFAULT_EPS) -> None:
        super().__init__(eps)
        if not 0 < quantile < 1:
            raise OptionError(f"--quantile must be strictly between 0 and 1, not {quantile}")
        self.quantile = quantile

    def parameters(self) -> dict[str, float]:
        return {"quantile": self.quantile}

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
            if mean < self.eps:
                warnings.append(
                    f"column '{col.name}' has mean {mean!r}; it was clipped to {self.eps} "
                    "so log(mean) stays finite"
                )
                mean = self.eps
            bias.append(math.log(mean))
        return Fit(np.array(bias), tuple(warnings))


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

    def parameters(self) -> dict[str, float]:
        return {"tweedie_power": self.power}

    def extra_means(self) -> tuple[str, ...]:
        if self.power == 1:
            return ("xlogx",)
        if self.power == 2:
            return ("log",)
        return (f"pow:{2 - self.power!r}",)

    def _column_loss(self, col: ColumnStats, b: float) -> float:
        p, mean = self.power, np.float64(col.moments.mean)
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

    def parameters(self) -> dict[str, float]:
        return {}


# ------------------------------------------------------------------------ classification


def _softplus(x: FloatArray) -> FloatArray:
    return np.logaddexp(0.0, x)


class BinaryCrossEntropy(Loss):
    """Sigmoid cross-entropy per output: bias = logit(p).  Loss: torch.nn.BCEWithLogitsLoss.

    For a constant logit b and positive share p, the mean loss is
    -(p log sigmoid(b) + (1-p) log(1 - sigmoid(b))) = softplus(b) - p b, minimised at
    sigmoid(b) = p.  Shares of 0 or 1 are clipped into [eps, 1 - eps].
    """

    name = "bce"
    family = "binary"
    activation = "sigmoid"
    reference = "torch.nn.BCEWithLogitsLoss"

    def fit(self, data: LossData) -> Fit:
        assert data.priors is not None
        p = np.clip(data.priors, self.eps, 1 - self.eps)
        warnings = _clip_warnings(data, p, "positive share")
        return Fit(np.log(p) - np.log1p(-p), warnings)

    def mean_loss(self, data: LossData, raw: FloatArray) -> float:
        assert data.priors is not None
        return float(np.mean(_softplus(raw) - data.priors * raw))


class CrossEntropy(Loss):
    """Softmax cross-entropy: bias_k = log p_k.  Loss: torch.nn.CrossEntropyLoss.

    For constant logits b and class shares p, the mean loss is logsumexp(b) - sum_k p_k b_k,
    minimised where softmax(b) = p.  Any constant can be added to b; ``center=True``
    subtracts the mean (scikit-learn's symmetric multinomial parametrisation).  Shares
    below eps are raised to eps.
    """

    name = "cross_entropy"
    family = "multiclass"
    activation = "softmax"
    reference = "torch.nn.CrossEntropyLoss"

    def __init__(self, center: bool = False, eps: float = DEFAULT_EPS) -> None:
        super().__init__(eps)
        self.center = center

    def parameters(self) -> dict[str, float]:
        return {"center": self.center} if self.center else {}

    def fit(self, data: LossData) -> Fit:
        assert data.priors is not None
        p = np.maximum(data.priors, self.eps)
        warnings = _clip_warnings(data, np.minimum(p, 1.0), "share")
        bias = np.log(p)
        if self.center:
            bias = bias - bias.mean()
        return Fit(bias, warnings)

    def mean_loss(self, data: LossData, raw: FloatArray) -> float:
        assert data.priors is not None
        m = float(np.max(raw))
        return float(m + math.log(float(np.sum(np.exp(raw - m)))) - np.dot(data.priors, raw))


def _clip_warnings(data: LossData, clipped: FloatArray, what: str) -> tuple[str, ...]:
    assert data.priors is not None
    out = []
    for label, p, c in zip(data.labels, data.priors, clipped, strict=True):
        if p != c:
            out.append(
                f"class {label} has {what} {float(p)!r}; "
                f"clipped to {float(c)!r} so its bias is finite"
            )
    return tuple(out)


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls
    for cls in (
        MeanSquaredError,
        MeanAbsoluteError,
        Huber,
        Pinball,
        Poisson,
        Gamma,
        Tweedie,
        BinaryCrossEntropy,
        CrossEntropy,
    )
}

DEFAULT_LOSS = {
    "regression": "mse",
    "binary": "bce",
    "multilabel": "bce",
    "multiclass": "cross_entropy",
}


def make_loss(
    name: str,
    *,
    huber_delta: float = 1.0,
    quantile: float = 0.5,
    tweedie_power: float = 1.5,
    center: bool = False,
    eps: float = DEFAULT_EPS,
) -> Loss:
    """Build a loss by name, with the parameters that apply to it."""
    if name not in LOSSES:
        raise OptionError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    if not 0 < eps < 0.5:
        raise OptionError(f"--eps must be between 0 and 0.5, not {eps}")
    if name == "huber":
        return Huber(huber_delta, eps)
    if name == "quantile":
        return Pinball(quantile, eps)
    if name == "tweedie":
        return Tweedie(tweedie_power, eps)
    if name == "cross_entropy":
        return CrossEntropy(center, eps)
    return LOSSES[name](eps)


def family_of(name: str) -> Family | None:
    """The family a loss name implies, or None for 'auto'."""
    return None if name == "auto" else LOSSES[name].family


def loss_names() -> Sequence[str]:
    return list(LOSSES)
