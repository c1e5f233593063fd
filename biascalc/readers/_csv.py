"""CSV and TSV: delimiter and decimal-comma sniffing, type widening, located errors.

CSV type inference is pyarrow's, done on the first block.  When a later block holds a
value the inferred type cannot take (an integer column with ``1.5`` or ``n/a`` on line
2,000,000), the column is widened (int64 -> float64 -> text) and the file is read again.

pyarrow accepts a quote that is never closed when the field it opens fits in the last
blocks (an earlier one makes a row "straddle" two blocks, an error), and reports malformed
rows without a line number.  So the quotes in the last blocks are counted (counting them
all cost 7 % of the read); an odd count, or a parse error, triggers a second pass with
Python's ``csv`` module that finds the line to name.  A ``;``-delimited file whose numbers use a
decimal comma (``1,5``), as spreadsheets in many European locales write it, is read with
``decimal_point=","``.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Literal

from ..errors import DataError, OptionError
from . import _common
from ._common import (
    _CORRUPT_HINT,
    Codec,
    Part,
    _as_io,
    _count_byte,
    _data_error,
    _first_line,
    _is_wide_encoding,
    _open_stream,
    _open_tallied,
    _read_head,
    _Tally,
    _Widen,
    not_a_table_hint,
    quoted,
)
from ._csvnumbers import check_separators, parse_grouped, refuse_grouped_numbers
from ._csvsplit import RangeStream, lines_before, records_end, split_points

if TYPE_CHECKING:
    import pyarrow as pa


_MAX_BLOCK_SCALE = 512  # rows of up to 512 MiB with the default 1 MiB blocks
_QUOTE = ord('"')
#: Blocks kept to check the end of the text for an open quote: pyarrow's final chunk lies
#: in the last two (one more for safety).
_TAIL_BLOCKS = 3
_MIN_RANGE_BLOCK = 1 << 18


@dataclass
class CsvReader:
    """Streams a delimited text file with pyarrow.csv, widening types when needed.

    A plain (uncompressed, single-byte encoded) file can also be read as several byte
    ranges in parallel (:meth:`parts`; the boundary rule is in ``_csvsplit``).
    """

    path: str
    name: str
    delimiter: str | None = None
    encoding: str | None = None
    compression: Codec | None = None
    #: False: the first line is data, and columns are named by position ("1", "2", ...).
    header: bool = True
    #: --decimal / --thousands (None: the decimal point sniffed, no thousands separator).
    decimal: str | None = None
    thousands: str | None = None
    #: False for a temporary copy of standard input or a pipe: read in one pass.
    splittable: bool = True
    column_names: list[str] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    weight_columns: frozenset[str] = frozenset()
    decimal_point: str = "."
    header_bytes: int = 0
    #: Header names as written (column_names has surrounding spaces stripped).
    raw_names: dict[str, str] = field(default_factory=dict)
    #: Lines before the header: 1 for Excel's "sep=;" line.
    skip_rows: int = 0
    #: Grows (x8) when a row does not fit in a block: a long quoted field, or a quote
    #: never closed, which pyarrow reports as an object "straddling" two blocks.
    block_scale: int = 1
    _tallies: list[_Tally] = field(default_factory=list, init=False, repr=False)
    _ranges: int = field(default=1, init=False, repr=False)

    def __post_init__(self) -> None:
        encoding = self.encoding or "utf-8-sig"
        try:
            wide = _is_wide_encoding(encoding)
        except LookupError:
            raise OptionError(
                f"unknown --encoding {encoding!r}; try utf-8, latin-1 or cp1252"
            ) from None
        check_separators(self.decimal, self.thousands)
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
                f"{quoted(self.name)} has no line break in its first "
                f"{_common._HEADER_LIMIT >> 20} MiB, so it is not CSV text with a header line; "
                "check the file, or pass --input-format"
            )
        skipped = 0
        excel = _EXCEL_SEP.fullmatch(lines[0]) if lines else None
        if excel is not None:
            # Excel's "sep=;" line names the delimiter; it is not the header.
            self.skip_rows, skipped = 1, len(lines[0].encode("utf-8")) + 1
            self.delimiter = self.delimiter or excel.group(1)
            lines = lines[1:]
            text = text.split("\n", 1)[1] if "\n" in text else ""
        if self.delimiter is None:
            self.delimiter = _sniff_delimiter(lines)
        try:
            first = next(csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter), [])
        except csv.Error as exc:
            raise DataError(f"cannot read the header line of {quoted(self.name)}: {exc}") from None
        if self.header:
            self.column_names = [h.strip() if h.strip() != h and h.strip() else h for h in first]
            self.raw_names = {c: h for c, h in zip(self.column_names, first, strict=True) if c != h}
            self.header_bytes = skipped + (len(lines[0].encode("utf-8")) if lines else 0)
        else:
            self.column_names = [str(i) for i in range(1, len(first) + 1)]
            self.header_bytes = skipped
        if self.decimal is not None:
            self.decimal_point = self.decimal
        elif self.delimiter == ";" and _decimal_commas(lines[1:50]):
            self.decimal_point = ","

    @property
    def bytes_read(self) -> int:
        return sum(t.bytes for t in self._tallies)

    def _binary_message(self, head: bytes) -> str:
        if head.startswith(b"PAR1"):
            return (
                f"{quoted(self.name)} is a Parquet file, not CSV text; pass --input-format parquet"
            )
        if head.startswith((b"ARROW1", b"\xff\xff\xff\xff")):
            return (
                f"{quoted(self.name)} is an Arrow IPC file, not CSV text; pass --input-format arrow"
            )
        hint = not_a_table_hint([self.name])
        if hint:
            return f"{quoted(self.name)} is binary data, not CSV text{hint}"
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
        self._tallies = []
        yield from self._read(_Range(0, None), columns, self._open(_Range(0, None), columns))

    def parts(self, columns: Sequence[str], count: int) -> list[Part]:
        """The file as up to ``count`` byte ranges, each read on its own (see ``_csvsplit``).

        One part (the whole file) when it is compressed, a copy of standard input, in a
        multi-byte encoding, or smaller than two ``CSV_RANGE_BYTES``.
        """
        size = os.path.getsize(self.path) if self.splittable else 0
        count = min(count, size // max(_common.CSV_RANGE_BYTES, 1))
        if count < 2 or self.compression or not self._single_byte():
            return [Part(self.batches(columns), self._top_line())]
        head, _ = _read_head(self.path, None, self.name)
        bom = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
        start = records_end(head[bom:], self.delimiter or ",", self.skip_rows + int(self.header))
        start = None if start is None else start + bom
        points = (
            []
            if start is None
            else split_points(self.path, start, size, count, self.delimiter or ",")
        )
        if len(points) < 3:
            return [Part(self.batches(columns), self._top_line())]
        self._tallies, self._ranges = [], len(points) - 1
        spans = [_Range(a, b) for a, b in itertools.pairwise(points)]
        spans[0] = _Range(0, points[1])
        spans[-1] = _Range(spans[-1].start, None)
        first = self._open(spans[0], columns)
        # Every range is converted to the types inferred from the file's first block, as
        # a one-pass read is; a value they cannot take widens the column (a re-read).
        types = {f.name: f.type for f in first[0].schema}
        parts = [Part(self._read(spans[0], columns, first), self._top_line())]
        for span in spans[1:]:
            parts.append(Part(self._lazy(span, columns, types), partial(self._line_of, span.start)))
        return parts

    def _top_line(self) -> Callable[[], int] | None:
        """The line of the first row, when it is not line 2 (no header, a "sep=" line)."""
        line = 1 + self.skip_rows + int(self.header)
        return None if line == 2 else (lambda: line)

    def _single_byte(self) -> bool:
        # In UTF-8 and single-byte encodings a byte 0x0a or 0x22 is always "\n" or '"'.
        name = codecs.lookup(self.encoding or "utf-8").name
        return name in ("utf-8", "utf-8-sig", "ascii", "latin-1", "iso8859-1", "cp1252")

    def _line_of(self, offset: int) -> int:
        return lines_before(self.path, offset) + 1

    def _lazy(
        self, span: _Range, columns: Sequence[str], types: dict[str, pa.DataType]
    ) -> Iterator[pa.RecordBatch]:
        yield from self._read(span, columns, self._open(span, columns, types))

    def _open(
        self, span: _Range, columns: Sequence[str], types: dict[str, pa.DataType] | None = None
    ) -> tuple[pa.RecordBatchReader, _Tally]:
        """Open pyarrow's streaming reader on a byte range (the whole file: start 0, end None)."""
        import pyarrow as pa
        import pyarrow.csv as pcsv

        raw = [self.raw_names.get(c, c) for c in columns]
        if types is None:
            types = {self.raw_names.get(c, c): getattr(pa, t)() for c, t in self.types.items()}
            if self.thousands is not None:
                types.update({c: pa.string() for c in raw})
        types = {c: t for c, t in types.items() if c in raw}
        # pyarrow needs the header line inside its first block.
        # Ranges read in parallel share the block budget: each pyarrow reader holds about
        # 50 blocks' worth of memory (measured), so the peak stays that of one reader.
        base = _common.CSV_BLOCK_BYTES
        if not (span.start == 0 and span.end is None):
            base = max(base // self._ranges, min(base, _MIN_RANGE_BLOCK))
        block = max(base, 2 * self.header_bytes + 1024) * self.block_scale
        named = span.start > 0 or not self.header
        read = pcsv.ReadOptions(
            block_size=block,
            encoding=self.encoding or "utf8",
            skip_rows=self.skip_rows if span.start == 0 else 0,
            column_names=self._file_names() if named else None,
            use_threads=span.end is None and span.start == 0,
        )
        parse = pcsv.ParseOptions(delimiter=self.delimiter or ",", newlines_in_values=True)
        convert = pcsv.ConvertOptions(
            include_columns=raw,
            column_types=types,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            decimal_point=self.decimal_point,
        )
        # Quotes are counted in single-byte text only (a UTF-16 quote is two bytes).
        keep = _TAIL_BLOCKS if span.end is None and not _is_wide_encoding(self._encoding) else 0
        try:
            if span.start == 0 and span.end is None:
                stream, tally = _open_tallied(self.path, self.compression, keep)
            else:
                end = span.end if span.end is not None else os.path.getsize(self.path)
                stream = tally = _Tally(RangeStream(self.path, span.start, end), keep)
            self._tallies.append(tally)
            reader = pcsv.open_csv(
                _as_io(stream), read_options=read, parse_options=parse, convert_options=convert
            )
        except Exception as exc:
            self._failed(exc, span)
            raise  # pragma: no cover - _failed always raises
        if span.start == 0 and any(pa.types.is_binary(f.type) for f in reader.schema):
            # pyarrow falls back to bytes when a column is not valid UTF-8.
            raise self._encoding_error(self._undecodable_line())
        return reader, stream

    @property
    def _encoding(self) -> str:
        return self.encoding or "utf8"

    def _file_names(self) -> list[str]:
        """Every column's name as pyarrow sees it (as written in the header)."""
        return [self.raw_names.get(c, c) for c in self.column_names]

    def _read(
        self,
        span: _Range,
        columns: Sequence[str],
        opened: tuple[pa.RecordBatchReader, _Tally],
    ) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        reader, stream = opened
        raw = [self.raw_names.get(c, c) for c in columns]
        checked = span.start > 0 or self.thousands is not None
        try:
            with stream:
                for batch in reader:
                    arrays = batch.columns
                    if self.thousands is not None:
                        arrays = [self._number(c, a) for c, a in zip(columns, arrays, strict=True)]
                    elif not checked:
                        for c, a in zip(columns, arrays, strict=True):
                            if pa.types.is_string(a.type):
                                refuse_grouped_numbers(c, self.name, a)
                        checked = True
                    if raw != list(columns) or arrays is not batch.columns:
                        batch = pa.RecordBatch.from_arrays(arrays, names=list(columns))
                    yield batch
        except Exception as exc:
            self._failed(exc, span)
        if span.end is None and stream.tail.maxlen and self._quote_left_open(stream, span.start):
            self._unclosed_quote(span.start)

    def _number(self, column: str, array: pa.Array) -> pa.Array:
        """--thousands / --decimal: a text column of numbers -> numbers (one type per read)."""
        import pyarrow as pa

        if not pa.types.is_string(array.type):
            return array
        parsed = parse_grouped(array, self.thousands, self.decimal or ".")
        if pa.types.is_int64(parsed.type) and self.types.get(column) == "float64":
            return parsed.cast(pa.float64())
        if pa.types.is_floating(parsed.type) and self.types.get(column) != "float64":
            # Batches read so far may have been integers: read again, all as floats.
            self.types[column] = "float64"
            raise _Widen(column)
        return parsed

    def _failed(self, exc: Exception, span: _Range) -> None:
        """Map an error of pyarrow (or of reading) to a DataError, or raise _Widen."""
        import pyarrow as pa

        if isinstance(exc, (DataError, _Widen)):
            raise exc
        if isinstance(exc, pa.ArrowInvalid):
            self._handle(exc, span.start)
        if isinstance(exc, OSError):
            if self.compression:
                what = f"{self.compression}-compressed CSV"
                raise _data_error(self.name, what, exc, _CORRUPT_HINT) from None
            raise _data_error(self.name, "CSV", exc) from None
        if isinstance(exc, pa.ArrowException):
            raise _data_error(self.name, "CSV", exc) from None
        raise exc

    def _quote_left_open(self, stream: _Tally, start: int) -> bool:
        """Whether the text may end inside a quoted field (a quote never closed).

        A quote left open without a pyarrow error opened in pyarrow's final chunk, which
        starts in the last block but one: the quotes there, from the first line break on,
        are counted.  The count is odd when the text ends inside quotes, unless the count
        starts inside a quoted field that spans lines; so an odd count is confirmed by
        counting the whole file (rare, and fast).  Blind spot: a field spanning lines across
        that line break *and* a quote left open after it.  A range starts at a record
        start, so its own count stands for the file's.
        """
        tail = b"".join(stream.tail)
        if len(tail) < stream.bytes:
            tail = tail[tail.find(b"\n") + 1 :]
            if _count_byte(tail, _QUOTE) % 2 == 0:
                return False
            return self._count_quotes(start) % 2 == 1
        return _count_byte(tail, _QUOTE) % 2 == 1  # the whole text: exact

    def _count_quotes(self, start: int = 0) -> int:
        total = 0
        try:
            with self._reopen(start) as stream:
                while chunk := bytes(stream.read(1 << 20)):
                    total += _count_byte(chunk, _QUOTE)
        except OSError:
            return 0
        return total

    def _reopen(self, start: int) -> pa.NativeFile | RangeStream:
        if start == 0:
            return _open_stream(self.path, self.compression)
        return RangeStream(self.path, start, os.path.getsize(self.path))

    def _unclosed_quote(self, start: int = 0) -> None:
        """Raise the message naming the line of a never-closed quote, if there is one."""
        found = self._locate("quote", start)
        if found is not None:
            raise DataError(
                f'{quoted(self.name)} has a quote (") that is never closed: the field '
                f"that starts on line {found} runs to the end of the file; close or remove "
                "that quote"
            )

    def _handle(self, exc: Exception, start: int = 0) -> None:
        message = str(exc)
        if "straddling object" in message:
            self._unclosed_quote(start)
            if self.block_scale < _MAX_BLOCK_SCALE:
                self.block_scale *= 8
                raise _Widen("block") from None
            raise DataError(
                f"{quoted(self.name)} has a row longer than "
                f"{_common.CSV_BLOCK_BYTES * self.block_scale >> 20} MiB; check its quoting"
            ) from None
        widen = re.search(
            r"In CSV column #(\d+): (?:Row #\d+: )?CSV conversion error to ([\w\[\], ]+): "
            r"invalid value '(.*)'",
            message,
        )
        if widen:
            # pyarrow numbers the column among all the file's columns, not the ones read.
            index = int(widen.group(1))
            names = self.column_names
            column, value = (names[index] if index < len(names) else f"#{index}"), widen.group(3)
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
            found = self._locate("ragged", start)
            where = f" on line {found}" if found is not None else ""
            delimiter = "" if self.delimiter == "," else f" (delimiter {self.delimiter!r})"
            raise DataError(
                f"{quoted(self.name)} is not well-formed CSV{where}: {_first_line(detail)}; check "
                f"the quoting and the number of fields in that row{delimiter}, or set --delimiter"
            ) from None
        if "UTF8" in message or "UTF-8" in message:
            raise self._encoding_error(self._undecodable_line()) from None
        raise _data_error(self.name, "CSV", exc) from None

    def _locate(self, problem: Literal["quote", "ragged"], offset: int = 0) -> int | None:
        """Line where a record with a never-closed quote or a wrong field count starts.

        Python's csv module re-reads the file (only after pyarrow found a problem) because
        pyarrow gives no line numbers; from ``offset`` (a record start) when pyarrow's
        error came from a range.  None when it cannot tell.
        """
        encoding = self.encoding or "utf-8-sig"
        expected = len(self.column_names)
        old_limit = csv.field_size_limit()
        csv.field_size_limit(1 << 30)  # a never-closed quote makes one huge field
        start = first = self._line_of(offset) if offset else 1
        try:
            with self._reopen(offset) as stream:
                raw = io.BufferedReader(_Tally(stream), 1 << 20)
                text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")
                reader = csv.reader(text, delimiter=self.delimiter or ",", strict=True)
                for row in reader:
                    data = offset > 0 or reader.line_num > self.skip_rows
                    if problem == "ragged" and data and row and len(row) != expected:
                        return start
                    start = first + reader.line_num
        except csv.Error as exc:
            return start if problem == "quote" and "unexpected end of data" in str(exc) else None
        except OSError:
            return None
        finally:
            csv.field_size_limit(old_limit)
        return None


@dataclass(frozen=True)
class _Range:
    """Bytes ``[start, end)`` of the file; ``end`` None: to the end (the last range)."""

    start: int
    end: int | None


_EXCEL_SEP = re.compile(r"sep=(.)", re.IGNORECASE)


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
