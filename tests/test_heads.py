"""Regression heads behind an activation, Gaussian/Laplace NLL heads, and CORN (issue 12).

Each bias is checked three ways: against scipy's minimiser of the mean loss written from
its definition on the raw labels (with and without sample weights), against PyTorch's
own loss in float64 at a constant output equal to the bias (its value is
``expected_loss_recommended``, a zero output gives ``expected_loss_zero_bias``), and by
PyTorch's gradient with respect to the bias, which must vanish (< 1e-8) at an optimum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special

from biascalc import DataError, OptionError, compute_bias
from biascalc.api import compute_bias_from_counts
from biascalc.losses.links import OutputActivation

torch = pytest.importorskip("torch")
F = torch.nn.functional

Arr = npt.NDArray[np.float64]
RNG = np.random.default_rng(12)
N = 301  # odd: the unweighted median is one label, so mae/quantile optima are unique


def sample_weights(weighted: bool) -> Arr | None:
    return RNG.uniform(0.2, 3.0, N) if weighted else None


def wmean(values: Any, s: Arr | None) -> Any:
    """The weighted mean of per-sample losses, numpy or torch."""
    if s is None:
        return values.mean()
    if isinstance(values, np.ndarray):
        return float(np.sum(values * s) / np.sum(s))
    st = torch.as_tensor(s)
    return (values * st).sum() / st.sum()


def minimise(f: Callable[[Arr], float], x0: Arr, smooth: bool = True) -> Arr:
    if smooth:
        res = optimize.minimize(f, x0, method="BFGS", options={"gtol": 1e-10})
    else:
        res = optimize.minimize(
            f, x0, method="Nelder-Mead", options={"xatol": 1e-11, "fatol": 1e-14, "maxiter": 20000}
        )
    return np.asarray(res.x)


def torch_check(
    result: Any, loss_of: Callable[[Any], Any], n: int = N, gradient: bool = True
) -> None:
    """PyTorch's loss at the bias is the expected loss; its gradient there vanishes."""
    bias = torch.as_tensor(result.bias).clone().requires_grad_(True)
    value = loss_of(bias.expand(n, bias.numel()))
    assert float(value.detach()) == pytest.approx(
        result.expected_loss_recommended, rel=1e-9, abs=1e-12
    )
    zero = float(loss_of(torch.zeros(n, bias.numel(), dtype=torch.float64)))
    assert zero == pytest.approx(result.expected_loss_zero_bias, rel=1e-9, abs=1e-12)
    if gradient:
        value.backward()
        assert float(bias.grad.abs().max()) < 1e-8


# ------------------------------------------------------------ activations of regression heads

ACTIVATIONS: dict[str, Callable[[Any], Any]] = {
    "exp": np.exp,
    "softplus": lambda x: np.logaddexp(0.0, x),
    "sigmoid": lambda x: 2.0 + 10.0 * special.expit(x),  # --output-range 2,12
}
TORCH_ACTIVATIONS: dict[str, Callable[[Any], Any]] = {
    "exp": lambda x: torch.exp(x),
    "softplus": lambda x: F.softplus(x),
    "sigmoid": lambda x: 2.0 + 10.0 * torch.sigmoid(x),
}
POINTWISE: dict[str, Callable[[Arr], Arr]] = {  # the loss of residual r = y - prediction
    "mse": lambda r: r * r,
    "mae": np.abs,
    "huber": lambda r: np.where(np.abs(r) <= 1.5, 0.5 * r * r, 1.5 * (np.abs(r) - 0.75)),
    "quantile": lambda r: np.maximum(0.8 * r, -0.2 * r),
}
OPTIONS: dict[str, dict[str, Any]] = {
    "mse": {},
    "mae": {},
    "huber": {"huber_delta": 1.5},
    "quantile": {"quantile": 0.8},
}


def torch_pointwise(name: str, pred: Any, yt: Any) -> Any:
    if name == "mse":
        return F.mse_loss(pred, yt, reduction="none")[:, 0]
    if name == "mae":
        return F.l1_loss(pred, yt, reduction="none")[:, 0]
    if name == "huber":
        return F.huber_loss(pred, yt, reduction="none", delta=1.5)[:, 0]
    r = yt - pred
    return torch.maximum(0.8 * r, -0.2 * r)[:, 0]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("activation", ["exp", "softplus", "sigmoid"])
@pytest.mark.parametrize("loss", ["mse", "mae", "huber", "quantile"])
def test_activation_heads(loss: str, activation: str, weighted: bool) -> None:
    y = RNG.gamma(2.0, 1.5, N) + 2.5  # inside (2, 12) for the sigmoid range, mostly
    y = np.minimum(y, 11.5)
    s = sample_weights(weighted)
    g, rho = ACTIVATIONS[activation], POINTWISE[loss]

    def f(b: Arr) -> float:
        return wmean(rho(y - g(float(b[0]))), s)

    extra = {"output_range": (2.0, 12.0)} if activation == "sigmoid" else {}
    r = compute_bias(y, loss=loss, activation=activation, sample_weight=s, **OPTIONS[loss], **extra)
    assert r.activation == activation and r.task == "regression"
    smooth = loss in ("mse", "huber")
    x0 = r.bias if not smooth else np.zeros(1)  # the scipy start for piecewise-linear losses
    best = minimise(f, x0 + (0.3 if not smooth else 0.0), smooth)
    assert f(r.bias) <= f(best) + 1e-12
    if smooth:
        assert r.bias[0] == pytest.approx(best[0], abs=1e-6)
    assert r.expected_loss_recommended == pytest.approx(f(r.bias), rel=1e-12)
    assert r.expected_loss_zero_bias == pytest.approx(f(np.zeros(1)), rel=1e-12)
    yt = torch.as_tensor(y)[:, None]
    act = TORCH_ACTIVATIONS[activation]
    torch_check(r, lambda out: wmean(torch_pointwise(loss, act(out), yt), s), gradient=smooth)


def test_activation_inverse_formulas() -> None:
    y = RNG.gamma(3.0, 1.0, N)
    m = float(np.mean(y))
    assert compute_bias(y, activation="softplus").bias[0] == pytest.approx(
        np.log(np.expm1(m)), rel=1e-12
    )
    r = compute_bias(y, activation="sigmoid", output_range=(-1.0, 20.0))
    u = (m + 1.0) / 21.0
    assert r.bias[0] == pytest.approx(np.log(u / (1 - u)), rel=1e-12)
    assert r.loss_parameters == {"output_range": [-1.0, 20.0]}
    # sigmoid without a range is (0, 1); y in (0, 1)
    r01 = compute_bias(RNG.uniform(0.1, 0.9, N), activation="sigmoid")
    assert r01.loss_parameters == {}
    # A large constant: log(expm1(c)) stays finite and exact.
    big = compute_bias(np.array([800.5, 801.5, 800.0, 801.0]), activation="softplus")
    assert big.bias[0] == pytest.approx(800.75, rel=1e-15)


def test_activation_out_of_range_is_an_error() -> None:
    with pytest.raises(DataError, match=r"softplus output is always positive"):
        compute_bias(np.array([-3.0, -1.0, 0.5]), activation="softplus")
    with pytest.raises(DataError, match=r"strictly between 0.0 and 1.0"):
        compute_bias(np.array([0.5, 2.0, 6.5]), activation="sigmoid")
    with pytest.raises(DataError, match=r"choose another --activation or --output-range"):
        compute_bias(np.array([0.5, 2.0, 6.5]), activation="sigmoid", output_range=(3, 9))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"loss": "bce", "activation": "softplus"}, "applies to regression losses"),
        ({"activation": "sigmoid", "output_range": (1.0, 1.0)}, "finite LO < HI"),
        ({"activation": "softplus", "output_range": (0.0, 2.0)}, "sigmoid only"),
        ({"loss": "poisson", "activation": "softplus"}, "log link"),
        ({"loss": "gaussian_nll", "activation": "softplus"}, "not gaussian_nll"),
        ({"loss": "mse", "variance_activation": "exp"}, "gaussian_nll or laplace_nll"),
        ({"activation": "tanh"}, "unknown --activation"),
    ],
)
def test_activation_usage_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionError, match=message):
        compute_bias([0.5, 1.5, 2.5], **options)


def test_exp_activation_is_the_log_link_of_poisson() -> None:
    y = RNG.poisson(3.0, N).astype(float)
    a = compute_bias(y, loss="poisson", activation="exp")
    b = compute_bias(y, loss="poisson")
    assert a.bias.tolist() == b.bias.tolist() and a.activation == "exp"


# ------------------------------------------------------------ Gaussian and Laplace NLL heads

SPREAD = {"exp": np.exp, "softplus": lambda x: np.logaddexp(0.0, x)}
TORCH_SPREAD = {"exp": torch.exp, "softplus": F.softplus}


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("link", ["exp", "softplus"])
def test_gaussian_nll(weighted: bool, link: str) -> None:
    y = np.column_stack([RNG.normal(3.0, 2.0, N), RNG.gamma(2.0, 0.3, N)])
    s = sample_weights(weighted)
    r = compute_bias(y, loss="gaussian_nll", variance_activation=link, sample_weight=s)
    assert r.outputs == ("mean:y0", "mean:y1", "raw_var:y0", "raw_var:y1")
    assert r.loss_parameters == {"variance_activation": link}

    def f(b: Arr) -> float:  # GaussianNLLLoss(full=False) from its documented formula
        mu, v = b[:2], np.maximum(SPREAD[link](b[2:]), 1e-6)
        per = 0.5 * (np.log(v) + (y - mu) ** 2 / v)
        return wmean(per.mean(axis=1), s)

    best = minimise(f, np.array([0.0, 0.0, 0.5, 0.5]))
    np.testing.assert_allclose(r.bias, best, atol=1e-6)
    mean = np.average(y, axis=0, weights=s)
    var = np.average((y - mean) ** 2, axis=0, weights=s)
    np.testing.assert_allclose(SPREAD[link](r.bias[2:]), var, rtol=1e-12)
    assert r.expected_loss_recommended == pytest.approx(f(r.bias), rel=1e-12)
    assert r.expected_loss_zero_bias == pytest.approx(f(np.zeros(4)), rel=1e-12)
    yt = torch.as_tensor(y)
    nll = torch.nn.GaussianNLLLoss(full=False, eps=1e-6, reduction="none")

    def torch_loss(out: Any) -> Any:
        mu, raw = out.chunk(2, dim=-1)
        return wmean(nll(mu, yt, TORCH_SPREAD[link](raw)).mean(dim=1), s)

    torch_check(r, torch_loss)


def test_gaussian_constant_target_is_clipped_with_a_warning() -> None:
    r = compute_bias(np.full(10, 4.25), loss="gaussian_nll")
    assert r.bias[0] == 4.25 and np.exp(r.bias[1]) == pytest.approx(1e-6, rel=1e-12)
    assert any("raised to 1e-06" in w for w in r.warnings)
    yt = torch.full((10, 1), 4.25, dtype=torch.float64)
    out = torch.as_tensor(r.bias).expand(10, 2)
    got = torch.nn.GaussianNLLLoss()(out[:, :1], yt, out[:, 1:].exp())
    assert float(got) == pytest.approx(r.expected_loss_recommended, rel=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("link", ["exp", "softplus"])
def test_laplace_nll(weighted: bool, link: str) -> None:
    y = RNG.laplace(1.0, 2.0, N)
    s = sample_weights(weighted)
    r = compute_bias(y, loss="laplace_nll", variance_activation=link, sample_weight=s)
    assert r.outputs == ("mean:y", "raw_scale:y")

    def f(b: Arr) -> float:  # log s + |y - mu| / s
        scale = max(float(SPREAD[link](b[1])), 1e-6)
        return wmean(np.log(scale) + np.abs(y - b[0]) / scale, s)

    best = minimise(f, r.bias + 0.2, smooth=False)
    assert f(r.bias) <= f(best) + 1e-12
    assert r.bias[1] == pytest.approx(best[1], abs=1e-5)
    median = float(np.median(y)) if s is None else None
    if median is not None:
        assert r.bias[0] == median
        mad = float(np.mean(np.abs(y - median)))
        assert float(SPREAD[link](r.bias[1])) == pytest.approx(mad, rel=1e-12)
    assert r.expected_loss_recommended == pytest.approx(f(r.bias), rel=1e-12)
    assert r.expected_loss_zero_bias == pytest.approx(f(np.zeros(2)), rel=1e-12)
    yt = torch.as_tensor(y)[:, None]

    def torch_loss(out: Any) -> Any:
        mu, raw = out.chunk(2, dim=-1)
        scale = TORCH_SPREAD[link](raw)
        return wmean((scale.log() + (yt - mu).abs() / scale)[:, 0], s)

    # |y - mu| has no gradient at the median; the scale's gradient must vanish.
    bias = torch.as_tensor(r.bias).clone().requires_grad_(True)
    torch_loss(bias.expand(N, 2)).backward()
    assert abs(float(bias.grad[1])) < 1e-8
    torch_check(r, torch_loss, gradient=False)


# ------------------------------------------------------------ CORN


def corn_from_definition(y: Arr, b: Arr, k: int, s: Arr | None) -> float:
    """Task j: BCE on rows with y > j - 1, target y > j; summed, divided by the pairs."""
    s = np.ones_like(y, dtype=float) if s is None else s
    total = pairs = 0.0
    for j in range(k - 1):
        rows = y > j - 1
        t = (y[rows] > j).astype(float)
        total += float(
            np.sum(s[rows] * (np.logaddexp(0, -b[j]) * t + np.logaddexp(0, b[j]) * (1 - t)))
        )
        pairs += float(np.sum(s[rows]))
    return total / pairs


@pytest.mark.parametrize("weighted", [False, True])
def test_corn(weighted: bool) -> None:
    coral = pytest.importorskip("coral_pytorch.losses")
    y = RNG.choice(5, size=N, p=[0.1, 0.3, 0.3, 0.2, 0.1])
    s = sample_weights(weighted)
    r = compute_bias(y, task="ordinal", loss="corn", sample_weight=s)
    assert r.outputs == ("> 0", "> 1 | y > 0", "> 2 | y > 1", "> 3 | y > 2")
    best = minimise(lambda b: corn_from_definition(y, b, 5, s), np.zeros(4))
    np.testing.assert_allclose(r.bias, best, atol=1e-6)
    w = np.ones(N) if s is None else s
    for j in range(4):
        share = w[y > j].sum() / w[y > j - 1].sum()
        assert r.bias[j] == pytest.approx(np.log(share / (1 - share)), rel=1e-12)
    f = corn_from_definition
    assert r.expected_loss_recommended == pytest.approx(f(y, r.bias, 5, s), rel=1e-12)
    assert r.expected_loss_zero_bias == pytest.approx(f(y, np.zeros(4), 5, s), rel=1e-12)
    if not weighted:  # coral_pytorch's own corn_loss has no sample weights
        torch_check(r, lambda out: coral.corn_loss(out, torch.as_tensor(y), num_classes=5))


def test_corn_with_an_unreached_task_warns() -> None:
    coral = pytest.importorskip("coral_pytorch.losses")
    r = compute_bias_from_counts({0: 30, 1: 10, 2: 0, 3: 0}, task="ordinal", loss="corn")
    assert any("no row reaches output > 2 | y > 1" in w for w in r.warnings)
    y = torch.as_tensor(np.repeat([0, 1], [30, 10]))
    out = torch.as_tensor(r.bias).expand(40, 3)
    got = float(coral.corn_loss(out, y, num_classes=4))
    assert got == pytest.approx(r.expected_loss_recommended, rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(["identity", "exp", "softplus", "sigmoid"]),
    u=st.floats(1e-6, 1 - 1e-6),
    scale=st.floats(1e-3, 1e6),
)
def test_activation_inverts_its_forward_map(name: str, u: float, scale: float) -> None:
    """g(g^-1(c)) == c over the range of each activation (SigmoidRange -scale..scale)."""
    g = OutputActivation(name, -scale, scale) if name == "sigmoid" else OutputActivation(name)
    c = -scale + 2 * scale * u if name in ("identity", "sigmoid") else scale * u
    assert g.contains(c)
    assert float(g.forward(np.array(g.inverse(c)))) == pytest.approx(c, rel=1e-9, abs=1e-9 * scale)
