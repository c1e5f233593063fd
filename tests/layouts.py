"""Every input layout the local reader tests read, as builders shared by several engines.

A layout writes real files (pyarrow, pandas-free) into a folder and says what to read:
``Layout(paths, target, weight, options)``.  ``tests/test_dask.py`` runs each one
through the local engine and the Dask engine and expects the same numbers or the same
error; the layouts cover test_readers.py, test_partitions.py and the data-lake cases of
issue 16 (mixed formats, nested folders, Spark's ``_SUCCESS``, a ``;``-delimited file, a
column missing in one file).
"""

from __future__ import annotations

import bz2
import gzip
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.feather as feather
import pyarrow.parquet as pq


@dataclass
class Layout:
    paths: list[str]
    target: str | list[str] | None = "y"
    weight: str | None = None
    reading: dict[str, Any] = field(default_factory=dict)
    #: A regular expression the error must match (both engines), or None: numbers.
    error: str | None = None


def _write(path: Path, columns: dict[str, list[Any]] | pa.Table) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = columns if isinstance(columns, pa.Table) else pa.table(columns)
    name = path.name
    if name.endswith(".csv"):
        pcsv.write_csv(table, path)
    elif name.endswith(".tsv"):
        pcsv.write_csv(table, path, pcsv.WriteOptions(delimiter="\t"))
    elif name.endswith((".feather", ".arrow")):
        feather.write_feather(table, path)
    else:
        pq.write_table(table, path)
    return path


def _text(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def _one(path: Path, **kw: Any) -> Layout:
    return Layout([str(path)], **kw)


def _csv(d: Path) -> Layout:
    return _one(_write(d / "a.csv", {"y": ["cat", "dog", "cat", "bird"]}))


def _csv_weighted(d: Path) -> Layout:
    return _one(_write(d / "a.csv", {"y": [0, 1, 1, 0], "w": [0.5, 2.0, 1.0, 3.25]}), weight="w")


def _tsv(d: Path) -> Layout:
    return _one(_write(d / "a.tsv", {"y": [1.5, 2.0, 7.25], "x": [1, 2, 3]}))


def _semicolon_decimal_comma(d: Path) -> Layout:
    return _one(_text(d / "eu.csv", "x;y\n1;1,5\n2;2,25\n3;10,0\n"))


def _semicolon(d: Path) -> Layout:
    return _one(_text(d / "semi.csv", "x;y\n1;0\n2;1\n3;1\n"))


def _pipe(d: Path) -> Layout:
    return _one(_text(d / "pipe.txt", "y|x\na|1\nb|2\na|3\n"))


def _delimiter_given(d: Path) -> Layout:
    return _one(_text(d / "odd.csv", "y:x\n1:2\n0:3\n"), reading={"delimiter": ":"})


def _compressed(codec: str) -> Callable[[Path], Layout]:
    def build(d: Path) -> Layout:
        path = d / f"labels-{codec}.data"  # the extension does not say
        with pa.output_stream(str(path), compression=codec) as out:
            out.write(b"y\n0\n1\n1\n2\n")
        return _one(path)

    return build


def _gzip_named(d: Path) -> Layout:
    return _one(_text(d / "real.csv.gz", gzip.compress(b"y,w\n1,2\n0,1\n1,0.5\n")), weight="w")


def _gzip_misnamed(d: Path) -> Layout:
    return _one(_text(d / "labels.csv.gz", "y\n0\n1\n"))  # not really gzip


def _bz2_jsonl(d: Path) -> Layout:
    return _one(_text(d / "a.jsonl.bz2", bz2.compress(b'{"y": 3.5}\n{"y": 1}\n')))


def _long_header(d: Path) -> Layout:
    names = [f"feature_{i:06d}" for i in range(20_000)]
    return _one(_text(d / "wide.csv", ",".join([*names, "y"]) + "\n" + "0," * 20_000 + "1\n"))


def _spaced_header(d: Path) -> Layout:
    return _one(_text(d / "sp.csv", " y , x\n1,2\n0,3\n"))


def _bom(d: Path) -> Layout:
    return _one(_text(d / "bom.csv", "\ufeffy,x\n1,2\n0,3\n1,1\n"))


def _latin1(d: Path) -> Layout:
    return _one(_text(d / "l1.csv", "y\ncaf\xe9\nth\xe9\ncaf\xe9\n".encode("latin-1")),
                reading={"encoding": "latin-1"})  # fmt: skip


def _widening(d: Path) -> Layout:
    # Beyond the first 1 MiB block an integer column holds 1.5: read again as float64.
    return _one(_text(d / "wide.csv", "y\n" + "1\n" * 600_000 + "1.5\n" + "2\n" * 1000))


def _quoted_lines(d: Path) -> Layout:
    rows = "".join(f'{i % 2},"line one\nline {i}\n"\n' for i in range(300))
    return _one(_text(d / "q.csv", "y,x\n" + rows + '1,5" screen\n'))


def _jsonl(d: Path) -> Layout:
    return _one(_text(d / "a.jsonl", '{"y": 1, "x": 2}\n{"x": 3}\n{"y": 0}\n'))


def _arrow_file(d: Path) -> Layout:
    return _one(_write(d / "a.feather", {"y": [0, 1, 1]}))


def _arrow_stream(d: Path) -> Layout:
    table = pa.table({"y": [0.5, 1.0, 4.0]})
    path = d / "b.arrow"
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return _one(path)


def _parquet(d: Path) -> Layout:
    return _one(_write(d / "a.parquet", {"y": [True, False, False, True, False], "w": [1.0] * 5}),
                weight="w")  # fmt: skip


def _multi_target(d: Path) -> Layout:
    return _one(_write(d / "m.parquet", {"a": [0, 1, 1], "b": [1, 0, 0]}), target=["a", "b"])


def _no_target(d: Path) -> Layout:
    return _one(_write(d / "only.csv", {"label": [3, 1, 2, 2]}), target=None)


def _mixed_formats(d: Path) -> Layout:
    _write(d / "mix" / "a.csv", {"y": ["cat", "dog", "cat"] * 500})
    _write(d / "mix" / "b.parquet", {"y": ["dog", "bird"] * 250, "x": [1, 2] * 250})
    _text(d / "mix" / "c.jsonl", '{"y": "emu"}\n')
    return Layout([str(d / "mix")])


def _int_and_float_files(d: Path) -> Layout:
    _write(d / "nf" / "a.csv", {"y": [1, 2, 3]})
    _write(d / "nf" / "b.parquet", {"y": [1.5, 2.5]})
    return Layout([str(d / "nf")])


def _label_in_path(d: Path) -> Layout:
    _write(d / "h" / "label=cat" / "part-0.parquet", {"x": [1.0, 2.0, 3.0]})
    _write(d / "h" / "label=dog" / "part-0.parquet", {"x": [4.0]})
    return Layout([str(d / "h")], target="label")


def _partition_types(target: str) -> Callable[[Path], Layout]:
    def build(d: Path) -> Layout:
        for year, part in [("2023", "a"), ("2024", "b")]:
            _write(d / "t" / f"year={year}" / f"part={part}" / "0.parquet", {"y": [0, 1]})
        _write(d / "t" / "year=007" / "part=1" / "0.parquet", {"y": [1]})
        return Layout([str(d / "t")], target=target)

    return build


def _default_partition(d: Path) -> Layout:
    _write(d / "dp" / "y=1" / "a.parquet", {"x": [1, 2]})
    _write(d / "dp" / "y=0" / "a.parquet", {"x": [1]})
    _write(d / "dp" / "y=__HIVE_DEFAULT_PARTITION__" / "a.parquet", {"x": [1, 2, 3]})
    return Layout([str(d / "dp")])


def _weight_in_path_csv(d: Path) -> Layout:
    _write(d / "wp" / "w=3" / "a.csv", {"y": [1]})
    _write(d / "wp" / "w=1" / "a.csv", {"y": [0, 0, 0]})
    return Layout([str(d / "wp")], weight="w")


def _file_column_wins(d: Path) -> Layout:
    _write(d / "fw" / "y=9" / "a.parquet", {"y": [0, 1]})
    _write(d / "fw" / "y=8" / "a.parquet", {"x": [0]})
    return Layout([str(d / "fw")])


def _key_missing_somewhere(d: Path) -> Layout:
    _write(d / "km" / "split=train" / "a.parquet", {"x": [1, 2]})
    _write(d / "km" / "b.parquet", {"x": [3]})
    return Layout([str(d / "km")], target="split")


def _glob_partitions(d: Path) -> Layout:
    _write(d / "g" / "label=a" / "p.parquet", {"x": [1]})
    _write(d / "g" / "label=b" / "p.parquet", {"x": [1, 2]})
    return Layout([str(d / "g" / "label=*" / "*.parquet")], target="label")


def _partition_only_csv(d: Path) -> Layout:
    _write(d / "pc" / "y=1" / "a.csv", {"x": [1, 2, 3], "z": ["a", "b", "c"]})
    _write(d / "pc" / "y=0" / "b.csv", {"x": [1.5]})
    return Layout([str(d / "pc")])


def _hive_csv_semicolons(d: Path) -> Layout:
    _text(d / "hs" / "country=fr" / "a.csv", "y;x\n0,5;1\n1,25;2\n")
    _text(d / "hs" / "country=de" / "b.csv", "y;x\n3,0;1\n")
    return Layout([str(d / "hs")])


def _nested_csv(d: Path) -> Layout:
    for i, sub in enumerate(["2024/01", "2024/02", "2025/01/late"]):
        _write(d / "n" / sub / f"part{i}.csv", {"y": [i, i + 1, 1]})
    return Layout([str(d / "n")])


def _spark_folder(d: Path) -> Layout:
    out = d / "spark_out"
    _write(out / "part-00000-abc.snappy.parquet", {"y": [0, 1, 1]})
    _write(out / "part-00001-abc.snappy.parquet", {"y": [1, 0]})
    _text(out / "_SUCCESS", "")
    _text(out / ".part-00000-abc.snappy.parquet.crc", b"\x00crc")
    _text(out / "_committed_123", "{}")
    return Layout([str(out)])


def _delta_overwritten(d: Path) -> Layout:
    import pytest

    deltalake = pytest.importorskip("deltalake")
    path = str(d / "delta")
    deltalake.write_deltalake(path, pa.table({"y": [1, 1, 1, 1], "w": [1.0] * 4}))
    deltalake.write_deltalake(
        path, pa.table({"y": [0, 1, 0], "w": [1.0, 2.0, 3.0]}), mode="overwrite"
    )
    return Layout([path], weight="w")


def _delta_partitioned(d: Path) -> Layout:
    import pytest

    deltalake = pytest.importorskip("deltalake")
    path = str(d / "delta")
    table = pa.table(
        {"y": [0, 1, 1, 0, 1], "split": ["a", "a", "b", "b", "b"], "k": [1, 2, 1, 2, 2]}
    )
    deltalake.write_deltalake(path, table, partition_by=["split", "k"])
    return Layout([path], reading={"where": "split == 'b' and k == 2"})


def _hf_folder(d: Path) -> Layout:
    import pytest

    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"y": datasets.ClassLabel(names=["no", "yes"])})
    ds = datasets.Dataset.from_dict({"y": [0, 1, 1, 0, 1]}, features=features)
    ds.save_to_disk(str(d / "hf"), num_shards=2)
    return Layout([str(d / "hf")])


def _where_hive(d: Path) -> Layout:
    for part, ys in (("train", [0, 1, 1]), ("test", [1, 1])):
        _write(d / "wh" / f"split={part}" / "p.csv", {"y": ys, "fold": list(range(len(ys)))})
    return Layout([str(d / "wh")], reading={"where": "split == 'train' and fold != 1"})


def _where_error(d: Path) -> Layout:
    return _one(
        _write(d / "we.parquet", {"y": [0, 1], "fold": [1, 2]}),
        reading={"where": "fold == 'x'"},
        error="which holds number values, with the text 'x'",
    )


def _several_paths(d: Path) -> Layout:
    a = _write(d / "sp" / "a.csv", {"y": [0, 1]})
    b = _write(d / "sp" / "b.parquet", {"y": [1, 1, 1]})
    c = _write(d / "sp2" / "c.csv", {"y": [0]})
    return Layout([str(a), str(b), str(c.parent)])


def _same_file_twice(d: Path) -> Layout:
    a = _write(d / "tw" / "a.csv", {"y": [0, 1, 1]})
    _write(d / "tw" / "b.parquet", {"y": [1, 0]})
    return Layout([str(d / "tw"), str(a), str(a)])  # counted once, with warnings


def _input_format_given(d: Path) -> Layout:
    return _one(_write(d / "labels.bin", {"y": [2.0, 3.0]}), reading={"input_format": "parquet"})


# --- layouts that are errors, in both engines alike ----------------------------------


def _column_missing_in_one_file(d: Path) -> Layout:
    _write(d / "cm" / "a.parquet", {"y": [1], "x": [1]})
    _write(d / "cm" / "b.parquet", {"x": [1]})
    return Layout([str(d / "cm")], error=r"'y' not found in '.*b\.parquet'")


def _column_missing_in_a_partition(d: Path) -> Layout:
    _write(d / "mp" / "k=1" / "a.parquet", {"y": [1]})
    _write(d / "mp" / "k=2" / "b.parquet", {"x": [1]})
    return Layout([str(d / "mp")], error=r"'y' not found in '.*b\.parquet'")


def _unclosed_quote(d: Path) -> Layout:
    return _one(_text(d / "uq.csv", 'y,x\n1,2\n0,3\n1,"x\n0,4\n'), error="starts on line 4")


def _bad_value_per_file(d: Path) -> Layout:
    _text(d / "lf" / "a.csv", "y\n" + "1.5\n" * 10)
    _text(d / "lf" / "b.csv", "y\n1.5\n-inf\n")
    return Layout([str(d / "lf")], error=r"in '.*b\.csv'.*line 3")


def _truncated_gzip(d: Path) -> Layout:
    data = gzip.compress(b"y\n" + b"0\n1\n" * 200_000)
    return _one(_text(d / "cut.csv.gz", data[: len(data) - 100]), error="truncated or corrupt")


def _empty_folder(d: Path) -> Layout:
    _text(d / "e" / "notes.md", "x")
    return Layout([str(d / "e")], error="holds no data files")


def _header_only(d: Path) -> Layout:
    return _one(_text(d / "h.csv", "y,x\n"), error="no rows of data")


def _json_array(d: Path) -> Layout:
    return _one(_text(d / "arr.json", '[{"y": 1}]'), error="holds one JSON array")


def _no_such_file(d: Path) -> Layout:
    return _one(d / "nope.csv", error="not found")


LAYOUTS: dict[str, Callable[[Path], Layout]] = {
    "csv": _csv,
    "csv-weighted": _csv_weighted,
    "tsv": _tsv,
    "semicolon-decimal-comma": _semicolon_decimal_comma,
    "semicolon": _semicolon,
    "pipe": _pipe,
    "delimiter-given": _delimiter_given,
    "gzip-by-magic": _compressed("gzip"),
    "bz2-by-magic": _compressed("bz2"),
    "zstd-by-magic": _compressed("zstd"),
    "gzip-named": _gzip_named,
    "gzip-misnamed": _gzip_misnamed,
    "jsonl-bz2": _bz2_jsonl,
    "long-header": _long_header,
    "spaced-header": _spaced_header,
    "utf8-bom": _bom,
    "latin-1": _latin1,
    "widening": _widening,
    "quoted-lines": _quoted_lines,
    "jsonl": _jsonl,
    "arrow-file": _arrow_file,
    "arrow-stream": _arrow_stream,
    "parquet": _parquet,
    "multi-target": _multi_target,
    "no-target": _no_target,
    "mixed-formats-folder": _mixed_formats,
    "int-and-float-files": _int_and_float_files,
    "label-in-path": _label_in_path,
    "partition-int": _partition_types("year"),
    "partition-text": _partition_types("part"),
    "default-partition": _default_partition,
    "weight-in-path-csv": _weight_in_path_csv,
    "file-column-wins": _file_column_wins,
    "key-missing-somewhere": _key_missing_somewhere,
    "glob-partitions": _glob_partitions,
    "partition-only-csv": _partition_only_csv,
    "hive-csv-semicolons": _hive_csv_semicolons,
    "nested-csv": _nested_csv,
    "spark-folder": _spark_folder,
    "delta-overwritten": _delta_overwritten,
    "delta-partitioned-where": _delta_partitioned,
    "hf-save-to-disk": _hf_folder,
    "where-hive-csv": _where_hive,
    "error-where-literal-type": _where_error,
    "several-paths": _several_paths,
    "same-file-twice": _same_file_twice,
    "input-format-given": _input_format_given,
    "error-column-missing-in-one-file": _column_missing_in_one_file,
    "error-column-missing-in-a-partition": _column_missing_in_a_partition,
    "error-unclosed-quote": _unclosed_quote,
    "error-bad-value-per-file": _bad_value_per_file,
    "error-truncated-gzip": _truncated_gzip,
    "error-empty-folder": _empty_folder,
    "error-header-only": _header_only,
    "error-json-array": _json_array,
    "error-no-such-file": _no_such_file,
}
