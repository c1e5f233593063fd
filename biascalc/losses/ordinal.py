"""Ordinal regression with a cumulative-logit head (CORAL)."""

from __future__ import annotations

import numpy as np

from .base import Fit, FloatArray, Loss, LossData, fmt
from .classification import softplus

__all__ = ["Corn", "OrdinalBCE"]


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


class Corn(Loss):
    """K ordered classes, K - 1 sigmoid outputs; output k predicts P(y > c_k | y > c_{k-1}).

    CORN (Shi, Cao & Raschka, "Deep neural networks for rank-consistent ordinal
    regression based on conditional probabilities", Pattern Analysis and Applications
    2023; ``coral_pytorch.losses.corn_loss``): task k is a BCE on the rows that reach
    class k (y > c_{k-1}; every row for k = 0) with target y > c_k.  corn_loss sums the
    BCE terms over all tasks and divides by the number of (row, task) pairs,
    sum_k n_{>k-1}; with sample weights, by their weight sums.  With R_k = P(y > c_{k-1})
    (R_0 = 1) and A_k = P(y > c_k), the mean loss of constant logits is
        sum_k (R_k softplus(b_k) - A_k b_k) / sum_k R_k,
    minimised task by task at b_k = logit(A_k / R_k) = logit(n_{>k} / n_{>k-1}).  A task
    no row reaches (R_k = 0) is skipped by corn_loss, so its bias does not change the loss;
    it gets logit(eps), i.e. "no row goes higher", with a warning.
    """

    name = "corn"
    family = "ordinal"
    activation = "sigmoid"
    reference = "coral_pytorch.losses.corn_loss"

    def output_names(self, names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(n if k == 0 else f"{n} | y {names[k - 1]}" for k, n in enumerate(names))

    @staticmethod
    def _reach(above: FloatArray) -> FloatArray:
        """R_k = P(y > c_{k-1}), the share of rows task k trains on."""
        return np.concatenate(([1.0], above[:-1]))

    def fit(self, data: LossData) -> Fit:
        above = data.p
        reach = self._reach(above)
        with np.errstate(divide="ignore", invalid="ignore"):
            conditional = np.where(reach > 0, above / reach, 0.0)
        conditional = np.minimum(conditional, 1.0)  # rounding of the cumulative sums
        q = np.clip(conditional, self.eps, 1 - self.eps)
        names = data.labels  # already this loss's output names (see output_names)
        warnings = []
        for name, r, p, c in zip(names, reach, conditional, q, strict=True):
            if r <= 0:
                warnings.append(
                    f"no row reaches output {name}; its task is empty (corn_loss skips it) "
                    f"and its bias is logit({float(c)!r})"
                )
            elif p != c:
                warnings.append(
                    f"output {name} has P = {float(p)!r}; clipped to {float(c)!r} "
                    "so its bias is finite"
                )
        bias = np.log(q) - np.log1p(-q)
        lines = [
            "b_k = logit(n_{>k} / n_{>k-1}), the optimum of task k on the rows that reach "
            "class k [Shi et al. 2023, CORN; coral_pytorch corn_loss]"
        ]
        lines += [
            f"{name}: P = {fmt(p)} (of a share {fmt(r)} of rows), b = {fmt(b)}"
            for name, p, r, b in zip(names, conditional, reach, bias, strict=True)
        ]
        return Fit(bias, tuple(warnings), tuple(lines))

    def mean_loss(self, data: LossData, raw: FloatArray) -> float:
        reach = self._reach(data.p)
        return float(np.sum(reach * softplus(raw) - data.p * raw) / np.sum(reach))
