"""Reading files into statistics: every file's batches folded into its own statistics.

The seam where Arrow batches meet the statistics.  :func:`collect_readers` reads the
files of a data set (one file: its parts in parallel; several: one file per thread) and
merges what each gives; :func:`collect_file` folds one file, the same code on the Dask
workers; the row filter (``--where``) is applied as batches leave the reader, and a
file that the filter rejects by its partition folders alone is not read at all.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING

from ..errors import DataError
from . import _common
from ._common import FileReader, Part, _Widen, quoted
from ._csvsplit import usable_cores
from ._features import declared_classes
from ._parallel import ProgressSum, Stopped, in_parallel, relocated
from ._partitions import PartitionedReader

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pyarrow as pa

    from ..progress import Progress
    from ..stats import LabelStats
    from ..stats.declared import DeclaredClasses
    from ._filter import RowFilter

__all__ = ["collect_file", "collect_readers"]


def collect_readers(
    readers: Sequence[FileReader],
    make_stats: Callable[[], LabelStats],
    columns: Sequence[str],
    progress: Progress | None = None,
    row_filter: RowFilter | None = None,
) -> LabelStats:
    """Read the columns of every file into one set of statistics.

    Each file is folded into its own statistics (:func:`collect_file`), then merged,
    so that line numbers in error messages count from the top of the file they name.
    ``progress`` is told the bytes read so far (it is not closed here).
    """
    threads = _common.THREADS or usable_cores()
    size = sum(os.path.getsize(r.path) for r in readers) if progress else 0
    shown = ProgressSum(None if progress is None else lambda read: progress.update(read, size))
    named = len(readers) > 1

    def one(reader: FileReader, threads: int = 1) -> LabelStats:
        key = id(reader)
        part = collect_file(
            reader,
            make_stats,
            columns,
            named=named,
            on_batch=lambda read: shown(key, read),
            row_filter=row_filter,
            threads=threads,
        )
        shown(key, os.path.getsize(reader.path) if progress else 0)
        return part

    if len(readers) == 1 or threads == 1:
        # One file: its parts (CSV byte ranges, Parquet row groups) in parallel.
        parts = [one(reader, threads) for reader in readers]
    else:
        # Several files: one file per thread, each read in one pass.
        parts = in_parallel(list(readers), one, threads, threading.Event())
    total = make_stats()
    for part in parts:
        total = total.merge(part)
    return total


def collect_file(
    reader: FileReader,
    make_stats: Callable[[], LabelStats],
    columns: Sequence[str],
    *,
    named: bool = False,
    on_batch: Callable[[int], None] | None = None,
    row_filter: RowFilter | None = None,
    threads: int = 1,
    piece: tuple[int, int] | None = None,
) -> LabelStats:
    """One file's batches of ``columns`` folded into fresh statistics.

    The local engine calls this for each file; the Dask engine calls it on the worker
    that reads the file, so both read every file with the same code.  When a CSV column
    needs a wider type than the one inferred from its first block, the file is read
    again.  ``named`` puts the file's name in front of its errors (several files are
    read); ``on_batch`` is told the bytes of the file read so far after every batch;
    ``row_filter`` drops the rows that do not pass it before the statistics see them.
    ``threads`` > 1 reads the parts of the file the reader offers (``parts``: CSV byte
    ranges, runs of Parquet row groups) in that many threads, each part through the same
    per-batch code into its own statistics, merged in order.  ``piece=(k, n)`` reads only
    part k of the file cut into n such parts (the Dask engine's task for one piece of a
    big file): the cuts are found the same way on every worker, and a k beyond the parts
    the file has (a small file, a cut that was dropped) reads nothing.
    """
    # Each column may widen twice; CSV blocks may grow three times (1 -> 512 MiB).
    declared = declared_classes(_schema(reader))
    progress = None if on_batch is None else _Locked(on_batch, reader)
    for _attempt in range(2 * len(columns) + 4):
        stop = threading.Event()
        fold = partial(_fold, make_stats, declared, columns, row_filter, stop, progress)
        try:
            parts = _parts(reader, columns, row_filter, threads, piece)
            if len(parts) == 1:
                folded = [fold(parts[0])]
            else:
                folded = in_parallel(parts, fold, threads, stop)
        except _Widen:
            continue
        except DataError as exc:
            if named and quoted(reader.name) not in str(exc):
                raise type(exc)(f"in {quoted(reader.name)}: {exc}") from None
            raise
        total = folded[0]
        for part in folded[1:]:
            total = total.merge(part)
        return total
    raise DataError(  # pragma: no cover
        f"could not settle the column types of {quoted(reader.name)}"
    )


def _fold(
    make_stats: Callable[[], LabelStats],
    declared: dict[str, DeclaredClasses],
    columns: Sequence[str],
    row_filter: RowFilter | None,
    stop: threading.Event,
    progress: _Locked | None,
    part: Part,
) -> LabelStats:
    """One part's batches -> its own statistics: the seam where batches meet statistics."""
    stats = make_stats()
    stats.declare(declared)
    for batch, rows in _filtered(part.batches, columns, row_filter):
        if stop.is_set():
            raise Stopped
        try:
            stats.update(batch, rows)
        except DataError as exc:
            raise relocated(exc, part) from None
        if progress is not None:
            progress()
    return stats


class _Locked:
    """``on_batch(reader.bytes_read)``, called from one thread at a time."""

    def __init__(self, on_batch: Callable[[int], None], reader: FileReader) -> None:
        self._on_batch, self._reader, self._lock = on_batch, reader, threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self._on_batch(self._reader.bytes_read)


def _parts(
    reader: FileReader,
    columns: Sequence[str],
    row_filter: RowFilter | None,
    threads: int,
    piece: tuple[int, int] | None = None,
) -> list[Part]:
    """The file's parts, each a stream of batches of ``columns`` (and the filter's);
    with ``piece=(k, n)``, only the k-th of its parts when cut in n."""
    nothing = [Part(iter(()))]
    if row_filter is not None and _pruned(reader, row_filter):
        return nothing
    extra = [c for c in row_filter.columns if c not in columns] if row_filter else []
    read = [*columns, *extra]
    split = getattr(reader, "parts", None)
    if piece is not None:
        k, n = piece
        if split is None or n < 2:
            return [Part(reader.batches(read))] if k == 0 else nothing
        pieces: list[Part] = split(read, n)
        return [pieces[k]] if k < len(pieces) else nothing
    if split is not None:
        parts: list[Part] = split(read, threads)
        return parts
    return [Part(reader.batches(read))]


def _filtered(
    batches: Iterator[pa.RecordBatch], columns: Sequence[str], row_filter: RowFilter | None
) -> Iterator[tuple[pa.RecordBatch, npt.NDArray[np.int64] | None]]:
    """Where batches leave a reader: plain text types, the row filter applied.

    With a filter, each batch comes with the positions (in its part of the file) of the
    rows kept, so that errors still name the right line.
    """
    import numpy as np

    from .._arrow import to_numpy, without_views

    if row_filter is None:
        for batch in batches:
            yield without_views(batch), None
        return
    start = 0
    for batch in batches:
        batch = without_views(batch)
        keep = row_filter.passing(batch)
        rows = np.flatnonzero(to_numpy(keep)) + start
        start += batch.num_rows
        if rows.size:
            yield batch.select(list(columns)).filter(keep), rows


def _pruned(reader: FileReader, row_filter: RowFilter) -> bool:
    """Whether the filter rejects a whole file by its partition values alone (then the
    file is not read at all: a ``split=test/`` folder costs nothing)."""
    if not isinstance(reader, PartitionedReader):
        return False
    if not all(c in reader.values for c in row_filter.columns):
        return False
    return not row_filter.passing(reader.path_columns(row_filter.columns))[0].as_py()


def _schema(reader: FileReader) -> pa.Schema | None:
    """The Arrow schema a reader knows before reading (Parquet, Arrow), else None."""
    inner = reader.inner if isinstance(reader, PartitionedReader) else reader
    schema: pa.Schema | None = getattr(inner, "schema", None)
    return schema
