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
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ..errors import DataError, OptionError
from . import _common
from ._common import (
    _CORRUPT_HINT,
    Codec,
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
    quoted,
)

if TYPE_CHECKING:
    import pyarrow as pa


_MAX_BLOCK_SCALE = 512  # rows of up to 512 MiB with the default 1 MiB blocks
_QUOTE = ord('"')
#: Blocks kept to check the end of the text for an open quote: pyarrow's final chunk lies
#: in the last two (one more for safety).
_TAIL_BLOCKS = 3


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
    #: Grows (x8) when a row does not fit in a block: a long quoted field, or a quote
    #: never closed, which pyarrow reports as an object "straddling" two blocks.
    block_scale: int = 1
    _tally: _Tally | None = field(default=None, init=False, repr=False)

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
                f"{quoted(self.name)} has no line break in its first "
                f"{_common._HEADER_LIMIT >> 20} MiB, so it is not CSV text with a header line; "
                "check the file, or pass --input-format"
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

    @property
    def bytes_read(self) -> int:
        return self._tally.bytes if self._tally is not None else 0

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
        block = max(_common.CSV_BLOCK_BYTES, 2 * self.header_bytes + 1024) * self.block_scale
        read = pcsv.ReadOptions(block_size=block, encoding=self.encoding or "utf8")
        parse = pcsv.ParseOptions(delimiter=self.delimiter or ",", newlines_in_values=True)
        convert = pcsv.ConvertOptions(
            include_columns=raw,
            column_types=types,
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            decimal_point=self.decimal_point,
        )
        # Quotes are counted in single-byte text only (a UTF-16 quote is two bytes).
        check_quotes = not _is_wide_encoding(self.encoding or "utf8")
        try:
            stream, self._tally = _open_tallied(
                self.path, self.compression, _TAIL_BLOCKS if check_quotes else 0
            )
            with stream:
                reader = pcsv.open_csv(
                    _as_io(stream), read_options=read, parse_options=parse, convert_options=convert
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
        if check_quotes and self._quote_left_open(stream):
            self._unclosed_quote()

    def _quote_left_open(self, stream: _Tally) -> bool:
        """Whether the text may end inside a quoted field (a quote never closed).

        A quote left open without a pyarrow error opened in pyarrow's final chunk, which
        starts in the last block but one: the quotes there, from the first line break on,
        are counted.  The count is odd when the text ends inside quotes, unless the count
        starts inside a quoted field that spans lines; so an odd count is confirmed by
        counting the whole file (rare, and fast).  Blind spot: a field spanning lines across
        that line break *and* a quote left open after it.
        """
        tail = b"".join(stream.tail)
        if len(tail) < stream.bytes:
            tail = tail[tail.find(b"\n") + 1 :]
            if _count_byte(tail, _QUOTE) % 2 == 0:
                return False
            return self._count_quotes() % 2 == 1
        return _count_byte(tail, _QUOTE) % 2 == 1  # the whole text: exact

    def _count_quotes(self) -> int:
        total = 0
        try:
            with _open_stream(self.path, self.compression) as stream:
                while chunk := bytes(stream.read(1 << 20)):
                    total += _count_byte(chunk, _QUOTE)
        except OSError:
            return 0
        return total

    def _unclosed_quote(self) -> None:
        """Raise the message naming the line of a never-closed quote, if there is one."""
        found = self._locate("quote")
        if found is not None:
            raise DataError(
                f'{quoted(self.name)} has a quote (") that is never closed: the field '
                f"that starts on line {found} runs to the end of the file; close or remove "
                "that quote"
            )

    def _handle(self, exc: Exception, columns: list[str]) -> None:
        message = str(exc)
        if "straddling object" in message:
            self._unclosed_quote()
            if self.block_scale < _MAX_BLOCK_SCALE:
                self.block_scale *= 8
                raise _Widen("block") from None
            raise DataError(
                f"{quoted(self.name)} has a row longer than "
                f"{_common.CSV_BLOCK_BYTES * self.block_scale >> 20} MiB; check its quoting"
            ) from None
        widen = re.search(
            # pyarrow names the row in some builds ("Row #600002: ") and not in others.
            r"In CSV column #(\d+): (?:Row #\d+: )?"
            r"CSV conversion error to ([\w\[\], ]+): invalid value '(.*)'",
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
                raw = io.BufferedReader(_Tally(stream), 1 << 20)
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
