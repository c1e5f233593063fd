"""The options of a computation, validated once, and what they imply for reading."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .errors import OptionError
from .losses import DEFAULT_EPS, DEFAULT_LOSS, LOSSES, Loss, make_loss
from .stats import StatsSpec
from .tasks import TASKS

__all__ = ["BiasOptions"]


@dataclass(frozen=True)
class BiasOptions:
    """Everything that decides the answer besides the data.

    The keyword arguments of :func:`biascalc.compute_bias` are these fields.
    """

    task: str = "auto"
    loss: str = "auto"
    classes: tuple[object, ...] | None = None
    positive: object | None = None
    center: bool = False
    huber_delta: float = 1.0
    quantile: float = 0.5
    tweedie_power: float = 1.5
    eps: float = DEFAULT_EPS

    def __post_init__(self) -> None:
        if self.task != "auto" and self.task not in TASKS:
            raise OptionError(
                f"unknown task {self.task!r}; choose auto or one of {', '.join(TASKS)}"
            )
        if self.loss != "auto" and self.loss not in LOSSES:
            raise OptionError(
                f"unknown loss {self.loss!r}; choose auto or one of {', '.join(LOSSES)}"
            )
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(self.classes))
            if not self.classes:
                raise OptionError("--classes is empty; name at least two classes")
        if self.loss != "auto" and self.task != "auto":
            family = LOSSES[self.loss].family
            ok = {
                "regression": ("regression",),
                "binary": ("binary", "multilabel"),
                "multiclass": ("multiclass",),
            }
            if self.task not in ok[family]:
                raise OptionError(f"--loss {self.loss} does not fit --task {self.task}")
        if self.family == "regression" and (self.classes is not None or self.positive is not None):
            raise OptionError("--classes and --positive apply to classification, not regression")
        if self.center and self.family not in (None, "multiclass"):
            raise OptionError("--center applies to the softmax (cross_entropy) loss only")
        for name in ("huber_delta", "quantile", "tweedie_power", "eps"):
            if not math.isfinite(getattr(self, name)):
                raise OptionError(f"--{name.replace('_', '-')} must be a finite number")
        self.make_loss(self.loss if self.loss != "auto" else "mse")  # validates the parameters

    @property
    def family(self) -> str | None:
        """'regression', 'multiclass', 'binary' (incl. multilabel) or None when still open."""
        if self.loss != "auto":
            return LOSSES[self.loss].family
        if self.task == "multilabel":
            return "binary"
        return None if self.task == "auto" else self.task

    def loss_for(self, task: str) -> Loss:
        """The loss object to use once the task is known."""
        name = DEFAULT_LOSS[task] if self.loss == "auto" else self.loss
        if self.center and name != "cross_entropy":
            raise OptionError("--center applies to the softmax (cross_entropy) loss only")
        return self.make_loss(name)

    def make_loss(self, name: str) -> Loss:
        return make_loss(
            name,
            huber_delta=self.huber_delta,
            quantile=self.quantile,
            tweedie_power=self.tweedie_power,
            center=self.center,
            eps=self.eps,
        )

    def stats_spec(self, targets: Sequence[str], weight: str | None = None) -> StatsSpec:
        """What the readers must collect for these options."""
        family = self.family
        classes: Literal["auto", "always", "never"] = "auto"
        if family == "regression":
            classes = "never"
        elif family is not None or self.classes is not None or self.positive is not None:
            classes = "always"
        keep_values, extra = False, tuple[str, ...]()
        if self.loss != "auto" and family == "regression":
            loss = self.make_loss(self.loss)
            keep_values, extra = loss.needs_values(), loss.extra_means()
        return StatsSpec(tuple(targets), weight, classes, keep_values, tuple(extra))
