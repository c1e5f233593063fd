"""Acceptance check of issue 12 (every head), written from the issue's text only.

Each bias is recomputed three ways where it applies: the closed form the issue states, a
scipy minimiser of the loss written from its definition, and PyTorch's own loss in float64
at the bias (value == ``expected_initial_loss.recommended``, gradient below 1e-8).  CORN is
checked against coral_pytorch's ``corn_loss``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from ._util import assert_error, close, find_vector, logit, run, run_json, run_many, softmax

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(12)


def t64(x: Any) -> Any:
    return torch.as_tensor(np.array(x, dtype=float), dtype=torch.float64)  # a writable copy


def wmean(loss_per_row: Any, w: np.ndarray | None) -> Any:
    if w is None:
        return loss_per_row.mean()
    tw = t64(w)
    return (loss_per_row * tw).sum() / tw.sum()


def grad_norm(fn: Any, bias: list[float]) -> float:
    b = t64(bias).requires_grad_(True)
    value = fn(b)
    (g,) = torch.autograd.grad(value, b)
    return float(g.abs().max())


def value_at(fn: Any, bias: list[float]) -> float:
    return float(fn(t64(bias)))


def weighted_median(y: np.ndarray, w: np.ndarray) -> float:
    order = np.argsort(y)
    cw = np.cumsum(w[order])
    i = int(np.searchsorted(cw, cw[-1] / 2))
    assert not np.isclose(cw[i], cw[-1] / 2)  # a unique minimiser
    return float(y[order][i])


def weighted_quantile(y: np.ndarray, w: np.ndarray, q: float) -> float:
    order = np.argsort(y)
    cw = np.cumsum(w[order])
    i = int(np.searchsorted(cw, q * cw[-1]))
    assert not np.isclose(cw[i], q * cw[-1])
    return float(y[order][i])


def minimise_1d(f: Any, lo: float, hi: float) -> float:
    res = optimize.minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
    return float(res.x)


# --------------------------------------------------------------------------- data


@pytest.fixture(scope="module")
def reg_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    n = 301
    df = pd.DataFrame(
        {
            "y": np.round(RNG.gamma(2.0, 1.5, n), 6),
            "y2": np.round(RNG.normal(3.0, 2.0, n), 6),
            "neg": np.round(RNG.normal(-2.0, 0.5, n), 6),
            "w": np.round(RNG.uniform(0.1, 3.0, n), 6),
            "c": np.full(n, 4.25),
        }
    )
    path = tmp_path_factory.mktemp("i12") / "reg.parquet"
    df.to_parquet(path, index=False)
    return path, df


@pytest.fixture(scope="module")
def cls_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    counts = {"ant": 500, "bee": 80, "cat": 12, "dog": 3}
    y = np.repeat(list(counts), list(counts.values()))
    RNG.shuffle(y)
    w = np.round(RNG.uniform(0.2, 2.0, len(y)), 6)
    df = pd.DataFrame({"y": y, "w": w, "b": (y == "ant").astype(int)})
    path = tmp_path_factory.mktemp("i12") / "cls.csv"
    df.to_csv(path, index=False)
    return path, df


# --------------------------------------------------------------------------- activations

SOFTPLUS_INV = lambda c: float(np.log(np.expm1(c)))  # noqa: E731


@pytest.mark.parametrize("weighted", [False, True])
def test_mse_softplus(reg_file: tuple[Path, pd.DataFrame], weighted: bool) -> None:
    path, df = reg_file
    y = df["y"].to_numpy()
    w = df["w"].to_numpy() if weighted else None
    args = [path, "-t", "y", "--loss", "mse", "--activation", "softplus"]
    r = run_json(*args, *(["-w", "w"] if weighted else []))
    c = float(np.average(y, weights=w))
    close(r["bias"], [SOFTPLUS_INV(c)])

    def loss(b: Any) -> Any:
        pred = F.softplus(b).expand(len(y))
        return wmean(F.mse_loss(pred, t64(y), reduction="none"), w)

    close(r["expected_initial_loss"]["recommended"], value_at(loss, r["bias"]))
    close(r["expected_initial_loss"]["zero_bias"], value_at(loss, [0.0]))
    assert grad_norm(loss, r["bias"]) < 1e-8
    # a scipy minimiser of the definition, over the raw output
    ww = np.ones_like(y) if w is None else w
    b_star = minimise_1d(lambda b: np.average((y - np.logaddexp(0, b)) ** 2, weights=ww), -5, 20)
    close(r["bias"], [b_star], tol=1e-6)


def test_mse_exp_activation(reg_file: tuple[Path, pd.DataFrame]) -> None:
    path, df = reg_file
    y = df["y"].to_numpy()
    r = run_json(path, "-t", "y", "--loss", "mse", "--activation", "exp")
    close(r["bias"], [np.log(y.mean())])
    close(r["expected_initial_loss"]["zero_bias"], np.mean((y - 1.0) ** 2))
    close(r["expected_initial_loss"]["recommended"], np.mean((y - y.mean()) ** 2))


@pytest.mark.parametrize("weighted", [False, True])
def test_mae_sigmoid_range(reg_file: tuple[Path, pd.DataFrame], weighted: bool) -> None:
    path, df = reg_file
    y = df["y"].to_numpy()
    w = df["w"].to_numpy() if weighted else np.ones_like(y)
    lo, hi = -1.0, 20.0
    args = [path, "-t", "y", "--loss", "mae", "--activation", "sigmoid", "--output-range", "-1,20"]
    r = run_json(*args, *(["-w", "w"] if weighted else []))
    c = weighted_median(y, w) if weighted else float(np.median(y))
    close(r["bias"], [logit((c - lo) / (hi - lo))])

    def loss(b: Any) -> Any:
        pred = (lo + (hi - lo) * torch.sigmoid(b)).expand(len(y))
        return wmean(F.l1_loss(pred, t64(y), reduction="none"), w)

    close(r["expected_initial_loss"]["recommended"], value_at(loss, r["bias"]))
    close(r["expected_initial_loss"]["zero_bias"], value_at(loss, [0.0]))


@pytest.mark.parametrize("weighted", [False, True])
def test_huber_softplus(reg_file: tuple[Path, pd.DataFrame], weighted: bool) -> None:
    path, df = reg_file
    y = df["y"].to_numpy()
    w = df["w"].to_numpy() if weighted else np.ones_like(y)
    delta = 0.7
    args = [path, "-t", "y", "--loss", "huber", "--huber-delta", delta, "--activation", "softplus"]
    r = run_json(*args, *(["-w", "w"] if weighted else []))
    # Huber location: the root of sum w clip(y - c, -delta, delta)
    c = optimize.brentq(
        lambda c: np.sum(w * np.clip(y - c, -delta, delta)), y.min(), y.max(), xtol=1e-14
    )
    close(r["bias"], [SOFTPLUS_INV(c)], tol=1e-8)

    def loss(b: Any) -> Any:
        pred = F.softplus(b).expand(len(y))
        return wmean(F.huber_loss(pred, t64(y), reduction="none", delta=delta), w)

    close(r["expected_initial_loss"]["recommended"], value_at(loss, r["bias"]))
    close(r["expected_initial_loss"]["zero_bias"], value_at(loss, [0.0]))
    assert grad_norm(loss, r["bias"]) < 1e-8


def test_quantile_softplus_weighted(reg_file: tuple[Path, pd.DataFrame]) -> None:
    path, df = reg_file
    y, w = df["y"].to_numpy(), df["w"].to_numpy()
    q = 0.8
    r = run_json(
        path,
        "-t",
        "y",
        "-w",
        "w",
        "--loss",
        "quantile",
        "--quantile",
        q,
        "--activation",
        "softplus",
    )
    c = weighted_quantile(y, w, q)
    close(r["bias"], [SOFTPLUS_INV(c)])

    def pinball(pred: float) -> float:
        d = y - pred
        return float(np.average(np.maximum(q * d, (q - 1) * d), weights=w))

    close(r["expected_initial_loss"]["recommended"], pinball(c))
    close(r["expected_initial_loss"]["zero_bias"], pinball(float(np.log(2.0))))


def test_activation_errors(reg_file: tuple[Path, pd.DataFrame]) -> None:
    path, _ = reg_file
    # the optimal constant outside the activation's range is an error that says so
    assert_error(run(path, "-t", "neg", "--loss", "mse", "--activation", "softplus"), 1, "softplus")
    assert_error(run(path, "-t", "y", "--activation", "sigmoid", "--output-range", "10,20"), 1)
    # options that do not fit the loss are usage errors
    assert_error(run(path, "-t", "y", "--loss", "bce", "--activation", "softplus"), 2)
    assert_error(run(path, "-t", "y", "--activation", "softplus", "--output-range", "0,5"), 2)
    assert_error(run(path, "-t", "y", "--activation", "sigmoid", "--output-range", "5,1"), 2)


# --------------------------------------------------------------------------- Gaussian NLL


def gnll_torch(y: np.ndarray, w: np.ndarray | None, act: Any) -> Any:
    """torch.nn.GaussianNLLLoss(full=False, eps=1e-6), mean over rows and targets."""
    y2 = t64(y.reshape(len(y), -1))
    t = y2.shape[1]

    def loss(b: Any) -> Any:
        mean, raw_var = b.expand(len(y), 2 * t).chunk(2, dim=-1)
        per = F.gaussian_nll_loss(mean, y2, act(raw_var), full=False, eps=1e-6, reduction="none")
        return wmean(per.mean(dim=1), w)

    return loss


@pytest.mark.parametrize(
    ("var_act", "inverse", "act"),
    [
        ("exp", np.log, torch.exp),
        ("softplus", lambda v: np.log(np.expm1(v)), F.softplus),
    ],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_gaussian_nll_one_target(
    reg_file: tuple[Path, pd.DataFrame], var_act: str, inverse: Any, act: Any, weighted: bool
) -> None:
    path, df = reg_file
    y = df["y2"].to_numpy()
    w = df["w"].to_numpy() if weighted else None
    r = run_json(
        path,
        "-t",
        "y2",
        "--loss",
        "gaussian_nll",
        "--variance-activation",
        var_act,
        *(["-w", "w"] if weighted else []),
    )
    m = float(np.average(y, weights=w))
    v = float(np.average((y - m) ** 2, weights=w))  # population variance
    close(r["bias"], [m, float(inverse(v))])
    loss = gnll_torch(y, w, act)
    close(r["expected_initial_loss"]["recommended"], value_at(loss, r["bias"]))
    close(r["expected_initial_loss"]["zero_bias"], value_at(loss, [0.0, 0.0]))
    assert grad_norm(loss, r["bias"]) < 1e-8
    # scipy minimiser of 0.5 (log var + (y - mu)^2 / var) over the raw outputs
    ww = np.ones_like(y) if w is None else w
    to_var = np.exp if var_act == "exp" else (lambda z: np.logaddexp(0, z))

    def nll(x: np.ndarray) -> float:
        var = to_var(x[1])
        return float(np.average(0.5 * (np.log(var) + (y - x[0]) ** 2 / var), weights=ww))

    res = optimize.minimize(
        nll,
        [0.0, 0.0],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000},
    )
    close(r["bias"], res.x, tol=1e-5)


def test_gaussian_nll_two_targets_default_exp(reg_file: tuple[Path, pd.DataFrame]) -> None:
    path, df = reg_file
    y = df[["y", "y2"]].to_numpy()
    r = run_json(path, "-t", "y", "-t", "y2", "--loss", "gaussian_nll")
    m = y.mean(axis=0)
    v = y.var(axis=0)  # ddof 0
    # 2T outputs: first the T means, then the T raw (log) variances
    close(r["bias"], [m[0], m[1], np.log(v[0]), np.log(v[1])])
    assert len(r["outputs"]) == 4
    loss = gnll_torch(y, None, torch.exp)
    close(r["expected_initial_loss"]["recommended"], value_at(loss, r["bias"]))
    close(r["expected_initial_loss"]["zero_bias"], value_at(loss, [0.0] * 4))
    assert grad_norm(loss, r["bias"]) < 1e-8


def test_gaussian_nll_constant_target(reg_file: tuple[Path, pd.DataFrame]) -> None:
    path, _ = reg_file
    proc = run(path, "-t", "c", "--loss", "gaussian_nll", "--format", "json")
    if proc.returncode == 0:  # a clipped value with a warning
        import json

        r = json.loads(proc.stdout)
        assert r["warnings"], "a constant target must be warned about"
        assert all(np.isfinite(r["bias"]))
        close(r["bias"][0], 4.25)
    else:
        assert_error(proc, 1)


def test_gaussian_nll_usage_error(cls_file: tuple[Path, pd.DataFrame]) -> None:
    path, _ = cls_file
    assert_error(run(path, "-t", "y", "--task", "multiclass", "--loss", "gaussian_nll"), 2)


# --------------------------------------------------------------------------- logit adjustment


@pytest.mark.parametrize("tau", [0.5, 1.0, 1.7])
@pytest.mark.parametrize("weighted", [False, True])
def test_logit_adjustment_softmax(
    cls_file: tuple[Path, pd.DataFrame], tau: float, weighted: bool
) -> None:
    path, df = cls_file
    classes = sorted(df["y"].unique())
    y = np.searchsorted(classes, df["y"].to_numpy())
    w = df["w"].to_numpy() if weighted else None
    r = run_json(path, "-t", "y", "--logit-adjustment", tau, *(["-w", "w"] if weighted else []))
    assert r["classes"] == classes
    p = np.bincount(y, weights=w, minlength=4)
    p = p / p.sum()
    # optimum: b = (1 - tau) log p up to a constant
    close(softmax(r["bias"]), softmax((1 - tau) * np.log(p)))
    adj = t64(tau * np.log(p))

    def loss(b: Any) -> Any:
        z = (b + adj).expand(len(y), 4)
        return wmean(F.cross_entropy(z, torch.as_tensor(y), reduction="none"), w)

    close(r["expected_initial_loss"]["recommended"], value_at(loss, r["bias"]))
    close(r["expected_initial_loss"]["recommended"], -np.sum(p * np.log(p)))  # = H(p)
    close(r["expected_initial_loss"]["zero_bias"], value_at(loss, [0.0] * 4))
    assert grad_norm(loss, r["bias"]) < 1e-8


@pytest.mark.parametrize("tau", [0.5, 1.0])
def test_logit_adjustment_sigmoid(cls_file: tuple[Path, pd.DataFrame], tau: float) -> None:
    path, df = cls_file
    y, w = df["b"].to_numpy(), df["w"].to_numpy()
    r = run_json(path, "-t", "b", "-w", "w", "--loss", "bce", "--logit-adjustment", tau)
    p = float(np.average(y, weights=w))
    close(r["bias"], [(1 - tau) * logit(p)])
    adj = float(tau * logit(p))

    def loss(b: Any) -> Any:
        z = (b + adj).expand(len(y))
        per = F.binary_cross_entropy_with_logits(z, t64(y), reduction="none")
        return wmean(per, w)

    close(r["expected_initial_loss"]["recommended"], value_at(loss, r["bias"]))
    close(r["expected_initial_loss"]["zero_bias"], value_at(loss, [0.0]))
    assert grad_norm(loss, r["bias"]) < 1e-8
    b_star = minimise_1d(
        lambda b: np.average(np.logaddexp(0, b + adj) - y * (b + adj), weights=w), -20, 20
    )
    close(r["bias"], [b_star], tol=1e-6)


def test_logit_adjustment_errors_and_explain(
    cls_file: tuple[Path, pd.DataFrame], reg_file: tuple[Path, pd.DataFrame]
) -> None:
    rpath, _ = reg_file
    assert_error(run(rpath, "-t", "y", "--loss", "mse", "--logit-adjustment", "1"), 2)
    path, _ = cls_file
    table = run(path, "-t", "y", "--logit-adjustment", "1", "--explain")
    assert table.returncode == 0, table.stderr
    assert re.search(r"menon|2007\.07314", table.stdout, re.I), table.stdout


# --------------------------------------------------------------------------- effective number


def effective_weights(n: np.ndarray, beta: float) -> np.ndarray:
    w = (1 - beta) / (1 - beta ** n.astype(float))
    return w * len(n) / w.sum()


def header_floats(code: str) -> list[float]:
    header = "\n".join(line for line in code.splitlines() if line.lstrip().startswith("#"))
    return [float(x) for x in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", header)]


@pytest.mark.parametrize("weighted", [False, True])
def test_effective_number_weights(cls_file: tuple[Path, pd.DataFrame], weighted: bool) -> None:
    path, df = cls_file
    beta = 0.99
    classes = sorted(df["y"].unique())
    y = np.searchsorted(classes, df["y"].to_numpy())
    sw = df["w"].to_numpy() if weighted else None
    extra = ["-w", "w"] if weighted else []
    r = run_json(path, "-t", "y", "--class-weight", f"effective:{beta}", *extra)
    n = np.bincount(y, minlength=4)  # unweighted counts, also with sample weights
    cw = effective_weights(n, beta)
    assert find_vector(r, list(cw)), f"class weights {cw} not in the JSON result"
    p = np.bincount(y, weights=sw, minlength=4)
    p = p / p.sum()
    close(softmax(r["bias"]), cw * p / np.sum(cw * p))
    tcw = t64(cw)

    def loss(b: Any) -> Any:
        per = F.cross_entropy(b.expand(len(y), 4), torch.as_tensor(y), reduction="none")
        wi = tcw[torch.as_tensor(y)] * (1.0 if sw is None else t64(sw))
        return (per * wi).sum() / wi.sum()

    close(r["expected_initial_loss"]["recommended"], value_at(loss, r["bias"]))
    close(r["expected_initial_loss"]["zero_bias"], value_at(loss, [0.0] * 4))
    assert grad_norm(loss, r["bias"]) < 1e-8
    if not weighted:  # PyTorch's own CrossEntropyLoss(weight=...) mean reduction
        ce = torch.nn.CrossEntropyLoss(weight=tcw)
        close(
            r["expected_initial_loss"]["recommended"],
            float(ce(t64(r["bias"]).expand(len(y), 4), torch.as_tensor(y))),
        )
    # the snippet's header prints the same weights
    code = run(path, "-t", "y", "--class-weight", f"effective:{beta}", *extra, "-f", "pytorch")
    assert code.returncode == 0, code.stderr
    printed = header_floats(code.stdout)
    for wk in cw:
        assert any(abs(x - wk) <= 1e-4 * abs(wk) for x in printed), (wk, printed)


def test_effective_number_binary(cls_file: tuple[Path, pd.DataFrame]) -> None:
    path, df = cls_file
    y = df["b"].to_numpy()
    beta = 0.999
    r = run_json(path, "-t", "b", "--loss", "bce", "--class-weight", f"effective:{beta}")
    n = np.bincount(y, minlength=2)
    cw = effective_weights(n, beta)
    p = y.mean()
    close(r["bias"], [np.log(cw[1] * p / (cw[0] * (1 - p)))])
    assert find_vector(r, list(cw))


def test_effective_number_errors(
    cls_file: tuple[Path, pd.DataFrame], reg_file: tuple[Path, pd.DataFrame]
) -> None:
    path, _ = cls_file
    assert_error(run(path, "-t", "y", "--class-weight", "effective:1.5"), 2)
    assert_error(run(path, "-t", "y", "--class-weight", "effective:x"), 2)
    rpath, _ = reg_file
    assert_error(run(rpath, "-t", "y", "--loss", "mse", "--class-weight", "effective:0.9"), 2)
    table = run(path, "-t", "y", "--class-weight", "effective:0.99", "--explain")
    assert table.returncode == 0, table.stderr
    assert re.search(r"cui|1901\.05555", table.stdout, re.I), table.stdout


# --------------------------------------------------------------------------- samplers


@pytest.mark.parametrize(("spec", "q"), [("balanced", 0.0), ("sqrt", 0.5), ("power:0.3", 0.3)])
def test_sampler_multiclass(cls_file: tuple[Path, pd.DataFrame], spec: str, q: float) -> None:
    path, df = cls_file
    classes = sorted(df["y"].unique())
    n = np.bincount(np.searchsorted(classes, df["y"].to_numpy()), minlength=4)
    r = run_json(path, "-t", "y", "--sampler", spec)
    pi = n.astype(float) ** q
    pi /= pi.sum()
    close(softmax(r["bias"]), pi)

    # the expected loss under the sampled class distribution
    def loss(b: Any) -> Any:
        per = F.cross_entropy(b.expand(4, 4), torch.arange(4), reduction="none")
        return (per * t64(pi)).sum()

    close(r["expected_initial_loss"]["recommended"], value_at(loss, r["bias"]))
    close(r["expected_initial_loss"]["recommended"], -np.sum(pi * np.log(pi)))
    close(r["expected_initial_loss"]["zero_bias"], np.log(4))


def test_sampler_binary_and_combined(cls_file: tuple[Path, pd.DataFrame]) -> None:
    path, df = cls_file
    n = np.bincount(df["b"].to_numpy(), minlength=2).astype(float)
    r = run_json(path, "-t", "b", "--loss", "bce", "--sampler", "sqrt")
    pi = np.sqrt(n) / np.sqrt(n).sum()
    close(r["bias"], [logit(pi[1])])
    # with label smoothing and class weights, the sampled priors replace the data's
    classes = sorted(df["y"].unique())
    n4 = np.bincount(np.searchsorted(classes, df["y"].to_numpy()), minlength=4).astype(float)
    pi4 = n4**0.5 / np.sum(n4**0.5)
    eps = 0.1
    r = run_json(path, "-t", "y", "--sampler", "sqrt", "--label-smoothing", eps)
    close(softmax(r["bias"]), (1 - eps) * pi4 + eps / 4)
    r = run_json(path, "-t", "y", "--sampler", "sqrt", "--class-weight", "cat=3,dog=2")
    cw = np.array([1.0, 1.0, 3.0, 2.0])
    close(softmax(r["bias"]), cw * pi4 / np.sum(cw * pi4))


def test_sampler_errors(
    cls_file: tuple[Path, pd.DataFrame], reg_file: tuple[Path, pd.DataFrame]
) -> None:
    rpath, _ = reg_file
    assert_error(run(rpath, "-t", "y", "--loss", "mse", "--sampler", "balanced"), 2)
    path, _ = cls_file
    assert_error(run(path, "-t", "y", "--sampler", "power:abc"), 2)
    assert_error(run(path, "-t", "y", "--sampler", "uniformish"), 2)


# --------------------------------------------------------------------------- CORN


def corn_numpy(b: np.ndarray, y: np.ndarray, k: int, w: np.ndarray) -> float:
    """CORN loss from its definition: BCE of task j on rows with y > j - 1, summed over
    tasks, divided by the (weighted) number of examples across tasks."""
    total, denom = 0.0, 0.0
    for j in range(k - 1):
        m = y > j - 1
        t = (y[m] > j).astype(float)
        total += float(np.sum(w[m] * (np.logaddexp(0, b[j]) - t * b[j])))
        denom += float(np.sum(w[m]))
    return total / denom


@pytest.fixture(scope="module")
def ordinal_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    stars = RNG.choice([1, 2, 3, 4, 5], size=700, p=[0.1, 0.15, 0.2, 0.35, 0.2])
    grade = np.array(["low", "mid", "high"])[RNG.choice(3, size=700, p=[0.5, 0.3, 0.2])]
    df = pd.DataFrame(
        {"stars": stars, "grade": grade, "w": np.round(RNG.uniform(0.1, 2.0, 700), 6)}
    )
    path = tmp_path_factory.mktemp("i12") / "ord.parquet"
    df.to_parquet(path, index=False)
    return path, df


@pytest.mark.parametrize("weighted", [False, True])
def test_corn(ordinal_file: tuple[Path, pd.DataFrame], weighted: bool) -> None:
    coral = pytest.importorskip("coral_pytorch.losses")
    path, df = ordinal_file
    y = df["stars"].to_numpy() - 1  # class indices 0..4
    w = df["w"].to_numpy() if weighted else np.ones(len(y))
    r = run_json(
        path,
        "-t",
        "stars",
        "--task",
        "ordinal",
        "--loss",
        "corn",
        *(["-w", "w"] if weighted else []),
    )
    k = 5
    assert r["classes"] == [1, 2, 3, 4, 5]
    assert len(r["bias"]) == k - 1
    want = [logit(w[y > j].sum() / w[y > j - 1].sum()) for j in range(k - 1)]
    close(r["bias"], want)
    close(r["expected_initial_loss"]["recommended"], corn_numpy(np.array(want), y, k, w))
    close(r["expected_initial_loss"]["zero_bias"], corn_numpy(np.zeros(k - 1), y, k, w))
    res = optimize.minimize(
        lambda b: corn_numpy(b, y, k, w), np.zeros(k - 1), method="BFGS", options={"gtol": 1e-12}
    )
    close(r["bias"], res.x, tol=1e-5)
    if not weighted:  # coral_pytorch's own corn_loss
        ty = torch.as_tensor(y)

        def loss(b: Any) -> Any:
            return coral.corn_loss(b.expand(len(y), k - 1), ty, k)

        close(r["expected_initial_loss"]["recommended"], value_at(loss, r["bias"]))
        close(r["expected_initial_loss"]["zero_bias"], value_at(loss, [0.0] * (k - 1)))
        assert grad_norm(loss, r["bias"]) < 1e-8


def test_corn_text_classes_in_given_order(ordinal_file: tuple[Path, pd.DataFrame]) -> None:
    coral = pytest.importorskip("coral_pytorch.losses")
    path, df = ordinal_file
    order = ["low", "mid", "high"]
    y = np.array([order.index(g) for g in df["grade"]])
    r = run_json(
        path, "-t", "grade", "--task", "ordinal", "--loss", "corn", "--classes", ",".join(order)
    )
    assert r["classes"] == order
    want = [logit(np.mean(y[y > j - 1] > j)) for j in range(2)]
    close(r["bias"], want)
    value = coral.corn_loss(t64(want).expand(len(y), 2), torch.as_tensor(y), 3)
    close(r["expected_initial_loss"]["recommended"], float(value))


def test_corn_errors(ordinal_file: tuple[Path, pd.DataFrame]) -> None:
    path, _ = ordinal_file
    assert_error(run(path, "-t", "stars", "--task", "multiclass", "--loss", "corn"), 2)
    table = run(path, "-t", "stars", "--task", "ordinal", "--loss", "corn", "--explain")
    assert table.returncode == 0, table.stderr
    assert re.search(r"shi|2111\.08851|corn", table.stdout, re.I)


# --------------------------------------------------------------------------- API and formats


def test_python_api_same_keywords(
    reg_file: tuple[Path, pd.DataFrame],
    cls_file: tuple[Path, pd.DataFrame],
    ordinal_file: tuple[Path, pd.DataFrame],
) -> None:
    import biascalc

    _, reg = reg_file
    y = reg["y"].to_numpy()
    r = biascalc.compute_bias(y, loss="mse", activation="softplus")
    close(r.bias, [SOFTPLUS_INV(y.mean())])
    r = biascalc.compute_bias(
        reg["y2"].to_numpy(), loss="gaussian_nll", variance_activation="softplus"
    )
    y2 = reg["y2"].to_numpy()
    close(r.bias, [y2.mean(), np.log(np.expm1(y2.var()))])
    _, cls = cls_file
    labels = cls["y"].tolist()
    classes = sorted(set(labels))
    n = np.array([labels.count(c) for c in classes], dtype=float)
    p = n / n.sum()
    r = biascalc.compute_bias(labels, logit_adjustment=0.5)
    close(softmax(r.bias), softmax(0.5 * np.log(p)))
    r = biascalc.compute_bias(labels, class_weight="effective:0.99")
    cw = effective_weights(n.astype(int), 0.99)
    close(softmax(r.bias), cw * p / np.sum(cw * p))
    r = biascalc.compute_bias(labels, sampler="sqrt")
    close(softmax(r.bias), np.sqrt(n) / np.sqrt(n).sum())
    _, ordinal = ordinal_file
    s = ordinal["stars"].to_numpy()
    r = biascalc.compute_bias(s, task="ordinal", loss="corn")
    close(r.bias, [logit(np.mean(s[s > c - 1] > c)) for c in (1, 2, 3, 4)])


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["-t", "y", "--loss", "mse", "--activation", "softplus"], ["softplus"]),
        (["-t", "y2", "--loss", "gaussian_nll"], ["gaussian_nll"]),
        (
            ["-t", "y", "--loss", "huber", "--activation", "sigmoid", "--output-range", "-1,20"],
            ["sigmoid", "20"],
        ),
    ],
)
def test_snippets_name_the_head_reg(
    reg_file: tuple[Path, pd.DataFrame], args: list[str], needles: list[str]
) -> None:
    path, _ = reg_file
    _check_formats(path, args, needles)


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["-t", "y", "--logit-adjustment", "0.5"], ["0.5"]),
        (["-t", "y", "--sampler", "sqrt"], ["sqrt"]),
        (["-t", "y", "--class-weight", "effective:0.99"], ["class_weight"]),
    ],
)
def test_snippets_name_the_head_cls(
    cls_file: tuple[Path, pd.DataFrame], args: list[str], needles: list[str]
) -> None:
    path, _ = cls_file
    _check_formats(path, args, needles)


def _check_formats(path: Path, args: list[str], needles: list[str]) -> None:
    formats = ("json", "python", "pytorch", "keras", "jax")
    procs = run_many([[path, *args, "-f", fmt] for fmt in formats])
    assert procs[0].returncode == 0, procs[0].stderr
    want = json.loads(procs[0].stdout)["bias"]
    for fmt, proc in zip(formats[1:], procs[1:], strict=True):
        assert proc.returncode == 0, proc.stderr
        header = "\n".join(x for x in proc.stdout.splitlines() if x.startswith("#"))
        for needle in needles:
            assert needle in header, f"{fmt} header does not mention {needle!r}:\n{header}"
        if fmt == "python":
            namespace: dict[str, Any] = {}
            exec(proc.stdout, namespace)  # generated code: assignments only
            close(namespace["OUTPUT_BIAS"], want, tol=0)
