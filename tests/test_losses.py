"""Every loss's bias against an independent numerical minimiser on the raw labels.

The reference losses here are written directly from their definitions (PyTorch's docs
for MSELoss, L1Loss, HuberLoss, PoissonNLLLoss, BCEWithLogitsLoss, CrossEntropyLoss;
scikit-learn's docs for the half gamma / Tweedie deviances) and minimised with scipy;
nothing is shared with biascalc's closed forms.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special

from biascalc import compute_bias

Arr = npt.NDArray[np.float64]
RNG = np.random.default_rng(12345)


def wmean(values: Arr, w: Arr | None) -> float:
    return float(np.average(values, weights=w))


def pointwise_regression(name: str, param: float) -> Callable[[Arr, float], Arr]:
    def mse(y: Arr, b: float) -> Arr:
        return (y - b) ** 2

    def mae(y: Arr, b: float) -> Arr:
        return np.abs(y - b)

    def huber(y: Arr, b: float) -> Arr:
        r = np.abs(y - b)
        return np.where(r < param, 0.5 * r**2, param * (r - 0.5 * param))

    def pinball(y: Arr, b: float) -> Arr:
        r = y - b
        return np.where(r >= 0, param * r, (param - 1) * r)

    def poisson(y: Arr, b: float) -> Arr:
        return np.exp(b) - y * b

    def gamma(y: Arr, b: float) -> Arr:
        mu = np.exp(b)
        return np.log(mu / y) + y / mu - 1

    def tweedie(y: Arr, b: float) -> Arr:
        p, mu = param, np.exp(b)
        if p == 1:
            return special.xlogy(y, y / mu) - y + mu
        if p == 2:
            return gamma(y, b)
        return (
            np.maximum(y, 0) ** (2 - p) / ((1 - p) * (2 - p))
            - y * mu ** (1 - p) / (1 - p)
            + mu ** (2 - p) / (2 - p)
        )

    return {
        "mse": mse,
        "mae": mae,
        "huber": huber,
        "quantile": pinball,
        "poisson": poisson,
        "gamma": gamma,
        "tweedie": tweedie,
    }[name]


REGRESSION_CASES = [
    ("mse", {}, 0.0),
    ("mae", {}, 0.0),
    ("huber", {"huber_delta": 1.0}, 1.0),
    ("huber", {"huber_delta": 0.3}, 0.3),
    ("huber", {"huber_delta": 50.0}, 50.0),
    ("quantile", {"quantile": 0.5}, 0.5),
    ("quantile", {"quantile": 0.9}, 0.9),
    ("quantile", {"quantile": 0.05}, 0.05),
    ("poisson", {}, 0.0),
    ("gamma", {}, 0.0),
    ("tweedie", {"tweedie_power": 1.0}, 1.0),
    ("tweedie", {"tweedie_power": 1.5}, 1.5),
    ("tweedie", {"tweedie_power": 2.0}, 2.0),
    ("tweedie", {"tweedie_power": 3.0}, 3.0),
]


def _regression_labels(loss: str, n: int) -> Arr:
    if loss in ("poisson",):
        return RNG.poisson(3.0, n).astype(float)
    if loss == "tweedie":
        # Compound Poisson-gamma: exact zeros plus positive amounts.
        y = RNG.gamma(2.0, 3.0, n) * (RNG.random(n) < 0.7)
        return np.maximum(y, 1e-3)
    if loss == "gamma":
        return RNG.gamma(2.0, 5.0, n) + 0.01
    return RNG.standard_t(3, n) * 4 + 10


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("loss", "options", "param"), REGRESSION_CASES)
def test_regression_bias_minimises_the_loss(
    loss: str, options: dict[str, float], param: float, weighted: bool
) -> None:
    n = 301
    y = _regression_labels(loss, n)
    if loss == "tweedie" and param >= 2:
        y = y + 0.1  # y > 0 is required from p = 2 on
    w = RNG.uniform(0.1, 3.0, n) if weighted else None
    result = compute_bias(y, task="regression", loss=loss, sample_weight=w, **options)
    f = pointwise_regression(loss, param)
    objective = lambda b: wmean(f(y, b), w)  # noqa: E731
    lo, hi = (
        (np.log(y[y > 0].min()), np.log(y.max()))
        if result.activation == "exp"
        else (y.min(), y.max())
    )
    best = optimize.minimize_scalar(
        objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12}
    )
    bias = float(result.bias[0])
    # The bias is at least as good as the numerical minimum ...
    assert objective(bias) <= best.fun + 1e-9 * max(1.0, abs(best.fun))
    # ... and, where the minimiser is unique, at the same place.
    if loss not in ("mae", "quantile"):
        assert bias == pytest.approx(best.x, rel=1e-6, abs=1e-6)
    assert result.expected_loss_recommended == pytest.approx(objective(bias), rel=1e-9, abs=1e-12)
    assert result.expected_loss_zero_bias == pytest.approx(objective(0.0), rel=1e-9, abs=1e-12)


def test_median_is_numpy_median_for_unweighted_data() -> None:
    for n in (1, 2, 5, 10, 101):
        y = RNG.normal(size=n)
        assert compute_bias(y, task="regression", loss="mae").bias[0] == pytest.approx(np.median(y))


def test_weighted_median_interval_midpoint() -> None:
    # Weights 1,1,1,1 on 1,2,3,4: any point in [2, 3] minimises; we return 2.5.
    assert compute_bias([1.0, 2.0, 3.0, 4.0], task="regression", loss="mae").bias[0] == 2.5
    # A heavy weight moves the median onto that point.
    r = compute_bias([1.0, 2.0, 3.0], task="regression", loss="mae", sample_weight=[1, 1, 5])
    assert r.bias[0] == 3.0


def test_huber_exact_not_one_step() -> None:
    y = np.array([0.0, 0.1, 0.2, 10.0, 11.0, 50.0])
    r = compute_bias(y, task="regression", loss="huber", huber_delta=1.0)
    psi = np.clip(y - r.bias[0], -1, 1).sum()
    assert abs(psi) < 1e-9


def bce_objective(y: Arr, w: Arr | None) -> Callable[[float], float]:
    def f(b: float) -> float:
        return wmean(-(y * special.log_expit(b) + (1 - y) * special.log_expit(-b)), w)

    return f


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_bias_minimises_bce(weighted: bool) -> None:
    y = (RNG.random(500) < 0.07).astype(int)
    w = RNG.uniform(0.5, 2, 500) if weighted else None
    r = compute_bias(y, sample_weight=w)
    f = bce_objective(y.astype(float), w)
    best = optimize.minimize_scalar(f, bounds=(-20, 20), method="bounded", options={"xatol": 1e-12})
    assert r.task == "binary"
    assert r.bias[0] == pytest.approx(best.x, abs=1e-6)
    assert special.expit(r.bias[0]) == pytest.approx(wmean(y.astype(float), w), rel=1e-12)
    assert r.expected_loss_recommended == pytest.approx(f(r.bias[0]), rel=1e-12)
    assert r.expected_loss_zero_bias == pytest.approx(np.log(2), rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_multiclass_bias_minimises_cross_entropy(weighted: bool) -> None:
    y = RNG.choice(4, size=400, p=[0.5, 0.3, 0.15, 0.05])
    w = RNG.uniform(0.5, 2, 400) if weighted else None
    r = compute_bias(y, sample_weight=w)

    def f(b: Arr) -> float:
        return wmean(-special.log_softmax(b)[y], w)

    best = optimize.minimize(f, np.zeros(4), method="BFGS", options={"gtol": 1e-10})
    assert r.task == "multiclass"
    # Logits are defined up to a constant: compare softmax outputs and the loss value.
    np.testing.assert_allclose(special.softmax(r.bias), special.softmax(best.x), atol=1e-6)
    assert r.expected_loss_recommended == pytest.approx(f(r.bias), rel=1e-12)
    assert r.expected_loss_recommended <= best.fun + 1e-12
    assert r.expected_loss_zero_bias == pytest.approx(np.log(4), rel=1e-12)


def test_center_gives_zero_mean_logits() -> None:
    r = compute_bias([0, 1, 1, 2, 2, 2], center=True)
    assert abs(float(np.sum(r.bias))) < 1e-12
    np.testing.assert_allclose(special.softmax(r.bias), [1 / 6, 2 / 6, 3 / 6])


@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_bias_minimises_mean_bce(weighted: bool) -> None:
    y = (RNG.random((300, 3)) < [0.4, 0.1, 0.02]).astype(int)
    w = RNG.uniform(0.5, 2, 300) if weighted else None
    r = compute_bias(y, sample_weight=w)
    assert r.task == "multilabel"
    for j in range(3):
        f = bce_objective(y[:, j].astype(float), w)
        best = optimize.minimize_scalar(
            f, bounds=(-20, 20), method="bounded", options={"xatol": 1e-12}
        )
        assert r.bias[j] == pytest.approx(best.x, abs=1e-6)
    # BCEWithLogitsLoss(mean) averages over all N x L elements.
    total = np.mean([bce_objective(y[:, j].astype(float), w)(r.bias[j]) for j in range(3)])
    assert r.expected_loss_recommended == pytest.approx(total, rel=1e-12)


def test_multi_output_regression_mse() -> None:
    y = RNG.normal(size=(200, 2)) * [1, 10] + [3, -5]
    r = compute_bias(y)
    assert r.task == "regression"
    np.testing.assert_allclose(r.bias, y.mean(axis=0), rtol=1e-12)
    assert r.expected_loss_recommended == pytest.approx(
        np.mean((y - y.mean(axis=0)) ** 2), rel=1e-12
    )
    assert r.expected_loss_zero_bias == pytest.approx(np.mean(y**2), rel=1e-12)


def test_tensorflow_imbalanced_data_tutorial_figure() -> None:
    # TensorFlow's "Classification on imbalanced data" tutorial: credit-card fraud with
    # 492 positives among 284,807 rows gives initial_bias = log(pos/neg) = -6.35936.
    y = np.repeat([0, 1], [284_807 - 492, 492])
    r = compute_bias(y)
    assert round(float(r.bias[0]), 5) == -6.35936


def test_retinanet_prior() -> None:
    # Lin et al. 2017 (Focal Loss): b = -log((1 - pi) / pi) with pi = 0.01 -> -4.59512.
    r = compute_bias(np.repeat([0, 1], [99, 1]))
    assert round(float(r.bias[0]), 5) == -4.59512


class TestAgainstScikitLearn:
    """scikit-learn's own ``fit_intercept_only`` (sklearn/_loss) as a second opinion."""

    sk_loss = pytest.importorskip("sklearn._loss.loss")

    @pytest.mark.parametrize("weighted", [False, True])
    def test_log_link_losses(self, weighted: bool) -> None:
        y = RNG.gamma(2.0, 2.0, 200) + 0.01
        w = RNG.uniform(0.5, 2, 200) if weighted else None
        cases = [
            ("poisson", {}, self.sk_loss.HalfPoissonLoss()),
            ("gamma", {}, self.sk_loss.HalfGammaLoss()),
            ("tweedie", {"tweedie_power": 1.5}, self.sk_loss.HalfTweedieLoss(power=1.5)),
        ]
        for name, opts, sk in cases:
            ours = compute_bias(y, task="regression", loss=name, sample_weight=w, **opts)
            assert ours.bias[0] == pytest.approx(sk.fit_intercept_only(y, w), rel=1e-12)

    def test_binomial_and_multinomial(self) -> None:
        y = RNG.choice(3, size=300, p=[0.6, 0.3, 0.1]).astype(float)
        sk = self.sk_loss.HalfMultinomialLoss(n_classes=3)
        ours = compute_bias(y.astype(int), center=True)
        np.testing.assert_allclose(ours.bias, sk.fit_intercept_only(y), rtol=1e-12)
        yb = (y == 2).astype(float)
        ours_b = compute_bias(yb.astype(int))
        assert ours_b.bias[0] == pytest.approx(
            self.sk_loss.HalfBinomialLoss().fit_intercept_only(yb), rel=1e-12
        )

    def test_half_deviance_values(self) -> None:
        y = RNG.gamma(2.0, 2.0, 100) + 0.01
        for name, opts, sk in [
            ("gamma", {}, self.sk_loss.HalfGammaLoss()),
            ("tweedie", {"tweedie_power": 1.5}, self.sk_loss.HalfTweedieLoss(power=1.5)),
        ]:
            ours = compute_bias(y, task="regression", loss=name, **opts)
            raw = np.full(y.shape, ours.bias[0])
            # sklearn's loss() drops terms constant in the prediction; add them back.
            expected = np.mean(sk.loss(y, raw) + sk.constant_to_optimal_zero(y))
            assert ours.expected_loss_recommended == pytest.approx(expected, rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=50),
    st.floats(0.01, 0.99),
)
def test_selection_quantile_equals_the_weighted_definition(values: list[float], q: float) -> None:
    from biascalc.quantiles import weighted_quantile

    y = np.array(values)
    assert weighted_quantile(y, q) == weighted_quantile(y, q, np.ones_like(y))
