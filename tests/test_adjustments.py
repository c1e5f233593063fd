"""Training-aware biases (issue: weights, smoothing, focal, ordinal, priors without data).

Each adjustment is checked against a numerical minimiser of the loss written from the
framework's definition on the raw labels (numpy + scipy), with and without sample
weights, including the expected loss at step 0.  tests/test_torch_losses.py repeats the
checks with PyTorch's own loss functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy import optimize, special

from biascalc import OptionError, compute_bias
from biascalc.api import compute_bias_from_counts, compute_bias_from_prior

Arr = npt.NDArray[np.float64]
RNG = np.random.default_rng(2024)
N = 400


def minimise_1d(f: Callable[[float], float]) -> float:
    res = optimize.minimize_scalar(f, bounds=(-30, 30), method="bounded", options={"xatol": 1e-12})
    return float(res.x)


def minimise_nd(f: Callable[[Arr], float], k: int) -> Arr:
    res = optimize.minimize(f, np.zeros(k), method="BFGS", options={"gtol": 1e-11})
    return np.asarray(res.x)


def weights(weighted: bool) -> Arr | None:
    return RNG.uniform(0.2, 3.0, N) if weighted else None


def smean(values: Arr, s: Arr | None) -> float:
    return float(np.average(values, weights=s))


# ----------------------------------------------------------------------------- sigmoid


def bce_terms(y: Arr, b: float) -> tuple[Arr, Arr]:
    """-log sigmoid(b) and -log(1 - sigmoid(b)), broadcast to y."""
    return -special.log_expit(b) * np.ones_like(y), -special.log_expit(-b) * np.ones_like(y)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("pos_weight", [0.5, 3.0, 99.0])
def test_pos_weight(weighted: bool, pos_weight: float) -> None:
    y = (RNG.random(N) < 0.1).astype(float)
    s = weights(weighted)

    def f(
        b: float,
    ) -> float:  # torch BCEWithLogitsLoss(pos_weight=W), per-sample then weighted mean
        pos, neg = bce_terms(y, b)
        return smean(pos_weight * y * pos + (1 - y) * neg, s)

    r = compute_bias(y.astype(int), pos_weight=pos_weight, sample_weight=s)
    p = smean(y, s)
    assert r.bias[0] == pytest.approx(np.log(pos_weight * p / (1 - p)), rel=1e-12)
    assert r.bias[0] == pytest.approx(minimise_1d(f), abs=1e-6)
    assert r.expected_loss_recommended == pytest.approx(f(r.bias[0]), rel=1e-12)
    assert r.expected_loss_zero_bias == pytest.approx(f(0.0), rel=1e-12)
    assert r.prior_bias is not None and r.prior_bias[0] == pytest.approx(np.log(p / (1 - p)))
    assert r.loss_parameters == {"pos_weight": pos_weight}


@pytest.mark.parametrize("weighted", [False, True])
def test_binary_class_weight(weighted: bool) -> None:
    y = (RNG.random(N) < 0.2).astype(int)
    s = weights(weighted)
    c = {0: 0.7, 1: 4.0}

    def f(b: float) -> float:  # each sample's BCE times its class weight, mean over samples
        pos, neg = bce_terms(y.astype(float), b)
        per = np.where(y == 1, c[1] * pos, c[0] * neg)
        return smean(per, s)

    r = compute_bias(y, class_weight=c, sample_weight=s)
    assert r.bias[0] == pytest.approx(minimise_1d(f), abs=1e-6)
    assert r.expected_loss_recommended == pytest.approx(f(r.bias[0]), rel=1e-12)
    balanced = compute_bias(y, class_weight="balanced", sample_weight=s)
    assert balanced.bias[0] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.1, 0.3])
def test_bce_label_smoothing_keras_semantics(weighted: bool, smoothing: float) -> None:
    y = (RNG.random((N, 3)) < [0.3, 0.05, 0.6]).astype(float)
    s = weights(weighted)
    r = compute_bias(y.astype(int), label_smoothing=smoothing, sample_weight=s)
    assert r.task == "multilabel"
    t = y * (1 - smoothing) + smoothing / 2  # Keras: y (1 - e) + e / 2
    total = 0.0
    for j in range(3):

        def f(b: float, j: int = j) -> float:
            pos, neg = bce_terms(t[:, j], b)
            return smean(t[:, j] * pos + (1 - t[:, j]) * neg, s)

        assert r.bias[j] == pytest.approx(minimise_1d(f), abs=1e-6)
        total += f(r.bias[j]) / 3
    assert r.expected_loss_recommended == pytest.approx(total, rel=1e-12)


def test_multilabel_pos_weight_per_label() -> None:
    y = (RNG.random((N, 2)) < [0.3, 0.05]).astype(int)
    r = compute_bias(y, pos_weight=[2.0, 10.0])
    p = y.mean(axis=0)
    np.testing.assert_allclose(r.bias, np.log([2.0, 10.0] * p / (1 - p)), rtol=1e-12)
    with pytest.raises(OptionError, match="give 1 or 2"):
        compute_bias(y, pos_weight=[1.0, 2.0, 3.0])


# ----------------------------------------------------------------------------- softmax


def torch_style_ce(
    y: npt.NDArray[np.int64], s: Arr | None, c: Arr, e: float
) -> Callable[[Arr], float]:
    """PyTorch CrossEntropyLoss(weight=c, label_smoothing=e), mean reduction, sample weights s."""
    k = c.size
    sw = np.ones(y.size) if s is None else s

    def f(b: Arr) -> float:
        nll = -special.log_softmax(b)
        per = (1 - e) * c[y] * nll[y] + (e / k) * float(np.dot(c, nll))
        return float(np.sum(sw * per) / np.sum(sw * c[y]))

    return f


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("class_weight", "smoothing"),
    [
        ({"a": 3.0, "c": 0.5}, 0.0),
        (None, 0.2),
        ({"b": 2.0}, 0.1),
        ("balanced", 0.0),
        ("balanced", 0.15),
    ],
)
def test_cross_entropy_adjustments(weighted: bool, class_weight: Any, smoothing: float) -> None:
    labels = np.array(["a", "b", "c", "d"])
    y = RNG.choice(4, size=N, p=[0.55, 0.25, 0.15, 0.05])
    s = weights(weighted)
    r = compute_bias(
        labels[y], class_weight=class_weight, label_smoothing=smoothing, sample_weight=s
    )
    p = np.bincount(y, weights=s, minlength=4) / (s.sum() if s is not None else N)
    if class_weight == "balanced":
        c = 1 / (4 * p)
    else:
        c = np.array([(class_weight or {}).get(k, 1.0) for k in labels])
    f = torch_style_ce(y, s, c, smoothing)
    best = minimise_nd(f, 4)
    np.testing.assert_allclose(special.softmax(r.bias), special.softmax(best), atol=1e-6)
    assert r.expected_loss_recommended == pytest.approx(f(r.bias), rel=1e-12)
    assert r.expected_loss_recommended <= f(best) + 1e-12
    assert r.expected_loss_zero_bias == pytest.approx(f(np.zeros(4)), rel=1e-12)
    if class_weight == "balanced" and smoothing == 0:  # scikit-learn's n / (K n_k): uniform
        np.testing.assert_allclose(special.softmax(r.bias), 0.25, rtol=1e-12)


def test_cross_entropy_smoothing_closed_form() -> None:
    r = compute_bias(["x"] * 6 + ["y"] * 3 + ["z"], label_smoothing=0.3)
    expected = 0.7 * np.array([0.6, 0.3, 0.1]) + 0.1
    np.testing.assert_allclose(special.softmax(r.bias), expected, rtol=1e-12)


def test_unknown_class_weight_label_is_a_usage_error() -> None:
    with pytest.raises(OptionError, match="not one of the classes"):
        compute_bias(["a", "b", "c"], class_weight={"q": 2.0})


# ------------------------------------------------------------------------------- focal


def focal_objective(y: Arr, s: Arr | None, gamma: float, alpha: float) -> Callable[[float], float]:
    """torchvision.ops.sigmoid_focal_loss, transcribed, mean reduction."""

    def f(b: float) -> float:
        p = special.expit(b)
        ce = y * -special.log_expit(b) + (1 - y) * -special.log_expit(-b)
        p_t = p * y + (1 - p) * (1 - y)
        loss = ce * (1 - p_t) ** gamma
        if alpha >= 0:
            loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
        return smean(loss, s)

    return f


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(
    ("gamma", "alpha", "rate"),
    [(2.0, 0.25, 0.01), (2.0, 0.25, 0.3), (0.5, -1, 0.1), (5.0, 0.9, 0.5)],
)
def test_focal_is_the_exact_minimiser(
    weighted: bool, gamma: float, alpha: float, rate: float
) -> None:
    y = (RNG.random(N) < rate).astype(float)
    y[:2] = [0, 1]
    s = weights(weighted)
    r = compute_bias(
        y.astype(int), loss="focal", focal_gamma=gamma, focal_alpha=alpha, sample_weight=s
    )
    f = focal_objective(y, s, gamma, alpha)
    best = optimize.minimize_scalar(f, bounds=(-20, 20), method="bounded", options={"xatol": 1e-13})
    assert r.bias[0] == pytest.approx(best.x, abs=1e-6)
    assert f(r.bias[0]) <= best.fun + 1e-14
    assert r.expected_loss_recommended == pytest.approx(f(r.bias[0]), rel=1e-12)
    assert r.expected_loss_zero_bias == pytest.approx(f(0.0), rel=1e-12)
    p = smean(y, s)
    assert r.prior_bias is not None and r.prior_bias[0] == pytest.approx(np.log(p / (1 - p)))
    assert any("logit(p) would be" in line for line in r.explanation)


def test_focal_without_focusing_or_alpha_is_bce() -> None:
    y = [0] * 80 + [1] * 20
    r = compute_bias(y, loss="focal", focal_gamma=0.0, focal_alpha=-1.0)
    assert r.bias[0] == pytest.approx(np.log(0.25), abs=1e-10)


# ------------------------------------------------------------------------------ ordinal


@pytest.mark.parametrize("weighted", [False, True])
def test_ordinal_coral_bias(weighted: bool) -> None:
    y = RNG.choice(5, size=N, p=[0.1, 0.2, 0.4, 0.2, 0.1])
    s = weights(weighted)
    r = compute_bias(y, task="ordinal", sample_weight=s)
    assert r.task == "ordinal" and r.loss == "ordinal_bce" and r.bias.shape == (4,)
    levels = (y[:, None] > np.arange(4)[None, :]).astype(float)

    def f(b: Arr) -> float:  # coral_pytorch.losses.coral_loss: sum over tasks, mean over samples
        per = -(levels * special.log_expit(b) + (1 - levels) * special.log_expit(-b)).sum(axis=1)
        return smean(per, s)

    np.testing.assert_allclose(r.bias, minimise_nd(f, 4), atol=1e-5)
    assert np.all(np.diff(r.bias) < 0)  # rank-consistent
    assert r.expected_loss_recommended == pytest.approx(f(r.bias), rel=1e-12)
    assert r.expected_loss_zero_bias == pytest.approx(4 * np.log(2), rel=1e-12)
    assert r.outputs == ("> 0", "> 1", "> 2", "> 3")


def test_ordinal_rejects_adjustments() -> None:
    with pytest.raises(OptionError, match="does not apply to an ordinal task"):
        compute_bias([0, 1, 2], task="ordinal", label_smoothing=0.1)


# ------------------------------------------------------------------- no data: priors, counts


def test_prior_binary_retinanet() -> None:
    r = compute_bias_from_prior(0.01)
    assert round(float(r.bias[0]), 5) == -4.59512
    assert r.n_samples is None and r.counts is None
    assert r.classes == (0, 1)


def test_prior_multiclass_and_adjustments() -> None:
    r = compute_bias_from_prior([0.7, 0.2, 0.1], classes=["a", "b", "c"])
    np.testing.assert_allclose(special.softmax(r.bias), [0.7, 0.2, 0.1], rtol=1e-12)
    smoothed = compute_bias_from_prior([0.7, 0.2, 0.1], label_smoothing=0.3)
    np.testing.assert_allclose(
        special.softmax(smoothed.bias), 0.7 * np.array([0.7, 0.2, 0.1]) + 0.1, rtol=1e-12
    )
    weighted = compute_bias_from_prior(0.1, pos_weight=9.0)
    assert weighted.bias[0] == pytest.approx(0.0, abs=1e-12)
    ordinal = compute_bias_from_prior([0.2, 0.3, 0.5], task="ordinal")
    np.testing.assert_allclose(special.expit(ordinal.bias), [0.8, 0.5], rtol=1e-12)
    multilabel = compute_bias_from_prior([0.3, 0.01], task="multilabel")
    np.testing.assert_allclose(special.expit(multilabel.bias), [0.3, 0.01], rtol=1e-12)


@pytest.mark.parametrize(
    ("prior", "options", "message"),
    [
        (1.5, {}, "strictly between 0 and 1"),
        (0.0, {}, "strictly between 0 and 1"),
        ([0.5, 0.3], {}, "must sum to 1"),
        ([0.5, 0.5, 0.1], {}, "must sum to 1"),
        (0.3, {"task": "regression"}, "does not apply to regression"),
        ([0.5, 0.5], {"classes": ["a"]}, "names 1 classes"),
    ],
)
def test_bad_priors_are_usage_errors(prior: Any, options: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionError, match=message):
        compute_bias_from_prior(prior, **options)


def test_counts_give_the_tensorflow_figure() -> None:
    r = compute_bias_from_counts({"0": 284315, "1": 492})
    assert round(float(r.bias[0]), 5) == -6.35936
    assert r.classes == (0, 1) and r.counts == (284315, 492) and r.n_samples == 284807
    focal = compute_bias_from_counts({"neg": 90, "pos": 10}, loss="focal")
    assert focal.classes == ("neg", "pos") and focal.bias[0] > focal.prior_bias[0]  # type: ignore[index]


def test_pos_weight_on_regression_is_a_usage_error() -> None:
    with pytest.raises(OptionError, match="does not apply to a regression task"):
        compute_bias([0.5, 1.5, 2.5], task="regression", pos_weight=2.0)
    with pytest.raises(OptionError, match="applies to the bce loss"):
        compute_bias(["a", "b", "c"], pos_weight=2.0)


# ------------------------------------------------------------------------ command line


def test_cli_prior_and_counts(run: Callable[..., Any]) -> None:
    import json

    d = json.loads(run("--prior", "0.01", "-f", "json").stdout)
    assert round(d["bias"][0], 5) == -4.59512
    assert d["n_samples"] is None and d["source"] is None and d["targets"] == []
    d = json.loads(run("--counts", "0=284315,1=492", "-f", "json").stdout)
    assert round(d["bias"][0], 5) == -6.35936 and d["classes"] == [0, 1]
    d = json.loads(
        run(
            "--prior", "0.5,0.3,0.2", "--classes", "a,b,c", "--label-smoothing", "0.1", "-f", "json"
        ).stdout
    )
    assert d["classes"] == ["a", "b", "c"] and d["loss_parameters"] == {"label_smoothing": 0.1}


def test_cli_explain(run: Callable[..., Any], write_csv: Callable[..., Any]) -> None:
    out = run(write_csv({"y": [0] * 9 + [1]}), "--loss", "focal", "--explain").stdout
    assert "how\n  b minimises the mean focal loss" in out
    assert "logit(p) would be -2.197224577" in out
    assert "without the loss adjustments the bias would be [-2.197224577336219]" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prior", "1.5"], "--prior must be strictly between 0 and 1"),
        (["--prior", "0.5,0.2"], "must sum to 1"),
        (["--prior", "x"], "--prior takes numbers"),
        (["--counts", "a=1,b"], "--counts takes LABEL=NUMBER pairs"),
        (["--counts", "a=-3,b=2"], "--counts takes LABEL=NUMBER pairs"),
        (["--prior", "0.1", "--counts", "a=1"], "not --prior and --counts"),
        (["--prior", "0.1", "--pos-weight", "0"], "--pos-weight must be positive"),
        (["--prior", "0.1", "--focal-gamma", "1"], "--focal-gamma applies to --loss focal only"),
        (["--prior", "0.1", "--explain", "-f", "json"], "--explain applies to --format table only"),
        (["--prior", "0.2,0.8", "--class-weight", "7=2"], "not one of the classes"),
        (["--prior", "0.1", "--task", "ordinal"], "must sum to 1"),
    ],
)
def test_cli_usage_errors(run: Callable[..., Any], args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stdout == ""


def test_cli_adjustment_that_does_not_fit_the_data(
    run: Callable[..., Any], write_csv: Callable[..., Any]
) -> None:
    result = run(write_csv({"y": [0.5, 1.7, 2.2]}), "--pos-weight", "3")
    assert result.exit_code == 2
    assert result.stderr == "Error: --pos-weight does not apply to a regression task\n"
    result = run(write_csv({"y": ["a", "b", "c"]}), "--class-weight", "a=2,zz=1")
    assert result.exit_code == 2
    assert "--class-weight names class 'zz'" in result.stderr


def test_cli_prior_with_a_path_is_refused(
    run: Callable[..., Any], write_csv: Callable[..., Any]
) -> None:
    result = run(write_csv({"y": [0, 1]}), "--prior", "0.3")
    assert result.exit_code == 2
    assert "--prior replaces the data" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "python", "pytorch", "keras", "jax"])
@pytest.mark.parametrize(
    "args",
    [
        ["--prior", "0.1", "--loss", "focal"],
        ["--prior", "0.2,0.5,0.3", "--task", "ordinal"],
        ["--counts", "a=90,b=10", "--pos-weight", "4", "--label-smoothing", "0.1"],
        ["--prior", "0.6,0.3,0.1", "--class-weight", "balanced", "--center"],
    ],
    ids=["focal", "ordinal", "pos-weight+smoothing", "class-weight"],
)
def test_every_adjustment_in_every_format(
    run: Callable[..., Any], fmt: str, args: list[str]
) -> None:
    result = run(*args, "-f", fmt)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() and result.stderr == ""
    if fmt == "python":
        namespace: dict[str, Any] = {}
        exec(result.stdout, {"__builtins__": {}}, namespace)
        assert all(np.isfinite(namespace["OUTPUT_BIAS"]))


def test_numpy_format_with_adjustments(run: Callable[..., Any], tmp_path: Any) -> None:
    out = tmp_path / "bias.npy"
    assert (
        run("--prior", "0.2,0.5,0.3", "--task", "ordinal", "-f", "numpy", "-o", out).exit_code == 0
    )
    np.testing.assert_allclose(special.expit(np.load(out)), [0.8, 0.3], rtol=1e-12)
