"""One or more files as one data set: columns checked, batches folded into statistics."""

from __future__ import annotations

import collections
import difflib
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from ..errors import ColumnNotFoundError, DataError, OptionError
from . import _common
from ._columnar import ArrowReader, JsonLinesReader, ParquetReader
from ._common import (
    FORMATS,
    FileReader,
    Part,
    _compression,
    _refuse_archives,
    _sniff_format,
    _Widen,
    escaped,
    quoted,
)
from ._csv import CsvReader
from ._csvnumbers import check_separators
from ._csvsplit import usable_cores
from ._partitions import PartitionedReader, with_partitions
from ._paths import _expand, _is_stream, _remove_spool, _spool

if TYPE_CHECKING:
    from ..progress import Progress
    from ..stats import LabelStats


class Dataset:
    """One or more files read as one data set (they must share the needed columns).

    ``progress``, when set, is told the bytes read so far after every batch (see
    :mod:`biascalc.progress`) and closed when :meth:`collect` ends.
    """

    def __init__(
        self, readers: list[FileReader], cleanup: list[str], progress: Progress | None = None
    ) -> None:
        self.readers = readers
        self._cleanup = cleanup
        self.progress = progress

    def close(self) -> None:
        """Remove the temporary copies of standard input and pipes."""
        for path in self._cleanup:
            _remove_spool(path)
        self._cleanup.clear()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.readers]

    def resolve_targets(self, targets: Sequence[str] | None, weight: str | None) -> list[str]:
        """Check the requested columns exist (with suggestions); default a lone column."""
        first = self.readers[0]
        if not targets:
            if len(first.column_names) == 1:
                targets = list(first.column_names)
            else:
                shown = _show_columns(first.column_names)
                raise OptionError(
                    f"{quoted(first.name)} has {len(first.column_names)} columns ({shown}); "
                    "say which holds the labels with --target"
                )
        wanted = [*targets, *([weight] if weight else [])]
        for reader in self.readers:
            for name in wanted:
                _check_column(name, reader)
        if weight is not None and weight in targets:
            raise OptionError(f"column {quoted(weight)} cannot be both a target and the weight")
        if len(set(targets)) != len(targets):
            raise OptionError("a --target column is named more than once")
        for reader in self.readers:
            inner = reader.inner if isinstance(reader, PartitionedReader) else reader
            if isinstance(inner, CsvReader) and weight is not None:
                inner.types.setdefault(weight, "float64")
                inner.weight_columns = frozenset([weight])
        return list(targets)

    def collect(self, make_stats: Callable[[], LabelStats], columns: Sequence[str]) -> LabelStats:
        """Read the columns of every file into one set of statistics.

        Each file is folded into its own statistics, then merged, so that line numbers
        in error messages count from the top of the file they name.
        """
        try:
            # Each column may widen twice; CSV blocks may grow three times (1 -> 512 MiB).
            for _attempt in range(2 * len(columns) + 4):
                try:
                    return self._collect_once(make_stats, columns)
                except _Widen:
                    continue
            raise DataError("could not settle the column types of the input")  # pragma: no cover
        finally:
            # Also on errors: the bar must be gone before the message is printed.
            if self.progress is not None:
                self.progress.close()

    def _collect_once(
        self, make_stats: Callable[[], LabelStats], columns: Sequence[str]
    ) -> LabelStats:
        threads = _common.THREADS or usable_cores()
        tracker = _Tracker(self.readers, self.progress)
        units = self._units(columns, threads)
        if threads <= 1:
            parts = [self._fold(unit, make_stats, tracker) for unit in units]
        else:
            fold = partial(self._fold, make_stats=make_stats, tracker=tracker)
            parts = _in_parallel(units, fold, threads, tracker.cancel)
        total = make_stats()
        for part in parts:
            total = total.merge(part)
        if total.rows_seen == 0:
            where = (
                f"{quoted(self.readers[0].name)} has"
                if len(self.readers) == 1
                else "the inputs have"
            )
            raise DataError(f"{where} column names but no rows of data; add rows of labels")
        return total

    def _units(self, columns: Sequence[str], threads: int) -> Iterator[_Unit]:
        """Every file's parts (byte ranges of a large plain CSV file; else the file), lazily."""
        for reader in self.readers:
            try:
                split = getattr(reader, "parts", None)
                parts = split(columns, threads) if split else None
                for part in parts or [Part(reader.batches(columns))]:
                    yield _Unit(reader, part)
            except DataError as exc:
                raise self._named(exc, reader) from None

    def _fold(
        self, unit: _Unit, make_stats: Callable[[], LabelStats], tracker: _Tracker
    ) -> LabelStats:
        """One part's batches -> its own statistics (the seam where batches meet statistics)."""
        stats = make_stats()
        reader, part = unit
        tracker.start(reader)
        try:
            for batch in part.batches:
                try:
                    stats.update(batch)
                except DataError as exc:
                    raise _relocated(exc, part) from None
                tracker.update()
        except DataError as exc:
            raise self._named(exc, reader) from None
        finally:
            close = getattr(part.batches, "close", None)
            if close is not None:
                close()
        tracker.finish(reader)
        return stats

    def _named(self, exc: DataError, reader: FileReader) -> DataError:
        """In a data set of several files, a message says which one it is about."""
        if len(self.readers) > 1 and quoted(reader.name) not in str(exc):
            return type(exc)(f"in {quoted(reader.name)}: {exc}")
        return exc


class _Unit(NamedTuple):
    reader: FileReader
    part: Part


_LINE = re.compile(r"\bon line (\d+)")


def _relocated(exc: DataError, part: Part) -> DataError:
    """A statistics error numbers lines from the part's first row: renumber from the file's.

    The statistics count a part's rows from 0 and say "line rows + 2" (the header is line
    1); a part that starts at line L of the file has its row r on line L + r.
    """
    if part.first_line is None or not _LINE.search(str(exc)):
        return exc
    first = part.first_line()
    text = _LINE.sub(lambda m: f"on line {int(m.group(1)) - 2 + first}", str(exc))
    return type(exc)(text)


def _in_parallel(
    units: Iterator[_Unit],
    fold: Callable[[_Unit], LabelStats],
    threads: int,
    cancel: threading.Event,
) -> list[LabelStats]:
    """Fold the units in ``threads`` threads; the results (and the first error) in order.

    pyarrow releases the GIL while it parses and decodes, so the threads use the cores.
    At most ``threads`` units are in flight, so memory stays that of ``threads`` readers.
    When a unit fails, the later ones stop at their next batch and the error of the
    earliest failing unit is raised, as a one-pass read would raise it.
    """
    from concurrent.futures import Future, ThreadPoolExecutor

    done: list[LabelStats] = []
    pending: collections.deque[Future[LabelStats]] = collections.deque()
    pool = ThreadPoolExecutor(threads, thread_name_prefix="biascalc-read")
    try:
        for unit in units:
            pending.append(pool.submit(fold, unit))
            if len(pending) >= threads:
                done.append(pending.popleft().result())
        while pending:
            done.append(pending.popleft().result())
    except BaseException:
        cancel.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return done


class _Tracker:
    """Progress over parts read in several threads; and the stop signal after an error."""

    def __init__(self, readers: Sequence[FileReader], progress: Progress | None) -> None:
        self.cancel = threading.Event()
        self._progress = progress
        self._lock = threading.Lock()
        self._size = sum(os.path.getsize(r.path) for r in readers) if progress else 0
        self._done = 0
        self._active: dict[int, FileReader] = {}
        self._parts: collections.Counter[int] = collections.Counter()

    def start(self, reader: FileReader) -> None:
        with self._lock:
            self._active[id(reader)] = reader
            self._parts[id(reader)] += 1

    def update(self) -> None:
        if self.cancel.is_set():
            raise _Stopped
        if self._progress is None:
            return
        with self._lock:
            reading = sum(r.bytes_read for r in self._active.values())
            self._progress.update(self._done + reading, self._size)

    def finish(self, reader: FileReader) -> None:
        with self._lock:
            self._parts[id(reader)] -= 1
            if self._parts[id(reader)] == 0 and self._active.pop(id(reader), None) is not None:
                self._done += os.path.getsize(reader.path) if self._progress else 0


class _Stopped(Exception):
    """Another part failed: this one stops (its result is never used)."""


def _show_columns(names: Sequence[str], limit: int = 30) -> str:
    """All the column names, or the first and the last ones (labels are often last)."""
    if len(names) <= limit:
        return ", ".join(_shown(n) for n in names)
    head, tail = names[: limit - 6], names[-5:]
    skipped = len(names) - len(head) - len(tail)
    return (
        ", ".join(_shown(n) for n in head)
        + f", ... {skipped} more ..., "
        + ", ".join(_shown(n) for n in tail)
        + f" ({len(names)} in all)"
    )


def _shown(name: str) -> str:
    """A column name in a list: an unnamed column (pandas' index) is '', never a gap."""
    return escaped(name[:_NAME_LIMIT] + ("..." if len(name) > _NAME_LIMIT else "")) or "''"


_NAME_LIMIT = 60
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _check_column(name: str, reader: FileReader) -> None:
    names = reader.column_names
    hits = names.count(name)
    if hits > 1:
        raise DataError(
            f"column {quoted(name)} appears {hits} times in the header of {quoted(reader.name)}; "
            "rename the copies so it is unique"
        )
    if hits == 1:
        return
    message = (
        f"column {quoted(name)} not found in {quoted(reader.name)}; "
        f"columns are: {_show_columns(names)}"
    )
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    folded = [n for n in names if n.strip().casefold() == name.strip().casefold()]
    suggestion = folded[0] if folded else (close[0] if close else None)
    if suggestion is not None:
        message += f"; did you mean {quoted(suggestion)}?"
    elif (
        isinstance(reader, CsvReader)
        and reader.header
        and all(_NUMBER.fullmatch(n.strip()) for n in names)
    ):
        message += (
            "; every name in the first line is a number, so it looks like data: if the file "
            "has no header line, pass --no-header and name columns by position (-t 1)"
        )
    raise ColumnNotFoundError(message)


def open_dataset(
    paths: Sequence[str],
    *,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    progress: bool | Progress = False,
    header: bool = True,
    decimal: str | None = None,
    thousands: str | None = None,
) -> Dataset:
    """Open files (or ``"-"`` for standard input) as one data set.

    A directory is every data file below it, with hive partition folders
    (``year=2024/``) as columns; a glob is every file it matches.  ``progress=True``
    draws a progress bar on standard error when it is a terminal and the read is long
    (:class:`biascalc.progress.ProgressBar`); or pass your own :class:`Progress`.
    ``header=False`` reads CSV files without a header line (columns named ``"1"``,
    ``"2"``, ...); ``decimal`` / ``thousands`` say how CSV numbers are written (``","`` /
    ``"."`` for ``1.739,26``).

    >>> ds = open_dataset(["sample_data/wine.csv"])  # doctest: +SKIP
    >>> ds.readers[0].column_names[:2]  # doctest: +SKIP
    ['alcohol', 'malic_acid']
    """
    if input_format is not None and input_format not in FORMATS:
        raise OptionError(
            f"unknown --input-format {input_format!r}; choose one of {', '.join(FORMATS)}"
        )
    if delimiter is not None and len(delimiter) != 1:
        if delimiter in ("\\t", "tab"):
            delimiter = "\t"
        else:
            raise OptionError(f"--delimiter must be one character, not {delimiter!r}")
    check_separators(decimal, thousands)
    if not paths:
        paths = ["-"]
    readers: list[FileReader] = []
    bases: list[str | None] = []
    cleanup: list[str] = []
    dataset = Dataset(readers, cleanup)
    try:
        for given in paths:
            for found in _expand(given):
                path = found.path
                name = "<stdin>" if path == "-" else path
                if path == "-" or _is_stream(path):
                    path = _spool(path)
                    cleanup.append(path)
                    if os.path.getsize(path) == 0:
                        raise DataError(
                            f"{'standard input' if name == '<stdin>' else repr(name)} is empty; "
                            "pipe a file into biascalc or pass a path"
                        )
                csv = CsvOptions(
                    delimiter, encoding, header, decimal, thousands, path != found.path
                )
                readers.append(_open_one(path, name, input_format, csv))
                bases.append(found.base)
        readers[:] = with_partitions(readers, bases)
    except BaseException:
        dataset.close()
        raise
    if progress is True:
        from ..progress import ProgressBar

        dataset.progress = ProgressBar()
    elif progress is not False:
        dataset.progress = progress
    return dataset


class CsvOptions(NamedTuple):
    """How to read CSV text: open_dataset's options, passed on to :class:`CsvReader`."""

    delimiter: str | None = None
    encoding: str | None = None
    header: bool = True
    decimal: str | None = None
    thousands: str | None = None
    #: A temporary copy of standard input or a pipe: read in one pass.
    spooled: bool = False


def _open_one(path: str, name: str, input_format: str | None, csv: CsvOptions) -> FileReader:
    try:
        _refuse_archives(path, name)
        fmt = input_format or _sniff_format(path, name)
        if fmt == "parquet":
            return ParquetReader(path, name)
        if fmt == "arrow":
            return ArrowReader(path, name)
        compression = _compression(path)
        if fmt == "jsonl":
            return JsonLinesReader(path, name, compression)
        delimiter = "\t" if fmt == "tsv" and csv.delimiter is None else csv.delimiter
        return CsvReader(
            path,
            name,
            delimiter,
            csv.encoding,
            compression,
            header=csv.header,
            decimal=csv.decimal,
            thousands=csv.thousands,
            splittable=not csv.spooled,
        )
    except PermissionError:
        raise DataError(f"cannot read {quoted(name)}: permission denied") from None
    except IsADirectoryError:
        raise DataError(f"{quoted(name)} is a directory") from None
