"""The emitted code, run for real in PyTorch, Keras 3 and JAX/Flax.

For each task the snippet sets the bias of an output layer with zero weights; then
(a) the layer's output activation equals the priors / the mean, computed here from the raw
labels, and (b) the framework's own loss on the real labels equals biascalc's
``expected_loss_recommended`` (and ``expected_loss_zero_bias`` for a zero bias).
Each framework is skipped when it is not installed.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from biascalc import BiasResult, compute_bias, compute_bias_from_file
from biascalc.render.code import render_jax, render_keras, render_python, render_pytorch

# Keras reads its backend once, when first imported; set it before any test imports it.
os.environ.setdefault("KERAS_BACKEND", "torch")

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
FloatArray = npt.NDArray[np.float64]


def close(expected: float) -> Any:
    """Losses are float32 means over up to 20,000 rows: agreement to 1e-6."""
    return pytest.approx(expected, rel=1e-6, abs=1e-6)


N_FEATURES = 4


@dataclass(frozen=True)
class Case:
    """A labelled data set: where it comes from and how biascalc is asked about it."""

    id: str
    source: str | None  # a sample_data file, or None for the synthetic frame below
    targets: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)
    weight: str | None = None


CASES = [
    Case("binary-strings", "breast_cancer.csv", ("diagnosis",)),
    Case("binary-weighted", "fraud_imbalanced.csv", ("is_fraud",), weight="weight"),
    Case("multiclass", "wine.csv", ("cultivar",)),
    Case("multiclass-centered", "wine.parquet", ("target",), {"center": True}),
    Case("multiclass-weighted", None, ("label",), weight="w"),
    Case(
        "multilabel",
        "multilabel_tags.csv",
        tuple(f"tag_{t}" for t in ("sports", "tech", "science")),
    ),
    # One list column of label sets (weighted): one sigmoid output per distinct label.
    Case("multilabel-from-list", None, ("tags",), weight="w"),
    Case("mse", "diabetes.csv", ("target",)),
    Case("mse-two-targets-weighted", None, ("height", "mass"), {"loss": "mse"}, weight="w"),
    Case("huber", "diabetes.csv", ("target",), {"loss": "huber", "huber_delta": 5.0}),
    Case("poisson", "fraud_imbalanced.csv", ("amount",), {"loss": "poisson"}),
]


def _synthetic() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 600
    return pd.DataFrame(
        {
            "label": rng.choice(["ant", "bee", "cicada", "dragonfly"], n, p=[0.55, 0.3, 0.1, 0.05]),
            "height": rng.normal(170.0, 9.0, n),
            "mass": rng.gamma(4.0, 18.0, n),
            "w": rng.uniform(0.2, 3.0, n),
            # Label sets, some empty (rows with no labels), 'rare' in few of them.
            "tags": [
                sorted(rng.choice(["cat", "dog", "owl", "rare"], k, replace=False, p=p).tolist())
                for k, p in zip(
                    rng.choice(4, n, p=[0.2, 0.4, 0.3, 0.1]),
                    [[0.45, 0.35, 0.17, 0.03]] * n,
                    strict=True,
                )
            ],
        }
    )


def load(case: Case) -> tuple[BiasResult, pd.DataFrame, FloatArray | None]:
    """biascalc's result for the case, the raw label frame, and the weights (or None)."""
    return _load(case.id)


@functools.cache
def _load(case_id: str) -> tuple[BiasResult, pd.DataFrame, FloatArray | None]:
    case = next(c for c in CASES if c.id == case_id)
    columns = [*case.targets, *([case.weight] if case.weight else [])]
    if case.source is None:
        frame = _synthetic()[columns]
        weights = None if case.weight is None else frame[case.weight].to_numpy(np.float64)
        result = compute_bias(frame[list(case.targets)], sample_weight=weights, **case.options)
    else:
        path = SAMPLE / case.source
        if path.suffix == ".csv":
            frame = pd.read_csv(path, usecols=columns)
        else:
            frame = pd.read_parquet(path, columns=columns)
        result = compute_bias_from_file(
            str(path), list(case.targets), weight=case.weight, **case.options
        )
    weights = None if case.weight is None else frame[case.weight].to_numpy(np.float64)
    return result, frame, weights


def encoded_labels(result: BiasResult, frame: pd.DataFrame) -> FloatArray:
    """Labels as the network sees them: 0/1 per output, class indices, or values."""
    if result.task == "binary":
        assert result.classes is not None
        column = frame[result.targets[0]].to_numpy()
        return np.asarray(column == result.classes[-1], dtype=np.float64)[:, None]
    if result.task == "multiclass":
        assert result.classes is not None
        index = {label: i for i, label in enumerate(result.classes)}
        return np.array([index[v] for v in frame[result.targets[0]].tolist()], dtype=np.float64)
    if result.task == "multilabel" and result.targets == ("tags",):
        # A list column: the multi-hot matrix in the order of the outputs biascalc names.
        assert result.classes is not None
        return np.array(
            [[label in set(row) for label in result.classes] for row in frame["tags"]],
            dtype=np.float64,
        )
    return frame[list(result.targets)].to_numpy(np.float64)


def expected_activation(result: BiasResult, y: FloatArray, w: FloatArray | None) -> FloatArray:
    """What the untrained network should predict, from the labels alone (no biascalc)."""
    if result.task == "multiclass":
        k = len(result.bias)
        counts = np.bincount(y.astype(np.int64), weights=w, minlength=k)
        return np.asarray(counts / counts.sum(), dtype=np.float64)
    # positive shares, or the mean
    return np.asarray(np.average(y, axis=0, weights=w), dtype=np.float64)


def activation(name: str, raw: FloatArray) -> FloatArray:
    if name == "sigmoid":
        return np.asarray(1.0 / (1.0 + np.exp(-raw)), dtype=np.float64)
    if name == "softmax":
        e = np.exp(raw - raw.max())
        return np.asarray(e / e.sum(), dtype=np.float64)
    if name == "exp":
        return np.exp(raw)
    return raw


def features(n: int) -> FloatArray:
    # Any inputs: with zero weights the output is the bias alone.
    return np.random.default_rng(0).normal(size=(n, N_FEATURES))


def check_predicts_prior(result: BiasResult, raw_row: FloatArray, y: FloatArray, w: Any) -> None:
    if result.loss == "huber":
        return  # the Huber location is neither the mean nor the median
    predicted = activation(result.activation, raw_row.astype(np.float64))
    assert predicted == pytest.approx(expected_activation(result, y, w), rel=1e-5, abs=1e-7)


def weighted_mean(per_sample: FloatArray, w: FloatArray | None) -> float:
    """Mean over all elements; with weights, sum_i w_i l_i / sum_i w_i (l_i: row mean)."""
    if w is None:
        return float(np.mean(per_sample))
    rows = per_sample.reshape(per_sample.shape[0], -1).mean(axis=1)
    return float(np.sum(w * rows) / np.sum(w))


def exec_snippet(snippet: str, **names: Any) -> dict[str, Any]:
    namespace: dict[str, Any] = dict(names)
    exec(compile(snippet, "<biascalc snippet>", "exec"), namespace)
    return namespace


def commented_code(snippet: str, start: str) -> str:
    """The example the snippet shows in comments, from the line starting with ``start``."""
    lines = snippet.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(f"# {start}"))
    block = [lines[first][2:].removeprefix("Flax: ")]
    for line in lines[first + 1 :]:
        if not line.startswith("#  ") and line != "# )":
            break
        block.append(line[2:])
    return "\n".join(block)


# ------------------------------------------------------------------------------------ PyTorch


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


def torch_loss(torch: Any, result: BiasResult) -> Any:
    nn = torch.nn
    return {
        "bce": lambda: nn.BCEWithLogitsLoss(reduction="none"),
        "cross_entropy": lambda: nn.CrossEntropyLoss(reduction="none"),
        "mse": lambda: nn.MSELoss(reduction="none"),
        "huber": lambda: nn.HuberLoss(
            reduction="none", delta=result.loss_parameters["huber_delta"]
        ),
        "poisson": lambda: nn.PoissonNLLLoss(log_input=True, reduction="none"),
    }[result.loss]()


def torch_step0(
    torch: Any, result: BiasResult, frame: pd.DataFrame, w: Any, snippet: str | None
) -> tuple[float, FloatArray]:
    """The loss at step 0 and the raw output of one row, for a zero-weight nn.Linear."""
    y = encoded_labels(result, frame)
    head = torch.nn.Linear(N_FEATURES, len(result.bias))
    with torch.no_grad():
        head.weight.zero_()
        head.bias.zero_()
    model = torch.nn.Sequential()
    model.head = head  # the snippet addresses it as model.head
    if snippet is not None:
        exec_snippet(snippet, model=model)
    raw = head(torch.tensor(features(len(y)), dtype=torch.float32))
    target = torch.tensor(y, dtype=torch.long if result.task == "multiclass" else torch.float32)
    per_sample = torch_loss(torch, result)(raw, target).detach().numpy().astype(np.float64)
    if w is None:
        # torch's own mean reduction, not only our mean of its per-sample losses.
        mean_loss = torch_loss(torch, result)
        mean_loss.reduction = "mean"
        return float(mean_loss(raw, target).detach()), raw[0].detach().numpy()
    return weighted_mean(per_sample, w), raw[0].detach().numpy()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_pytorch_snippet(torch: Any, case: Case) -> None:
    result, frame, w = load(case)
    snippet = render_pytorch(result, layer="model.head")
    loss, raw_row = torch_step0(torch, result, frame, w, snippet)
    check_predicts_prior(result, raw_row, encoded_labels(result, frame), w)
    assert loss == close(result.expected_loss_recommended)
    zero, _ = torch_step0(torch, result, frame, w, None)
    assert zero == close(result.expected_loss_zero_bias)


def test_pytorch_snippet_checks_the_shape(torch: Any) -> None:
    result, _, _ = load(CASES[2])  # three classes
    layer = torch.nn.Linear(N_FEATURES, 2)
    with pytest.raises(ValueError, match=r"layer\.bias must have shape \(3,\).*not \(2,\)"):
        exec_snippet(render_pytorch(result), layer=layer)
    with pytest.raises(ValueError, match="not None"):
        exec_snippet(render_pytorch(result), layer=torch.nn.Linear(N_FEATURES, 3, bias=False))


def test_python_snippet_feeds_torch(torch: Any) -> None:
    result, _, _ = load(CASES[2])
    namespace = exec_snippet(render_python(result))
    layer = torch.nn.Linear(N_FEATURES, len(namespace["OUTPUT_BIAS"]))
    with torch.no_grad():
        layer.bias.copy_(torch.tensor(namespace["OUTPUT_BIAS"]))
    assert layer.bias.detach().numpy() == pytest.approx(result.bias, rel=1e-7)


# -------------------------------------------------------------------------------------- Keras


@pytest.fixture(scope="module")
def keras() -> Any:
    return pytest.importorskip("keras")


def keras_loss(keras: Any, result: BiasResult) -> Any:
    losses = keras.losses
    return {
        "bce": lambda: losses.BinaryCrossentropy(from_logits=True, reduction=None),
        "cross_entropy": lambda: losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction=None
        ),
        "mse": lambda: losses.MeanSquaredError(reduction=None),
        "huber": lambda: losses.Huber(delta=result.loss_parameters["huber_delta"], reduction=None),
        "poisson": lambda: losses.Poisson(reduction=None),
    }[result.loss]()


def to_numpy(x: Any) -> FloatArray:
    for step in ("detach", "cpu"):
        if hasattr(x, step):
            x = getattr(x, step)()
    return np.asarray(x.numpy() if hasattr(x, "numpy") else x, dtype=np.float64)


def keras_step0(
    keras: Any, result: BiasResult, frame: pd.DataFrame, w: Any, snippet: str | None
) -> tuple[float, FloatArray]:
    y = encoded_labels(result, frame)
    if snippet is None:
        units = len(result.bias)
        dense = keras.layers.Dense(
            units, activation="exponential" if result.activation == "exp" else None
        )
    else:
        # Exactly the layer the snippet's comment shows.
        namespace = exec_snippet(snippet)
        dense = eval(commented_code(snippet, "keras.layers.Dense"), namespace)
    dense.build((None, N_FEATURES))
    dense.kernel.assign(np.zeros((N_FEATURES, len(result.bias)), dtype="float32"))
    if snippet is None:
        dense.bias.assign(np.zeros(len(result.bias), dtype="float32"))
    out = dense(features(len(y)).astype("float32"))
    target = y.astype("int64") if result.task == "multiclass" else y.astype("float32")
    per_sample = to_numpy(keras_loss(keras, result)(target, out))
    raw_row = to_numpy(out)[0]
    if result.activation == "exp":
        raw_row = np.log(raw_row)  # the Dense layer applies exp itself
    return weighted_mean(per_sample, w), raw_row


def keras_poisson_offset(result: BiasResult, y: FloatArray, w: Any, bias: FloatArray) -> float:
    """Keras' Poisson is mu - y log(mu + 1e-7), torch's exp(b) - y b: they differ by
    -mean(y) log(1 + 1e-7 / mu).  Zero for every other loss."""
    if result.loss != "poisson":
        return 0.0
    mu = np.exp(bias)
    return -float(np.mean(np.average(y, axis=0, weights=w) * np.log1p(1e-7 / mu)))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_keras_snippet(keras: Any, case: Case) -> None:
    result, frame, w = load(case)
    y = encoded_labels(result, frame)
    snippet = render_keras(result)
    loss, raw_row = keras_step0(keras, result, frame, w, snippet)
    check_predicts_prior(result, raw_row, y, w)
    offset = keras_poisson_offset(result, y, w, result.bias)
    assert loss == close(result.expected_loss_recommended + offset)
    zero, _ = keras_step0(keras, result, frame, w, None)
    offset = keras_poisson_offset(result, y, w, np.zeros_like(result.bias))
    assert zero == close(result.expected_loss_zero_bias + offset)


# ---------------------------------------------------------------------------------- JAX, Flax


@pytest.fixture(scope="module")
def jax() -> Any:
    return pytest.importorskip("jax")


JAX_CASES = [
    c
    for c in CASES
    if c.id
    in {"binary-weighted", "multiclass", "multilabel", "multilabel-from-list", "mse", "poisson"}
]


@pytest.mark.parametrize("case", JAX_CASES, ids=[c.id for c in JAX_CASES])
def test_jax_snippet_as_flax_bias_init(jax: Any, case: Case) -> None:
    nn = pytest.importorskip("flax.linen")
    optax = pytest.importorskip("optax")
    jnp = jax.numpy
    result, frame, w = load(case)
    snippet = render_jax(result)
    namespace = exec_snippet(snippet, nn=nn)
    dense = eval(commented_code(snippet, "Flax: nn.Dense("), namespace)
    x = jnp.asarray(features(len(frame)), dtype=jnp.float32)
    params = dense.init(jax.random.key(0), x)
    params["params"]["kernel"] = jnp.zeros_like(params["params"]["kernel"])
    raw = dense.apply(params, x)
    y = encoded_labels(result, frame)
    per_sample = {
        "bce": lambda: optax.sigmoid_binary_cross_entropy(raw, jnp.asarray(y)),
        "cross_entropy": lambda: optax.softmax_cross_entropy_with_integer_labels(
            raw, jnp.asarray(y.astype(np.int32))
        ),
        "mse": lambda: optax.squared_error(raw, jnp.asarray(y)),
        # optax has no Poisson loss: torch's PoissonNLLLoss(log_input=True) definition.
        "poisson": lambda: jnp.exp(raw) - jnp.asarray(y) * raw,
    }[result.loss]()
    check_predicts_prior(result, np.asarray(raw[0]), y, w)
    loss = weighted_mean(np.asarray(per_sample, dtype=np.float64), w)
    assert loss == close(result.expected_loss_recommended)


# ------------------------------------------------------------------------- sanity of the cases


def test_the_cases_cover_every_task() -> None:
    tasks = {load(c)[0].task for c in CASES}
    assert tasks >= {"binary", "multiclass", "multilabel", "regression"}


def test_commented_code_extraction() -> None:
    snippet = "# a\n# Flax: nn.Dense(\n#     3, bias_init=f\n# )\nx = 1\n"
    assert commented_code(snippet, "Flax: nn.Dense(") == "nn.Dense(\n    3, bias_init=f\n)"
    assert re.fullmatch(r"nn\.Dense\(\n.*\n\)", commented_code(snippet, "Flax:"))
