"""Transformations of the class counts before the loss: class-balanced weights, samplers.

* Effective-number class weights (Cui, Jia, Lin, Song & Belongie, "Class-balanced loss
  based on effective number of samples", CVPR 2019; the authors' ``class_balanced_loss``
  code): w_k = (1 - beta) / (1 - beta^{n_k}) from the unweighted class counts n_k,
  normalised to sum to K.  beta = 0 gives equal weights; beta -> 1 approaches 1 / n_k.
  1 - beta^n is computed as -expm1(n log beta), exact for beta near 1.
* Re-sampling by class (Kang et al., "Decoupling representation and classifier for
  long-tailed recognition", ICLR 2020, eq. 1): class k is drawn with probability
  pi_k = n_k^q / sum_j n_j^q and a row uniformly within it; q = 0 is class-balanced
  sampling (Shen et al. 2016), q = 1/2 square-root sampling (Mahajan et al. 2018).  A
  class without rows cannot be drawn (pi_k = 0).  With sample weights the mean loss over
  a batch then gives class k the share pi_k wbar_k / sum_j pi_j wbar_j, wbar_k = W_k / n_k
  the mean weight of its rows; without weights that is pi_k.  These shares replace the
  data's priors in the loss, so the bias and the expected loss are those of training.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import DataError, OptionError
from .base import FloatArray, fmt

__all__ = ["effective_number_weights", "parse_sampler", "sampled_priors"]

SAMPLER_POWERS = {"balanced": 0.0, "sqrt": 0.5}


def effective_number_weights(
    counts: FloatArray, beta: float, classes: tuple[object, ...]
) -> FloatArray:
    """Cui et al.'s class-balanced weights, summing to K.

    >>> effective_number_weights(np.array([90.0, 10.0]), 0.9, (0, 1)).round(4).tolist()
    [0.7889, 1.2111]
    """
    n = np.asarray(counts, dtype=np.float64)
    if np.any(n <= 0):
        absent = [c for c, k in zip(classes, n, strict=True) if k <= 0]
        raise DataError(
            f"effective-number class weights are undefined for classes with no rows: {absent}; "
            "give the weights as LABEL=W or drop those classes"
        )
    w = np.ones_like(n) if beta == 0 else (1 - beta) / -np.expm1(n * math.log(beta))
    return np.asarray(w / w.sum() * n.size, dtype=np.float64)


def parse_sampler(text: str) -> float:
    """``balanced`` -> 0, ``sqrt`` -> 0.5, ``power:Q`` -> Q."""
    if text in SAMPLER_POWERS:
        return SAMPLER_POWERS[text]
    kind, _, value = text.partition(":")
    try:
        if kind != "power":
            raise ValueError
        q = float(value)
    except ValueError:
        raise OptionError(f"--sampler must be balanced, sqrt or power:Q, not {text!r}") from None
    if not (math.isfinite(q) and q >= 0):
        raise OptionError(f"--sampler power:Q needs a finite Q >= 0, not {value!r}")
    return q


def sampled_priors(
    counts: FloatArray, weight_sums: FloatArray, power: float
) -> tuple[FloatArray, str]:
    """The class shares a class-aware sampler shows the loss, and an explanation line.

    ``counts`` are the rows per class (or, without data, the class probabilities, which
    are proportional to them); ``weight_sums`` the sample-weight sums per class.
    """
    n = np.asarray(counts, dtype=np.float64)
    present = n > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        draw = np.where(present, np.power(np.where(present, n, 1.0), power), 0.0)
        mean_weight = np.where(present, weight_sums / np.where(present, n, 1.0), 0.0)
    share = draw * mean_weight
    if not share.sum() > 0:
        raise DataError("the sampler has no class with rows and positive weight to draw")
    line = (
        f"--sampler: class k is drawn with probability n_k^q / sum n^q, q = {fmt(power)}; the "
        "loss sees shares pi_k wbar_k / sum pi wbar (wbar_k: mean sample weight of class k) "
        "[Kang et al. 2020]"
    )
    return np.asarray(share / share.sum(), dtype=np.float64), line
