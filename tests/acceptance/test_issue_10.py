"""Acceptance check of issue 10, part 1: declared class order and names (pandas and polars
categoricals, Arrow dictionaries, Hugging Face ClassLabel), written from the issue's text only.

Files are written by pandas, polars, Hugging Face ``datasets`` and pyarrow; every count,
share and bias is recomputed here from the raw values (numpy), never taken from biascalc.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather
import pyarrow.parquet as pq
import pytest

from ._util import (
    assert_absent_warned,
    close,
    hf_inputs,
    log_prior_differences,
    logit,
    run_json,
)

RNG = np.random.default_rng(10)

# --------------------------------------------------------------------------- 1. declared order

CATS = ["zebra", "apple", "mango", "kiwi"]  # declared order, not code point order


@pytest.fixture(scope="module")
def pandas_categorical(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.Series]:
    values = RNG.choice(["zebra", "apple", "mango"], size=400, p=[0.6, 0.3, 0.1])
    s = pd.Series(pd.Categorical(values, categories=CATS), name="y")
    folder = tmp_path_factory.mktemp("i10")
    frame = pd.DataFrame({"y": s, "w": RNG.uniform(0.5, 2.0, 400)})
    frame.to_parquet(folder / "cat.parquet", index=False)
    frame.to_feather(folder / "cat.arrow")
    return folder, s


@pytest.mark.parametrize("name", ["cat.parquet", "cat.arrow"])
def test_pandas_categorical_keeps_declared_order(
    pandas_categorical: tuple[Path, pd.Series], name: str
) -> None:
    folder, s = pandas_categorical
    r = run_json(folder / name, "-t", "y")
    assert r["task"] == "multiclass"
    assert r["classes"] == CATS
    codes = s.cat.codes.to_numpy()
    counts = np.bincount(codes, minlength=4)
    assert r["counts"] == counts.tolist()  # lines up with Series.cat.codes
    assert len(r["bias"]) == 4
    log_prior_differences(r["bias"], counts, counts > 0)
    assert_absent_warned(r, ["kiwi"])
    assert r["bias"][3] < min(r["bias"][:3])
    assert re.search(r"categor", r["task_reason"], re.I), r["task_reason"]


def test_pandas_categorical_weighted(pandas_categorical: tuple[Path, pd.Series]) -> None:
    folder, s = pandas_categorical
    w = pd.read_parquet(folder / "cat.parquet")["w"].to_numpy()
    r = run_json(folder / "cat.parquet", "-t", "y", "-w", "w")
    sums = np.bincount(s.cat.codes.to_numpy(), weights=w, minlength=4)
    close(r["priors"][:3], (sums / sums.sum())[:3], tol=1e-6)
    close(np.array(r["bias"][:3]) - r["bias"][0], np.log(sums[:3] / sums[0]), tol=1e-6)


def test_classes_option_overrides_declared_order(
    pandas_categorical: tuple[Path, pd.Series],
) -> None:
    folder, s = pandas_categorical
    order = ["mango", "kiwi", "zebra", "apple"]
    r = run_json(folder / "cat.parquet", "-t", "y", "--classes", ",".join(order))
    assert r["classes"] == order
    counts = np.array([(s == c).sum() for c in order])
    assert r["counts"] == counts.tolist()
    log_prior_differences(r["bias"], counts, counts > 0)
    assert "--classes" in r["task_reason"] or "classes" in r["task_reason"].lower()


def test_ordered_categorical_ordinal_no_code_point_warning(tmp_path: Path) -> None:
    levels = ["low", "mid", "high", "top"]
    values = RNG.choice(levels, size=300, p=[0.4, 0.3, 0.2, 0.1])
    s = pd.Series(pd.Categorical(values, categories=levels, ordered=True), name="g")
    pd.DataFrame({"g": s}).to_parquet(tmp_path / "ord.parquet", index=False)
    r = run_json(tmp_path / "ord.parquet", "-t", "g", "--task", "ordinal")
    assert r["classes"] == levels
    codes = s.cat.codes.to_numpy()
    close(r["bias"], [logit(np.mean(codes > k)) for k in range(3)])
    assert r["warnings"] == [], r["warnings"]


def test_polars_enum_and_categorical(tmp_path: Path) -> None:
    pl = pytest.importorskip("polars")
    enum = pl.Enum(["lo", "mid", "hi", "never"])
    values = RNG.choice(["hi", "lo", "mid"], size=300, p=[0.5, 0.3, 0.2]).tolist()
    frame = pl.DataFrame(
        {"e": pl.Series(values, dtype=enum), "c": pl.Series(values, dtype=pl.Categorical)}
    )
    frame.write_parquet(tmp_path / "pl.parquet")
    r = run_json(tmp_path / "pl.parquet", "-t", "e")
    assert r["classes"] == ["lo", "mid", "hi", "never"]
    counts = np.bincount(frame["e"].to_physical().to_numpy(), minlength=4)
    assert r["counts"] == counts.tolist()  # lines up with to_physical()
    log_prior_differences(r["bias"], counts, counts > 0)
    assert_absent_warned(r, ["never"])
    # a polars Categorical: the physical codes index the dictionary written to the file
    dictionary = pq.read_table(tmp_path / "pl.parquet").column("c").chunk(0).dictionary
    r = run_json(tmp_path / "pl.parquet", "-t", "c")
    assert r["classes"] == dictionary.to_pylist()
    codes = frame["c"].to_physical().to_numpy()
    assert r["counts"] == np.bincount(codes, minlength=len(dictionary)).tolist()


def test_arrow_dictionary_column(tmp_path: Path) -> None:
    dictionary = pa.array(["b", "c", "a"])
    indices = pa.array(RNG.choice(3, size=200, p=[0.2, 0.5, 0.3]).astype("int32"))
    table = pa.table({"y": pa.DictionaryArray.from_arrays(indices, dictionary)})
    with pa.ipc.new_file(tmp_path / "d.arrow", table.schema) as writer:
        writer.write_table(table)
    r = run_json(tmp_path / "d.arrow", "-t", "y")
    assert r["classes"] == ["b", "c", "a"]
    counts = np.bincount(indices.to_numpy(), minlength=3)
    assert r["counts"] == counts.tolist()
    close(r["bias"], np.log(counts / counts.sum()))


def test_api_pandas_and_polars_series() -> None:
    import biascalc

    values = RNG.choice(["x", "y"], size=100, p=[0.3, 0.7])
    s = pd.Series(pd.Categorical(values, categories=["y", "z", "x"]))
    r = biascalc.compute_bias(s)
    assert list(r.classes) == ["y", "z", "x"]
    counts = np.bincount(s.cat.codes.to_numpy(), minlength=3)
    log_prior_differences(list(r.bias), counts, counts > 0)
    assert any("z" in w for w in r.warnings)
    pl = pytest.importorskip("polars")
    ps = pl.Series(values.tolist(), dtype=pl.Enum(["y", "z", "x"]))
    r2 = biascalc.compute_bias(ps)
    assert list(r2.classes) == ["y", "z", "x"]
    close(r2.bias, r.bias, tol=1e-12)


@pytest.mark.parametrize("which", [0, 1])
def test_classlabel_names_in_id_order(hf_files: tuple[Path, dict[str, Any]], which: int) -> None:
    folder, raw = hf_files
    path = hf_inputs(folder)[which]
    r = run_json(path, "-t", "label")
    assert r["classes"] == raw["names"]
    counts = np.bincount(raw["label"], minlength=4)
    assert r["counts"] == counts.tolist()
    log_prior_differences(r["bias"], counts, counts > 0)
    assert_absent_warned(r, ["other"])
    assert "classlabel" in r["task_reason"].lower(), r["task_reason"]


def test_classlabel_positive_and_classes_take_names(hf_files: tuple[Path, dict[str, Any]]) -> None:
    folder, raw = hf_files
    path = folder / "hf.parquet"
    spam = np.array(raw["spam"])
    r = run_json(path, "-t", "spam")
    assert r["task"] == "binary"
    close(r["bias"], [logit(spam.mean())])  # positive: the last name, 'spam'
    r = run_json(path, "-t", "spam", "--positive", "ham")
    close(r["bias"], [logit(1 - spam.mean())])
    order = ["pos", "other", "neg", "neu"]
    r = run_json(path, "-t", "label", "--classes", ",".join(order))
    assert r["classes"] == order
    ids = [raw["names"].index(c) for c in order]
    counts = np.bincount(raw["label"], minlength=4)[ids]
    log_prior_differences(r["bias"], counts, counts > 0)
