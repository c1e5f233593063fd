"""Where a CSV file can be cut into byte ranges that parse on their own, in parallel.

A range boundary must be a *record start* of the whole file's parse: never inside a quoted
field (which may hold line breaks), never inside a record.  The rule, and why it is safe:

pyarrow's CSV parser (quoting on, ``double_quote=True``, no escape character, newlines
allowed in values; ``arrow/csv/parser.cc``) is a machine of five states: R (record start),
F (field start), U (inside an unquoted field), Q (inside a quoted field) and E (a quote
seen inside a quoted field).  A quote opens a quoted field only at R or F; in U it is a
plain character; in Q it goes to E, where a second quote is an escaped quote (back to Q),
a delimiter or line break ends the field, and anything else continues it unquoted (U).
Just after a line feed the state is R (the line feed ended a record) or Q (it was inside
a quoted field): no other state can follow a line feed.

So from the first line feed after a nominal cut, the machine is run twice over the next
bytes, once from R and once from Q.  The two runs are deterministic, so once they are in
the same state at the same byte, the whole file's parse is in that state there, whichever
of the two it really was.  From there the (now known) state is followed to the next line
feed that leaves it in R: a true record start, and the boundary.  If the runs do not meet
within ``_WINDOW`` bytes (a window without quotes, say), the cut is safe all the same
when the file holds no quote between the end of the header record (a record start)
and the cut (then the state is R there), checked with ``bytes.find``
(memchr); otherwise that cut is dropped and its neighbours' ranges join.

The machine is only run over a few bytes after each cut (one line in typical files), so
finding the boundaries costs microseconds, plus at most one memchr pass over a quote-free
file.  ``tests/test_csv_ranges.py`` checks with hypothesis, on text full of quoted line
breaks, doubled quotes, stray quotes and CRLF, that every boundary found is a record start
of Python's own parse and that any number of ranges gives the same statistics as one.
"""

from __future__ import annotations

import os

from ._common import _PassThrough

#: Bytes after a cut in which the two runs must meet.
_WINDOW = 1 << 16
_R, _F, _U, _Q, _E = range(5)
_QUOTE, _LF, _CR = ord('"'), ord("\n"), ord("\r")


def usable_cores() -> int:
    """CPUs this process may run on (its affinity mask), as ``os.process_cpu_count``."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _step(state: int, c: int, delimiter: int) -> int:
    """One byte of pyarrow's parser (parser.cc: FieldStart, InField, InQuotedField)."""
    if state == _Q:
        return _E if c == _QUOTE else _Q
    if c == delimiter:
        return _F
    if c in (_LF, _CR):
        return _R
    if c == _QUOTE:
        # Opens a quoted field at a record or field start; after a quote inside a quoted
        # field it is the escaped (doubled) quote; inside an unquoted field it is text.
        return _U if state == _U else _Q
    return _U


def record_start_after(window: bytes, delimiter: int) -> int | None:
    """Offset in ``window`` of a record start, proved whatever the state at its start.

    ``window`` must begin just after a line feed (so in state R or Q).  None when the two
    runs do not meet within it.
    """
    a, b = _R, _Q
    i, n = 0, len(window)
    while i < n and a != b:
        c = window[i]
        a, b = _step(a, c, delimiter), _step(b, c, delimiter)
        i += 1
    if a != b:
        return None
    if a == _R and i > 0 and window[i - 1] == _LF:
        return i
    state = a
    while i < n:
        c = window[i]
        state = _step(state, c, delimiter)
        i += 1
        if state == _R and c == _LF:
            return i
    return None


def records_end(data: bytes, delimiter: str, records: int) -> int | None:
    """Offset just after the first ``records`` records of ``data`` (None: not in it)."""
    if records == 0:
        return 0
    state, delim = _R, ord(delimiter)
    for i, c in enumerate(data):
        state = _step(state, c, delim)
        if state == _R and c == _LF:
            records -= 1
            if records == 0:
                return i + 1
    return None


def _read(fd: int, offset: int, size: int) -> bytes:
    return os.pread(fd, size, offset)


def _no_quote_between(fd: int, offset: int, end: int) -> bool:
    while offset < end:
        chunk = _read(fd, offset, min(1 << 22, end - offset))
        if not chunk:
            break
        if chunk.find(b'"') >= 0:
            return False
        offset += len(chunk)
    return True


def split_points(path: str, start: int, size: int, ranges: int, delimiter: str) -> list[int]:
    """Boundaries ``[start, b1, ..., size]`` of at most ``ranges`` ranges of ``path``.

    ``start`` is a record start (after the header record, see :func:`records_end`); the
    first range also holds the header.  Fewer ranges when a cut cannot be placed safely
    (see the module text).
    """
    points = [start]
    delim = ord(delimiter)
    fd = os.open(path, os.O_RDONLY)
    try:
        for k in range(1, ranges):
            nominal = start + (size - start) * k // ranges
            if nominal <= points[-1]:
                continue
            head = _read(fd, nominal, _WINDOW)
            lf = head.find(b"\n")
            if lf < 0:
                continue
            cut = nominal + lf + 1
            window = head[lf + 1 :] + _read(fd, nominal + len(head), lf + 1)
            found = record_start_after(window, delim)
            if found is not None:
                cut += found
            elif not _no_quote_between(fd, start, cut):
                continue
            if points[-1] < cut < size:
                points.append(cut)
    finally:
        os.close(fd)
    points.append(size)
    return points


def lines_before(path: str, offset: int) -> int:
    """Line breaks (``\\n``, ``\\r\\n`` or a lone ``\\r``) in the first ``offset`` bytes."""
    count, last = 0, b""
    with open(path, "rb") as f:
        while offset > 0:
            chunk = f.read(min(1 << 22, offset))
            if not chunk:
                break
            offset -= len(chunk)
            count += chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
            if last == b"\r" and chunk[:1] == b"\n":
                count -= 1  # a CRLF split between two reads was counted twice
            last = chunk[-1:]
    return count


class RangeStream(_PassThrough):
    """The bytes ``[start, end)`` of a file, as a readable stream (pyarrow reads it)."""

    def __init__(self, path: str, start: int, end: int) -> None:
        import pyarrow as pa

        source = pa.OSFile(path)
        source.seek(start)
        super().__init__(source)
        self._left = end - start

    def read(self, size: int | None = -1) -> bytes:
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._read_raw(size) if size > 0 else b""
        self._left -= len(data)
        return data
