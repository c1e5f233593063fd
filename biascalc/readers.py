"""Readers: paths (or standard input) -> Arrow record batches of only the needed columns.

Formats: CSV (delimiter sniffed), TSV, Parquet, JSON Lines, Arrow IPC / Feather v2.
Text formats may be gzip-, bz2- or zstd-compressed; compression is recognised from the
file's first bytes, so the extension need not say.  The format comes from the extension
(``.csv.gz`` -> CSV), from ``input_format``, or from the file's magic bytes.

Everything streams: CSV and JSON are parsed in blocks by pyarrow, Parquet is read by row
group / batch, Arrow files are memory-mapped.  Standard input is first copied to a
temporary file, so it can be re-read (see CSV type widening below) in bounded memory.

CSV type inference is pyarrow's, done on the first block.  When a later block holds a
value the inferred type cannot take (an integer column with ``1.5`` or ``n/a`` on line
2,000,000), the column is widened (int64 -> float64 -> text) and the file is read again.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import glob
import io
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

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
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zstd"))
BATCH_ROWS = 1 << 16
CSV_BLOCK_BYTES = 1 << 22
_SAMPLE_BYTES = 1 << 16


class FileReader(Protocol):
    name: str
    column_names: list[str]

    def batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]: ...


class _Widen(Exception):
    """A CSV column needs a wider type than the one inferred from its first block."""


def _data_error(name: str, what: str, exc: BaseException) -> DataError:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DataError(f"cannot read '{name}' as {what}: {detail}")


def _compression(path: str) -> str | None:
    with open(path, "rb") as f:
        head = f.read(4)
    for magic, codec in _MAGIC:
        if head.startswith(magic):
            return codec
    return None


def _sniff_format(path: str, name: str) -> str:
    lower = name.lower()
    for ext in _COMPRESSED_EXTENSIONS:
        if lower.endswith(ext):
            lower = lower[: -len(ext)]
    fmt = _EXTENSIONS.get(os.path.splitext(lower)[1])
    if fmt is not None:
        return fmt
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"ARROW1") or head.startswith(b"\xff\xff\xff\xff"):
        return "arrow"
    return "csv"


def _open_stream(path: str, compression: str | None) -> pa.NativeFile:
    import pyarrow as pa

    return pa.input_stream(path, compression=compression)


def _read_sample(path: str, compression: str | None, name: str) -> bytes:
    try:
        with _open_stream(path, compression) as stream:
            return bytes(stream.read(_SAMPLE_BYTES))
    except OSError as exc:
        raise _data_error(name, f"{compression}-compressed data", exc) from None


@dataclass
class CsvReader:
    """Streams a delimited text file with pyarrow.csv, widening types when needed."""

    path: str
    name: str
    delimiter: str | None = None
    encoding: str | None = None
    compression: str | None = None
    column_names: list[str] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    weight_columns: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        sample = _read_sample(self.path, self.compression, self.name)
        if not sample.strip():
            raise DataError(f"'{self.name}' is empty; it needs a header line and rows of labels")
        if b"\x00" in sample and not (self.encoding or "").lower().startswith("utf-16"):
            kind = "a Parquet file" if sample.startswith(b"PAR1") else "text"
            raise DataError(
                f"'{self.name}' does not look like CSV text (it holds NUL bytes)"
                + (
                    "; it looks like a Parquet file: pass --input-format parquet"
                    if kind != "text"
                    else ""
                )
            )
        text = self._decode(sample)
        if self.delimiter is None:
            self.delimiter = _sniff_delimiter(text)
        header = next(csv.reader(io.StringIO(text), delimiter=self.delimiter), [])
        self.column_names = [h.strip() if h.strip() != h and h.strip() else h for h in header]

    def _decode(self, sample: bytes) -> str:
        cut = sample.rfind(b"\n") if len(sample) == _SAMPLE_BYTES else len(sample)
        chunk = sample[: cut if cut > 0 else len(sample)]
        encoding = self.encoding or "utf-8-sig"
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise OptionError(f"unknown --encoding {encoding!r}") from None
        try:
            return chunk.decode(encoding)
        except UnicodeDecodeError as exc:
            raise DataError(
                f"'{self.name}' is not valid {encoding} text (byte 0x{chunk[exc.start]:02x} at offset {exc.start}); "
                "pass --encoding to say how it is encoded, for example --encoding latin-1"
            ) from None

    def batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        types = {c: getattr(pa, t)() for c, t in self.types.items() if c in columns}
        read = pcsv.ReadOptions(block_size=CSV_BLOCK_BYTES, encoding=self.encoding or "utf8")
        parse = pcsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True)
        convert = pcsv.ConvertOptions(
            include_columns=list(columns),
            column_types=types,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        )
        try:
            with _open_stream(self.path, self.compression) as stream:
                reader = pcsv.open_csv(
                    stream, read_options=read, parse_options=parse, convert_options=convert
                )
                yield from reader
        except pa.ArrowInvalid as exc:
            self._handle(exc, list(columns))
        except OSError as exc:
            raise _data_error(self.name, "CSV", exc) from None

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
                    f"column '{column}' of '{self.name}' holds {value!r}, which is not a number"
                ) from None
            self.types[column] = wider
            raise _Widen(column) from None
        if message.startswith("CSV parse error"):
            detail = message.split(": ", 1)[1] if ": " in message else message
            raise DataError(
                f"'{self.name}' is not well-formed CSV: {_first_line(detail)}; check the quoting and "
                "the number of fields in that row"
                + ("" if self.delimiter == "," else f" (delimiter {self.delimiter!r})")
                + ", or set --delimiter"
            ) from None
        if "invalid UTF8" in message or "UTF8" in message:
            raise DataError(
                f"'{self.name}' holds bytes that are not valid UTF-8; pass --encoding, for example --encoding latin-1"
            ) from None
        raise _data_error(self.name, "CSV", exc) from None


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= 80 else line[:77] + "..."


def _sniff_delimiter(text: str) -> str:
    lines = text.splitlines()[:50]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",\t;|").delimiter
    except csv.Error:
        # One column, or a sample the sniffer cannot decide: the most frequent candidate
        # in the header, else a comma.
        header = lines[0] if lines else ""
        best = max(",\t;|", key=header.count)
        return best if header.count(best) else ","


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
            raise _data_error(self.name, "Parquet", exc) from None
        self.column_names = list(self._file.schema_arrow.names)

    def batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        try:
            yield from self._file.iter_batches(batch_size=BATCH_ROWS, columns=list(columns))
        except (pa.ArrowException, OSError) as exc:
            raise _data_error(self.name, "Parquet", exc) from None


@dataclass
class JsonLinesReader:
    path: str
    name: str
    compression: str | None = None
    column_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.column_names = list(self._open().schema.names)

    def _open(self) -> pa.json.JSONStreamingReader:
        import pyarrow as pa
        import pyarrow.json as pjson

        try:
            stream = _open_stream(self.path, self.compression)
            return pjson.open_json(
                stream, read_options=pjson.ReadOptions(block_size=CSV_BLOCK_BYTES)
            )
        except (pa.ArrowException, OSError) as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> DataError:
        if "Empty JSON file" in str(exc):
            return DataError(f"'{self.name}' is empty; it needs one JSON object per line")
        return _data_error(self.name, "JSON Lines", exc)

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
            raise _data_error(self.name, "Arrow IPC / Feather", exc) from None

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
            raise _data_error(self.name, "Arrow IPC / Feather", exc) from None


class Dataset:
    """One or more files read as one data set (they must share the needed columns)."""

    def __init__(self, readers: list[FileReader], cleanup: list[str]) -> None:
        self.readers = readers
        self._cleanup = cleanup

    def __del__(self) -> None:
        for path in self._cleanup:
            try:
                os.unlink(path)
            except OSError:
                pass

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
                    f"'{first.name}' has {len(first.column_names)} columns ({shown}); "
                    "say which holds the labels with --target"
                )
        wanted = [*targets, *([weight] if weight else [])]
        for reader in self.readers:
            for name in wanted:
                _check_column(name, reader)
        if weight is not None and weight in targets:
            raise OptionError(f"column '{weight}' cannot be both a target and the weight")
        if len(set(targets)) != len(targets):
            raise OptionError("a --target column is named more than once")
        for reader in self.readers:
            if isinstance(reader, CsvReader) and weight is not None:
                reader.types.setdefault(weight, "float64")
                reader.weight_columns = frozenset([weight])
        return list(targets)

    def collect(self, make_stats: Callable[[], LabelStats], columns: Sequence[str]) -> LabelStats:
        """Read the columns of every file into one set of statistics."""
        for _attempt in range(2 * len(columns) + 1):
            stats = make_stats()
            try:
                for reader in self.readers:
                    for batch in reader.batches(columns):
                        stats.update(batch)
            except _Widen:
                continue
            return stats
        raise DataError("could not settle the column types of the input")  # pragma: no cover


def _show_columns(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _check_column(name: str, reader: FileReader) -> None:
    names = reader.column_names
    hits = names.count(name)
    if hits > 1:
        raise DataError(
            f"column '{name}' appears {hits} times in the header of '{reader.name}'; rename the copies so it is unique"
        )
    if hits == 1:
        return
    message = f"column '{name}' not found in '{reader.name}'; columns are: {_show_columns(names)}"
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    folded = [n for n in names if n.strip().casefold() == name.strip().casefold()]
    suggestion = folded[0] if folded else (close[0] if close else None)
    if suggestion is not None:
        message += f"; did you mean '{suggestion}'?"
    raise ColumnNotFoundError(message)


def _expand(path: str) -> list[str]:
    if path == "-":
        return [path]
    if os.path.isdir(path):
        found = []
        for root, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            for f in sorted(files):
                if not f.startswith((".", "_")) and _sniff_ext(f):
                    found.append(os.path.join(root, f))
        if not found:
            raise DataError(
                f"directory '{path}' holds no data files (.csv, .tsv, .parquet, .jsonl, .arrow)"
            )
        return found
    if any(ch in path for ch in "*?[") and not os.path.exists(path):
        matches = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
        if not matches:
            raise DataError(f"no files match '{path}'")
        return matches
    if not os.path.exists(path):
        raise DataError(f"file '{path}' not found")
    if not os.path.isfile(path) and not _is_stream(path):
        raise DataError(f"'{path}' is not a file")
    return [path]


def _is_stream(path: str) -> bool:
    import stat

    return stat.S_ISFIFO(os.stat(path).st_mode) or stat.S_ISCHR(os.stat(path).st_mode)


def _sniff_ext(name: str) -> bool:
    lower = name.lower()
    for ext in _COMPRESSED_EXTENSIONS:
        if lower.endswith(ext):
            lower = lower[: -len(ext)]
    return os.path.splitext(lower)[1] in _EXTENSIONS


def _spool_stdin() -> str:
    """Copy standard input to a temporary file so it can be sniffed and re-read."""
    fd, tmp = tempfile.mkstemp(prefix="biascalc-stdin-")
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
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
    for given in paths:
        for path in _expand(given):
            name = "<stdin>" if path == "-" else path
            if path == "-":
                path = _spool_stdin()
                cleanup.append(path)
                if os.path.getsize(path) == 0:
                    raise DataError(
                        "standard input is empty; pipe a file into biascalc or pass a path"
                    )
            readers.append(_open_one(path, name, input_format, delimiter, encoding, given == "-"))
    return dataset


def _open_one(
    path: str,
    name: str,
    input_format: str | None,
    delimiter: str | None,
    encoding: str | None,
    stdin: bool,
) -> FileReader:
    try:
        fmt = input_format or ("csv" if stdin else _sniff_format(path, name))
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
        raise DataError(f"cannot read '{name}': permission denied") from None
    except IsADirectoryError:
        raise DataError(f"'{name}' is a directory") from None
