"""Readers: paths (or standard input) -> Arrow record batches of only the needed columns.

Formats: CSV (delimiter sniffed), TSV, Parquet, JSON Lines, Arrow IPC / Feather v2.
Text formats may be gzip-, bz2- or zstd-compressed; compression is recognised from the
file's first bytes, so the extension need not say.  The format comes from the extension
(``.csv.gz`` -> CSV), from ``input_format``, or from the file's magic bytes (which is how
Parquet, Arrow and JSON Lines piped into standard input are recognised).

Everything streams: CSV and JSON are parsed in blocks by pyarrow, Parquet is read by row
group / batch, Arrow files are memory-mapped.  Standard input and named pipes are first
copied to a temporary file, so they can be sniffed and re-read (see CSV type widening
below) in bounded memory.

CSV type inference is pyarrow's, done on the first block.  When a later block holds a
value the inferred type cannot take (an integer column with ``1.5`` or ``n/a`` on line
2,000,000), the column is widened (int64 -> float64 -> text) and the file is read again.

pyarrow accepts a quote that is never closed (the field runs to the end of the file) and
reports malformed rows without a line number.  So the quote characters are counted as the
bytes stream past; an odd count, or a parse error, triggers a second pass with Python's
``csv`` module that finds the line to name.  A ``;``-delimited file whose numbers use a
decimal comma (``1,5``), as spreadsheets in many European locales write it, is read with
``decimal_point=","``.
"""

from __future__ import annotations

import atexit
import codecs
import contextlib
import csv
import difflib
import glob
import io
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol, cast

from .errors import ColumnNotFoundError, DataError, OptionError

if TYPE_CHECKING:
    import pyarrow as pa

    from .stats import LabelStats

__all__ = ["FORMATS", "Dataset", "open_dataset"]

FORMATS = ("csv", "tsv", "parquet", "jsonl", "arrow")
_EXTENSIONS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".parq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}
_COMPRESSED_EXTENSIONS = (".gz", ".gzip", ".bz2", ".zst", ".zstd")
Codec = Literal["gzip", "bz2", "zstd"]
_MAGIC: tuple[tuple[bytes, Codec], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls / .doc
_WORKBOOK_EXTENSIONS = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".numbers")
BATCH_ROWS = 1 << 18
CSV_BLOCK_BYTES = 1 << 20
_SAMPLE_BYTES = 1 << 16
#: The header line is read whole to learn the column names; beyond this it is not a header.
_HEADER_LIMIT = 1 << 26
_DATA_SUFFIXES = ".csv, .tsv, .parquet, .jsonl, .arrow"


class FileReader(Protocol):
    name: str
    column_names: list[str]

    def batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]: ...


class _Widen(Exception):
    """A CSV column needs a wider type than the one inferred from its first block."""


# Control characters in a name (a header cell with a line break) are shown escaped, so an
# error message stays on one line.
_ESCAPES = {
    **{i: f"\\x{i:02x}" for i in [*range(32), *range(127, 160)]},
    9: "\\t",
    10: "\\n",
    13: "\\r",
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def escaped(text: str) -> str:
    """``text`` with control characters escaped (``a\\nb`` for a line break)."""
    return text.translate(_ESCAPES)


def quoted(text: str) -> str:
    """``'text'`` for a message: quoted, with control characters escaped."""
    return f"'{escaped(text)}'"


def _first_line(text: str, limit: int = 80) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _data_error(name: str, what: str, exc: BaseException, hint: str = "") -> DataError:
    detail = _first_line(str(exc), 160).rstrip(".") if str(exc).strip() else type(exc).__name__
    return DataError(
        f"cannot read {quoted(name)} as {what}: {detail}" + (f"; {hint}" if hint else "")
    )


_CORRUPT_HINT = "the file is truncated or corrupt: copy or export it again"


def _compression(path: str) -> Codec | None:
    with open(path, "rb") as f:
        head = f.read(4)
    for magic, codec in _MAGIC:
        if head.startswith(magic):
            return codec
    return None


def _strip_compression(name: str) -> str:
    lower = name.lower()
    for ext in _COMPRESSED_EXTENSIONS:
        if lower.endswith(ext):
            return lower[: -len(ext)]
    return lower


def _sniff_format(path: str, name: str) -> str:
    fmt = _EXTENSIONS.get(os.path.splitext(_strip_compression(name))[1])
    if fmt is not None:
        return fmt
    with open(path, "rb") as f:
        head = f.read(64)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith((b"ARROW1", b"\xff\xff\xff\xff")):
        return "arrow"
    if head.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"{"):
        return "jsonl"
    return "csv"


def _refuse_archives(path: str, name: str) -> None:
    """Workbooks and zip archives get a message saying what to do instead."""
    with open(path, "rb") as f:
        head = f.read(8)
    ext = os.path.splitext(name.lower())[1]
    if head.startswith(_OLE_MAGIC) or (head.startswith(_ZIP_MAGIC) and ext in _WORKBOOK_EXTENSIONS):
        raise DataError(
            f"{quoted(name)} is a spreadsheet workbook, which biascalc does not read; save "
            "the sheet as CSV (File > Save As > CSV) and pass that file"
        )
    if head.startswith(_ZIP_MAGIC):
        raise DataError(
            f"{quoted(name)} is a zip archive, which biascalc does not read; unzip it and pass the "
            f"data file inside ({_DATA_SUFFIXES}; gzip, bz2 or zstd compression is fine)"
        )


def _open_stream(path: str, compression: Codec | None) -> pa.NativeFile:
    import pyarrow as pa

    return pa.input_stream(path, compression=compression)


def _as_io(stream: pa.NativeFile | io.RawIOBase) -> IO[Any]:
    # pyarrow's readers take its own NativeFile or any object with read(); the stubs
    # list only Python file objects.
    return cast(IO[Any], stream)


class _QuoteCounter(io.RawIOBase):
    """Passes a stream's bytes through, counting the quote characters it sees."""

    def __init__(self, stream: pa.NativeFile, quote: bytes = b'"') -> None:
        super().__init__()
        self._stream = stream
        self._quote = quote
        self.quotes = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = bytes(self._stream.read() if size is None or size < 0 else self._stream.read(size))
        self.quotes += data.count(self._quote)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _read_head(path: str, compression: Codec | None, name: str) -> tuple[bytes, bool]:
    """The first bytes of a (decompressed) file, at least its whole first line.

    Returns the bytes and whether they are the whole file.
    """
    try:
        with _open_stream(path, compression) as stream:
            head = bytes(stream.read(_SAMPLE_BYTES))
            complete = len(head) < _SAMPLE_BYTES
            while not complete and b"\n" not in head and len(head) < _HEADER_LIMIT:
                more = bytes(stream.read(1 << 20))
                head += more
                complete = not more
    except OSError as exc:
        raise _data_error(name, f"{compression}-compressed data", exc, _CORRUPT_HINT) from None
    return head, complete


def _is_wide_encoding(encoding: str) -> bool:
    return codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))


@dataclass
class CsvReader:
    """Streams a delimited text file with pyarrow.csv, widening types when needed."""

    path: str
    name: str
    delimiter: str | None = None
    encoding: str | None = None
    compression: Codec | None = None
    column_names: list[str] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    weight_columns: frozenset[str] = frozenset()
    decimal_point: str = "."
    header_bytes: int = 0
    #: Header names as written (column_names has surrounding spaces stripped).
    raw_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        encoding = self.encoding or "utf-8-sig"
        try:
            wide = _is_wide_encoding(encoding)
        except LookupError:
            raise OptionError(
                f"unknown --encoding {encoding!r}; try utf-8, latin-1 or cp1252"
            ) from None
        head, complete = _read_head(self.path, self.compression, self.name)
        if not head.strip():
            raise DataError(
                f"{quoted(self.name)} is empty; it needs a header line and rows of labels"
            )
        if b"\x00" in head and not wide:
            raise DataError(self._binary_message(head))
        text = self._decode(head, complete)
        lines = text.splitlines()
        if not complete and b"\n" not in head:
            raise DataError(
                f"{quoted(self.name)} has no line break in its first {_HEADER_LIMIT >> 20} MiB, "
                "so it is not CSV text with a header line; check the file, or pass --input-format"
            )
        if self.delimiter is None:
            self.delimiter = _sniff_delimiter(lines)
        try:
            header = next(csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter), [])
        except csv.Error as exc:
            raise DataError(f"cannot read the header line of {quoted(self.name)}: {exc}") from None
        self.column_names = [h.strip() if h.strip() != h and h.strip() else h for h in header]
        self.raw_names = {c: h for c, h in zip(self.column_names, header, strict=True) if c != h}
        self.header_bytes = len(lines[0].encode("utf-8")) if lines else 0
        if self.delimiter == ";" and _decimal_commas(lines[1:50]):
            self.decimal_point = ","

    def _binary_message(self, head: bytes) -> str:
        if head.startswith(b"PAR1"):
            return (
                f"{quoted(self.name)} is a Parquet file, not CSV text; pass --input-format parquet"
            )
        if head.startswith((b"ARROW1", b"\xff\xff\xff\xff")):
            return (
                f"{quoted(self.name)} is an Arrow IPC file, not CSV text; pass --input-format arrow"
            )
        return (
            f"{quoted(self.name)} is binary data, not CSV text (it holds NUL bytes); give a "
            "CSV, TSV, Parquet, JSON Lines or Arrow file (for UTF-16 text pass --encoding utf-16)"
        )

    def _decode(self, sample: bytes, complete: bool) -> str:
        cut = len(sample) if complete else sample.rfind(b"\n")
        chunk = sample[: cut if cut > 0 else len(sample)]
        encoding = self.encoding or "utf-8-sig"
        try:
            return chunk.decode(encoding)
        except UnicodeDecodeError as exc:
            line = chunk[: exc.start].count(b"\n") + 1
            raise self._encoding_error(line, chunk[exc.start]) from None

    def _encoding_error(self, line: int | None, byte: int | None = None) -> DataError:
        encoding = self.encoding or "utf-8-sig"
        shown = "utf-8" if encoding == "utf-8-sig" else encoding
        what = "a byte" if byte is None else f"byte 0x{byte:02x}"
        where = "" if line is None else f" on line {line}"
        return DataError(
            f"{quoted(self.name)} is not valid {shown} text: {what}{where} cannot be decoded; pass "
            "--encoding to say how the file is encoded, for example --encoding latin-1 or "
            "--encoding cp1252"
        )

    def _undecodable_line(self) -> int | None:
        """Line of the first byte the encoding cannot decode (re-reads the file)."""
        decoder = codecs.getincrementaldecoder(self.encoding or "utf-8-sig")()
        line = 1
        try:
            with _open_stream(self.path, self.compression) as stream:
                while chunk := bytes(stream.read(1 << 20)):
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError as exc:
                        return line + chunk[: max(exc.start, 0)].count(b"\n")
                    line += chunk.count(b"\n")
        except OSError:
            return None
        return None

    def batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        raw = [self.raw_names.get(c, c) for c in columns]
        types = {self.raw_names.get(c, c): getattr(pa, t)() for c, t in self.types.items()}
        types = {c: t for c, t in types.items() if c in raw}
        # pyarrow needs the header line inside its first block.
        block = max(CSV_BLOCK_BYTES, 2 * self.header_bytes + 1024)
        read = pcsv.ReadOptions(block_size=block, encoding=self.encoding or "utf8")
        parse = pcsv.ParseOptions(delimiter=self.delimiter or ",", newlines_in_values=True)
        convert = pcsv.ConvertOptions(
            include_columns=raw,
            column_types=types,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            decimal_point=self.decimal_point,
        )
        counter: _QuoteCounter | None = None
        try:
            with _open_stream(self.path, self.compression) as stream:
                if not _is_wide_encoding(self.encoding or "utf8"):
                    counter = _QuoteCounter(stream)
                reader = pcsv.open_csv(
                    _as_io(counter or stream),
                    read_options=read,
                    parse_options=parse,
                    convert_options=convert,
                )
                if any(pa.types.is_binary(f.type) for f in reader.schema):
                    # pyarrow falls back to bytes when a column is not valid UTF-8.
                    raise self._encoding_error(self._undecodable_line())
                for batch in reader:
                    if raw != list(columns):
                        batch = pa.RecordBatch.from_arrays(batch.columns, names=list(columns))
                    yield batch
        except pa.ArrowInvalid as exc:
            self._handle(exc, list(columns))
        except OSError as exc:
            if self.compression:
                what = f"{self.compression}-compressed CSV"
                raise _data_error(self.name, what, exc, _CORRUPT_HINT) from None
            raise _data_error(self.name, "CSV", exc) from None
        except pa.ArrowException as exc:
            raise _data_error(self.name, "CSV", exc) from None
        if counter is not None and counter.quotes % 2:
            found = self._locate("quote")
            if found is not None:
                raise DataError(
                    f'{quoted(self.name)} has a quote (") that is never closed: the field '
                    f"that starts on line {found} runs to the end of the file; close or remove "
                    "that quote"
                )

    def _handle(self, exc: Exception, columns: list[str]) -> None:
        message = str(exc)
        widen = re.search(
            r"In CSV column #(\d+): CSV conversion error to ([\w\[\], ]+): invalid value '(.*)'",
            message,
        )
        if widen:
            column, value = columns[int(widen.group(1))], widen.group(3)
            wider = "float64" if widen.group(2) == "int64" else "string"
            if column in self.weight_columns or self.types.get(column) == wider:
                raise DataError(
                    f"column {quoted(column)} of {quoted(self.name)} holds {value!r}, which is "
                    "not a number; fix that value or leave the cell empty"
                ) from None
            self.types[column] = wider
            raise _Widen(column) from None
        if message.startswith("CSV parse error"):
            detail = message.split(": ", 1)[1] if ": " in message else message
            found = self._locate("ragged")
            where = f" on line {found}" if found is not None else ""
            delimiter = "" if self.delimiter == "," else f" (delimiter {self.delimiter!r})"
            raise DataError(
                f"{quoted(self.name)} is not well-formed CSV{where}: {_first_line(detail)}; check "
                f"the quoting and the number of fields in that row{delimiter}, or set --delimiter"
            ) from None
        if "UTF8" in message or "UTF-8" in message:
            raise self._encoding_error(self._undecodable_line()) from None
        raise _data_error(self.name, "CSV", exc) from None

    def _locate(self, problem: Literal["quote", "ragged"]) -> int | None:
        """Line where a record with a never-closed quote or a wrong field count starts.

        Python's csv module re-reads the file (only after pyarrow found a problem) because
        pyarrow gives no line numbers.  None when it cannot tell.
        """
        encoding = self.encoding or "utf-8-sig"
        expected = len(self.column_names)
        old_limit = csv.field_size_limit()
        csv.field_size_limit(1 << 30)  # a never-closed quote makes one huge field
        try:
            with _open_stream(self.path, self.compression) as stream:
                raw = io.BufferedReader(_QuoteCounter(stream), 1 << 20)
                text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
                reader = csv.reader(text, delimiter=self.delimiter or ",", strict=True)
                start = 1
                for row in reader:
                    if problem == "ragged" and row and len(row) != expected:
                        return start
                    start = reader.line_num + 1
        except csv.Error as exc:
            return start if problem == "quote" and "unexpected end of data" in str(exc) else None
        except OSError:
            return None
        finally:
            csv.field_size_limit(old_limit)
        return None


def _sniff_delimiter(lines: Sequence[str]) -> str:
    # The sniffer runs regular expressions over the sample: keep it small.
    sample = "\n".join(line[:4096] for line in lines[:50])
    try:
        return csv.Sniffer().sniff(sample, delimiters=",\t;|").delimiter
    except csv.Error:
        # One column, or a sample the sniffer cannot decide: the most frequent candidate
        # in the header, else a comma.
        header = lines[0] if lines else ""
        best = max(",\t;|", key=header.count)
        return best if header.count(best) else ","


_DECIMAL_COMMA = re.compile(r'"?[+-]?\d+,\d+"?')
_DECIMAL_POINT = re.compile(r'"?[+-]?\d*\.\d+"?')


def _decimal_commas(rows: Sequence[str]) -> bool:
    """Whether ';'-separated rows write numbers with a decimal comma (1,5) and never 1.5."""
    fields = [f.strip() for row in rows for f in row.split(";")]
    return any(_DECIMAL_COMMA.fullmatch(f) for f in fields) and not any(
        _DECIMAL_POINT.fullmatch(f) for f in fields
    )


@dataclass
class ParquetReader:
    path: str
    name: str
    column_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            self._file = pq.ParquetFile(self.path)
        except (pa.ArrowException, OSError) as exc:
            raise _data_error(self.name, "Parquet", exc, _CORRUPT_HINT) from None
        self.column_names = list(self._file.schema_arrow.names)

    def batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = self._file.schema_arrow
        # Text columns come back dictionary-encoded, as Parquet stores them: the counts
        # then work on the dictionary codes instead of hashing every string again.
        text = [c for c in columns if pa.types.is_string(schema.field(c).type)]
        try:
            source = pq.ParquetFile(self.path, read_dictionary=text) if text else self._file
            yield from source.iter_batches(batch_size=BATCH_ROWS, columns=list(columns))
        except (pa.ArrowException, OSError) as exc:
            raise _data_error(self.name, "Parquet", exc, _CORRUPT_HINT) from None


@dataclass
class JsonLinesReader:
    path: str
    name: str
    compression: Codec | None = None
    column_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        head, _ = _read_head(self.path, self.compression, self.name)
        if head.removeprefix(codecs.BOM_UTF8).lstrip().startswith(b"["):
            raise DataError(
                f"{quoted(self.name)} holds one JSON array; biascalc reads JSON Lines (one object "
                "per line): convert it, for example with  jq -c '.[]' in.json > out.jsonl"
            )
        self.column_names = list(self._open().schema.names)

    def _open(self) -> pa.RecordBatchReader:
        import pyarrow as pa
        import pyarrow.json as pjson

        try:
            stream = _open_stream(self.path, self.compression)
            options = pjson.ReadOptions(block_size=CSV_BLOCK_BYTES)
            return pjson.open_json(_as_io(stream), read_options=options)
        except (pa.ArrowException, OSError) as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> DataError:
        if "Empty JSON file" in str(exc):
            return DataError(f"{quoted(self.name)} is empty; it needs one JSON object per line")
        hint = 'each line must be one JSON object such as {"y": 1}'
        return _data_error(self.name, "JSON Lines", exc, hint)

    def batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        try:
            for batch in self._open():
                yield _select(batch, columns)
        except (pa.ArrowException, OSError) as exc:
            raise self._error(exc) from None


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

    def __post_init__(self) -> None:
        self.column_names = list(self._open().schema.names)

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
            else:
                for batch in reader:
                    yield batch.select(list(columns))
        except (pa.ArrowException, OSError) as exc:
            raise _data_error(self.name, "Arrow IPC / Feather", exc, _CORRUPT_HINT) from None


class Dataset:
    """One or more files read as one data set (they must share the needed columns)."""

    def __init__(self, readers: list[FileReader], cleanup: list[str]) -> None:
        self.readers = readers
        self._cleanup = cleanup

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
            if isinstance(reader, CsvReader) and weight is not None:
                reader.types.setdefault(weight, "float64")
                reader.weight_columns = frozenset([weight])
        return list(targets)

    def collect(self, make_stats: Callable[[], LabelStats], columns: Sequence[str]) -> LabelStats:
        """Read the columns of every file into one set of statistics.

        Each file is folded into its own statistics, then merged, so that line numbers
        in error messages count from the top of the file they name.
        """
        for _attempt in range(2 * len(columns) + 1):
            try:
                return self._collect_once(make_stats, columns)
            except _Widen:
                continue
        raise DataError("could not settle the column types of the input")  # pragma: no cover

    def _collect_once(
        self, make_stats: Callable[[], LabelStats], columns: Sequence[str]
    ) -> LabelStats:
        total = make_stats()
        for reader in self.readers:
            part = make_stats()
            try:
                for batch in reader.batches(columns):
                    part.update(batch)
            except DataError as exc:
                if len(self.readers) > 1 and quoted(reader.name) not in str(exc):
                    raise type(exc)(f"in {quoted(reader.name)}: {exc}") from None
                raise
            total = total.merge(part)
        if total.rows_seen == 0:
            where = (
                f"{quoted(self.readers[0].name)} has"
                if len(self.readers) == 1
                else "the inputs have"
            )
            raise DataError(f"{where} column names but no rows of data; add rows of labels")
        return total


def _show_columns(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(escaped(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


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
    raise ColumnNotFoundError(message)


def _expand(path: str) -> list[str]:
    if path == "-":
        return [path]
    if os.path.isdir(path):
        found: list[str] = []
        other: list[str] = []
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            for f in sorted(files):
                if f.startswith((".", "_")):
                    continue
                (found if _sniff_ext(f) else other).append(os.path.join(root, f))
        if not found:
            besides = (
                f" (it holds {len(other)} other files, such as {quoted(other[0])})" if other else ""
            )
            raise DataError(
                f"directory {quoted(path)} holds no data files{besides}; biascalc reads "
                f"{_DATA_SUFFIXES} files, optionally compressed"
            )
        return found
    if any(ch in path for ch in "*?[") and not os.path.exists(path):
        matches = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
        if not matches:
            raise DataError(f"no files match {quoted(path)}")
        return matches
    if not os.path.exists(path):
        raise DataError(_not_found(path))
    if not os.path.isfile(path) and not _is_stream(path):
        raise DataError(f"{quoted(path)} is not a file or a directory; give a data file")
    return [path]


def _not_found(path: str) -> str:
    folder, base = os.path.split(path)
    if folder and not os.path.isdir(folder):
        return f"file {quoted(path)} not found: folder {quoted(folder)} does not exist"
    try:
        siblings = sorted(os.listdir(folder or "."))
    except OSError:
        siblings = []
    close = difflib.get_close_matches(base, siblings, n=1, cutoff=0.8)
    folded = [s for s in siblings if s.casefold() == base.casefold()]
    suggestion = folded[0] if folded else (close[0] if close else None)
    if suggestion is None:
        return f"file {quoted(path)} not found"
    return (
        f"file {quoted(path)} not found; did you mean {quoted(os.path.join(folder, suggestion))}?"
    )


def _is_stream(path: str) -> bool:
    mode = os.stat(path).st_mode
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


def _sniff_ext(name: str) -> bool:
    return os.path.splitext(_strip_compression(name))[1] in _EXTENSIONS


#: Temporary copies not yet removed; a safety net at exit for data sets never closed (an
#: error traceback can keep a Dataset alive until the interpreter ends).
_SPOOLED: set[str] = set()


def _remove_spool(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
    _SPOOLED.discard(path)


@atexit.register
def _remove_all_spools() -> None:
    for path in list(_SPOOLED):
        _remove_spool(path)


def _spool(source: str) -> str:
    """Copy standard input (``"-"``) or a pipe to a temporary file that can be re-read."""
    fd, tmp = tempfile.mkstemp(prefix="biascalc-stdin-")
    _SPOOLED.add(tmp)
    try:
        with os.fdopen(fd, "wb") as out:
            if source == "-":
                shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
            else:
                with open(source, "rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
    except BaseException:
        _remove_spool(tmp)
        raise
    return tmp


def open_dataset(
    paths: Sequence[str],
    *,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> Dataset:
    """Open files (or ``"-"`` for standard input) as one data set.

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
    if not paths:
        paths = ["-"]
    readers: list[FileReader] = []
    cleanup: list[str] = []
    dataset = Dataset(readers, cleanup)
    try:
        for given in paths:
            for path in _expand(given):
                name = "<stdin>" if path == "-" else path
                piped = path == "-" or _is_stream(path)
                if piped:
                    path = _spool(path)
                    cleanup.append(path)
                    if os.path.getsize(path) == 0:
                        raise DataError(
                            f"{'standard input' if name == '<stdin>' else repr(name)} is empty; "
                            "pipe a file into biascalc or pass a path"
                        )
                readers.append(_open_one(path, name, input_format, delimiter, encoding))
    except BaseException:
        dataset.close()
        raise
    return dataset


def _open_one(
    path: str,
    name: str,
    input_format: str | None,
    delimiter: str | None,
    encoding: str | None,
) -> FileReader:
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
        if fmt == "tsv" and delimiter is None:
            delimiter = "\t"
        return CsvReader(path, name, delimiter, encoding, compression)
    except PermissionError:
        raise DataError(f"cannot read {quoted(name)}: permission denied") from None
    except IsADirectoryError:
        raise DataError(f"{quoted(name)} is a directory") from None
