"""Ordinal regression with a cumulative-logit head (CORAL)."""

from __future__ import annotations

import numpy as np

from .base import Fit, FloatArray, Loss, LossData, fmt
from .classification import softplus

__all__ = ["OrdinalBCE"]


class OrdinalBCE(Loss):
    """K ordered classes, K - 1 sigmoid outputs; output k predicts P(y > c_k).

    The loss is the sum over the K - 1 binary cross-entropies, averaged over samples
    (Cao, Mirjalili & Raschka, "Rank consistent ordinal regression for neural networks",
    Pattern Recognition Letters 2020; ``coral_pytorch.losses.coral_loss``).  Each task
    is a plain BCE, so b_k = logit(P(y > c_k)) and the mean loss of constant logits is
    sum_k softplus(b_k) - P_k b_k.  The cumulative shares decrease with k, so the biases
    are ordered, as CORAL's rank-consistency requires.
    """

    name = "ordinal_bce"
    family = "ordinal"
    activation = "sigmoid"
    reference = "CORAL loss (sum of K-1 BCEWithLogitsLoss terms, mean over samples)"

    def fit(self, data: LossData) -> Fit:
        q = np.clip(data.p, self.eps, 1 - self.eps)
        warnings = tuple(
            f"threshold {label} has P(y > c) = {float(p)!r}; "
            f"clipped to {float(c)!r} so its bias is finite"
            for label, p, c in zip(data.labels, data.p, q, strict=True)
            if p != c
        )
        bias = np.log(q) - np.log1p(-q)
        lines = [
            "b_k = logit(P(y > c_k)), the optimum of each binary task [Cao et al. 2020, CORAL]"
        ]
        lines += [
            f"{label}: P = {fmt(p)}, b = {fmt(b)}"
            for label, p, b in zip(data.labels, data.p, bias, strict=True)
        ]
        return Fit(bias, warnings, tuple(lines))

    def mean_loss(self, data: LossData, raw: FloatArray) -> float:
        return float(np.sum(softplus(raw) - data.p * raw))
