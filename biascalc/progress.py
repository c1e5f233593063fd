"""A progress bar on standard error for long reads, drawn with plain carriage returns.

It appears only when the stream is a terminal and the read is long enough to matter:
the input is over ``min_bytes`` (64 MiB), or the read has taken ``delay`` (1 s).  It is
redrawn at most ten times a second, uses ASCII only, and is erased when the read ends
(also on an error, before the message is printed), so nothing of it is left in the
terminal and nothing ever goes to standard output.

>>> bar = ProgressBar(io.StringIO())  # not a terminal: draws nothing
>>> bar.update(50, 100); bar.close()
"""

from __future__ import annotations

import io
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO

__all__ = ["Progress", "ProgressBar"]

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


class Progress(Protocol):
    """What a data set reports its reading to."""

    def update(self, done: int, total: int) -> None:
        """``done`` of ``total`` bytes have been read."""
        ...

    def close(self) -> None:
        """The read is over (finished or failed)."""
        ...


def _size(n: float) -> str:
    unit = 0
    while n >= 1024 and unit < len(_UNITS) - 1:
        n /= 1024
        unit += 1
    return f"{n:.0f} {_UNITS[unit]}" if unit == 0 or n >= 100 else f"{n:.1f} {_UNITS[unit]}"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):  # closed or not a real stream
        return False


class ProgressBar:
    """``reading  42% [########........] 152/362 MiB  180 MiB/s  1 s left`` on a terminal."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        label: str = "reading",
        min_bytes: int = 64 << 20,
        delay: float = 1.0,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        #: False when the stream is not a terminal: then every call is a no-op.
        self.enabled = _is_terminal(self.stream)
        self.label = label
        self.min_bytes = min_bytes
        self.delay = delay
        self.interval = interval
        self._clock = clock
        self._start = clock()
        self._last = -math.inf
        self._shown = 0  # characters on the line now

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = self._clock()
        if now - self._last < self.interval:
            return
        elapsed = now - self._start
        if total < self.min_bytes and elapsed < self.delay:
            return
        self._last = now
        self._draw(self._line(done, total, elapsed))

    def close(self) -> None:
        if self._shown:
            self._write("\r" + " " * self._shown + "\r")
            self._shown = 0

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _line(self, done: int, total: int, elapsed: float) -> str:
        share = min(done / total, 1.0) if total > 0 else 0.0
        rate = done / elapsed if elapsed > 0 else 0.0
        left = f"  {math.ceil((total - done) / rate)} s left" if rate > 0 and done < total else ""
        width = max(10, min(30, self._columns() - 60))
        filled = int(share * width)
        bar = "#" * filled + "." * (width - filled)
        text = (
            f"{self.label} {share:4.0%} [{bar}] {_size(done)}/{_size(total)}  {_size(rate)}/s{left}"
        )
        return text[: self._columns() - 1]

    def _columns(self) -> int:
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
            columns = 0
        return columns if columns > 0 else 80  # a pseudo-terminal may report 0

    def _draw(self, line: str) -> None:
        # Pad over the previous line's tail: no ANSI codes, so any terminal works.
        self._write("\r" + line.ljust(self._shown))
        self._shown = len(line)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # stderr closed or gone: never fail the read for it
            self.enabled = False
