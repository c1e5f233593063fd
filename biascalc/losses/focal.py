"""Sigmoid focal loss (Lin et al. 2017), whose optimal constant logit is not logit(p)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import OptionError
from .base import DEFAULT_EPS, Fit, FloatArray, Loss, LossData, fmt
from .classification import softplus

__all__ = ["Focal"]


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(np.exp(-softplus(-x)), dtype=np.float64)


class Focal(Loss):
    """torchvision ``sigmoid_focal_loss(alpha, gamma, reduction="mean")`` per output.

    With s = sigmoid(b) and positive share p, the mean loss of a constant logit b is
        L(b) = p a (1 - s)^g softplus(-b) + (1 - p)(1 - a) s^g softplus(b)
    (a = alpha; both alpha factors are 1 when alpha < 0, torchvision's "no weighting").
    Its minimiser is not logit(p).  L is smooth with L'(b) < 0 for b -> -inf and > 0 for
    b -> +inf; we locate the global minimum on a grid over the representable range
    [logit(eps), logit(1 - eps)] and refine the root of
        L'(b) = -p a (1-s)^g (g s softplus(-b) + 1 - s) + (1-p)(1-a) s^g (g (1-s) softplus(b) + s)
    by bisection to machine precision (|delta b| < 1e-12).
    Reference: T.-Y. Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017.
    """

    name = "focal"
    family = "binary"
    activation = "sigmoid"
    reference = "torchvision.ops.sigmoid_focal_loss"

    def __init__(self, gamma: float = 2.0, alpha: float = 0.25, eps: float = DEFAULT_EPS) -> None:
        super().__init__(eps)
        if not (gamma >= 0 and np.isfinite(gamma)):
            raise OptionError(f"--focal-gamma must be a non-negative number, not {gamma}")
        if not (alpha <= 1 and np.isfinite(alpha)):
            raise OptionError(
                f"--focal-alpha must be at most 1 (negative turns it off), not {alpha}"
            )
        self.gamma, self.alpha = gamma, alpha

    def parameters(self) -> dict[str, Any]:
        return {"focal_gamma": self.gamma, "focal_alpha": self.alpha}

    def _weights(self, p: FloatArray | float) -> tuple[Any, Any]:
        a = self.alpha
        if a < 0:
            return p, 1 - p
        return p * a, (1 - p) * (1 - a)

    def _loss(self, p: float, b: FloatArray) -> FloatArray:
        pos, neg = self._weights(p)
        s, t = _sigmoid(b), _sigmoid(-b)  # t = 1 - s without cancellation
        g = self.gamma
        out: FloatArray = pos * t**g * softplus(-b) + neg * s**g * softplus(b)
        return out

    def _slope(self, p: float, b: float) -> float:
        pos, neg = self._weights(p)
        x = np.array([b])
        s, t = float(_sigmoid(x)[0]), float(_sigmoid(-x)[0])
        g = self.gamma
        sp_neg, sp_pos = float(softplus(-x)[0]), float(softplus(x)[0])
        return float(-pos * t**g * (g * s * sp_neg + t) + neg * s**g * (g * t * sp_pos + s))

    def _solve(self, p: float) -> tuple[float, bool]:
        edge = float(np.log(self.eps) - np.log1p(-self.eps))  # logit(eps) < 0
        grid = np.linspace(edge, -edge, 3201)
        i = int(np.argmin(self._loss(p, grid)))
        if i in (0, grid.size - 1):
            return float(grid[i]), True
        lo, hi = float(grid[i - 1]), float(grid[i + 1])
        for _ in range(200):
            mid = (lo + hi) / 2
            if mid in (lo, hi) or hi - lo < 1e-13:
                break
            if self._slope(p, mid) > 0:
                hi = mid
            else:
                lo = mid
        return (lo + hi) / 2, False

    def fit(self, data: LossData) -> Fit:
        bias, warnings, lines = [], [], []
        for label, p in zip(data.labels, data.p, strict=True):
            b, at_edge = self._solve(float(p))
            bias.append(b)
            if at_edge:
                warnings.append(
                    f"class {label} has positive share {float(p)!r}; "
                    "the focal-loss optimum lies beyond "
                    f"the clipped range, so its bias is {b!r}"
                )
            q = min(max(float(p), self.eps), 1 - self.eps)
            lines.append(
                f"{label}: p = {fmt(p)}, b = {fmt(b)} (sigmoid(b) = {fmt(1 / (1 + np.exp(-b)))}); "
                f"logit(p) would be {fmt(np.log(q) - np.log1p(-q))}"
            )
        alpha = "off" if self.alpha < 0 else fmt(self.alpha)
        head = (
            "b minimises the mean focal loss "
            "p a (1-s)^g softplus(-b) + (1-p)(1-a) s^g softplus(b), "
            f"s = sigmoid(b), g = {fmt(self.gamma)}, a = {alpha}, solved numerically "
            "[Lin et al. 2017; torchvision sigmoid_focal_loss]"
        )
        return Fit(np.array(bias), tuple(warnings), (head, *lines))

    def mean_loss(self, data: LossData, raw: FloatArray) -> float:
        return float(
            np.mean(
                [self._loss(float(p), np.array([b]))[0] for p, b in zip(data.p, raw, strict=True)]
            )
        )
