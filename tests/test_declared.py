"""Declared class order and names: pandas categoricals, polars Enum/Categorical, Arrow
dictionary columns and Hugging Face ClassLabel, in files written by those tools.

Each expected count is recomputed from the tool's own codes (``Series.cat.codes``,
polars ``to_physical()``, the ClassLabel ids), so a class order that does not match the
user's indices fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import biascalc
from biascalc.errors import DataError
from biascalc.readers import declared_classes
from biascalc.stats.declared import DeclaredClasses
from tests.conftest import saved_hf_file

pd = pytest.importorskip("pandas")

RNG = np.random.default_rng(10)
CATEGORIES = ["medium", "high", "low", "unused"]  # not sorted, one never used


def _softmax(b: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    e = np.exp(b - b.max())
    return np.asarray(e / e.sum())


def _codes_frame(n: int = 500, ordered: bool = False) -> Any:
    codes = RNG.choice(3, n, p=[0.5, 0.3, 0.2])  # never code 3 ('unused')
    cat = pd.Categorical.from_codes(codes, categories=CATEGORIES, ordered=ordered)
    return pd.DataFrame({"y": cat, "w": RNG.random(n) + 0.1})


def _check_against_codes(
    result: biascalc.BiasResult, codes: Any, names: list[Any], w: Any = None
) -> None:
    """classes == the declared names; counts and priors per code, from the codes."""
    codes = np.asarray(codes)
    k = len(names)
    assert result.classes == tuple(names)
    assert result.counts == tuple(np.bincount(codes, minlength=k).tolist())
    weights = np.ones(codes.size) if w is None else np.asarray(w)
    share = np.bincount(codes, weights, minlength=k) / weights.sum()
    assert result.priors is not None
    np.testing.assert_allclose(result.priors, share, rtol=1e-12)
    present = share > 0
    np.testing.assert_allclose(_softmax(result.bias)[present], share[present], rtol=1e-5)


@pytest.mark.parametrize("ordered", [False, True], ids=["unordered", "ordered"])
@pytest.mark.parametrize("fmt", ["parquet", "feather"])
def test_pandas_categorical_in_a_file(tmp_path: Path, fmt: str, ordered: bool) -> None:
    df = _codes_frame(ordered=ordered)
    path = tmp_path / f"labels.{fmt}"
    df.to_parquet(path) if fmt == "parquet" else df.to_feather(path)
    r = biascalc.compute_bias_from_file(str(path), "y")
    _check_against_codes(r, df["y"].cat.codes, CATEGORIES)
    assert r.task == "multiclass"
    assert "declared" in r.task_reason and "categories" in r.task_reason
    assert any("'unused'" in w for w in r.warnings)
    assert np.isfinite(r.bias).all()
    weighted = biascalc.compute_bias_from_file(str(path), "y", weight="w")
    _check_against_codes(weighted, df["y"].cat.codes, CATEGORIES, df["w"])


def test_pandas_categorical_in_memory_follows_the_categories() -> None:
    df = _codes_frame()
    r = biascalc.compute_bias(df["y"], sample_weight=df["w"])
    _check_against_codes(r, df["y"].cat.codes, CATEGORIES, df["w"])
    ints = pd.Series(pd.Categorical([30, 10, 30, 30], categories=[30, 20, 10]))
    r = biascalc.compute_bias(ints)
    _check_against_codes(r, ints.cat.codes, [30, 20, 10])


def test_ordered_categorical_needs_no_code_point_warning(tmp_path: Path) -> None:
    df = _codes_frame(ordered=True)
    path = tmp_path / "grades.parquet"
    df.to_parquet(path)
    r = biascalc.compute_bias_from_file(str(path), "y", task="ordinal")
    assert r.classes == tuple(CATEGORIES)
    assert not any("code point" in w for w in r.warnings)
    # The same text labels without declared categories do get the warning.
    plain = biascalc.compute_bias(df["y"].astype(str).tolist(), task="ordinal")
    assert any("code point" in w for w in plain.warnings)
    # Output k predicts P(y > class k): recomputed from the codes.
    codes = df["y"].cat.codes.to_numpy()
    above = np.array([(codes > k).mean() for k in range(3)])
    np.testing.assert_allclose(1 / (1 + np.exp(-r.bias[:2])), above[:2], rtol=1e-9)


def test_classes_option_overrides_the_categories(tmp_path: Path) -> None:
    df = _codes_frame()
    path = tmp_path / "labels.parquet"
    df.to_parquet(path)
    order = ["low", "medium", "high"]
    r = biascalc.compute_bias_from_file(str(path), "y", classes=order)
    labels = df["y"].astype(str).to_numpy()
    assert r.classes == tuple(order)
    assert r.counts == tuple(int((labels == c).sum()) for c in order)
    assert r.task_reason.endswith("classes in the order of --classes")


@pytest.mark.parametrize("writer", ["parquet", "ipc"])
def test_polars_enum(tmp_path: Path, writer: str) -> None:
    pl = pytest.importorskip("polars")
    levels = ["z", "x", "w", "never"]
    values = RNG.choice(levels[:3], 300).tolist()
    frame = pl.DataFrame({"y": pl.Series(values, dtype=pl.Enum(levels))})
    path = tmp_path / f"labels.{writer}"
    frame.write_parquet(path) if writer == "parquet" else frame.write_ipc(path)
    r = biascalc.compute_bias_from_file(str(path), "y")
    _check_against_codes(r, frame["y"].to_physical().to_numpy(), levels)
    in_memory = biascalc.compute_bias(frame["y"])
    _check_against_codes(in_memory, frame["y"].to_physical().to_numpy(), levels)


def test_polars_categorical_with_varying_dictionaries_warns(tmp_path: Path) -> None:
    pl = pytest.importorskip("polars")
    values = ["x"] * 100 + RNG.choice(["x", "w", "q"], 300).tolist()
    frame = pl.DataFrame({"y": pl.Series(values, dtype=pl.Categorical)})
    path = tmp_path / "labels.parquet"
    frame.write_parquet(path, row_group_size=100)  # each row group: its own dictionary
    dictionaries = {
        tuple(pq.ParquetFile(path).read_row_group(i).column("y").chunk(0).dictionary.to_pylist())
        for i in range(4)
    }
    assert len(dictionaries) > 1  # the premise: polars writes differing dictionaries
    r = biascalc.compute_bias_from_file(str(path), "y")
    assert r.classes == tuple(sorted(set(values)))
    assert r.counts == tuple(values.count(c) for c in sorted(set(values)))
    assert any("dictionaries differ" in w for w in r.warnings)


def test_ordered_categories_that_differ_between_files_are_an_error(tmp_path: Path) -> None:
    for i, cats in enumerate((["a", "b"], ["b", "a"])):
        pd.DataFrame({"y": pd.Categorical(["a", "b"], categories=cats, ordered=True)}).to_parquet(
            tmp_path / f"part{i}.parquet"
        )
    with pytest.raises(DataError, match=r"declares different classes.*--classes"):
        biascalc.compute_bias_from_file(str(tmp_path), "y")
    r = biascalc.compute_bias_from_file(str(tmp_path), "y", classes=["b", "a"])
    assert r.classes == ("b", "a") and r.counts == (2, 2)


# Hugging Face datasets ---------------------------------------------------------------


def _hf_dataset(labels: list[int], names: list[str]) -> Any:
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"label": datasets.ClassLabel(names=names)})
    return datasets.Dataset.from_dict({"label": labels}, features=features)


@pytest.mark.parametrize("how", ["to_parquet", "save_to_disk"])
def test_class_label_names_in_id_order(tmp_path: Path, how: str) -> None:
    names = ["sports", "world", "business", "science"]  # not sorted; 'science' absent
    labels = [*RNG.choice(3, 400, p=[0.2, 0.5, 0.3]).tolist(), -1, -1]  # -1: no label
    path = saved_hf_file(_hf_dataset(labels, names), tmp_path, how)
    r = biascalc.compute_bias_from_file(str(path), "label")
    ids = np.array([i for i in labels if i >= 0])
    _check_against_codes(r, ids, names)
    assert r.n_missing == 2  # the -1 rows
    assert "ClassLabel" in r.task_reason
    assert any("'science'" in w for w in r.warnings)
    assert r.outputs == tuple(names)


def test_class_label_binary_positive_and_classes_take_names(tmp_path: Path) -> None:
    labels = RNG.choice(2, 200, p=[0.8, 0.2]).tolist()
    path = tmp_path / "train.parquet"
    _hf_dataset(labels, ["neg", "pos"]).to_parquet(str(path))
    share = np.mean(np.array(labels) == 1)
    r = biascalc.compute_bias_from_file(str(path), "label")
    assert r.task == "binary" and r.classes == ("neg", "pos")
    assert r.bias[0] == pytest.approx(np.log(share / (1 - share)), rel=1e-12)
    flipped = biascalc.compute_bias_from_file(str(path), "label", positive="neg")
    assert flipped.classes == ("pos", "neg")
    assert flipped.bias[0] == pytest.approx(np.log((1 - share) / share), rel=1e-12)
    assert "--positive" in flipped.task_reason
    renamed = biascalc.compute_bias_from_file(str(path), "label", classes=["pos", "neg"])
    assert renamed.classes == ("pos", "neg")


def test_class_label_in_memory_dataset() -> None:
    labels = [0, 2, 2, 1, 2]
    ds = _hf_dataset(labels, ["a", "b", "c"])
    r = biascalc.compute_bias(ds)
    _check_against_codes(r, labels, ["a", "b", "c"])
    picked = biascalc.compute_bias(ds.select([0, 1, 2]))  # an indices mapping: applied
    _check_against_codes(picked, labels[:3], ["a", "b", "c"])


def test_class_label_id_out_of_range_is_an_error(tmp_path: Path) -> None:
    meta = {"info": {"features": {"label": {"_type": "ClassLabel", "names": ["a", "b"]}}}}
    table = pa.table({"label": [0, 1, 5]}).replace_schema_metadata(
        {"huggingface": json.dumps(meta)}
    )
    path = tmp_path / "bad.parquet"
    pq.write_table(table, path)
    with pytest.raises(DataError, match=r"id 5.*2 classes"):
        biascalc.compute_bias_from_file(str(path), "label")


def test_declared_classes_reads_every_feature_shape() -> None:
    features = {
        "label": {"_type": "ClassLabel", "names": ["x", "y"]},
        "tags": {"_type": "Sequence", "feature": {"_type": "ClassLabel", "names": ["p", "q"]}},
        "more": {"_type": "List", "feature": {"_type": "ClassLabel", "names": ["r"]}},
        "text": {"_type": "Value", "dtype": "string"},
    }
    schema = pa.schema(
        [
            ("label", pa.int64()),
            ("tags", pa.list_(pa.int64())),
            ("more", pa.large_list(pa.int64())),
            ("text", pa.string()),
            ("cat", pa.dictionary(pa.int8(), pa.string(), ordered=True)),
        ],
        metadata={"huggingface": json.dumps({"info": {"features": features}})},
    )
    got = declared_classes(schema)
    assert got == {
        "label": DeclaredClasses("ClassLabel", ("x", "y"), True),
        "tags": DeclaredClasses("ClassLabel", ("p", "q"), True),
        "more": DeclaredClasses("ClassLabel", ("r",), True),
        "cat": DeclaredClasses("categories", None, True),
    }
    broken = pa.schema([("label", pa.int64())], metadata={"huggingface": "{not json"})
    assert declared_classes(broken) == {}


def test_declared_classes_survive_saved_statistics(tmp_path: Path, run: Any) -> None:
    labels = [0, 2, 2, 1, 2, 0]
    names = ["b", "c", "a"]
    for i, part in enumerate((labels[:3], labels[3:])):
        _hf_dataset(part, names).to_parquet(str(tmp_path / f"part{i}.parquet"))
    for i in range(2):
        res = run(
            tmp_path / f"part{i}.parquet", "-t", "label", "--save-stats", tmp_path / f"{i}.json"
        )
        assert res.exit_code == 0, res.output
    merged = run(
        "--from-stats", tmp_path / "0.json", "--from-stats", tmp_path / "1.json", "-f", "json"
    )
    assert merged.exit_code == 0, merged.output
    data = json.loads(merged.output)
    assert data["classes"] == names
    assert data["counts"] == np.bincount(labels, minlength=3).tolist()
    assert "ClassLabel" in data["task_reason"]


def _lost_warning(result: Any) -> list[str]:
    return [w for w in result.warnings if "pandas categorical" in w]


def test_integer_categories_lost_by_parquet_are_a_warning(tmp_path: Path) -> None:
    """pandas writes an integer categorical to Parquet as plain integers: the declared
    categories (here 5, 3, 1, with 5 unused) cannot be recovered, and biascalc says so
    instead of silently using the values found in ascending order."""
    y = pd.Series(pd.Categorical([3, 1, 3, 1, 3], categories=[5, 3, 1]))
    path = tmp_path / "int_cat.parquet"
    pd.DataFrame({"y": y, "s": y.astype(str).astype("category")}).to_parquet(path)
    assert pq.read_schema(path).field("y").type == pa.int64()  # what pandas wrote
    result = biascalc.compute_bias_from_file(path, target="y")
    assert result.classes == (1, 3)  # the values found
    (warning,) = _lost_warning(result)
    assert "'y'" in warning and "3 categories" in warning and "--classes" in warning
    # --classes gives the order: no warning, the user's classes.
    given = biascalc.compute_bias_from_file(path, target="y", classes=[5, 3, 1])
    assert given.classes == (5, 3, 1) and _lost_warning(given) == []
    # Text categories are stored as a dictionary: declared, no warning.
    text = biascalc.compute_bias_from_file(path, target="s")
    assert _lost_warning(text) == []
    # A plain integer column written by pandas: no warning.
    plain = tmp_path / "plain.parquet"
    pd.DataFrame({"y": [3, 1, 3]}).to_parquet(plain)
    assert _lost_warning(biascalc.compute_bias_from_file(plain, target="y")) == []


# Outputs that are not the training script's class indices ---------------------------


def _index_warnings(result: Any, needle: str) -> list[str]:
    return [w for w in result.warnings if needle in w]


@pytest.mark.parametrize(
    ("labels", "spelled"),
    [
        ([0, 2, 5, 5, 2, 0], "--classes 0,1,2,3,4,5"),
        ([1, 2, 3, 3, 1], "--classes 0,1,2,3"),
        ([-1, 0, 1, 1, 0], None),
    ],
    ids=["gaps", "from-one", "negative"],
)
def test_integer_labels_that_are_not_indices_warn(
    tmp_path: Path, labels: list[int], spelled: str | None
) -> None:
    """{0, 2, 5}: output 1 is label 2, while CrossEntropyLoss on the raw labels needs 6
    outputs with label 2 at output 2; biascalc says so, and how to get that head."""
    path = tmp_path / "y.parquet"
    pd.DataFrame({"y": labels}).to_parquet(path)
    r = biascalc.compute_bias_from_file(path, "y")
    assert r.classes == tuple(sorted(set(labels)))
    (warning,) = _index_warnings(r, "are not the indices")
    assert f"output 1 is {sorted(set(labels))[1]}" in warning
    assert (spelled in warning) if spelled else ("map them to 0..K-1" in warning)
    if spelled is not None:  # following the advice: output i is label i, no warning
        given = biascalc.compute_bias_from_file(path, "y", classes=spelled.split()[1].split(","))
        assert given.classes == tuple(range(max(labels) + 1))
        assert _index_warnings(given, "are not the indices") == []
        counts = np.bincount(labels, minlength=max(labels) + 1)
        assert given.counts == tuple(counts.tolist())
    # Labels that are 0..K-1 need no warning.
    ok = tmp_path / "ok.parquet"
    pd.DataFrame({"y": [0, 1, 2, 2]}).to_parquet(ok)
    assert _index_warnings(biascalc.compute_bias_from_file(ok, "y"), "indices") == []


def test_classes_in_another_order_than_the_declared_ones_warn(tmp_path: Path) -> None:
    path = tmp_path / "train.parquet"
    _hf_dataset([0, 1, 2, 2, 1], ["a", "b", "c"]).to_parquet(str(path))
    same = biascalc.compute_bias_from_file(str(path), "label", classes=["a", "b", "c"])
    assert _index_warnings(same, "differently") == []
    other = biascalc.compute_bias_from_file(str(path), "label", classes=["c", "a", "b"])
    assert other.classes == ("c", "a", "b")
    (warning,) = _index_warnings(other, "differently")
    assert "{'a', 'b', 'c'}" in warning and "not code i" in warning


def test_positive_naming_code_zero_of_a_declared_binary_column_warns(tmp_path: Path) -> None:
    path = tmp_path / "train.parquet"
    _hf_dataset([0, 0, 1, 0], ["positive", "negative"]).to_parquet(str(path))
    r = biascalc.compute_bias_from_file(str(path), "label", positive="positive")
    assert r.classes == ("negative", "positive")
    assert r.bias[0] == pytest.approx(np.log(3 / 1), rel=1e-12)  # P(id == 0) = 3/4
    (warning,) = _index_warnings(r, "is code 0")
    assert "(code == 0)" in warning
    usual = biascalc.compute_bias_from_file(str(path), "label", positive="negative")
    assert _index_warnings(usual, "is code 0") == []
