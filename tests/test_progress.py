"""The progress bar on standard error, and the bytes the readers report to it."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from biascalc import readers
from biascalc.errors import DataError
from biascalc.progress import ProgressBar
from biascalc.readers import open_dataset
from biascalc.stats import LabelStats, StatsSpec


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _screen(written: str) -> str:
    """What a terminal shows on the last line after ``written`` (carriage returns)."""
    line = ""
    for part in written.split("\r"):
        line = part + line[len(part) :]
    return line.rstrip()


def test_nothing_is_written_when_not_a_terminal() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, min_bytes=0)
    bar.update(10, 100)
    bar.close()
    assert not bar.enabled
    assert stream.getvalue() == ""


def test_large_input_is_drawn_at_once_and_cleared() -> None:
    stream, clock = FakeTTY(), Clock()
    bar = ProgressBar(stream, clock=clock)
    bar.update(100 << 20, 400 << 20)
    shown = _screen(stream.getvalue())
    assert shown.startswith("reading  25% [")
    assert "100 MiB/400 MiB" in shown
    assert "\n" not in stream.getvalue()
    bar.close()
    assert _screen(stream.getvalue()) == ""


def test_small_input_waits_for_the_delay() -> None:
    stream, clock = FakeTTY(), Clock()
    bar = ProgressBar(stream, clock=clock)
    bar.update(1, 10)
    assert stream.getvalue() == ""
    clock.now += 1.5
    bar.update(5, 10)
    assert "50%" in _screen(stream.getvalue())
    bar.close()
    assert _screen(stream.getvalue()) == ""


def test_redraws_are_rate_limited() -> None:
    stream, clock = FakeTTY(), Clock()
    bar = ProgressBar(stream, min_bytes=0, clock=clock)
    for i in range(100):
        clock.now += 0.01  # 100 updates in one second
        bar.update(i, 100)
    assert 9 <= stream.getvalue().count("\r") <= 11


def test_a_shorter_line_covers_the_longer_one() -> None:
    stream, clock = FakeTTY(), Clock()
    bar = ProgressBar(stream, min_bytes=0, clock=clock, label="a-very-long-label-indeed")
    bar.update(1, 1 << 40)
    bar.label = "x"
    clock.now += 1
    bar.update(1 << 40, 1 << 40)
    assert _screen(stream.getvalue()).startswith("x 100% [")
    assert "label" not in _screen(stream.getvalue())


def test_closed_stream_never_fails_the_read() -> None:
    stream = FakeTTY()
    bar = ProgressBar(stream, min_bytes=0)
    stream.close()
    bar.update(1, 2)
    bar.close()


class Recorder:
    def __init__(self) -> None:
        self.updates: list[tuple[int, int]] = []
        self.closed = 0

    def update(self, done: int, total: int) -> None:
        self.updates.append((done, total))

    def close(self) -> None:
        self.closed += 1


def _collect(path: Path, progress: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 4096)
    monkeypatch.setattr(readers, "BATCH_ROWS", 1000)
    with open_dataset([str(path)], progress=progress) as ds:  # type: ignore[arg-type]
        columns = ds.resolve_targets(["y"], None)
        ds.collect(lambda: LabelStats(StatsSpec(tuple(columns))), columns)


@pytest.mark.parametrize("name", ["a.csv", "a.csv.gz", "a.parquet", "a.jsonl"])
def test_readers_report_bytes_of_the_file_on_disk(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / name
    if name.endswith(".parquet"):
        pq.write_table(pa.table({"y": [i % 2 for i in range(10_000)]}), path, row_group_size=2500)
    elif name.endswith(".jsonl"):
        path.write_text("".join(f'{{"y": {i % 2}}}\n' for i in range(10_000)))
    else:
        text = ("y,x\n" + "".join(f"{i % 2},{i}\n" for i in range(10_000))).encode()
        path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    recorder = Recorder()
    _collect(path, recorder, monkeypatch)
    size = os.path.getsize(path)
    done = [d for d, _ in recorder.updates]
    assert len(done) > 2
    assert done == sorted(done)
    assert all(total == size for _, total in recorder.updates)
    assert done[-1] == size
    assert recorder.closed == 1


def test_the_bar_is_closed_on_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "a.csv"
    path.write_text("y\n" + "1\n" * 5000 + "inf\n")
    recorder = Recorder()
    with pytest.raises(DataError, match="infinite"):
        _collect(path, recorder, monkeypatch)
    assert recorder.closed == 1


def test_open_dataset_draws_on_a_terminal_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "a.csv"
    path.write_text("y\n" + "1\n0\n" * 20_000)
    stderr = FakeTTY()
    monkeypatch.setattr("sys.stderr", stderr)
    with open_dataset([str(path)], progress=True) as ds:
        assert isinstance(ds.progress, ProgressBar)
        ds.progress.min_bytes = 0
        columns = ds.resolve_targets(["y"], None)
        ds.collect(lambda: LabelStats(StatsSpec(tuple(columns))), columns)
    assert "reading" in stderr.getvalue()
    assert _screen(stderr.getvalue()) == ""


def test_open_dataset_without_progress_has_none(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("y\n1\n")
    with open_dataset([str(path)]) as ds:
        assert ds.progress is None
