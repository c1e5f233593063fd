"""Many files as one data set: hive partition folders, globs, mixed formats and types."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest

from biascalc.api import compute_bias_from_file
from biascalc.errors import ColumnNotFoundError
from biascalc.readers import PartitionedReader, open_dataset
from biascalc.readers._partitions import infer_types, partition_keys


def _write(path: Path, columns: dict[str, list[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(columns)
    if path.suffix == ".csv":
        pcsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path


def _column(paths: list[Path], column: str) -> list[Any]:
    with open_dataset([str(p) for p in paths]) as ds:
        ds.resolve_targets([column], None)
        return [v for r in ds.readers for b in r.batches([column]) for v in b.column(0).to_pylist()]


def test_label_stored_only_in_the_path(tmp_path: Path) -> None:
    _write(tmp_path / "label=cat" / "part-0.parquet", {"x": [1.0, 2.0, 3.0]})
    _write(tmp_path / "label=dog" / "part-0.parquet", {"x": [4.0]})
    result = compute_bias_from_file(str(tmp_path), "label")
    assert result.task == "binary"
    assert result.classes == ("cat", "dog")
    assert result.n_samples == 4
    assert result.priors is not None
    assert list(result.priors) == pytest.approx([0.75, 0.25])


def test_partition_types_match_pyarrow_dataset(tmp_path: Path) -> None:
    for year, part in [("2023", "a"), ("2024", "b")]:
        _write(tmp_path / f"year={year}" / f"part={part}" / "0.parquet", {"y": [0, 1]})
    _write(tmp_path / "year=007" / "part=1" / "0.parquet", {"y": [1]})
    pyarrow_schema = pads.dataset(str(tmp_path), partitioning="hive").schema
    assert pyarrow_schema.field("year").type == pa.int32()
    assert pyarrow_schema.field("part").type == pa.string()
    assert sorted(_column([tmp_path], "year")) == [7, 2023, 2023, 2024, 2024]
    assert sorted(_column([tmp_path], "part")) == ["1", "a", "a", "b", "b"]


@pytest.mark.parametrize(
    ("values", "integral"),
    [
        (["1", "-3", "007"], True),
        (["1", "2.5"], False),
        (["1", "+4"], False),  # pyarrow reads '+4' as text, so do we
        (["2147483647"], True),
        (["2147483648"], False),  # beyond int32, as pyarrow
        (["1", None], True),
        (["", "3"], False),
    ],
)
def test_integer_inference(values: list[str | None], integral: bool) -> None:
    typed, kinds = infer_types([{"k": v} for v in values])
    assert kinds == {"k": integral}
    assert all(isinstance(t["k"], int if integral else str) or t["k"] is None for t in typed)


def test_partition_keys_decode_and_skip_plain_folders() -> None:
    path = "/d/raw/label=a%20b/day=__HIVE_DEFAULT_PARTITION__/x=/f.csv"
    assert partition_keys(path, "/d") == {"label": "a b", "day": None, "x": ""}
    assert partition_keys(path, None) == {}
    assert partition_keys(path, "/d/raw/label=a%20b") == {"day": None, "x": ""}


def test_default_partition_is_missing(tmp_path: Path) -> None:
    _write(tmp_path / "y=1" / "a.parquet", {"x": [1, 2]})
    _write(tmp_path / "y=0" / "a.parquet", {"x": [1]})
    _write(tmp_path / "y=__HIVE_DEFAULT_PARTITION__" / "a.parquet", {"x": [1, 2, 3]})
    result = compute_bias_from_file(str(tmp_path), "y")
    assert (result.n_samples, result.n_missing) == (3, 3)
    assert result.classes == (0, 1)


def test_weight_from_the_path_and_csv_files(tmp_path: Path) -> None:
    _write(tmp_path / "w=3" / "a.csv", {"y": [1]})
    _write(tmp_path / "w=1" / "a.csv", {"y": [0, 0, 0]})
    result = compute_bias_from_file(str(tmp_path), "y", weight="w")
    assert result.weight_sum == 6
    assert result.priors is not None
    assert list(result.priors) == pytest.approx([0.5, 0.5])


def test_file_column_wins_over_the_folder(tmp_path: Path) -> None:
    _write(tmp_path / "y=9" / "a.parquet", {"y": [0, 1]})
    _write(tmp_path / "y=8" / "a.parquet", {"x": [0]})
    assert sorted(_column([tmp_path], "y")) == [0, 1, 8]


def test_key_missing_in_some_files_is_missing(tmp_path: Path) -> None:
    _write(tmp_path / "split=train" / "a.parquet", {"x": [1, 2]})
    _write(tmp_path / "b.parquet", {"x": [3]})
    assert _column([tmp_path], "split") == [None, "train", "train"]  # files at the top first


def test_glob_counts_partitions_from_its_fixed_prefix(tmp_path: Path) -> None:
    _write(tmp_path / "label=a" / "p.parquet", {"x": [1]})
    _write(tmp_path / "label=b" / "p.parquet", {"x": [1, 2]})
    pattern = tmp_path / "label=*" / "*.parquet"
    result = compute_bias_from_file(str(pattern), "label")
    assert result.classes == ("a", "b")
    # A file named on its own has no partition columns: the user chose the file.
    with pytest.raises(ColumnNotFoundError, match="'label' not found"):
        compute_bias_from_file(str(tmp_path / "label=a" / "p.parquet"), "label")


def test_partition_only_target_counts_csv_rows(tmp_path: Path) -> None:
    _write(tmp_path / "y=1" / "a.csv", {"x": [1, 2, 3], "z": ["a", "b", "c"]})
    _write(tmp_path / "y=0" / "b.csv", {"x": [1.5]})
    with open_dataset([str(tmp_path)]) as ds:
        assert all(isinstance(r, PartitionedReader) for r in ds.readers)
        assert ds.readers[0].column_names == ["x", "y"]
    result = compute_bias_from_file(str(tmp_path), "y")
    assert result.n_samples == 4


def test_mixed_csv_and_parquet_text_labels(tmp_path: Path) -> None:
    _write(tmp_path / "a.csv", {"y": ["cat", "dog", "cat"]})
    _write(tmp_path / "b.parquet", {"y": ["dog", "bird"], "x": [1, 2]})
    result = compute_bias_from_file(str(tmp_path), "y")
    assert result.classes == ("bird", "cat", "dog")
    assert list(result.counts or ()) == [1, 2, 2]


def test_int_labels_in_one_file_and_float_in_another_merge(tmp_path: Path) -> None:
    _write(tmp_path / "a.csv", {"y": [1, 2, 3]})
    _write(tmp_path / "b.parquet", {"y": [1.5, 2.5]})
    result = compute_bias_from_file(str(tmp_path), "y")
    assert result.task == "regression"
    assert result.bias[0] == pytest.approx(2.0)


def test_missing_column_in_a_partitioned_file_is_named(tmp_path: Path) -> None:
    _write(tmp_path / "k=1" / "a.parquet", {"y": [1]})
    _write(tmp_path / "k=2" / "b.parquet", {"x": [1]})
    with pytest.raises(ColumnNotFoundError, match=r"'y' not found in '.*b\.parquet'"):
        compute_bias_from_file(str(tmp_path), "y")
