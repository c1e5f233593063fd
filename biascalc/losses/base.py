"""The Loss interface and the data a loss works from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from ..stats import ColumnStats

__all__ = [
    "DEFAULT_EPS",
    "MAX_LINES",
    "Family",
    "Fit",
    "FloatArray",
    "Loss",
    "LossData",
    "fmt",
    "more_lines",
]

FloatArray = npt.NDArray[np.float64]
Family = Literal["regression", "binary", "multiclass", "ordinal"]

#: Probabilities (and Poisson/Tweedie means) are clipped into [eps, 1 - eps] so a class
#: that never (or always) occurs still gets a finite bias.  1e-7 is Keras' backend
#: epsilon; log(1e-7) = -16.1 is representable and harmless in float32.
DEFAULT_EPS = 1e-7


@dataclass(frozen=True)
class LossData:
    """What a loss works from.

    ``priors``: sigmoid losses, the weighted positive share per output; softmax losses,
    the weighted share of each class; ordinal, P(y > c_k) per threshold.  ``labels`` names
    each entry for warnings (for classes a lazy :class:`~biascalc.classnames.LabelTexts`:
    read only the entries a message names).  ``columns``: regression losses, the
    statistics of each target column.  ``total``: the (weighted) number of samples the
    priors are shares of, for additive smoothing of counts.
    """

    priors: FloatArray | None = None
    labels: Sequence[str] = ()
    columns: tuple[ColumnStats, ...] = ()
    total: float | None = None
    #: One warning for all clipped classes, however few (a token vocabulary's absent ids).
    summarise_clipping: bool = False

    @property
    def p(self) -> FloatArray:
        assert self.priors is not None, "a classification loss needs class shares"
        return self.priors


@dataclass(frozen=True)
class Fit:
    """A fitted bias (one value per output unit), warnings, and how it was derived."""

    bias: FloatArray
    warnings: tuple[str, ...] = ()
    explanation: tuple[str, ...] = ()


class Loss:
    """Base class.  Subclasses set the class attributes and implement fit / mean_loss.

    ``fit`` returns the bias minimising the mean loss over a constant raw prediction;
    ``mean_loss`` is the loss a network with all-zero weights reports at step 0 when its
    output is ``raw``, in the framework definition named by ``reference``.
    """

    name: ClassVar[str]
    family: ClassVar[Family]
    #: The output activation the bias is for; a class default that an instance may
    #: override (a regression head behind ``--activation softplus``).
    activation: str
    reference: ClassVar[str]

    def __init__(self, eps: float = DEFAULT_EPS) -> None:
        self.eps = eps

    def parameters(self) -> dict[str, Any]:
        return {}

    def needs_values(self) -> bool:
        return False

    def extra_means(self) -> tuple[str, ...]:
        return ()

    def output_names(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """A name for each output unit, given the default names (targets or thresholds)."""
        return names

    def fit(self, data: LossData) -> Fit:
        raise NotImplementedError

    def mean_loss(self, data: LossData, raw: FloatArray) -> float:
        raise NotImplementedError


#: Explanations list at most this many outputs, so 100,000 classes stay readable.
MAX_LINES = 20


def more_lines(total: int, what: str) -> list[str]:
    """The closing line of an explanation cut at MAX_LINES outputs."""
    return (
        [f"... {total - MAX_LINES:,} more {what} (the same formula)"] if total > MAX_LINES else []
    )


def fmt(x: float) -> str:
    """A number for an explanation line: short, but exact enough to recompute."""
    return f"{float(x):.10g}"
