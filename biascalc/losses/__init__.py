"""Losses: for each, the constant raw prediction (bias) that minimises it and its mean value.

Each loss pairs a link (identity, log, logit, multinomial logit) with a loss, in the
style of scikit-learn's ``sklearn/_loss``.  ``fit`` returns the bias that minimises the
mean loss over a constant raw prediction; ``mean_loss`` evaluates the loss a network with
all-zero weights and that bias would report at step 0, in the framework's own definition
(PyTorch's ``MSELoss``, ``L1Loss``, ``HuberLoss``, ``PoissonNLLLoss(log_input=True)``,
``BCEWithLogitsLoss``, ``CrossEntropyLoss``, ``GaussianNLLLoss``, torchvision's
``sigmoid_focal_loss``, mean reduction; scikit-learn's half deviances for gamma and
Tweedie; the pinball loss for quantiles; the Laplace NLL; the CORAL loss and
coral_pytorch's ``corn_loss`` for ordinal targets).  With sample weights, every mean is the
weighted mean  sum_i w_i l_i / sum_i w_i.

All closed forms are checked in ``tests/test_losses.py`` and ``tests/test_adjustments.py``
against a numerical minimiser of the loss written directly on the raw labels, and, where
installed, against PyTorch's own loss functions (``tests/test_torch_losses.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import OptionError
from .base import DEFAULT_EPS, Family, Fit, FloatArray, Loss, LossData
from .classification import BinaryCrossEntropy, CrossEntropy
from .focal import Focal
from .heteroscedastic import GaussianNLL, LaplaceNLL
from .links import ACTIVATIONS, OutputActivation
from .ordinal import Corn, OrdinalBCE
from .regression import Gamma, Huber, MeanAbsoluteError, MeanSquaredError, Pinball, Poisson, Tweedie

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_EPS",
    "DEFAULT_LOSS",
    "LOSSES",
    "Family",
    "Fit",
    "Loss",
    "LossData",
    "family_of",
    "make_loss",
]

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
        GaussianNLL,
        LaplaceNLL,
        BinaryCrossEntropy,
        CrossEntropy,
        Focal,
        OrdinalBCE,
        Corn,
    )
}
#: Losses whose prediction is the raw output, so --activation may put a function behind it.
ACTIVATED_LOSSES = ("mse", "mae", "huber", "quantile")
#: Losses with a log link: exp is their activation already.
LOG_LINK_LOSSES = ("poisson", "gamma", "tweedie")

DEFAULT_LOSS = {
    "regression": "mse",
    "binary": "bce",
    "multilabel": "bce",
    "multiclass": "cross_entropy",
    "ordinal": "ordinal_bce",
    "tokens": "cross_entropy",
}


def make_loss(
    name: str,
    *,
    huber_delta: float = 1.0,
    quantile: float = 0.5,
    tweedie_power: float = 1.5,
    center: bool = False,
    eps: float = DEFAULT_EPS,
    pos_weight: FloatArray | float | None = None,
    class_weight: FloatArray | None = None,
    label_smoothing: float = 0.0,
    focal_gamma: float = 2.0,
    focal_alpha: float = 0.25,
    activation: str | None = None,
    output_range: tuple[float, float] | None = None,
    variance_activation: str | None = None,
    logit_adjustment: float | None = None,
    smoothing: float = 0.0,
) -> Loss:
    """Build a loss by name with the parameters that apply to it.

    Adjustments that do not apply to the loss are an :class:`OptionError`.
    """
    if name not in LOSSES:
        raise OptionError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")
    if not 0 < eps < 0.5:
        raise OptionError(f"--eps must be between 0 and 0.5, not {eps}")
    _only("--pos-weight", pos_weight is not None, name, ("bce",))
    _only("--class-weight", class_weight is not None, name, ("bce", "cross_entropy"))
    _only("--label-smoothing", bool(label_smoothing), name, ("bce", "cross_entropy"))
    _only("--center", center, name, ("cross_entropy",))
    _only("--logit-adjustment", logit_adjustment is not None, name, ("bce", "cross_entropy"))
    _only("--variance-activation", variance_activation is not None, name, _HETERO)
    _only("--smoothing", bool(smoothing), name, ("cross_entropy",))
    if not 0 <= label_smoothing < 1:
        raise OptionError(f"--label-smoothing must be in [0, 1), not {label_smoothing}")
    if logit_adjustment is not None and not math.isfinite(logit_adjustment):
        raise OptionError(f"--logit-adjustment must be a finite number, not {logit_adjustment}")
    output = _output_activation(name, activation, output_range)
    if name in _HETERO:
        cls = GaussianNLL if name == "gaussian_nll" else LaplaceNLL
        return cls(variance_activation or "exp", eps)
    if name == "huber":
        return Huber(huber_delta, eps, output)
    if name == "quantile":
        return Pinball(quantile, eps, output)
    if name in ("mse", "mae"):
        return (MeanSquaredError if name == "mse" else MeanAbsoluteError)(eps, output)
    if name == "tweedie":
        return Tweedie(tweedie_power, eps)
    if name == "bce":
        binary_weight = None
        if class_weight is not None:
            if len(class_weight) != 2:
                raise OptionError("--class-weight with bce needs the weights of the 2 classes")
            binary_weight = (float(class_weight[0]), float(class_weight[1]))
        return BinaryCrossEntropy(pos_weight, binary_weight, label_smoothing, eps, logit_adjustment)
    if name == "cross_entropy":
        return CrossEntropy(
            center, class_weight, label_smoothing, eps, logit_adjustment, smoothing=smoothing
        )
    if name == "focal":
        return Focal(focal_gamma, focal_alpha, eps)
    return LOSSES[name](eps)


_HETERO = ("gaussian_nll", "laplace_nll")


def _output_activation(
    name: str, activation: str | None, output_range: tuple[float, float] | None
) -> OutputActivation:
    """--activation / --output-range as an activation, or a usage error where they do not fit."""
    if activation is not None and activation not in ACTIVATIONS:
        raise OptionError(
            f"unknown --activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}"
        )
    if output_range is not None and activation != "sigmoid":
        raise OptionError("--output-range applies to --activation sigmoid only")
    if activation is None or (activation == "exp" and name in LOG_LINK_LOSSES):
        return OutputActivation()
    if name in LOG_LINK_LOSSES:
        raise OptionError(
            f"--loss {name} has a log link, so its activation is exp, not {activation}"
        )
    if name not in ACTIVATED_LOSSES:
        raise OptionError(
            f"--activation applies to the {', '.join(ACTIVATED_LOSSES)} losses, not {name}"
        )
    low, high = output_range if output_range is not None else (0.0, 1.0)
    return OutputActivation(activation, float(low), float(high))


def _only(option: str, given: bool, name: str, losses: Sequence[str]) -> None:
    if given and name not in losses:
        which = " or ".join(losses)
        raise OptionError(f"{option} applies to the {which} loss, not {name}")


def family_of(name: str) -> Family | None:
    """The family a loss name implies, or None for 'auto'."""
    return None if name == "auto" else LOSSES[name].family
