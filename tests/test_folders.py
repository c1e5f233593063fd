"""Folders as tools leave them: Delta Lake tables (current snapshot only), Hugging Face
save_to_disk folders, polars' view types, Dask's _metadata.  Every folder is written by
the real tool; expected counts come from the rows the test wrote (NumPy), never from
biascalc."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import biascalc
from biascalc.errors import DataError
from tests.conftest import python_without_pandas

RNG = np.random.default_rng(3)


def _counts(result: biascalc.BiasResult) -> dict[Any, int]:
    assert result.classes is not None and result.counts is not None
    return dict(zip(result.classes, result.counts, strict=True))


def _expected(values: Any) -> dict[Any, int]:
    labels, counts = np.unique(np.asarray(values), return_counts=True)
    return {v.item(): int(c) for v, c in zip(labels, counts, strict=True)}


def _labels(n: int, k: int = 3) -> Any:
    return RNG.integers(0, k, n)


# -- Delta Lake ---------------------------------------------------------------------------


@pytest.fixture
def deltalake() -> Any:
    return pytest.importorskip("deltalake")


def test_delta_reads_the_current_snapshot_not_removed_files(
    deltalake: Any, tmp_path: Path, run: Callable[..., Any]
) -> None:
    path = str(tmp_path / "table")
    first, second, third = _labels(1000), _labels(1000), _labels(500)
    deltalake.write_deltalake(path, pa.table({"y": first}))
    deltalake.write_deltalake(path, pa.table({"y": second}), mode="overwrite")
    deltalake.write_deltalake(path, pa.table({"y": third}), mode="append")
    files = list((tmp_path / "table").glob("*.parquet"))
    assert len(files) == 3  # the overwritten file is still in the folder
    result = biascalc.compute_bias_from_file(path, "y")
    live = np.concatenate([second, third])
    assert result.n_samples == 1500
    assert _counts(result) == _expected(live)
    shares = np.bincount(live, minlength=3) / live.size
    np.testing.assert_allclose(result.bias, np.log(shares), rtol=1e-12)
    # The same through the command, with the table's folder as the path.
    d = json.loads(run(path, "-t", "y", "-f", "json").stdout)
    assert d["n_samples"] == 1500 and len(d["source"]) == 2


def test_delta_delete_rewrites_are_followed(deltalake: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "table")
    y = _labels(2000)
    deltalake.write_deltalake(path, pa.table({"y": y, "i": np.arange(2000)}))
    deltalake.DeltaTable(path).delete("i < 700")
    result = biascalc.compute_bias_from_file(path, "y")
    assert _counts(result) == _expected(y[700:])


def test_delta_partition_columns_are_columns(deltalake: Any, tmp_path: Path) -> None:
    import datetime

    path = str(tmp_path / "table")
    n = 1200
    y = _labels(n)
    split = RNG.choice(["train", "test"], n)
    fold = RNG.integers(0, 4, n)
    flag = RNG.random(n) < 0.5
    day = [datetime.date(2024, 1, 1) + datetime.timedelta(days=int(d)) for d in fold]
    table = pa.table({"y": y, "split": split, "fold": fold, "flag": flag, "day": day})
    deltalake.write_deltalake(path, table, partition_by=["split", "fold", "flag", "day"])
    # A partition column as the target.
    assert _counts(biascalc.compute_bias_from_file(path, "split")) == _expected(split)
    assert _counts(biascalc.compute_bias_from_file(path, "fold")) == _expected(fold)
    # Partition columns in filters, each in the table's type.
    got = biascalc.compute_bias_from_file(
        path, "y", where="split == 'train' and fold >= 1 and flag == True and day < '2024-01-04'"
    )
    keep = (split == "train") & (fold >= 1) & flag & (fold < 3)
    assert _counts(got) == _expected(y[keep])


def test_delta_column_mapping_and_schema_evolution(deltalake: Any, tmp_path: Path) -> None:
    path = str(tmp_path / "table")
    old, new = _labels(300), _labels(200)
    deltalake.write_deltalake(
        path,
        pa.table({"label y": old, "part": ["a"] * 300}),
        configuration={"delta.columnMapping.mode": "name"},
        partition_by=["part"],
    )
    stored = pa.parquet.read_schema(next((tmp_path / "table").rglob("*.parquet")))
    assert "label y" not in stored.names  # the file holds col-<uuid> names
    got = biascalc.compute_bias_from_file(path, "label y", where="part == 'a'")
    assert _counts(got) == _expected(old)
    plain = str(tmp_path / "evolved")
    deltalake.write_deltalake(plain, pa.table({"y": old}))
    deltalake.write_deltalake(
        plain, pa.table({"y": new, "w": np.full(200, 2.0)}), mode="append", schema_mode="merge"
    )
    # Old files predate the column: their rows have no weight, which is an error naming it.
    with pytest.raises(DataError, match="weight column 'w' is missing"):
        biascalc.compute_bias_from_file(plain, "y", weight="w")
    assert _counts(biascalc.compute_bias_from_file(plain, "y", where="w == 2")) == _expected(new)


def test_delta_deletion_vectors_are_refused_not_ignored(
    deltalake: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "table")
    y = _labels(400)
    deltalake.write_deltalake(
        path, pa.table({"y": y}), configuration={"delta.enableDeletionVectors": "true"}
    )
    assert "deletionVectors" in deltalake.DeltaTable(path).protocol().reader_features
    deltalake.DeltaTable(path).delete("y = 0")  # delta-rs rewrites the file instead
    assert _counts(biascalc.compute_bias_from_file(path, "y")) == _expected(y[y != 0])
    # delta-rs cannot write deletion vectors; stand in for a table Spark wrote with one.
    listed = pa.table({"filepath": ["part-0.parquet"], "selection_vector": [[True, False]]})
    monkeypatch.setattr(deltalake.DeltaTable, "deletion_vectors", lambda self: listed)
    with pytest.raises(DataError, match="deletion vectors in 1 file"):
        biascalc.compute_bias_from_file(path, "y")


def test_delta_without_the_extra_names_it(
    deltalake: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run: Callable[..., Any]
) -> None:
    path = str(tmp_path / "table")
    deltalake.write_deltalake(path, pa.table({"y": [0, 1]}))
    monkeypatch.setitem(sys.modules, "deltalake", None)  # import deltalake now fails
    result = run(path, "-t", "y")
    assert result.exit_code == 1
    assert "is a Delta Lake table" in result.output
    assert "pip install 'biascalc[delta]'" in result.output


def test_a_table_inside_a_walked_folder_is_not_walked_into(
    deltalake: Any, tmp_path: Path, run: Callable[..., Any]
) -> None:
    deltalake.write_deltalake(str(tmp_path / "lake" / "events"), pa.table({"y": [0, 1]}))
    deltalake.write_deltalake(
        str(tmp_path / "lake" / "events"), pa.table({"y": [1, 1]}), mode="overwrite"
    )
    result = run(tmp_path / "lake", "-t", "y")
    assert result.exit_code == 1
    assert "holds a Delta Lake table in" in result.output and "pass that folder" in result.output


def test_a_broken_delta_log_is_one_line(
    deltalake: Any, tmp_path: Path, run: Callable[..., Any]
) -> None:
    path = tmp_path / "table"
    deltalake.write_deltalake(str(path), pa.table({"y": [0, 1]}))
    for commit in (path / "_delta_log").glob("*.json"):
        commit.write_text("{not json")
    result = run(path, "-t", "y")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: cannot read the Delta table '{path}': ")
    assert result.output.count("\n") == 1


# -- Hugging Face save_to_disk ------------------------------------------------------------


@pytest.fixture
def hf() -> Any:
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    return datasets


NAMES = ("neg", "neu", "pos")


def _named(counts: dict[Any, int]) -> dict[Any, int]:
    return {NAMES[i]: n for i, n in counts.items()}


def _hf_dataset(hf: Any, n: int) -> tuple[Any, Any, Any]:
    label = _labels(n)
    split = RNG.choice(["train", "test"], n)
    features = hf.Features({"label": hf.ClassLabel(names=list(NAMES)), "split": hf.Value("string")})
    return hf.Dataset.from_dict({"label": label, "split": split}, features=features), label, split


def test_hf_dataset_folder_is_its_arrow_files(
    hf: Any, tmp_path: Path, run: Callable[..., Any]
) -> None:
    ds, label, split = _hf_dataset(hf, 900)
    ds.save_to_disk(str(tmp_path / "ds"), num_shards=3)
    result = biascalc.compute_bias_from_file(str(tmp_path / "ds"), "label")
    # The ClassLabel names, in id order (the huggingface schema metadata of the files).
    assert result.classes == NAMES
    assert _counts(result) == _named(_expected(label))
    assert result.source is not None and len(result.source) == 3
    assert all(s.endswith(".arrow") for s in result.source)  # never the JSON metadata
    got = biascalc.compute_bias_from_file(str(tmp_path / "ds"), "label", where="split == 'train'")
    assert _counts(got) == _named(_expected(label[split == "train"]))
    assert "ClassLabel" in got.task_reason
    assert run(tmp_path / "ds", "-t", "label").exit_code == 0


def test_hf_dataset_schema_metadata_reaches_the_batches(hf: Any, tmp_path: Path) -> None:
    """The features (ClassLabel names) travel in the schema, as for any Arrow file."""
    from biascalc.readers import declared_classes, open_dataset

    ds, _, _ = _hf_dataset(hf, 10)
    ds.save_to_disk(str(tmp_path / "ds"))
    with open_dataset([str(tmp_path / "ds")]) as dataset:
        reader = dataset.readers[0]
        batch = next(iter(reader.batches(["label"])))
        declared = declared_classes(reader.schema)  # type: ignore[attr-defined]
    info = json.loads(batch.schema.metadata[b"huggingface"])
    assert info["info"]["features"]["label"]["names"] == list(NAMES)
    assert declared["label"].names == NAMES


def test_hf_dataset_dict_names_its_splits(hf: Any, tmp_path: Path, run: Callable[..., Any]) -> None:
    ds, label, _ = _hf_dataset(hf, 300)
    hf.DatasetDict({"train": ds, "validation": ds.select(range(50))}).save_to_disk(
        str(tmp_path / "dd")
    )
    result = run(tmp_path / "dd", "-t", "label")
    assert result.exit_code == 1
    assert result.output == (
        f"Error: '{tmp_path / 'dd'}' is a Hugging Face DatasetDict with the splits 'train', "
        f"'validation'; pick the split that holds the training labels by passing its folder, "
        f"for example '{tmp_path / 'dd' / 'train'}'\n"
    )
    train = biascalc.compute_bias_from_file(str(tmp_path / "dd" / "train"), "label")
    assert _counts(train) == _named(_expected(label))


# -- polars view types ----------------------------------------------------------------------


@pytest.mark.parametrize("writer", ["write_ipc", "write_ipc_stream"])
def test_polars_string_and_binary_views_are_text(writer: str, tmp_path: Path) -> None:
    pl = pytest.importorskip("polars")
    words = RNG.choice(["cat", "dog", "émeu"], 500).tolist()
    frame = pl.DataFrame({"animal": words, "raw": [w.encode() for w in words]})
    path = tmp_path / "animals.arrow"
    getattr(frame, writer)(path)
    reader = pa.ipc.open_file if writer == "write_ipc" else pa.ipc.open_stream
    types = reader(pa.memory_map(str(path))).schema.types
    assert types == [pa.string_view(), pa.binary_view()]  # what polars writes
    for column in ("animal", "raw"):
        assert _counts(biascalc.compute_bias_from_file(str(path), column)) == _expected(words)
    got = biascalc.compute_bias_from_file(str(path), "animal", where="raw != 'dog'")
    assert _counts(got) == _expected([w for w in words if w != "dog"])


def test_binary_view_that_is_not_utf8_says_so(tmp_path: Path) -> None:
    pl = pytest.importorskip("polars")
    path = tmp_path / "bytes.arrow"
    pl.DataFrame({"raw": [b"\xff\x00", b"ok"]}).write_ipc(path)
    with pytest.raises(DataError, match="bytes that are not valid UTF-8"):
        biascalc.compute_bias_from_file(str(path), "raw")


def test_string_views_in_memory() -> None:
    y = pa.array(["a", "b", "b", None], pa.string_view())
    result = biascalc.compute_bias(pa.table({"y": y}))
    assert _counts(result) == {"a": 1, "b": 2}


# -- Dask's _metadata -----------------------------------------------------------------------


# dask's to_parquet uses an argument pandas 3.1 deprecates.
@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_dask_metadata_files_are_not_data(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    dd = pytest.importorskip("dask.dataframe")
    y = _labels(3000)
    frame = dd.from_pandas(pd.DataFrame({"y": y}), npartitions=4)
    frame.to_parquet(str(tmp_path / "out"), write_metadata_file=True)
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"_metadata", "_common_metadata"} <= names
    result = biascalc.compute_bias_from_file(str(tmp_path / "out"), "y")
    assert _counts(result) == _expected(y)
    assert result.source is not None and len(result.source) == 4


def test_delta_reading_does_not_import_pandas(deltalake: Any, tmp_path: Path) -> None:
    """pyarrow.table / .scalar and dates as Python objects import pandas (0.9 s)."""
    import datetime

    path = str(tmp_path / "table")
    day = [datetime.date(2024, 1, 1), datetime.date(2024, 1, 2)] * 50
    table = pa.table({"y": [0, 1, 1, 1, 0] * 20, "day": day, "k": [1, 2] * 50})
    deltalake.write_deltalake(path, table, partition_by=["day", "k"])
    out = python_without_pandas(
        "import biascalc\n"
        f"r = biascalc.compute_bias_from_file({path!r}, 'y', where=\"day > '2024-01-01'\")\n"
        "print(r.n_samples, list(r.counts))\n"
    )
    later = [y for y, d in zip(table["y"].to_pylist(), day, strict=True) if d.day == 2]
    assert out.split(" ", 1) == [str(len(later)), f"{[later.count(0), later.count(1)]}\n"]
