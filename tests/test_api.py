"""The Python API with labels as training code holds them: one-hot matrices, framework
tensors, path objects, lazy frames and the inputs that are not labels at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

import biascalc
from biascalc import DataError, OptionError, compute_bias, compute_bias_from_file
from biascalc.stats import LabelStats

Y = np.array([0] * 7 + [1] * 2 + [2])  # shares 0.7, 0.2, 0.1
W = np.linspace(0.5, 3.0, Y.size)


def _log_shares(y: np.ndarray[Any, Any], w: np.ndarray[Any, Any] | None = None) -> list[float]:
    weights = np.ones(y.size) if w is None else w
    shares = np.bincount(y, weights=weights) / weights.sum()
    return np.log(shares).tolist()


def _softmax_ce(y: np.ndarray[Any, Any], bias: np.ndarray[Any, Any], w: Any = None) -> float:
    """Mean cross-entropy of a constant logit vector, from its definition."""
    log_p = bias - np.log(np.exp(bias).sum())
    weights = np.ones(y.size) if w is None else w
    return float(-(weights * log_p[y]).sum() / weights.sum())


# ------------------------------------------------------------------------------ one-hot


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_numpy_one_hot_is_multiclass(weighted: bool) -> None:
    one_hot = np.eye(3)[Y]
    w = W if weighted else None
    r = compute_bias(one_hot, sample_weight=w)
    assert r.task == "multiclass"
    assert "one-hot" in r.task_reason and "multilabel" in r.task_reason  # how to force it
    assert r.classes == ("y0", "y1", "y2")
    np.testing.assert_allclose(r.bias, _log_shares(Y, w), rtol=1e-12)
    assert r.counts == (7, 2, 1)
    assert r.expected_loss_recommended == pytest.approx(_softmax_ce(Y, r.bias, w), rel=1e-12)
    assert r.expected_loss_zero_bias == pytest.approx(np.log(3), rel=1e-12)


def test_the_issue_figures_log_p_not_logit_p() -> None:
    p = np.array([0.7, 0.2, 0.1])
    r = compute_bias(np.eye(3)[Y])
    np.testing.assert_allclose(r.bias, np.log(p), rtol=1e-12)
    assert not np.allclose(r.bias, np.log(p / (1 - p)))


def test_task_multiclass_and_cross_entropy_take_one_hot() -> None:
    one_hot = np.eye(3)[Y]
    for kw in ({"task": "multiclass"}, {"loss": "cross_entropy"}):
        r = compute_bias(one_hot, **kw)
        assert r.task == "multiclass" and "one-hot" in r.task_reason
        np.testing.assert_allclose(r.bias, _log_shares(Y), rtol=1e-12)


def test_task_multilabel_forces_independent_labels() -> None:
    r = compute_bias(np.eye(3)[Y], task="multilabel")
    p = np.bincount(Y) / Y.size
    assert r.task == "multilabel"
    np.testing.assert_allclose(r.bias, np.log(p / (1 - p)), rtol=1e-12)


def test_one_hot_class_names_and_empty_class() -> None:
    one_hot = np.eye(4)[Y]  # class 3 never occurs
    r = compute_bias(one_hot, classes=["cat", "dog", "emu", "yak"])
    assert r.classes == ("cat", "dog", "emu", "yak")
    assert any("'yak' has no rows" in w for w in r.warnings)
    with pytest.raises(OptionError, match="names 2 classes but there are 4 one-hot"):
        compute_bias(one_hot, classes=["a", "b"])


def test_not_one_hot_stays_multilabel_and_multiclass_says_why() -> None:
    tags = np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 0, 0]])
    assert compute_bias(tags).task == "multilabel"
    with pytest.raises(DataError, match=r"2 of the 4 row\(s\) have no 1 or several"):
        compute_bias(tags, task="multiclass")
    with pytest.raises(OptionError, match="not all 0/1"):
        compute_bias(np.array([[0, 2], [1, 0]]), task="multiclass")


def test_keras_to_categorical_is_multiclass() -> None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    r = compute_bias(keras.utils.to_categorical(Y, 3))
    assert r.task == "multiclass"
    np.testing.assert_allclose(r.bias, _log_shares(Y), rtol=1e-9)


def test_one_hot_survives_saved_statistics_and_merging() -> None:
    spec = biascalc.BiasOptions().stats_spec(["a", "b"], None)
    parts = []
    for rows in (np.eye(2)[[0, 1, 1]], np.eye(2)[[0, 0]]):
        s = LabelStats(spec)
        s.update(pa.record_batch({"a": rows[:, 0], "b": rows[:, 1]}))
        parts.append(LabelStats.from_dict(json.loads(json.dumps(s.to_dict()))))
    merged = parts[0].merge(parts[1])
    assert merged.one_hot_rows == 5
    r = biascalc.compute_bias_from_stats(parts)
    assert r.task == "multiclass" and r.counts == (3, 2)
    old = parts[0].to_dict()
    del old["one_hot_rows"]  # statistics written by biascalc 0.1
    assert biascalc.compute_bias_from_stats([old]).task == "multilabel"
    with pytest.raises(DataError, match="do not record whether the rows are one-hot"):
        biascalc.compute_bias_from_stats([old], task="multiclass")


def test_cli_several_one_hot_columns(run: Any, tmp_path: Path) -> None:
    path = tmp_path / "oh.csv"
    one_hot = np.eye(3, dtype=np.int64)[Y]
    pcsv.write_csv(
        pa.table({"cat": one_hot[:, 0], "dog": one_hot[:, 1], "emu": one_hot[:, 2]}), path
    )
    result = run(path, "-t", "cat", "-t", "dog", "-t", "emu", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["task"] == "multiclass" and "one-hot" in data["task_reason"]
    assert data["classes"] == ["cat", "dog", "emu"]
    assert data["bias"] == pytest.approx(_log_shares(Y), rel=1e-12)
    forced = json.loads(run(path, "-t", "cat", "-t", "dog", "-t", "emu", "-f", "json",
                            "--task", "multilabel").output)  # fmt: skip
    assert forced["task"] == "multilabel"


# ------------------------------------------------------------------------------ tensors


def test_torch_tensors_as_labels_and_weights() -> None:
    torch = pytest.importorskip("torch")
    y = torch.tensor(Y)
    for labels in (y, y.float(), torch.nn.functional.one_hot(y), y.float().requires_grad_()):
        r = compute_bias(labels, sample_weight=torch.tensor(W, requires_grad=True))
        assert r.task == "multiclass", labels.dtype
        np.testing.assert_allclose(r.bias, _log_shares(Y, W), rtol=1e-9)
    half = compute_bias(y.to(torch.bfloat16), sample_weight=torch.tensor(W).to(torch.float16))
    w16 = torch.tensor(W).to(torch.float16).double().numpy()  # the weights as given
    np.testing.assert_allclose(half.bias, _log_shares(Y, w16), rtol=1e-9)
    pos = compute_bias(np.eye(2)[[0, 1, 1]], task="multilabel", pos_weight=torch.tensor([2.0, 3]))
    assert pos.loss_parameters["pos_weight"] == [2.0, 3.0]


def test_jax_arrays_as_labels_weights_and_priors() -> None:
    jnp = pytest.importorskip("jax.numpy")
    r = compute_bias(jnp.asarray(Y), sample_weight=jnp.asarray(W))
    np.testing.assert_allclose(r.bias, _log_shares(Y, W), rtol=1e-6)
    one_hot = compute_bias(jnp.eye(3, dtype=jnp.bfloat16)[Y])
    assert one_hot.task == "multiclass"
    np.testing.assert_allclose(one_hot.bias, _log_shares(Y), rtol=1e-12)
    prior = biascalc.compute_bias_from_prior(jnp.asarray(0.1))
    assert prior.bias[0] == pytest.approx(np.log(0.1 / 0.9), rel=1e-6)


class _ArrayProtocol:
    """Labels offering only NumPy's ``__array__`` protocol."""

    def __init__(self, values: np.ndarray[Any, Any]) -> None:
        self.values = values

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray[Any, Any]:
        return self.values if dtype is None else self.values.astype(dtype)


class _DLPackOnly:
    """Labels offering only the DLPack exchange protocol."""

    def __init__(self, values: np.ndarray[Any, Any]) -> None:
        self.values = values

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self.values.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> Any:
        return self.values.__dlpack_device__()


@pytest.mark.parametrize("wrap", [_ArrayProtocol, _DLPackOnly], ids=["__array__", "dlpack"])
def test_array_protocols(wrap: Any) -> None:
    r = compute_bias(wrap(Y), sample_weight=wrap(W))
    np.testing.assert_allclose(r.bias, _log_shares(Y, W), rtol=1e-12)
    assert compute_bias(wrap(np.eye(3)[Y])).task == "multiclass"


def test_no_framework_is_imported_for_protocol_objects() -> None:
    code = (
        "import sys, numpy as np, biascalc\n"
        "class A:\n"
        "    def __array__(self, dtype=None, copy=None): return np.array([0, 1, 1, 2])\n"
        "r = biascalc.compute_bias(A(), sample_weight=A())\n"
        "print(r.task, sorted(m for m in ('torch', 'jax', 'tensorflow', 'keras') "
        "if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["multiclass", "[]"]


# ------------------------------------------------------------------------------ paths


def _write(path: Path, y: list[int]) -> Path:
    pcsv.write_csv(pa.table({"y": y}), path)
    return path


def test_path_objects(tmp_path: Path) -> None:
    a, b = _write(tmp_path / "a.csv", [0, 1, 1]), _write(tmp_path / "b.csv", [1, 1])
    assert compute_bias_from_file(a, "y").counts == (1, 2)
    both = compute_bias_from_file([a, b], "y")
    assert both.counts == (1, 4) and both.source == (str(a), str(b))
    assert compute_bias_from_file(tmp_path, "y").counts == (1, 4)
    with pytest.raises(OptionError, match=r"must be a str or os\.PathLike"):
        compute_bias_from_file(3, "y")  # type: ignore[arg-type]


def test_same_file_twice_is_counted_once(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.csv", [0, 1, 1])
    link = tmp_path / "sub"
    link.mkdir()
    os.link(a, link / "hard.csv")  # the same file under another name
    # The folder holds a.csv and its hard link; then a.csv twice more and the link again.
    r = compute_bias_from_file([tmp_path, a, str(a), link / "hard.csv"], "y")
    assert r.n_samples == 3 and r.counts == (1, 2)
    notes = [w for w in r.warnings if "counted once" in w]
    assert len(notes) == 4 and all(w.startswith(f"'{a}' is reached again") for w in notes)
    assert "hard.csv" in notes[0]


# ------------------------------------------------------------------------------ frames


def test_polars_lazy_frame() -> None:
    pl = pytest.importorskip("polars")
    lazy = pl.DataFrame({"y": Y}).lazy()
    np.testing.assert_allclose(compute_bias(lazy).bias, _log_shares(Y), rtol=1e-12)
    frame = pl.DataFrame({"y": Y, "x": np.arange(Y.size) * 1.5}).lazy()
    r = compute_bias(frame.select("y"), sample_weight=pl.Series(W))
    np.testing.assert_allclose(r.bias, _log_shares(Y, W), rtol=1e-12)


# ------------------------------------------------------------------------------ not labels


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (5, "not the single value 5"),
        (np.float64(0.5), "not the single value"),
        (np.array(3), "not the single value"),
        (None, "labels are None"),
        ("cat", "not a single string"),
        (b"cat", "not a single bytes object"),
        ({"cat": 3, "dog": 5}, "compute_bias_from_counts"),
        ([b"\xff\xfe", b"ok"], "bytes that are not UTF-8"),
    ],
)
def test_inputs_that_are_not_labels(labels: Any, message: str) -> None:
    with pytest.raises(DataError, match=message):
        compute_bias(labels)


ACCEPTED_NAMED = ("NumPy", "pandas", "polars", "Arrow", "datasets.Dataset", "torch", "JAX")


def _unsupported_inputs() -> list[Any]:
    out: list[Any] = [object(), Ellipsis, len]
    try:
        import polars as pl
    except ImportError:
        return out
    return [*out, pl.col("y")]  # a polars expression, not a Series


@pytest.mark.parametrize("task", ["auto", "tokens"])
def test_an_object_that_holds_no_labels_is_one_line_naming_what_is_read(task: str) -> None:
    """compute_bias(object()) was a TypeError from deep inside pyarrow; now it fails before
    any reading, naming every kind of input the API takes."""
    for value in _unsupported_inputs():
        with pytest.raises(DataError) as info:
            compute_bias(value, task=task)
        message = str(info.value)
        assert "\n" not in message and "not supported" in message, message
        assert type(value).__name__ in message
        assert all(name in message for name in ACCEPTED_NAMED), message
        assert "compute_bias_from_file" in message


@pytest.mark.parametrize(
    "labels",
    [{0, 1}, frozenset({"cat", "dog"}), {"a": 1, "b": 0}.keys()],
    ids=["set", "frozenset", "dict_keys"],
)
def test_a_set_is_refused_as_it_has_lost_the_counts(labels: Any) -> None:
    # A set keeps one of each value: read as labels, every class would have one row.
    for task in ("auto", "multiclass"):
        with pytest.raises(DataError, match=r"labels are a set, which keeps one of each value"):
            compute_bias(labels, task=task)
    with pytest.raises(DataError, match=r"token ids are a set"):
        compute_bias(labels, task="tokens")


def test_dicts_that_are_not_columns_say_what_to_pass() -> None:
    with pytest.raises(DataError, match=r"dict of single values; for class counts use "):
        compute_bias({"cat": 3, "dog": 5})
    with pytest.raises(DataError, match=r"^labels are a dict; for class counts"):
        compute_bias({})
    encoded = {"input_ids": [[5, 1, 2]], "attention_mask": [[1, 1, 1]]}  # a tokenizer's output
    with pytest.raises(DataError, match=r"token ids are a dict .* e\.g\. y\['input_ids'\]"):
        compute_bias(encoded, task="tokens")


def test_paths_point_to_compute_bias_from_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"labels are a path; read files with compute_bias_from"):
        compute_bias(tmp_path / "labels.csv")
    with pytest.raises(DataError, match=r"single string; read a file with compute_bias_from"):
        compute_bias(str(tmp_path / "labels.csv"))


def test_a_streaming_dataset_is_refused_with_what_to_pass() -> None:
    datasets = pytest.importorskip("datasets")
    stream = datasets.Dataset.from_dict({"label": Y.tolist()}).to_iterable_dataset()
    with pytest.raises(DataError, match=r"streaming IterableDataset.*\[row\['label'\] for row"):
        compute_bias(stream)


def test_iterators_are_read_once_in_order() -> None:
    """A generator (or map, or iter()) of labels, weights or token ids is the list it yields."""
    r = compute_bias((int(v) for v in Y), sample_weight=(float(w) for w in W))
    np.testing.assert_allclose(r.bias, _log_shares(Y, W), rtol=1e-12)
    assert r.counts == tuple(np.bincount(Y).tolist())
    r = compute_bias(map(str, Y))
    assert r.classes == ("0", "1", "2")
    np.testing.assert_allclose(r.bias, _log_shares(Y), rtol=1e-12)

    class Once:  # an Iterable without __len__: read once, like a generator
        def __iter__(self) -> Any:
            return iter(Y.tolist())

    np.testing.assert_allclose(compute_bias(Once()).bias, _log_shares(Y), rtol=1e-12)
    ids = np.array([3, 1, 3, 0, 3, 1, 2])
    tokens = compute_bias(iter(ids.tolist()), task="tokens")
    assert tokens.counts == tuple(np.bincount(ids).tolist())
    assert compute_bias({"a": 1, "b": 2}.values()).task == "binary"  # a sized view: a sequence


def test_bytes_labels_and_dict_of_columns_are_read() -> None:
    r = compute_bias([b"cat", b"dog", b"dog"])
    assert r.classes == ("cat", "dog")
    assert compute_bias(np.array([b"cat", b"dog", b"dog"])).classes == ("cat", "dog")
    cols = compute_bias({"a": [1, 0, 0], "b": [0, 1, 1]})
    assert cols.task == "multiclass" and cols.classes == ("a", "b")


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ([1.0, -2.0, 1.0], r"sample_weight\[1\] is -2.0; sample weights must be finite"),
        ([1.0, 1.0, np.nan], r"sample_weight\[2\] is missing \(NaN\)"),
        ([1.0, np.inf, 1.0], r"sample_weight\[1\] is inf"),
        ([1.0, 2.0], r"sample_weight has shape \(2,\) but y has 3 rows"),
        (2.0, "one number per row, not float"),
        (["a", "b", "c"], "sample_weight must hold numbers"),
    ],
)
def test_sample_weight_messages(weights: Any, message: str) -> None:
    with pytest.raises(DataError, match=message) as info:
        compute_bias([0, 1, 1], sample_weight=weights)
    assert "line" not in str(info.value) and "__biascalc" not in str(info.value)


def test_class_limit_says_what_to_do() -> None:
    from biascalc.stats import CLASS_LIMIT

    n = CLASS_LIMIT + 1
    with pytest.raises(DataError, match=r"more than 1,000,000 distinct values.*--counts"):
        compute_bias(np.char.mod("c%d", np.arange(n)))
    with pytest.raises(DataError, match=r"1,000,000 distinct.*--task regression"):
        compute_bias(np.arange(n), task="multiclass")
