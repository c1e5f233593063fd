"""The readers and the output writer, below the CLI."""

from __future__ import annotations

import gzip
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.feather as feather
import pytest

from biascalc import readers
from biascalc.api import compute_bias_from_file
from biascalc.errors import DataError
from biascalc.output import check_output_path, write_atomic
from biascalc.readers import CsvReader, open_dataset
from biascalc.readers._csv import _decimal_commas, _sniff_delimiter


def _column(path: Path | list[Path], column: str = "y", **kw: object) -> list[object]:
    paths = [str(p) for p in path] if isinstance(path, list) else [str(path)]
    with open_dataset(paths, **kw) as ds:  # type: ignore[arg-type]
        out: list[object] = []
        for reader in ds.readers:
            for batch in reader.batches([column]):
                out.extend(batch.column(0).to_pylist())
        return out


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["a,b", "1,2"], ","),
        (["a\tb", "1\t2"], "\t"),
        (["a;b", "1,5;2"], ";"),
        (["a|b", "1|2"], "|"),
        (["y", "1"], ","),
        ([], ","),
    ],
)
def test_sniff_delimiter(lines: list[str], expected: str) -> None:
    assert _sniff_delimiter(lines) == expected


def test_decimal_commas() -> None:
    assert _decimal_commas(["1,5;2", "0,25;3"])
    assert not _decimal_commas(["1.5;2", "0,25;3"])
    assert not _decimal_commas(["a;b"])


def test_header_longer_than_the_sample(write_text: Callable[..., Path]) -> None:
    names = [f"feature_{i:06d}" for i in range(20_000)]
    path = write_text(",".join([*names, "y"]) + "\n" + "0," * 20_000 + "1\n")
    assert os.path.getsize(path) > 2 * readers._SAMPLE_BYTES
    assert _column(path) == [1]


def test_spaces_around_header_names(write_text: Callable[..., Path]) -> None:
    path = write_text(" y , x\n1,2\n0,3\n")
    with open_dataset([str(path)]) as ds:
        assert ds.readers[0].column_names == ["y", "x"]
    assert _column(path) == [1, 0]


def test_widening_across_blocks(
    write_text: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 1024)
    path = write_text("y\n" + "1\n" * 2000 + "1.5\n" + "2\n" * 2000)
    result = compute_bias_from_file(str(path), "y")
    assert result.task == "regression"
    assert result.n_samples == 4001


def test_stray_quote_is_not_an_unclosed_quote(write_text: Callable[..., Path]) -> None:
    path = write_text('y,x\n1,5" screen\n0,3\n')
    assert _column(path) == [1, 0]


def test_unclosed_quote_is_located(write_text: Callable[..., Path]) -> None:
    path = write_text('y,x\n1,2\n0,3\n1,"x\n0,4\n')
    with pytest.raises(DataError, match="starts on line 4"):
        _column(path)


def test_unclosed_quote_many_blocks_before_the_end(
    write_text: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # pyarrow says the row "straddles two block boundaries"; the user hears about the quote.
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 1024)
    path = write_text('y,x\n1,2\n0,"x\n' + "1,2\n" * 5000)
    with pytest.raises(DataError, match=r"never closed.*starts on line 3"):
        _column(path)


def test_unclosed_quote_in_the_last_block(
    write_text: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 1024)
    path = write_text("y,x\n" + "1,2\n" * 5000 + '0,"x\n' + "1,2\n" * 50)
    with pytest.raises(DataError, match=r"never closed.*starts on line 5002"):
        _column(path)


@pytest.mark.parametrize("stray", ["", '1,5" screen\n'])
def test_fields_spanning_lines_are_not_an_open_quote(
    write_text: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, stray: str
) -> None:
    # Wherever the last blocks start (often inside a quoted field), a closed file passes.
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 1024)
    rows = "".join(f'{i % 2},"line one\nline {i}\n"\n' for i in range(3000))
    path = write_text("y,x\n" + rows + stray)
    assert len(_column(path)) == 3000 + bool(stray)


def test_quoted_field_longer_than_a_block(
    write_text: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 1024)
    path = write_text('y,x\n1,2\n0,"' + "a\n" * 5000 + '"\n1,3\n')
    result = compute_bias_from_file(str(path), "y")
    assert result.n_samples == 3


def test_tuning_constants_set_on_the_package_reach_the_readers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from biascalc.readers import _common

    default = readers.CSV_BLOCK_BYTES
    with monkeypatch.context() as patch:
        patch.setattr(readers, "CSV_BLOCK_BYTES", 1234)
        assert _common.CSV_BLOCK_BYTES == 1234
    assert _common.CSV_BLOCK_BYTES == readers.CSV_BLOCK_BYTES == default == 1 << 20
    assert readers.BATCH_ROWS == _common.BATCH_ROWS == 1 << 17


@pytest.mark.parametrize("codec", ["gzip", "bz2", "zstd"])
def test_compressed_csv_by_magic_bytes(tmp_path: Path, codec: str) -> None:
    path = tmp_path / "labels.data"  # the extension does not say
    with pa.output_stream(str(path), compression=codec) as out:
        out.write(b"y\n0\n1\n1\n")
    assert _column(path) == [0, 1, 1]


def test_json_lines_missing_key_is_null(write_text: Callable[..., Path]) -> None:
    path = write_text('{"y": 1, "x": 2}\n{"x": 3}\n{"y": 0}\n', name="a.jsonl")
    assert _column(path) == [1, None, 0]


def test_arrow_file_and_stream(tmp_path: Path) -> None:
    table = pa.table({"y": [0, 1, 1]})
    feather.write_feather(table, tmp_path / "a.feather")
    with (
        pa.OSFile(str(tmp_path / "b.arrow"), "wb") as sink,
        pa.ipc.new_stream(sink, table.schema) as writer,
    ):
        writer.write_table(table)
    assert _column(tmp_path / "a.feather") == [0, 1, 1]
    assert _column(tmp_path / "b.arrow") == [0, 1, 1]


def test_gzip_named_csv_without_compression(write_text: Callable[..., Path]) -> None:
    path = write_text("y\n0\n1\n", name="labels.csv.gz")  # not really gzip
    assert _column(path) == [0, 1]


def test_line_numbers_count_per_file(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("y\n" + "1.5\n" * 10)
    (tmp_path / "b.csv").write_text("y\n1.5\n-inf\n")
    with pytest.raises(DataError, match=r"in '.*b\.csv'.*line 3"):
        compute_bias_from_file([str(tmp_path / "a.csv"), str(tmp_path / "b.csv")], "y")


def test_dataset_context_removes_the_spool(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import sys

    class Stdin:
        buffer = io.BytesIO(b"y\n0\n1\n")

    monkeypatch.setattr(sys, "stdin", Stdin)
    with open_dataset(["-"]) as ds:
        spooled = ds.readers[0]
        assert isinstance(spooled, CsvReader)
        assert os.path.exists(spooled.path)
    assert not os.path.exists(spooled.path)


def test_gzip_truncated_during_streaming(write_text: Callable[..., Path]) -> None:
    data = gzip.compress(b"y\n" + b"0\n1\n" * 200_000)
    path = write_text(data[: len(data) - 100], name="cut.csv.gz")
    with pytest.raises(DataError, match="truncated or corrupt"):
        _column(path)


# --------------------------------------------------------------------------- output


def test_check_output_path(tmp_path: Path) -> None:
    data = tmp_path / "in.csv"
    data.write_text("y\n1\n")
    check_output_path(str(tmp_path / "out.json"), [str(data), "-"])
    with pytest.raises(DataError, match="refusing"):
        check_output_path(str(tmp_path / "sub" / ".." / "in.csv"), [str(data)])
    with pytest.raises(DataError, match="refusing"):
        check_output_path(str(tmp_path / "new.csv"), [str(tmp_path / "x" / ".." / "new.csv")])
    with pytest.raises(DataError, match="does not exist"):
        check_output_path(str(tmp_path / "no" / "out.json"), [str(data)])


def test_write_atomic_keeps_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(str(target), b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh.txt"
    write_atomic(str(fresh), b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask


def test_write_atomic_failure_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")

    def fail(src: str, dst: str) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(DataError, match=r"cannot write .*Input/output error; nothing was written"):
        write_atomic(str(target), b"new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
