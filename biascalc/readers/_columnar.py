"""Parquet, JSON Lines and Arrow IPC / Feather readers.

Parquet is read row group by row group, only the needed columns, with text columns
dictionary-encoded as Parquet stores them; the row groups of a file are split between
the reading threads (:meth:`ParquetReader.parts`); Arrow files are memory-mapped; JSON
Lines are parsed in blocks by pyarrow.
"""

from __future__ import annotations

import codecs
import io
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import DataError
from . import _common
from ._common import (
    _CORRUPT_HINT,
    Codec,
    Part,
    _as_io,
    _data_error,
    _open_tallied,
    _PassThrough,
    _read_head,
    _Tally,
    quoted,
)

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq


def _share(size: int, done: int, whole: int) -> int:
    """Bytes of a file of ``size`` bytes counted as read when ``done`` of ``whole`` are."""
    return size if whole <= 0 else size * min(done, whole) // whole


@dataclass
class ParquetReader:
    path: str
    name: str
    column_names: list[str] = field(default_factory=list)
    _file: pq.ParquetFile = field(init=False, repr=False)
    _rows_done: int = field(default=0, init=False, repr=False)
    _size: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            self._file = pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError) as exc:
            raise _data_error(self.name, "Parquet", exc, _CORRUPT_HINT) from None
        self.column_names = list(self._file.schema_arrow.names)
        self._size = os.path.getsize(self.path)

    @property
    def schema(self) -> pa.Schema:
        """The file's Arrow schema, with its metadata (declared classes: readers/_features)."""
        return self._file.schema_arrow

    @property
    def bytes_read(self) -> int:
        # Parquet is read by row group; the share of rows read stands in for the bytes.
        return _share(self._size, self._rows_done, self._file.metadata.num_rows)

    def batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        self._rows_done = 0
        return self._read(columns, range(self._file.metadata.num_row_groups), threads=True)

    def parts(self, columns: Sequence[str], count: int) -> list[Part]:
        """Up to ``count`` runs of consecutive row groups, each read in its own thread."""
        groups = self._file.metadata.num_row_groups
        count = min(count, groups)
        self._rows_done = 0
        if count < 2 or self._largest_group() > _common.ROW_GROUP_ROWS:
            return [Part(self.batches(columns))]
        runs = [range(k * groups // count, (k + 1) * groups // count) for k in range(count)]
        return [Part(self._read(columns, run, threads=False)) for run in runs]

    def _largest_group(self) -> int:
        meta = self._file.metadata
        return max((meta.row_group(i).num_rows for i in range(meta.num_row_groups)), default=0)

    def _read(
        self, columns: Sequence[str], groups: range, threads: bool
    ) -> Iterator[pa.RecordBatch]:
        """Row group by row group: memory is that of the largest row group's columns.

        Text columns come back dictionary-encoded, as Parquet stores them: the counts then
        work on the dictionary codes instead of hashing every string again, and a row group
        read whole carries its dictionary once (batches of it would each carry all of it).
        Columns without text, and files whose row groups are huge (over ``ROW_GROUP_ROWS``
        rows), are read in batches of ``BATCH_ROWS`` instead, to keep memory bounded.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = self._file.schema_arrow
        text = [c for c in columns if pa.types.is_string(schema.field(c).type)]
        try:
            # One ParquetFile per reading thread: a file handle is not shared.
            source = pq.ParquetFile(self.path, read_dictionary=text or None)
            if not text or self._largest_group() > _common.ROW_GROUP_ROWS:
                # Numbers: batches of the run's row groups (a whole row group of each
                # reading thread held at once doubled peak memory, 174 against 96 MiB on
                # 5M rows, for 10 % of speed).
                rows = max(_common.BATCH_ROWS, 1 << 20) if text else _common.BATCH_ROWS
                for batch in source.iter_batches(
                    batch_size=rows, row_groups=list(groups), columns=list(columns)
                ):
                    self._rows_done += batch.num_rows
                    yield batch
                return
            for i in groups:
                table = source.read_row_group(i, columns=list(columns), use_threads=threads)
                self._rows_done += table.num_rows
                yield from table.to_batches()
        except (pa.ArrowException, OSError) as exc:
            raise _data_error(self.name, "Parquet", exc, _CORRUPT_HINT) from None


@dataclass
class JsonLinesReader:
    path: str
    name: str
    compression: Codec | None = None
    column_names: list[str] = field(default_factory=list)
    _tally: _Tally | None = field(default=None, init=False, repr=False)
    _guard: _NullLines | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        head, _ = _read_head(self.path, self.compression, self.name)
        if head.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"["):
            raise DataError(
                f"{quoted(self.name)} holds one JSON array; biascalc reads JSON Lines (one object "
                "per line): convert it, for example with  jq -c '.[]' in.json > out.jsonl"
            )
        reader = self._open()
        try:
            self.column_names = list(reader.schema.names)
        finally:
            _drain(reader)
        self._check_nulls()
        self._tally = None

    def _check_nulls(self) -> None:
        line = self._guard.null_line if self._guard is not None else None
        if line is not None:
            raise DataError(
                f"{quoted(self.name)} line {line} is null, not a JSON object; "
                'each line must be one JSON object such as {"y": 1}'
            )

    @property
    def bytes_read(self) -> int:
        return self._tally.bytes if self._tally is not None else 0

    def _open(self) -> pa.RecordBatchReader:
        import pyarrow as pa
        import pyarrow.json as pjson

        try:
            stream, self._tally = _open_tallied(self.path, self.compression)
            options = pjson.ReadOptions(block_size=_common.CSV_BLOCK_BYTES)
            self._guard = _NullLines(stream)
            return pjson.open_json(_as_io(self._guard), read_options=options)
        except (pa.ArrowException, OSError) as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> DataError:
        if "Empty JSON file" in str(exc):
            return DataError(f"{quoted(self.name)} is empty; it needs one JSON object per line")
        hint = 'each line must be one JSON object such as {"y": 1}'
        return _data_error(self.name, "JSON Lines", exc, hint)

    def batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        reader = self._open()
        try:
            for batch in reader:
                if self._guard is not None and self._guard.null_line is not None:
                    break
                yield _select(batch, columns)
        except (pa.ArrowException, OSError) as exc:
            _drain(reader)
            self._check_nulls()  # a null line may be what pyarrow tripped over
            raise self._error(exc) from None
        except GeneratorExit:  # the caller stopped early (an error in a later batch)
            _drain(reader)
            raise
        _drain(reader)
        self._check_nulls()


def _drain(reader: pa.RecordBatchReader) -> None:
    """Let pyarrow's reading thread finish before an error unwinds past the reader.

    Raising while it still reads ahead aborts the process ("terminate called without an
    active exception"); reading to the end (or to pyarrow's own error) is always safe.
    """
    import pyarrow as pa

    try:
        for _ in reader:
            pass
    except (pa.ArrowException, OSError):
        pass


class _NullLines(_PassThrough):
    """Hides lines that start with the JSON literal ``null`` from pyarrow, and remembers them.

    pyarrow 26's JSON reader crashes the process (a segmentation fault) on such lines
    (``null``, ``null null``, ``nullx``, ...); any other non-object line it reports as an
    error.  So the bytes are
    scanned on their way to pyarrow (a regular expression in C, ~1 GB/s): each ``null`` line
    becomes ``{}`` padded to the same length, and the reader raises the usual one-line error
    for the first of them once pyarrow is done with the block (raising inside pyarrow's
    reading thread would abort the process).  Chunks are handed on at line ends, so a
    ``null`` is never split between two reads.
    """

    # A line whose first token is null (after a BOM or blanks), whatever follows.
    _PATTERN = re.compile(rb"(?m)^(?:\xef\xbb\xbf)?[ \t\r\x0b\x0c]*null[^\n]*")

    def __init__(self, stream: io.RawIOBase) -> None:
        super().__init__(stream)
        self._held = b""  # an unfinished short last line, kept for the next read
        self._at_line_start = True
        self._lines = 0
        self.null_line: int | None = None

    def read(self, size: int | None = -1) -> bytes:
        while True:
            data = self._read_raw(size)
            buf = self._held + data
            if not data:
                out, self._held = buf, b""
            else:
                cut = buf.rfind(b"\n") + 1
                if len(buf) - cut <= 16:  # a short unfinished line might still become "null"
                    out, self._held = buf[:cut], buf[cut:]
                else:
                    out, self._held = buf, b""
            if out or not data:
                return self._scrub(out)

    def _scrub(self, out: bytes) -> bytes:
        # Only whole lines can be "null" lines: skip the rest of a line begun earlier.
        start = 0 if self._at_line_start else out.find(b"\n") + 1
        if self._at_line_start or start > 0:
            found = self._PATTERN.search(out, start)
            if found is not None:
                if self.null_line is None:
                    self.null_line = self._lines + out.count(b"\n", 0, found.start()) + 1
                out = self._PATTERN.sub(lambda m: b"{}".ljust(len(m.group()), b" "), out)
        self._lines += out.count(b"\n")
        if out:
            self._at_line_start = out.endswith(b"\n")
        return out


def _select(batch: pa.RecordBatch, columns: Sequence[str]) -> pa.RecordBatch:
    import pyarrow as pa

    arrays = []
    for c in columns:
        idx = batch.schema.get_field_index(c)
        arrays.append(batch.column(idx) if idx >= 0 else pa.nulls(batch.num_rows))
    return pa.RecordBatch.from_arrays(arrays, names=list(columns))


@dataclass
class ArrowReader:
    path: str
    name: str
    column_names: list[str] = field(default_factory=list)
    #: The file's Arrow schema, with its metadata (declared classes: readers/_features).
    schema: pa.Schema | None = field(default=None, init=False, repr=False)
    _done: tuple[int, int] = field(default=(0, 1), init=False, repr=False)
    _size: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.schema = self._open().schema
        self.column_names = list(self.schema.names)
        self._size = os.path.getsize(self.path)

    @property
    def bytes_read(self) -> int:
        return _share(self._size, *self._done)

    def _open(self) -> pa.ipc.RecordBatchFileReader | pa.ipc.RecordBatchStreamReader:
        import pyarrow as pa

        try:
            return pa.ipc.open_file(pa.memory_map(self.path))
        except (pa.ArrowException, OSError):
            pass
        try:
            return pa.ipc.open_stream(pa.memory_map(self.path))
        except (pa.ArrowException, OSError) as exc:
            raise _data_error(self.name, "Arrow IPC / Feather", exc, _CORRUPT_HINT) from None

    def batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        reader = self._open()
        try:
            if isinstance(reader, pa.ipc.RecordBatchFileReader):
                for i in range(reader.num_record_batches):
                    yield reader.get_batch(i).select(list(columns))
                    self._done = (i + 1, reader.num_record_batches)
            else:
                # A stream does not say how many batches follow: done only at the end.
                for batch in reader:
                    yield batch.select(list(columns))
                self._done = (1, 1)
        except (pa.ArrowException, OSError) as exc:
            raise _data_error(self.name, "Arrow IPC / Feather", exc, _CORRUPT_HINT) from None
