"""Long-tail training setups (issue 12): logit adjustment / balanced softmax, effective-number
class weights, class-aware samplers.

Each bias is checked against scipy's minimiser of the loss written from its definition
on the raw labels, with and without sample weights, and against PyTorch's own loss in
float64: its value at a constant output equal to the bias is the expected loss, and its
gradient there is below 1e-8.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special

from biascalc import DataError, OptionError, compute_bias
from biascalc.api import compute_bias_from_counts, compute_bias_from_prior
from biascalc.losses.priors import effective_number_weights, sampled_priors

torch = pytest.importorskip("torch")
F = torch.nn.functional

Arr = npt.NDArray[np.float64]
RNG = np.random.default_rng(2021)
N = 600
LONG_TAIL = [0.55, 0.25, 0.12, 0.06, 0.02]


def sample_weights(weighted: bool) -> Arr | None:
    return RNG.uniform(0.2, 3.0, N) if weighted else None


def minimise(f: Callable[[Arr], float], k: int) -> Arr:
    res = optimize.minimize(f, np.zeros(k), method="BFGS", options={"gtol": 1e-11})
    return np.asarray(res.x)


def cross_entropy(y: Any, logits: Arr, row_weight: Arr, class_weight: Arr | None = None) -> float:
    """PyTorch CrossEntropyLoss's mean with per-row weights: sum r c_y (-log q_y) / sum r c_y."""
    c = np.ones(logits.size) if class_weight is None else class_weight
    nll = -(logits - special.logsumexp(logits))[y]
    return float(np.sum(row_weight * c[y] * nll) / np.sum(row_weight * c[y]))


def torch_check(result: Any, loss_of: Callable[[Any], Any], n: int = N) -> None:
    bias = torch.as_tensor(result.bias).clone().requires_grad_(True)
    value = loss_of(bias.expand(n, bias.numel()))
    assert float(value.detach()) == pytest.approx(result.expected_loss_recommended, rel=1e-9)
    zero = float(loss_of(torch.zeros(n, bias.numel(), dtype=torch.float64)))
    assert zero == pytest.approx(result.expected_loss_zero_bias, rel=1e-9)
    value.backward()
    assert float(bias.grad.abs().max()) < 1e-8


def torch_mean(per_row: Any, row_weight: Arr) -> Any:
    r = torch.as_tensor(row_weight)
    return (per_row * r).sum() / r.sum()


# ------------------------------------------------------------ logit adjustment


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("tau", [0.5, 1.0, 2.0])
def test_logit_adjusted_cross_entropy(weighted: bool, tau: float) -> None:
    y = RNG.choice(5, size=N, p=LONG_TAIL)
    s = sample_weights(weighted)
    rw = np.ones(N) if s is None else s
    prior = np.bincount(y, weights=rw, minlength=5) / rw.sum()
    r = compute_bias(y, logit_adjustment=tau, sample_weight=s)

    def f(b: Arr) -> float:  # Menon et al. (2021): CE(f(x) + tau log pi)
        return cross_entropy(y, b + tau * np.log(prior), rw)

    best = minimise(f, 5)
    # Softmax logits are defined up to a constant: compare after centring.
    np.testing.assert_allclose(r.bias - r.bias.mean(), best - best.mean(), atol=1e-6)
    np.testing.assert_allclose(r.bias, (1 - tau) * np.log(prior), rtol=1e-12, atol=1e-15)
    assert r.expected_loss_recommended == pytest.approx(f(r.bias), rel=1e-12)
    assert r.expected_loss_zero_bias == pytest.approx(f(np.zeros(5)), rel=1e-12)
    assert r.loss_parameters == {"logit_adjustment": tau}
    assert r.prior_bias is not None
    np.testing.assert_allclose(r.prior_bias, np.log(prior), rtol=1e-12)
    yt, log_pi = torch.as_tensor(y), torch.as_tensor(np.log(prior))
    torch_check(
        r, lambda out: torch_mean(F.cross_entropy(out + tau * log_pi, yt, reduction="none"), rw)
    )


def test_balanced_softmax_is_tau_one() -> None:
    """Ren et al. (2020): softmax over logits + log n_k; its optimal bias is zero."""
    y = RNG.choice(5, size=N, p=LONG_TAIL)
    r = compute_bias(y, logit_adjustment=1.0)
    n = np.bincount(y, minlength=5).astype(float)

    def balanced_softmax(b: Arr) -> float:
        return cross_entropy(y, b + np.log(n), np.ones(N))

    best = minimise(balanced_softmax, 5)
    np.testing.assert_allclose(r.bias, 0.0, atol=1e-15)
    np.testing.assert_allclose(best - best.mean(), 0.0, atol=1e-6)
    assert any("balanced softmax" in line for line in r.explanation)


@pytest.mark.parametrize("weighted", [False, True])
def test_logit_adjustment_with_class_weights_and_smoothing(weighted: bool) -> None:
    y = RNG.choice(4, size=N, p=[0.6, 0.25, 0.1, 0.05])
    s = sample_weights(weighted)
    rw = np.ones(N) if s is None else s
    prior = np.bincount(y, weights=rw, minlength=4) / rw.sum()
    cw, tau, e = np.array([0.5, 1.0, 2.0, 3.0]), 0.7, 0.1
    r = compute_bias(
        y,
        logit_adjustment=tau,
        class_weight=dict(enumerate(cw)),
        label_smoothing=e,
        sample_weight=s,
    )
    yt, log_pi, wt = torch.as_tensor(y), torch.as_tensor(np.log(prior)), torch.as_tensor(cw)
    rt = torch.as_tensor(rw)

    def torch_loss(out: Any) -> Any:
        # PyTorch's weighted mean divides by sum w_{y_i}; rows weigh rt as well.
        per = F.cross_entropy(
            out + tau * log_pi, yt, weight=wt, label_smoothing=e, reduction="none"
        )
        return (per * rt).sum() / (wt[yt] * rt).sum()

    torch_check(r, torch_loss)


@pytest.mark.parametrize("weighted", [False, True])
def test_logit_adjusted_bce(weighted: bool) -> None:
    y = (RNG.random(N) < 0.07).astype(int)
    s = sample_weights(weighted)
    rw = np.ones(N) if s is None else s
    p = float(np.sum(rw * y) / rw.sum())
    tau, w = 0.8, 3.0
    r = compute_bias(y, logit_adjustment=tau, pos_weight=w, sample_weight=s)

    def f(b: Arr) -> float:  # BCEWithLogitsLoss(pos_weight) of b + tau logit(pi)
        x = b[0] + tau * special.logit(p)
        per = w * y * np.logaddexp(0, -x) + (1 - y) * np.logaddexp(0, x)
        return float(np.sum(rw * per) / rw.sum())

    assert r.bias[0] == pytest.approx(minimise(f, 1)[0], abs=1e-6)
    assert r.bias[0] == pytest.approx(np.log(w * p / (1 - p)) - tau * special.logit(p), rel=1e-12)
    yt = torch.as_tensor(y, dtype=torch.float64)[:, None]
    offset = tau * float(special.logit(p))
    pw = torch.tensor([w], dtype=torch.float64)
    torch_check(
        r,
        lambda out: torch_mean(
            F.binary_cross_entropy_with_logits(out + offset, yt, pos_weight=pw, reduction="none")[
                :, 0
            ],
            rw,
        ),
    )


# ------------------------------------------------------------ effective-number class weights


def cui_weights(counts: Arr, beta: float) -> Arr:
    """Cui et al. 2019, the authors' code: (1 - beta) / (1 - beta^n), scaled to sum to K."""
    effective_num = 1.0 - np.power(beta, counts)
    weights = (1.0 - beta) / np.array(effective_num)
    return np.asarray(weights / np.sum(weights) * len(counts))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("beta", [0.0, 0.9, 0.999, 0.9999])
def test_effective_number_weights(weighted: bool, beta: float) -> None:
    y = RNG.choice(5, size=N, p=LONG_TAIL)
    s = sample_weights(weighted)
    rw = np.ones(N) if s is None else s
    r = compute_bias(y, class_weight=f"effective:{beta}", sample_weight=s)
    weights = cui_weights(np.bincount(y, minlength=5).astype(float), beta)
    np.testing.assert_allclose(r.loss_parameters["class_weight"], weights, rtol=1e-12)
    best = minimise(lambda b: cross_entropy(y, b, rw, weights), 5)
    np.testing.assert_allclose(r.bias - r.bias.mean(), best - best.mean(), atol=1e-6)
    yt, wt = torch.as_tensor(y), torch.as_tensor(weights)
    rt = torch.as_tensor(rw)
    torch_check(
        r,
        lambda out: (
            (F.cross_entropy(out, yt, weight=wt, reduction="none") * rt).sum() / (wt[yt] * rt).sum()
        ),
    )
    assert any("Cui et al. 2019" in line for line in r.explanation)


def test_effective_weights_for_bce_and_errors() -> None:
    y = (RNG.random(N) < 0.1).astype(int)
    r = compute_bias(y, class_weight="effective:0.99")
    counts = np.bincount(y).astype(float)
    weights = cui_weights(counts, 0.99)
    assert r.loss_parameters["class_weight"] == pytest.approx(list(weights), rel=1e-12)
    p = y.mean()
    assert r.bias[0] == pytest.approx(np.log(weights[1] * p / (weights[0] * (1 - p))), rel=1e-12)
    with pytest.raises(DataError, match="no rows"):
        compute_bias([0, 0, 1], classes=[0, 1, 2], class_weight="effective:0.9")
    with pytest.raises(OptionError, match="--counts, not --prior"):
        compute_bias_from_prior([0.5, 0.3, 0.2], class_weight="effective:0.9")
    for bad in ("effective:1", "effective:-0.1", "effective:x", "efective:0.9"):
        with pytest.raises(OptionError, match="--class-weight"):
            compute_bias([0, 1, 1], class_weight=bad)


# ------------------------------------------------------------ samplers


def sampler_row_weights(y: Any, q: float, k: int) -> Arr:
    """The probability that a class-aware sampler draws row i: n_y^q / sum n^q / n_y."""
    n = np.bincount(y, minlength=k).astype(float)
    draw = np.where(n > 0, n**q, 0.0)
    return np.asarray((draw / draw.sum() / np.where(n > 0, n, 1.0))[y])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize(("sampler", "q"), [("balanced", 0.0), ("sqrt", 0.5), ("power:0.3", 0.3)])
def test_sampler_cross_entropy(weighted: bool, sampler: str, q: float) -> None:
    y = RNG.choice(5, size=N, p=LONG_TAIL)
    s = sample_weights(weighted)
    rw = sampler_row_weights(y, q, 5) * (1.0 if s is None else s)
    r = compute_bias(y, sampler=sampler, sample_weight=s, label_smoothing=0.05)

    def f(b: Arr) -> float:  # the expected batch loss under the sampler, with smoothing
        logq = b - special.logsumexp(b)
        per = -(0.95 * logq[y] + 0.05 / 5 * logq.sum())
        return float(np.sum(rw * per) / rw.sum())

    best = minimise(f, 5)
    np.testing.assert_allclose(r.bias - r.bias.mean(), best - best.mean(), atol=1e-6)
    assert r.training_priors is not None
    np.testing.assert_allclose(
        r.training_priors, np.bincount(y, weights=rw, minlength=5) / rw.sum(), rtol=1e-12
    )
    assert r.loss_parameters == {"label_smoothing": 0.05, "sampler": sampler}
    yt = torch.as_tensor(y)
    torch_check(
        r,
        lambda out: torch_mean(
            F.cross_entropy(out, yt, label_smoothing=0.05, reduction="none"), rw
        ),
    )


def test_sampler_shares_match_torch_weighted_random_sampler() -> None:
    """Draw with torch's WeightedRandomSampler (row weight n_y^q / n_y): the class shares
    it produces are training_priors, to sampling error."""
    y = RNG.choice(5, size=N, p=LONG_TAIL)
    r = compute_bias(y, sampler="sqrt")
    n = np.bincount(y, minlength=5)
    sampler = torch.utils.data.WeightedRandomSampler(
        torch.as_tensor(n[y] ** 0.5 / n[y]),
        num_samples=200_000,
        replacement=True,
        generator=torch.Generator().manual_seed(0),
    )
    drawn = np.bincount(y[np.fromiter(sampler, dtype=np.int64)], minlength=5) / 200_000
    assert r.training_priors is not None
    np.testing.assert_allclose(drawn, r.training_priors, atol=0.005)


@pytest.mark.parametrize("weighted", [False, True])
def test_sampler_binary_with_pos_weight(weighted: bool) -> None:
    y = (RNG.random(N) < 0.1).astype(int)
    s = sample_weights(weighted)
    rw = sampler_row_weights(y, 0.5, 2) * (1.0 if s is None else s)
    r = compute_bias(y, sampler="sqrt", pos_weight=2.0, sample_weight=s)

    def f(b: Arr) -> float:
        per = 2.0 * y * np.logaddexp(0, -b[0]) + (1 - y) * np.logaddexp(0, b[0])
        return float(np.sum(rw * per) / rw.sum())

    assert r.bias[0] == pytest.approx(minimise(f, 1)[0], abs=1e-6)
    assert r.expected_loss_recommended == pytest.approx(f(r.bias), rel=1e-12)
    assert r.expected_loss_zero_bias == pytest.approx(f(np.zeros(1)), rel=1e-12)


def test_sampler_from_counts_and_prior_agree() -> None:
    a = compute_bias_from_counts({"a": 800, "b": 150, "c": 50}, sampler="balanced")
    b = compute_bias_from_prior([0.8, 0.15, 0.05], classes=["a", "b", "c"], sampler="balanced")
    np.testing.assert_allclose(a.bias, np.log(1 / 3), rtol=1e-12)
    np.testing.assert_allclose(b.bias, a.bias, rtol=1e-12)
    # An absent class cannot be drawn: its share stays 0 (clipped to eps, with a warning).
    c = compute_bias_from_counts({"a": 8, "b": 2, "c": 0}, sampler="balanced")
    assert c.training_priors == (0.5, 0.5, 0.0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sampler": "uniform"}, "balanced, sqrt or power:Q"),
        ({"sampler": "power:-1"}, "Q >= 0"),
        ({"sampler": "sqrt", "logit_adjustment": 1.0}, "give one"),
        ({"sampler": "sqrt", "task": "ordinal"}, "--sampler does not apply to an ordinal"),
        ({"sampler": "sqrt", "task": "regression"}, "--sampler does not apply to a regression"),
        ({"logit_adjustment": 1.0, "loss": "focal"}, "--logit-adjustment applies to the bce"),
        ({"logit_adjustment": 1.0, "task": "ordinal"}, "does not apply to an ordinal"),
    ],
)
def test_usage_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(OptionError, match=message):
        compute_bias([0, 1, 2, 2, 1], **options)


def test_multilabel_sampler_is_an_error() -> None:
    with pytest.raises(OptionError, match="multilabel"):
        compute_bias(np.array([[0, 1], [1, 1], [0, 0]]), sampler="sqrt")


# ------------------------------------------------------------ command line, every format


def test_cli_every_format_names_the_setup(
    run: Callable[..., Any], write_csv: Callable[..., Path]
) -> None:
    y = RNG.choice(3, size=200, p=[0.7, 0.2, 0.1]).tolist()
    path = write_csv({"y": y})
    base = [str(path), "-t", "y"]
    out = run(*base, "--class-weight", "effective:0.99", "--format", "json")
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    weights = cui_weights(np.bincount(y).astype(float), 0.99)
    assert d["loss_parameters"]["class_weight"] == pytest.approx(list(weights), rel=1e-12)
    snippet = run(*base, "--class-weight", "effective:0.99", "--format", "pytorch").stdout
    assert repr(float(d["loss_parameters"]["class_weight"][0])) in snippet
    d = json.loads(run(*base, "--sampler", "sqrt", "--format", "json").stdout)
    assert d["loss_parameters"]["sampler"] == "sqrt" and len(d["training_priors"]) == 3
    table = run(*base, "--sampler", "sqrt").stdout
    assert "sampled" in table and "sampler=sqrt" in table
    for fmt in ("python", "pytorch", "keras", "jax"):
        text = run(*base, "--logit-adjustment", "1", "--format", fmt).stdout
        assert "'logit_adjustment': 1.0" in text
    explain = run(*base, "--logit-adjustment", "1", "--explain").stdout
    assert "Menon et al. 2021" in explain and "Ren et al. 2020" in explain


@pytest.mark.parametrize(
    "args",
    [
        ["--sampler", "sqrt", "--task", "regression"],
        ["--logit-adjustment", "1", "--loss", "mse"],
        ["--activation", "softplus", "--loss", "bce"],
        ["--output-range", "0,1"],
        ["--output-range", "0,1,2", "--activation", "sigmoid"],
        ["--variance-activation", "softplus", "--loss", "mse"],
        ["--class-weight", "effective:2"],
        ["--loss", "corn", "--task", "binary"],
    ],
)
def test_cli_usage_errors_exit_2(
    run: Callable[..., Any], write_csv: Callable[..., Path], args: list[str]
) -> None:
    path = write_csv({"y": [0.5, 1.5, 2.0, 0.25]})
    result = run(str(path), "-t", "y", *args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and "Traceback" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["-t", "c", "--sampler", "power:0.25", "-w", "w"],
        ["-t", "c", "--class-weight", "effective:0.999", "--logit-adjustment", "0.5"],
        ["-t", "c", "--task", "ordinal", "--loss", "corn"],
        ["-t", "y", "--loss", "gaussian_nll", "--variance-activation", "softplus"],
        ["-t", "y", "--loss", "laplace_nll"],
        ["-t", "y", "--activation", "sigmoid", "--output-range", "0,30"],
    ],
)
def test_cli_json_matches_the_schema(
    run: Callable[..., Any], write_csv: Callable[..., Path], args: list[str]
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(
        (Path(__file__).parent.parent / "docs" / "biascalc-result.schema.json").read_text()
    )
    path = write_csv(
        {
            "y": RNG.gamma(2.0, 2.0, 120).tolist(),
            "c": RNG.choice(4, size=120, p=[0.6, 0.25, 0.1, 0.05]).tolist(),
            "w": RNG.uniform(0.5, 2.0, 120).tolist(),
        }
    )
    result = run(str(path), *args, "--format", "json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    jsonschema.validate(d, schema)
    assert len(d["outputs"]) == len(d["bias"])


# ------------------------------------------------------------ invariants and the installed command


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(0, 10_000), min_size=2, max_size=8).filter(
        lambda c: sum(1 for n in c if n > 0) >= 1
    ),
    q=st.floats(0.0, 2.0),
)
def test_sampled_priors_are_shares_of_the_present_classes(counts: list[int], q: float) -> None:
    n = np.array(counts, dtype=float)
    shares, _ = sampled_priors(n, n, q)
    assert shares.sum() == pytest.approx(1.0, rel=1e-12)
    assert np.all(shares[n == 0] == 0)
    present = n > 0
    expected = n[present] ** q / np.sum(n[present] ** q)
    np.testing.assert_allclose(shares[present], expected, rtol=1e-10)


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(1, 100_000), min_size=2, max_size=8),
    beta=st.floats(0.0, 0.99999),
)
def test_effective_weights_sum_to_k_and_fall_with_the_count(counts: list[int], beta: float) -> None:
    n = np.array(counts, dtype=float)
    w = effective_number_weights(n, beta, tuple(range(len(counts))))
    assert w.sum() == pytest.approx(len(counts), rel=1e-12)
    order = np.argsort(n, kind="stable")
    assert np.all(np.diff(w[order]) <= 1e-12 * w.max())  # more rows, no larger weight


def test_sampler_with_focal_loss() -> None:
    y = (RNG.random(N) < 0.05).astype(int)
    r = compute_bias(y, loss="focal", sampler="balanced")
    # A balanced sampler shows the loss a positive share of 1/2.
    assert r.training_priors == (0.5, 0.5)
    assert r.bias[0] == pytest.approx(compute_bias_from_prior(0.5, loss="focal").bias[0], rel=1e-12)


def test_logit_adjustment_multilabel_is_per_label() -> None:
    y = (RNG.random((N, 3)) < [0.5, 0.1, 0.02]).astype(int)
    r = compute_bias(y, logit_adjustment=0.5)
    p = y.mean(axis=0)
    np.testing.assert_allclose(r.bias, 0.5 * special.logit(p), rtol=1e-12)
    yt = torch.as_tensor(y, dtype=torch.float64)
    offset = torch.as_tensor(0.5 * special.logit(p))
    torch_check(r, lambda out: F.binary_cross_entropy_with_logits(out + offset, yt))


def test_installed_command_with_the_new_options(
    run_installed: Callable[..., Any], write_csv: Callable[..., Path]
) -> None:
    y = RNG.choice(3, size=300, p=[0.8, 0.15, 0.05]).tolist()
    path = write_csv({"y": y})
    proc = run_installed(path, "-t", "y", "--sampler", "sqrt", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    n = np.bincount(y).astype(float)
    np.testing.assert_allclose(d["training_priors"], np.sqrt(n) / np.sqrt(n).sum(), rtol=1e-12)
    np.testing.assert_allclose(d["bias"], np.log(np.sqrt(n) / np.sqrt(n).sum()), rtol=1e-12)
    bad = run_installed(path, "-t", "y", "--sampler", "sqrt", "--logit-adjustment", "1")
    assert bad.returncode == 2 and bad.stderr.startswith("Error: ") and not bad.stdout


@pytest.mark.parametrize("weighted", [False, True])
def test_sampler_with_class_weights(weighted: bool) -> None:
    y = RNG.choice(5, size=N, p=LONG_TAIL)
    s = sample_weights(weighted)
    rw = sampler_row_weights(y, 0.5, 5) * (1.0 if s is None else s)
    cw = np.array([0.5, 1.0, 1.0, 2.0, 4.0])
    r = compute_bias(y, sampler="sqrt", class_weight=dict(enumerate(cw)), sample_weight=s)
    best = minimise(lambda b: cross_entropy(y, b, rw, cw), 5)
    np.testing.assert_allclose(r.bias - r.bias.mean(), best - best.mean(), atol=1e-6)
    yt, wt, rt = torch.as_tensor(y), torch.as_tensor(cw), torch.as_tensor(rw)
    torch_check(
        r,
        lambda out: (
            (F.cross_entropy(out, yt, weight=wt, reduction="none") * rt).sum() / (wt[yt] * rt).sum()
        ),
    )
