"""CSV files read as byte ranges in parallel: the boundary rule, and the same answers as one pass.

The boundary rule (biascalc/readers/_csvsplit.py) is checked against two independent
parsers: Python's csv module (which records where each record it wrote starts) and
pyarrow's own parse of the whole file.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biascalc import readers
from biascalc.api import collect_file_stats, compute_bias_from_file
from biascalc.errors import DataError
from biascalc.readers._csvsplit import lines_before, record_start_after, split_points

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Fields full of what breaks naive splitting: quotes, delimiters, LF, CR and CRLF.
FIELD = st.text(alphabet='ab",\n\r ', max_size=8)
ROWS = st.lists(st.lists(FIELD, min_size=3, max_size=3), min_size=1, max_size=40)


def _write(rows: list[list[str]], quoting: int, terminator: str) -> tuple[bytes, set[int]]:
    """CSV bytes written by Python's csv module, and the offset where each record starts."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=quoting, lineterminator=terminator)
    writer.writerow(["x", "y", "z"])
    starts = set()
    for row in rows:
        starts.add(len(out.getvalue().encode()))
        writer.writerow(row)
    return out.getvalue().encode(), starts


def _parse(data: bytes, names: list[str] | None) -> list[dict[str, str | None]]:
    """pyarrow's parse of ``data`` (every column as text), as biascalc configures it."""
    read = pcsv.ReadOptions(column_names=names, block_size=1 << 20)
    parse = pcsv.ParseOptions(newlines_in_values=True)
    types = {n: pa.string() for n in ("x", "y", "z")}
    convert = pcsv.ConvertOptions(column_types=types)
    rows: list[dict[str, str | None]] = pcsv.read_csv(
        io.BytesIO(data), read_options=read, parse_options=parse, convert_options=convert
    ).to_pylist()
    return rows


def _boundaries(tmp_path: Path, data: bytes, ranges: int) -> list[int]:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    header = data.index(b"\n") + 1
    return split_points(str(path), header, len(data), ranges, ",")


@PROPERTY
@given(
    rows=ROWS,
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
    terminator=st.sampled_from(["\n", "\r\n"]),
    ranges=st.integers(2, 9),
)
def test_boundaries_are_record_starts(
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[list[str]],
    quoting: int,
    terminator: str,
    ranges: int,
) -> None:
    data, starts = _write(rows, quoting, terminator)
    points = _boundaries(tmp_path_factory.mktemp("r"), data, ranges)
    assert points[-1] == len(data)
    assert set(points[1:-1]) <= starts, "a boundary inside a record"
    assert points == sorted(set(points))


def _as_ranges(data: bytes, points: list[int]) -> list[dict[str, str | None]]:
    out = _parse(data[: points[1]], None)
    for a, b in itertools.pairwise(points[1:]):
        out += _parse(data[a:b], ["x", "y", "z"])
    return out


# Text that is not well-formed CSV: stray quotes inside unquoted fields, quotes never
# closed, junk after a closing quote.  Whatever pyarrow makes of the whole file, the
# ranges must make the same.
RAW = st.lists(st.sampled_from(['"', '""', ",", "\n", "\r\n", "\r", "a", "b", " "]), max_size=120)


@PROPERTY
@given(pieces=RAW, ranges=st.integers(2, 9))
def test_ranges_parse_as_the_whole_file_on_any_text(
    tmp_path_factory: pytest.TempPathFactory, pieces: list[str], ranges: int
) -> None:
    data = ("x,y,z\n" + "".join(pieces)).encode()
    try:
        whole = _parse(data, None)
    except pa.ArrowInvalid:
        return  # not CSV for pyarrow either: the reader reports it (see the tests below)
    points = _boundaries(tmp_path_factory.mktemp("r"), data, ranges)
    assert _as_ranges(data, points) == whole


def test_state_machine_meets_within_a_line() -> None:
    # After a cut, the two runs (cut outside quotes / inside a quoted field) meet at the
    # quote that opens or closes "b"; the boundary is the next record start.
    window = b'1,"b",2\n3,"c",4\n'
    assert record_start_after(window, ord(",")) == 8
    # A quoted field spanning lines: the cut may be inside it.  Both readings stay
    # possible until the comma after "y" (from R: `",1\n2,"` is one quoted field and
    # `y"` text; from Q: `",1` closes it and "y" is quoted): the next record start is 14.
    assert record_start_after(b'x\n",1\n2,"y",3\n', ord(",")) == 14
    # No quote in the window: the runs never meet (the prefix decides, see split_points).
    assert record_start_after(b"1,2\n3,4\n", ord(",")) is None


def test_quote_free_file_splits_at_line_ends(tmp_path: Path) -> None:
    data = b"x,y,z\n" + b"".join(b"%d,%d,%d\n" % (i, i, i) for i in range(1000))
    points = _boundaries(tmp_path, data, 4)
    assert len(points) == 5
    assert all(data[p - 1 : p] == b"\n" for p in points[1:-1])


def test_lines_before_counts_every_line_ending(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"a\r\nb\nc\rd\r\n")
    assert [lines_before(str(path), n) for n in (0, 3, 5, 7, 10)] == [0, 1, 2, 3, 4]


@pytest.fixture
def many_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Split files of a few kilobytes into up to 7 ranges, read by 7 threads."""
    monkeypatch.setattr(readers, "CSV_RANGE_BYTES", 512)
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 1024)
    monkeypatch.setattr(readers, "THREADS", 7)


def _one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "THREADS", 1)


def _close(a: object, b: object) -> None:
    """Equal, with floats equal to 1e-12 (relative)."""
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys()
        for key in a:
            _close(a[key], b[key])
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _close(x, y)
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300) or (
            math.isnan(a) and math.isnan(b)
        )
    else:
        assert a == b


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    labels=st.lists(
        st.sampled_from(["cat", 'a "b"', "x,y", "two\nlines", "d\r\ne", ""]),
        min_size=50,
        max_size=300,
    ),
    weights=st.lists(st.floats(0.25, 4.0), min_size=300, max_size=300),
)
def test_any_number_of_ranges_gives_the_statistics_of_one(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    many_ranges: None,
    labels: list[str],
    weights: list[float],
) -> None:
    path = tmp_path / "adversarial.csv"
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["label", "w", "note"])
    for label, w in zip(labels, weights, strict=False):
        writer.writerow([label, w, 'say "hi",\nthen go'])
    path.write_text(out.getvalue(), encoding="utf-8", newline="")
    parallel, _ = collect_file_stats(str(path), "label", weight="w")
    _one_pass(monkeypatch)
    single, _ = collect_file_stats(str(path), "label", weight="w")
    _close(parallel.to_dict(), single.to_dict())
    # And against numpy: the weighted class totals.
    counts = parallel.to_dict()["columns"][0]
    assert parallel.n_rows == sum(1 for x in labels[:300] if x != "")
    assert math.isclose(
        parallel.weight_sum,
        float(np.sum([w for x, w in zip(labels, weights, strict=False) if x])),
        rel_tol=1e-12,
    )
    assert counts["kind"] == ("string" if any(labels) else "null")


def test_bias_from_ranges_matches_numpy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, many_ranges: None
) -> None:
    rng = np.random.default_rng(3)
    y = rng.random(5000) < 0.1
    path = tmp_path / "y.csv"
    pcsv.write_csv(
        pa.table({"id": np.arange(5000), "y": y.astype(np.int64), "t": ["q"] * 5000}), path
    )
    result = compute_bias_from_file(str(path), "y")
    p = y.mean()
    assert result.bias[0] == pytest.approx(math.log(p / (1 - p)), rel=1e-12)
    assert result.n_samples == 5000


def test_widening_in_a_later_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, many_ranges: None
) -> None:
    # The second column holds integers, then one 2.5 far from the first block: the column
    # widens to float, in every range (issue 11: the error blamed the wrong column).
    values = [float(i % 7) for i in range(3000)] + [2.5]
    path = tmp_path / "late.csv"
    text = "id,y,z\n" + "".join(f"{i},{v:g},{i % 3}\n" for i, v in enumerate(values))
    path.write_text(text)
    result = compute_bias_from_file(str(path), "y", loss="mse")
    assert result.bias[0] == pytest.approx(float(np.mean(values)), rel=1e-12)


@pytest.mark.parametrize("threads", [1, 7])
def test_type_change_names_the_right_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, many_ranges: None, threads: int
) -> None:
    monkeypatch.setattr(readers, "THREADS", threads)
    path = tmp_path / "late.csv"
    rows = "".join(f"{i},{i % 2},1.5\n" for i in range(3000))
    path.write_text("a,w,y\n" + rows + "1,x,2\n")
    with pytest.raises(DataError, match=r"column 'w' of .* holds 'x', which is not a number"):
        compute_bias_from_file(str(path), "y", weight="w")


@pytest.mark.parametrize("threads", [1, 7])
def test_error_line_numbers_count_from_the_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, many_ranges: None, threads: int
) -> None:
    monkeypatch.setattr(readers, "THREADS", threads)
    lines = ["y,w"] + [f"{i % 2},1" for i in range(2000)]
    bad_weight = lines.copy()
    bad_weight[1500] = "1,-3"
    path = tmp_path / "w.csv"
    path.write_text("\n".join(bad_weight) + "\n")
    with pytest.raises(DataError, match=r"on line 1501\b"):
        compute_bias_from_file(str(path), "y", weight="w")
    ragged = lines.copy()
    ragged[1700] = "1,1,1"
    path.write_text("\n".join(ragged) + "\n")
    with pytest.raises(DataError, match=r"not well-formed CSV on line 1701\b"):
        compute_bias_from_file(str(path), "y")


def test_unclosed_quote_in_the_last_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, many_ranges: None
) -> None:
    path = tmp_path / "q.csv"
    path.write_text("y,z\n" + "".join(f"{i % 2},a\n" for i in range(2000)) + '1,"open\n0,b\n')
    with pytest.raises(DataError, match=r"never closed: the field that starts on line 2002\b"):
        compute_bias_from_file(str(path), "y")


def test_compressed_and_stdin_stay_in_one_range(
    tmp_path: Path, many_ranges: None, write_csv: Callable[..., Path]
) -> None:
    import gzip

    path = write_csv({"y": [0, 1] * 2000})
    packed = tmp_path / "y.csv.gz"
    packed.write_bytes(gzip.compress(path.read_bytes()))
    with readers.open_dataset([str(packed)]) as ds:
        reader = ds.readers[0]
        assert isinstance(reader, readers.CsvReader)
        assert len(reader.parts(["y"], 4)) == 1
    with readers.open_dataset([str(path)]) as ds:
        reader = ds.readers[0]
        assert isinstance(reader, readers.CsvReader)
        assert len(reader.parts(["y"], 4)) == 4


@pytest.mark.parametrize("threads", [1, 7])
def test_where_filter_runs_in_every_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, many_ranges: None, threads: int
) -> None:
    # --where is applied to each range's batches before its statistics (the same seam as
    # a one-pass read); the count and the line of a bad weight are the file's.
    monkeypatch.setattr(readers, "THREADS", threads)
    k = np.arange(3000) % 5
    y = (np.arange(3000) % 3 == 0).astype(np.int64)
    path = tmp_path / "split.csv"
    pcsv.write_csv(pa.table({"k": k, "y": y, "w": np.ones(3000)}), path)
    result = compute_bias_from_file(str(path), "y", where="k != 3")
    kept = y[k != 3]
    assert result.n_samples == kept.size
    assert result.bias[0] == pytest.approx(math.log(kept.mean() / (1 - kept.mean())), rel=1e-12)
    text = path.read_text().splitlines()
    text[2501] = text[2501].rsplit(",", 1)[0] + ",-1"  # line 2502, row 2500 (k = 0)
    path.write_text("\n".join(text) + "\n")
    with pytest.raises(DataError, match=r"on line 2502\b"):
        compute_bias_from_file(str(path), "y", weight="w", where="k != 3")


@pytest.mark.parametrize("row_group_rows", [None, 100])
def test_parquet_row_groups_in_parallel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, row_group_rows: int | None
) -> None:
    # Runs of row groups read in 3 threads give the statistics of one pass; a file whose
    # row groups exceed ROW_GROUP_ROWS is read in batches instead (bounded memory).
    import pyarrow.parquet as pq

    if row_group_rows is not None:
        monkeypatch.setattr(readers, "ROW_GROUP_ROWS", row_group_rows)
    rng = np.random.default_rng(5)
    words = np.array(["cat", "dog", "eel", "fox"])[rng.integers(0, 4, 7000)]
    w = rng.uniform(0.5, 2.0, 7000)
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.table({"y": words, "w": w}), path, row_group_size=1000)
    monkeypatch.setattr(readers, "THREADS", 3)
    parallel, _ = collect_file_stats(str(path), "y", weight="w")
    monkeypatch.setattr(readers, "THREADS", 1)
    single, _ = collect_file_stats(str(path), "y", weight="w")
    _close(parallel.to_dict(), single.to_dict())
    result = compute_bias_from_file(str(path), "y", weight="w")
    totals = {c: float(w[words == c].sum()) for c in ("cat", "dog", "eel", "fox")}
    expected = [math.log(totals[c] / w.sum()) for c in ("cat", "dog", "eel", "fox")]
    # Softmax biases are the log class priors up to a constant.
    centred = np.asarray(result.bias) - np.mean(result.bias)
    assert centred == pytest.approx(np.array(expected) - np.mean(expected), rel=1e-9, abs=1e-12)
