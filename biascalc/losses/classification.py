"""Sigmoid and softmax cross-entropy, with the training-time adjustments that move the optimum.

Both reduce to the same shape.  For a constant logit b, the sigmoid loss averaged over
the data is  A softplus(-b) + B softplus(b)  with A, B >= 0 depending on the positive
share p and the adjustments, minimised at sigmoid(b) = A / (A + B), i.e. b = log(A / B).
The softmax loss is  sum_k C_k (logsumexp(b) - b_k) / Z, minimised at softmax(b) = C / sum C,
i.e. b_k = log C_k + const.  Each adjustment only changes A, B or C.

Logit adjustment (Menon et al., "Long-tail learning via logit adjustment", ICLR 2021;
google-research/logit_adjustment ``build_loss_fn``) trains on the logits plus a fixed
offset, CE(b + TAU log pi) with pi the training priors (sigmoid: b + TAU logit pi).  The
offset moves the optimum by exactly minus itself: b = b* - TAU log pi, which for the
plain loss is (1 - TAU) log p (sigmoid: (1 - TAU) logit p).  TAU = 1 is the balanced
softmax of Ren et al., "Balanced meta-softmax for long-tailed visual recognition",
NeurIPS 2020, whose optimal bias is 0 (uniform).  pi is clipped to [eps, 1 - eps] like p.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import OptionError
from .base import DEFAULT_EPS, MAX_LINES, Fit, FloatArray, Loss, LossData, fmt, more_lines

__all__ = ["BinaryCrossEntropy", "CrossEntropy", "softplus"]


def softplus(x: FloatArray) -> FloatArray:
    """log(1 + exp(x)), stable for large |x|."""
    return np.logaddexp(0.0, x)


def _exact_sum(values: FloatArray) -> float:
    """The correctly rounded sum (``math.fsum``): BLAS dot products and SIMD sums round
    differently with the arrays' memory alignment, so the last digit of a 50,000-class
    loss would change from run to run."""
    return math.fsum(values.tolist())


def _clip_warnings(
    labels: Sequence[str], shares: FloatArray, clipped: FloatArray, what: str
) -> tuple[str, ...]:
    """One warning per clipped class; only those classes' labels are looked up."""
    assert len(labels) == len(shares) == len(clipped)
    return tuple(
        f"class {labels[i]} has {what} {float(shares[i])!r}; "
        f"clipped to {float(clipped[i])!r} so its bias is finite"
        for i in np.flatnonzero(shares != clipped).tolist()
    )


def _adjustment_line(tau: float | None, link: str) -> list[str]:
    """The --explain line of logit adjustment, if any."""
    if tau is None:
        return []
    balanced = "; TAU = 1 is balanced softmax [Ren et al. 2020]" if tau == 1 else ""
    return [
        f"logit-adjusted loss: the loss sees b + TAU {link} pi, TAU = {fmt(tau)}, pi = the "
        f"training priors p, so b = (optimum) - TAU {link} pi [Menon et al. 2021]{balanced}"
    ]


#: Softmaxes with more classes than this summarise their clipped classes in one warning.
LISTED_CLASSES = 1000


def _softmax_clip_warnings(
    data: LossData, shares: FloatArray, clipped: FloatArray, what: str, eps: float
) -> tuple[str, ...]:
    """One warning per clipped class, or one summary when more than MAX_LINES are clipped,
    there are more than LISTED_CLASSES classes, or the data asks for one (a vocabulary of
    50,257 tokens, where thousands may never occur)."""
    changed = shares != clipped
    n = int(np.count_nonzero(changed))
    if n == 0 or (
        not data.summarise_clipping
        and (n <= 1 or (n <= MAX_LINES and shares.size <= LISTED_CLASSES))
    ):
        return _clip_warnings(data.labels, shares, clipped, what)
    absent = int(np.count_nonzero(changed & (shares == 0)))
    return (
        f"{n:,} of {shares.size:,} classes have a {what} below eps = {eps!r} ({absent:,} of "
        f"them never occur): their bias is clipped to log(eps) = {math.log(eps)!r} so it is "
        "finite; for --task tokens, --smoothing A gives them log((n_k + A) / (N + A V)) instead",
    )


class BinaryCrossEntropy(Loss):
    """Sigmoid cross-entropy per output.  Loss: ``torch.nn.BCEWithLogitsLoss``.

    Plain: the mean loss of a constant logit b with positive share p is
    softplus(b) - p b, minimised at sigmoid(b) = p, so b = logit(p).

    Adjustments (all combine; t = smoothed target):
    * ``pos_weight`` W (PyTorch ``pos_weight``): positives' loss term is multiplied by W,
      so sigmoid(b) = W p / (W p + 1 - p), b = log(W p / (1 - p)).
    * ``class_weight`` (c_neg, c_pos): each sample's loss is multiplied by the weight of
      its class (PyTorch's per-element ``weight``, mean over samples), so
      sigmoid(b) = c_pos p / (c_pos p + c_neg (1 - p)).
    * ``label_smoothing`` e (Keras ``BinaryCrossentropy(label_smoothing=e)``): targets
      become y (1 - e) + e / 2.
    With t1 = 1 - e/2 (target of a positive), t0 = e/2 (of a negative):
    A = W (c_pos p t1 + c_neg (1 - p) t0),  B = c_pos p (1 - t1) + c_neg (1 - p)(1 - t0).
    """

    name = "bce"
    family = "binary"
    activation = "sigmoid"
    reference = "torch.nn.BCEWithLogitsLoss"

    def __init__(
        self,
        pos_weight: FloatArray | float | None = None,
        class_weight: tuple[float, float] | None = None,
        label_smoothing: float = 0.0,
        eps: float = DEFAULT_EPS,
        logit_adjustment: float | None = None,
    ) -> None:
        super().__init__(eps)
        self.pos_weight = pos_weight
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.logit_adjustment = logit_adjustment

    def parameters(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.pos_weight is not None:
            pw = np.atleast_1d(np.asarray(self.pos_weight, dtype=np.float64))
            out["pos_weight"] = float(pw[0]) if pw.size == 1 else [float(x) for x in pw]
        if self.class_weight is not None:
            out["class_weight"] = [float(x) for x in self.class_weight]
        if self.label_smoothing:
            out["label_smoothing"] = self.label_smoothing
        if self.logit_adjustment is not None:
            out["logit_adjustment"] = self.logit_adjustment
        return out

    def offset(self, p: FloatArray) -> FloatArray:
        """TAU logit(pi): what the logit-adjusted loss adds to the logits (0 without it)."""
        if self.logit_adjustment is None:
            return np.zeros_like(p)
        q = np.clip(p, self.eps, 1 - self.eps)
        return np.asarray(self.logit_adjustment * (np.log(q) - np.log1p(-q)), dtype=np.float64)

    def coefficients(self, p: FloatArray) -> tuple[FloatArray, FloatArray]:
        """A and B of the docstring, per output."""
        e = self.label_smoothing
        t1, t0 = 1 - e / 2, e / 2
        c_neg, c_pos = self.class_weight if self.class_weight is not None else (1.0, 1.0)
        w = np.asarray(1.0 if self.pos_weight is None else self.pos_weight, dtype=np.float64)
        a = w * (c_pos * p * t1 + c_neg * (1 - p) * t0)
        b = c_pos * p * (1 - t1) + c_neg * (1 - p) * (1 - t0)
        return a, b

    def fit(self, data: LossData) -> Fit:
        a, b = self.coefficients(data.p)
        with np.errstate(divide="ignore", invalid="ignore"):
            target = np.where(a + b > 0, a / (a + b), data.p)
        q = np.clip(target, self.eps, 1 - self.eps)
        what = "positive share" if np.array_equal(target, data.p) else "optimal sigmoid output"
        warnings = _clip_warnings(data.labels, target, q, what)
        bias = np.log(q) - np.log1p(-q) - self.offset(data.p)
        return Fit(bias, warnings, self._explain(data, target, bias))

    def _explain(self, data: LossData, target: FloatArray, bias: FloatArray) -> tuple[str, ...]:
        parts = []
        if self.pos_weight is not None:
            parts.append("pos_weight W")
        if self.class_weight is not None:
            parts.append("class weights (c_neg, c_pos)")
        if self.label_smoothing:
            parts.append("label smoothing e")
        if not parts:
            head = (
                "b = logit(p) = log(p / (1 - p)), p = weighted positive share "
                "[BCEWithLogitsLoss optimum]"
            )
        else:
            head = (
                "b = log(A / B), A = W (c_pos p (1 - e/2) + c_neg (1 - p) e/2), "
                f"B = c_pos p e/2 + c_neg (1 - p)(1 - e/2); with {', '.join(parts)} "
                "[PyTorch BCEWithLogitsLoss pos_weight/weight; Keras label_smoothing]"
            )
        lines = [head, *_adjustment_line(self.logit_adjustment, "logit")]
        shown = "sigmoid(b)" if self.logit_adjustment is None else "sigmoid(b + TAU logit pi)"
        for label, p, t, b in zip(data.labels[:MAX_LINES], data.p, target, bias, strict=False):
            lines.append(f"{label}: p = {fmt(p)}, {shown} = {fmt(t)}, b = {fmt(b)}")
        lines += more_lines(len(data.labels), "outputs")
        return tuple(lines)

    def mean_loss(self, data: LossData, raw: FloatArray) -> float:
        a, b = self.coefficients(data.p)
        x = raw + self.offset(data.p)
        return float(np.mean(a * softplus(-x) + b * softplus(x)))


class CrossEntropy(Loss):
    """Softmax cross-entropy.  Loss: ``torch.nn.CrossEntropyLoss`` (mean reduction).

    Plain: constant logits b with class shares p give logsumexp(b) - sum_k p_k b_k,
    minimised where softmax(b) = p, so b_k = log p_k (plus any constant; ``center``
    subtracts the mean, scikit-learn's symmetric parametrisation).

    With class weights c_k (PyTorch ``weight``) and label smoothing e (PyTorch
    ``label_smoothing``), PyTorch's mean loss is
    [(1 - e) sum_i c_{y_i} (-log q_{y_i}) + (e/K) sum_i sum_k c_k (-log q_k)] / sum_i c_{y_i},
    so with C_k = c_k ((1 - e) p_k + e/K) the optimum is softmax(b) = C / sum C and the
    loss is sum_k C_k (-log q_k) / sum_k c_k p_k.  ``balanced`` weights (scikit-learn's
    n / (K n_k)) make C uniform, hence a uniform prediction.
    """

    name = "cross_entropy"
    family = "multiclass"
    activation = "softmax"
    reference = "torch.nn.CrossEntropyLoss"

    def __init__(
        self,
        center: bool = False,
        class_weight: FloatArray | None = None,
        label_smoothing: float = 0.0,
        eps: float = DEFAULT_EPS,
        logit_adjustment: float | None = None,
        smoothing: float = 0.0,
    ) -> None:
        super().__init__(eps)
        self.center = center
        self.class_weight = class_weight
        self.label_smoothing = label_smoothing
        self.logit_adjustment = logit_adjustment
        self.smoothing = smoothing
        # (shares, class weights, Z) of the last coefficients() (compared by identity).
        self._last_normaliser: tuple[FloatArray, FloatArray | None, float] | None = None

    def parameters(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.center:
            out["center"] = True
        if self.class_weight is not None:
            out["class_weight"] = [float(x) for x in self.class_weight]
        if self.label_smoothing:
            out["label_smoothing"] = self.label_smoothing
        if self.logit_adjustment is not None:
            out["logit_adjustment"] = self.logit_adjustment
        if self.smoothing:
            out["smoothing"] = self.smoothing
        return out

    def offset(self, p: FloatArray) -> FloatArray:
        """TAU log(pi): what the logit-adjusted loss adds to the logits (0 without it)."""
        if self.logit_adjustment is None:
            return np.zeros_like(p)
        return np.asarray(self.logit_adjustment * np.log(np.maximum(p, self.eps)))

    def fit_shares(self, data: LossData) -> FloatArray:
        """The class shares the bias is fitted to: the data's own, or with ``smoothing`` A
        (additive/Lidstone smoothing; Laplace's rule for A = 1) (n_k + A) / (N + A K).

        Reference: Manning & Schuetze, Foundations of Statistical Natural Language
        Processing (1999), 6.2.2 "Laplace's law, Lidstone's law".  The mean loss is still
        taken over the data's shares: smoothing changes the prediction, not the targets.
        """
        if not self.smoothing:
            return data.p
        if data.total is None or not data.total > 0:
            raise OptionError("--smoothing needs the number of samples the shares come from")
        n, a = float(data.total), self.smoothing
        return np.asarray((data.p * n + a) / (n + a * data.p.size), dtype=np.float64)

    def coefficients(self, p: FloatArray) -> tuple[FloatArray, float]:
        """C_k and the normaliser Z = sum_k c_k p_k of the docstring."""
        c = np.ones_like(p) if self.class_weight is None else self.class_weight
        e = self.label_smoothing
        z = self._normaliser(p, c)
        if not z > 0:
            raise OptionError(
                "--class-weight gives weight 0 to every class present in the data; "
                "at least one of them needs a positive weight"
            )
        return c * ((1 - e) * p + e / p.size), z

    def _normaliser(self, p: FloatArray, c: FloatArray) -> float:
        """Z, the exact sum of c_k p_k, computed once per array of shares: fit and the two
        expected losses ask for it with the same shares (0.7 ms each for 100,000)."""
        last = self._last_normaliser
        if last is not None and last[0] is p and last[1] is self.class_weight:
            return last[2]
        z = _exact_sum(c * p)
        self._last_normaliser = (p, self.class_weight, z)
        return z

    def fit(self, data: LossData) -> Fit:
        coef, _ = self.coefficients(self.fit_shares(data))
        target = coef / coef.sum()
        # Smoothed shares are all positive and meant as they are: no eps clip.
        q = target if self.smoothing else np.maximum(target, self.eps)
        plain = self.class_weight is None and not self.label_smoothing and not self.smoothing
        what = "share" if plain else "optimal softmax output"
        warnings = _softmax_clip_warnings(data, target, np.minimum(q, 1.0), what, self.eps)
        bias = np.log(q) - self.offset(data.p)
        if self.center:
            bias = bias - bias.mean()
        return Fit(bias, warnings, self._explain(data, target, bias))

    def _explain(self, data: LossData, target: FloatArray, bias: FloatArray) -> tuple[str, ...]:
        if self.class_weight is None and not self.label_smoothing:
            head = "b_k = log p_k, p_k = weighted share of class k [CrossEntropyLoss optimum]"
        else:
            head = (
                "b_k = log(C_k / sum C), C_k = c_k ((1 - e) p_k + e/K) "
                "[PyTorch CrossEntropyLoss weight / label_smoothing]"
            )
        if self.smoothing:
            head += (
                f"; p_k = (n_k + A) / (N + A K) with A = {fmt(self.smoothing)} "
                "(--smoothing, Lidstone)"
            )
        if self.center:
            head += "; minus the mean of b (--center)"
        lines = [head, *_adjustment_line(self.logit_adjustment, "log")]
        shown = "softmax(b)" if self.logit_adjustment is None else "softmax(b + TAU log pi)"
        for label, p, t, b in zip(data.labels[:MAX_LINES], data.p, target, bias, strict=False):
            lines.append(f"{label}: p = {fmt(p)}, {shown} = {fmt(t)}, b = {fmt(b)}")
        lines += more_lines(len(data.labels), "classes")
        return tuple(lines)

    def mean_loss(self, data: LossData, raw: FloatArray) -> float:
        coef, z = self.coefficients(data.p)
        x = raw + self.offset(data.p)
        m = float(np.max(x))
        # Constant logits (a zero bias): every exp(x - m) is exactly 1, their sum K.
        total = float(x.size) if bool(np.all(x == m)) else _exact_sum(np.exp(x - m))
        lse = m + math.log(total)
        return _exact_sum(coef * (lse - x)) / z
