"""The framework helpers: biascalc.integrations.torch, .keras and .jax."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from biascalc import compute_bias, compute_bias_from_file

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is first imported

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
TAGS = ["tag_sports", "tag_politics", "tag_tech", "tag_music", "tag_science"]


@pytest.fixture(scope="module")
def tags() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "multilabel_tags.csv", usecols=TAGS)


# ------------------------------------------------------------------------------------ PyTorch


@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


def test_torch_from_labels_tensor(torch: Any) -> None:
    from biascalc.integrations.torch import init_output_bias_

    head = torch.nn.Linear(3, 1)
    y = torch.tensor([0, 0, 0, 1, 1, 0, 0, 0])
    result = init_output_bias_(head, y)
    assert result.task == "binary"
    assert head.bias.item() == pytest.approx(np.log(2 / 6), rel=1e-6)
    assert head.bias.requires_grad  # still a trainable parameter
    assert head.bias.grad is None


def test_torch_from_result_and_weights(torch: Any) -> None:
    from biascalc.integrations.torch import init_output_bias_

    frame = pd.read_csv(SAMPLE / "fraud_imbalanced.csv", usecols=["is_fraud", "weight"])
    head = torch.nn.Linear(4, 1)
    init_output_bias_(
        head,
        torch.tensor(frame["is_fraud"].values),
        sample_weight=torch.tensor(frame["weight"].values),
    )
    assert head.bias.item() == pytest.approx(np.log(1000 / 19800), rel=1e-6)
    result = compute_bias_from_file(str(SAMPLE / "fraud_imbalanced.csv"), "is_fraud")
    assert init_output_bias_(head, result) is result
    assert head.bias.item() == pytest.approx(float(result.bias[0]), rel=1e-6)


def test_torch_multilabel_keeps_dtype(torch: Any, tags: pd.DataFrame) -> None:
    from biascalc.integrations.torch import init_output_bias_

    head = torch.nn.Linear(8, 5, dtype=torch.float64)
    result = init_output_bias_(head, tags)
    assert result.task == "multilabel"
    assert head.bias.dtype == torch.float64
    assert head.bias.detach().numpy().tolist() == result.bias.tolist()  # exact in float64


def test_torch_bias_tensor_and_errors(torch: Any) -> None:
    from biascalc.integrations.torch import init_output_bias_

    bias = torch.zeros(3)
    init_output_bias_(bias, ["a", "b", "b", "c"])
    assert bias.tolist() == pytest.approx(np.log([0.25, 0.5, 0.25]).tolist(), rel=1e-6)
    with pytest.raises(ValueError, match=r"shape \(2,\), but biascalc computed 3"):
        init_output_bias_(torch.nn.Linear(4, 2), ["a", "b", "b", "c"])
    with pytest.raises(ValueError, match="bias=False"):
        init_output_bias_(torch.nn.Linear(4, 1, bias=False), [0, 1])
    with pytest.raises(TypeError, match="apply when computing from labels"):
        init_output_bias_(torch.nn.Linear(4, 1), compute_bias([0, 1]), loss="bce")


def test_torch_refuses_a_non_finite_bias(torch: Any) -> None:
    from dataclasses import replace

    from biascalc.integrations.torch import init_output_bias_

    head = torch.nn.Linear(2, 1)
    before = head.bias.item()
    with pytest.raises(ValueError, match="not finite"):
        init_output_bias_(head, replace(compute_bias([0, 1]), bias=np.array([np.inf])))
    assert head.bias.item() == before


def test_torch_one_hot_targets_are_multiclass(torch: Any) -> None:
    from biascalc.integrations.torch import init_output_bias_

    y = torch.tensor([0] * 7 + [1] * 2 + [2])
    head = torch.nn.Linear(4, 3)
    result = init_output_bias_(head, torch.nn.functional.one_hot(y).float())
    assert result.task == "multiclass" and "one-hot" in result.task_reason
    # log p_k, not logit(p_k): the head is a softmax over the classes.
    shares = np.bincount(y.numpy()) / len(y)
    assert head.bias.tolist() == pytest.approx(np.log(shares).tolist(), rel=1e-6)
    # The loss torch itself computes for this bias on these targets is the expected loss.
    logits = head.bias.detach().double().expand(len(y), 3)
    loss = torch.nn.functional.cross_entropy(logits, y).item()
    assert result.expected_loss_recommended == pytest.approx(loss, rel=1e-9)


def test_torch_refuses_a_layer_on_the_meta_device(torch: Any) -> None:
    from biascalc.integrations.torch import init_output_bias_

    with torch.device("meta"):
        head = torch.nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"on the meta device.*hold no values.*to_empty"):
        init_output_bias_(head, [0, 1, 2])
    with pytest.raises(ValueError, match="meta device"):
        init_output_bias_(head.bias, [0, 1, 2])


def test_torch_labels_on_the_meta_device_are_refused(torch: Any) -> None:
    from biascalc.errors import DataError
    from biascalc.integrations.torch import init_output_bias_

    with pytest.raises(DataError, match="labels are on the meta device"):
        init_output_bias_(torch.nn.Linear(4, 1), torch.zeros(5, device="meta"))


def test_torch_whole_model_names_its_last_linear(torch: Any) -> None:
    from biascalc.integrations.torch import init_output_bias_

    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3), nn.LayerNorm(3))
    with pytest.raises(ValueError, match=r"no bias of its own.*last Linear: model\[2\]") as info:
        init_output_bias_(model, [0, 1, 2])
    assert "bias=False" not in str(info.value)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
            self.head = nn.Sequential(nn.Dropout(), nn.Linear(8, 1))

    with pytest.raises(ValueError, match=r"last Linear: model\.head\[1\]"):
        init_output_bias_(Net(), [0, 1])
    with pytest.raises(ValueError, match="none of its modules has one"):
        init_output_bias_(nn.Sequential(nn.Linear(2, 1, bias=False)), [0, 1])


# -------------------------------------------------------------------------------------- Keras


@pytest.fixture(scope="module")
def keras() -> Any:
    return pytest.importorskip("keras")


def bias_of(layer: Any) -> list[float]:
    value = layer.bias.value
    value = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
    return [float(v) for v in value]


def test_keras_multilabel_head(keras: Any, tags: pd.DataFrame) -> None:
    from biascalc.integrations.keras import bias_initializer

    init = bias_initializer(tags)
    layer = keras.layers.Dense(5, activation="sigmoid", bias_initializer=init)
    layer.build((None, 16))
    prevalence = tags.to_numpy().mean(axis=0)
    assert bias_of(layer) == pytest.approx(np.log(prevalence / (1 - prevalence)).tolist(), rel=1e-6)


def test_keras_initializer_checks_shape(keras: Any) -> None:
    from biascalc.integrations.keras import bias_initializer

    layer = keras.layers.Dense(3, bias_initializer=bias_initializer([0, 1, 1]))
    with pytest.raises(ValueError, match=r"holds 1 value.*shape \(3,\)"):
        layer.build((None, 2))


def test_keras_initializer_serialises_as_keras_constant(keras: Any) -> None:
    from biascalc.integrations.keras import bias_initializer

    init = bias_initializer(["cat", "dog", "dog", "emu"])
    config = keras.initializers.serialize(init)
    # Recorded as Keras' own Constant with the values: loading needs no biascalc import.
    assert (config["module"], config["class_name"]) == ("keras.initializers", "Constant")
    assert config["registered_name"] is None
    again = keras.initializers.deserialize(config)
    assert type(again) is keras.initializers.Constant
    assert again.value == init.value
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, bias_initializer=init, name="out")]
    )
    # The architecture (not the weights: Keras' torch backend warns when it writes them
    # with NumPy 2) round-trips through JSON and initialises the same bias again.
    loaded = keras.models.model_from_json(model.to_json())
    assert bias_of(loaded.get_layer("out")) == pytest.approx(init.value, rel=1e-6)
    expected = np.log(np.array([1, 2, 1]) / 4)  # class shares, computed here
    assert bias_of(loaded.get_layer("out")) == pytest.approx(expected.tolist(), rel=1e-6)


def test_keras_model_saved_with_the_initializer_loads_in_a_fresh_process(
    keras: Any, tmp_path: Path
) -> None:
    import subprocess
    import sys

    path = tmp_path / "model.keras"
    save = (
        "import keras, numpy as np\n"
        "from biascalc.integrations.keras import bias_initializer\n"
        "init = bias_initializer(np.array([0, 1, 1, 2, 2, 2]))\n"
        "m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, bias_initializer=init,"
        " name='out')])\n"
        f"m.save({str(path)!r})\n"
    )
    load = (
        "import sys, keras\n"
        f"m = keras.models.load_model({str(path)!r})\n"
        "layer = m.get_layer('out')\n"
        "assert 'biascalc' not in sys.modules, 'loading imported biascalc'\n"
        "print(type(layer.bias_initializer).__name__)\n"
        "print(keras.ops.convert_to_numpy(layer.bias).tolist())\n"
        "clone = keras.models.clone_model(m)\n"  # re-initialised from the saved config
        "print(keras.ops.convert_to_numpy(clone.get_layer('out').bias).tolist())\n"
    )
    env = {**os.environ, "KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "torch")}
    for code in (save, load):
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
    name, bias, cloned = proc.stdout.splitlines()[-3:]
    assert name == "Constant"
    expected = np.log(np.array([1, 2, 3]) / 6).tolist()
    assert json.loads(bias) == pytest.approx(expected, rel=1e-6)
    assert json.loads(cloned) == pytest.approx(expected, rel=1e-6)


def test_keras_initializer_from_backend_tensor(keras: Any) -> None:
    from biascalc.integrations.keras import bias_initializer

    y = keras.ops.convert_to_tensor(np.array([0.0, 2.0, 4.0, 6.0, 8.0]))
    assert bias_initializer(y, task="regression").value == [4.0]


# ---------------------------------------------------------------------------------- JAX, Flax


def test_flax_bias_init(tags: pd.DataFrame) -> None:
    jax = pytest.importorskip("jax")
    nn = pytest.importorskip("flax.linen")
    from biascalc.integrations.jax import bias_init

    dense = nn.Dense(5, bias_init=bias_init(jax.numpy.asarray(tags.to_numpy())))
    params = dense.init(jax.random.key(0), jax.numpy.ones((1, 3)))
    expected = compute_bias(tags).bias
    assert np.asarray(params["params"]["bias"]).tolist() == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        nn.Dense(4, bias_init=bias_init(tags)).init(jax.random.key(0), jax.numpy.ones((1, 3)))
