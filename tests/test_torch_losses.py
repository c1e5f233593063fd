"""The expected initial losses against PyTorch's (and Keras') own loss functions.

For every loss: a constant raw prediction equal to biascalc's bias, fed with the real
labels to the framework's loss in float64, must give ``expected_loss_recommended`` (and
a zero prediction ``expected_loss_zero_bias``) to 1e-6.  Skipped when torch is absent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from biascalc import BiasResult, compute_bias

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(7)
N = 500


def const(value: Any, n: int) -> Any:
    """An (n, k) float64 tensor repeating one row: the output of a zero-weight network."""
    row = torch.as_tensor(np.atleast_1d(np.asarray(value, dtype=np.float64)))
    return row.expand(n, row.numel()).clone()


def check(result: BiasResult, loss_of: Callable[[Any], Any]) -> None:
    n = N
    got = float(loss_of(const(result.bias, n)))
    assert got == pytest.approx(result.expected_loss_recommended, abs=1e-6, rel=1e-6)
    zero = float(loss_of(const(np.zeros_like(result.bias), n)))
    assert zero == pytest.approx(result.expected_loss_zero_bias, abs=1e-6, rel=1e-6)


def weighted_mean(per_sample: Any, w: np.ndarray | None) -> Any:
    if w is None:
        return per_sample.mean()
    wt = torch.as_tensor(w)
    return (per_sample * wt).sum() / wt.sum()


@pytest.mark.parametrize("weighted", [False, True])
def test_regression_losses(weighted: bool) -> None:
    y = RNG.gamma(2.0, 3.0, N) + 0.05
    w = RNG.uniform(0.2, 2, N) if weighted else None
    yt = torch.as_tensor(y)[:, None]
    cases: list[tuple[dict[str, Any], Callable[[Any], Any]]] = [
        ({"loss": "mse"}, lambda out: F.mse_loss(out, yt, reduction="none")[:, 0]),
        ({"loss": "mae"}, lambda out: F.l1_loss(out, yt, reduction="none")[:, 0]),
        (
            {"loss": "huber", "huber_delta": 2.0},
            lambda out: F.huber_loss(out, yt, reduction="none", delta=2.0)[:, 0],
        ),
        (
            {"loss": "poisson"},
            lambda out: F.poisson_nll_loss(out, yt, log_input=True, full=False, reduction="none")[
                :, 0
            ],
        ),
    ]
    for options, per_sample in cases:
        r = compute_bias(y, task="regression", sample_weight=w, **options)
        check(r, lambda out, f=per_sample: weighted_mean(f(out), w))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weight", [None, 5.0])
def test_bce_with_logits(weighted: bool, pos_weight: float | None) -> None:
    y = (RNG.random((N, 3)) < [0.4, 0.1, 0.01]).astype(np.float64)
    w = RNG.uniform(0.2, 2, N) if weighted else None
    r = compute_bias(y.astype(int), pos_weight=pos_weight, sample_weight=w)
    pw = None if pos_weight is None else torch.full((3,), pos_weight, dtype=torch.float64)
    yt = torch.as_tensor(y)

    def loss_of(out: Any) -> Any:
        per = F.binary_cross_entropy_with_logits(out, yt, pos_weight=pw, reduction="none").mean(
            dim=1
        )
        return weighted_mean(per, w)

    check(r, loss_of)
    # The untrained network predicts the (pos-weighted) prior.
    p = np.average(y, axis=0, weights=w)
    expected = p if pos_weight is None else pos_weight * p / (pos_weight * p + 1 - p)
    np.testing.assert_allclose(torch.sigmoid(const(r.bias, 1))[0].numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("class_weight", "smoothing"),
    [(None, 0.0), ({0: 2.0, 3: 0.5}, 0.0), (None, 0.1), ("balanced", 0.2)],
)
def test_cross_entropy(class_weight: Any, smoothing: float) -> None:
    y = RNG.choice(4, size=N, p=[0.5, 0.3, 0.15, 0.05])
    r = compute_bias(y, class_weight=class_weight, label_smoothing=smoothing)
    weight = None
    params = r.loss_parameters.get("class_weight")
    if params is not None:
        weight = torch.as_tensor(params, dtype=torch.float64)
    yt = torch.as_tensor(y)
    check(r, lambda out: F.cross_entropy(out, yt, weight=weight, label_smoothing=smoothing))


def test_cross_entropy_sample_weights() -> None:
    y = RNG.choice(3, size=N, p=[0.6, 0.3, 0.1])
    w = RNG.uniform(0.2, 2, N)
    r = compute_bias(y, sample_weight=w)
    yt = torch.as_tensor(y)
    check(r, lambda out: weighted_mean(F.cross_entropy(out, yt, reduction="none"), w))
    probs = torch.softmax(const(r.bias, 1), dim=1)[0].numpy()
    np.testing.assert_allclose(probs, np.bincount(y, weights=w) / w.sum(), rtol=1e-12)


def sigmoid_focal_loss(inputs: Any, targets: Any, alpha: float, gamma: float) -> Any:
    """torchvision.ops.sigmoid_focal_loss (torchvision 0.2x), verbatim in substance."""
    p = torch.sigmoid(inputs)
    ce_loss = F.binary_cross_entropy_with_logits(inputs, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss


@pytest.mark.parametrize(("gamma", "alpha"), [(2.0, 0.25), (1.0, -1.0)])
def test_focal(gamma: float, alpha: float) -> None:
    y = (RNG.random((N, 2)) < [0.02, 0.3]).astype(np.float64)
    r = compute_bias(y.astype(int), loss="focal", focal_gamma=gamma, focal_alpha=alpha)
    yt = torch.as_tensor(y)
    check(r, lambda out: sigmoid_focal_loss(out, yt, alpha, gamma).mean())
    # And it is a minimum of the framework's loss: the gradient w.r.t. the bias vanishes.
    bias = torch.as_tensor(r.bias).requires_grad_(True)
    sigmoid_focal_loss(bias.expand(N, 2), yt, alpha, gamma).mean().backward()
    assert float(bias.grad.abs().max()) < 1e-10


def test_ordinal_coral() -> None:
    y = RNG.choice(4, size=N, p=[0.1, 0.4, 0.4, 0.1])
    r = compute_bias(y, task="ordinal")
    levels = torch.as_tensor((y[:, None] > np.arange(3)[None, :]).astype(np.float64))

    def coral_loss(logits: Any) -> Any:  # coral_pytorch.losses.coral_loss
        term = F.logsigmoid(logits) * levels + (F.logsigmoid(logits) - logits) * (1 - levels)
        return (-term.sum(dim=1)).mean()

    check(r, coral_loss)


def test_keras_label_smoothing() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    y = (RNG.random((N, 2)) < [0.3, 0.05]).astype("float32")
    r = compute_bias(y.astype(int), label_smoothing=0.2)
    loss = keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2)
    got = float(keras.ops.convert_to_numpy(loss(y, np.tile(r.bias, (N, 1)).astype("float32"))))
    assert got == pytest.approx(r.expected_loss_recommended, rel=1e-5)
