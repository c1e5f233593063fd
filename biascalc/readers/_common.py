"""What every reader shares: formats, sniffing, one-line errors and counted streams.

The tuning constants live here, and only here: the readers look them up at call time
(``_common.CSV_BLOCK_BYTES``), so setting ``biascalc.readers.CSV_BLOCK_BYTES`` (tests do)
takes effect everywhere.
"""

from __future__ import annotations

import codecs
import collections
import io
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol, cast

from ..errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

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
#: Rows per Parquet batch of numbers.  Measured on the 5M-row benchmark file (binary label,
#: two reading threads): 1 << 17 peaks at 91-95 MiB against 95-99 MiB for 1 << 18, for the
#: same CPU time (0.19-0.22 s); 1 << 16 saves 2 MiB more for 10 % more CPU.
BATCH_ROWS = 1 << 17
#: Parquet row groups up to this many rows are read whole (memory: the largest row group
#: of the needed columns); files with larger ones are read in batches of BATCH_ROWS.
ROW_GROUP_ROWS = 1 << 23
#: CSV / JSON block: as fast as 4 MiB on the 5M-row benchmark, with half the peak memory.
CSV_BLOCK_BYTES = 1 << 20
_SAMPLE_BYTES = 1 << 16
#: The header line is read whole to learn the column names; beyond this it is not a header.
_HEADER_LIMIT = 1 << 26
_DATA_SUFFIXES = ".csv, .tsv, .parquet, .jsonl, .arrow"
#: Names that ``biascalc.readers`` forwards here when they are set on the package.
#: A plain CSV file is split into byte ranges parsed in parallel, one per usable core,
#: each at least this big (smaller files are read in one pass: a thread costs more).
CSV_RANGE_BYTES = 16 << 20
#: Threads that read in parallel; None: the usable cores (``os.sched_getaffinity``).
THREADS: int | None = None
TUNABLES = frozenset(
    {"BATCH_ROWS", "CSV_BLOCK_BYTES", "CSV_RANGE_BYTES", "ROW_GROUP_ROWS", "THREADS"}
    | {"_SAMPLE_BYTES", "_HEADER_LIMIT"}
)


class FileReader(Protocol):
    """One file: its columns, and its batches of only the columns asked for."""

    column_names: list[str]

    @property
    def path(self) -> str:
        """The file read (a temporary copy for standard input)."""
        ...

    @property
    def name(self) -> str:
        """The name shown in messages (``<stdin>`` for standard input)."""
        ...

    def batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]: ...

    @property
    def bytes_read(self) -> int:
        """Bytes of the file on disk consumed so far by :meth:`batches` (for progress)."""
        ...


@dataclass
class Part:
    """One independently readable part of a file (a CSV byte range), read in its own thread.

    ``first_line`` gives, when called, the line its first row is on (counted only when
    an error message needs it); None for a part that starts at the top of the file.
    """

    batches: Iterator[pa.RecordBatch]
    first_line: Callable[[], int] | None = None


class Delegating:
    """A reader built on another one (``inner``): the same file, name and progress."""

    inner: FileReader

    @property
    def path(self) -> str:
        return self.inner.path

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def bytes_read(self) -> int:
        return self.inner.bytes_read


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


def _sniff_ext(name: str) -> bool:
    """Whether the name has a data file's extension (``.csv``, ``.parquet.gz``, ...)."""
    return os.path.splitext(_strip_compression(name))[1] in _EXTENSIONS


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


def not_a_table_hint(names: Sequence[str]) -> str:
    """What to pass for label files that are not tables ('' for none of them).

    A new user's first try at an image tree, a mask or a token file leaves out the option
    that reads it; the error then names that option (``; for images pass ...``).
    """
    from ._imagefolder import IMG_EXTENSIONS

    suffixes = {os.path.splitext(_strip_compression(n).lower())[1] for n in names}
    if suffixes & set(IMG_EXTENSIONS):
        return (
            "; for images pass --input-format imagefolder (a folder with one sub-folder per "
            "class) or --input-format masks (segmentation masks)"
        )
    if ".bin" in suffixes:
        return (
            "; for a token file (nanoGPT's train.bin) pass --tokens uint16 (or uint32, int32, "
            "int64)"
        )
    if ".npy" in suffixes:
        return (
            "; for a NumPy array of token ids pass --task tokens, for segmentation masks "
            "--input-format masks"
        )
    return ""


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


class _PassThrough(io.RawIOBase):
    """A readable stream over another one; subclasses look at the bytes in ``read``."""

    def __init__(self, stream: pa.NativeFile | io.RawIOBase) -> None:
        super().__init__()
        self._stream = stream

    def readable(self) -> bool:
        return True

    def _read_raw(self, size: int | None) -> bytes:
        data = self._stream.read() if size is None or size < 0 else self._stream.read(size)
        return bytes(data or b"")

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


class _Tally(_PassThrough):
    """Passes a stream's bytes through, counting them and keeping the last few blocks.

    The count is for the progress bar; the last blocks let the CSV reader check the end of
    the file for a quote that is never closed (see ``CsvReader._quote_left_open``).
    """

    def __init__(self, stream: pa.NativeFile | io.RawIOBase, keep: int = 0) -> None:
        super().__init__(stream)
        self.bytes = 0
        self.tail: collections.deque[bytes] = collections.deque(maxlen=keep or None)
        self._keep = keep

    def read(self, size: int | None = -1) -> bytes:
        data = self._read_raw(size)
        self.bytes += len(data)
        if self._keep and data:
            self.tail.append(data)  # a reference, not a copy
        return data


def _open_tallied(path: str, compression: Codec | None, keep: int = 0) -> tuple[_Tally, _Tally]:
    """(the stream to parse, the tally of bytes read from the file on disk).

    For compressed files the two differ: the progress counts compressed bytes, the last
    blocks kept are decompressed text.
    """
    import pyarrow as pa

    if compression is None:
        plain = _Tally(pa.OSFile(path), keep)
        return plain, plain
    raw = _Tally(pa.OSFile(path))
    return _Tally(pa.CompressedInputStream(raw, compression), keep), raw


def _count_byte(data: bytes, byte: int) -> int:
    """How often ``byte`` occurs: NumPy's vectorised compare, 7x faster than bytes.count."""
    import numpy as np

    return int(np.count_nonzero(np.frombuffer(data, np.uint8) == byte))


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
