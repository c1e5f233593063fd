"""Reading in several threads: parts of a file, or several files, each into its own statistics.

pyarrow releases the GIL while it parses, decompresses and decodes, so threads use the
cores.  Each part (a CSV byte range, a run of Parquet row groups, a file of a data set)
is folded into its own :class:`~biascalc.stats.LabelStats` through the same per-batch
code as a one-pass read (the row filter included), and the statistics are merged in the
order of the parts, so the answer is that of one pass (to rounding, 1e-12).
"""

from __future__ import annotations

import collections
import re
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from ._common import Part

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ..errors import DataError

T = TypeVar("T")
R = TypeVar("R")


class Stopped(Exception):
    """Another part failed: this one stops at its next batch (its result is never used)."""


def in_parallel(
    items: Iterable[T], work: Callable[[T], R], threads: int, stop: threading.Event
) -> list[R]:
    """``[work(item) for item in items]`` in ``threads`` threads; results in order.

    At most ``threads`` items are in flight (and ``items`` is consumed lazily), so
    memory stays that of ``threads`` readers.  The error of the earliest failing item
    is raised, as a one-pass read would raise it; ``stop`` is set first, so the other
    threads end at their next batch (``work`` checks it and raises :class:`Stopped`).
    """
    from concurrent.futures import ThreadPoolExecutor

    done: list[R] = []
    pending: collections.deque[Future[R]] = collections.deque()
    pool = ThreadPoolExecutor(threads, thread_name_prefix="biascalc-read")
    try:
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) >= threads:
                done.append(pending.popleft().result())
        while pending:
            done.append(pending.popleft().result())
    except BaseException:
        stop.set()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return done


class ProgressSum:
    """Bytes read so far over readers read at the same time (for the progress bar)."""

    def __init__(self, report: Callable[[int], None] | None) -> None:
        self._report = report
        self._lock = threading.Lock()
        self._read: dict[int, int] = {}

    def __call__(self, key: int, read: int) -> None:
        if self._report is None:
            return
        with self._lock:
            self._read[key] = read
            self._report(sum(self._read.values()))


_LINE = re.compile(r"\bon line (\d+)")


def relocated(exc: DataError, part: Part) -> DataError:
    """A statistics error numbers lines from the part's first row: renumber from the file's.

    The statistics count a part's rows from 0 and say "line rows + 2" (the header is line
    1); a part whose first row is on line L of the file has its row r on line L + r.
    """
    if part.first_line is None or not _LINE.search(str(exc)):
        return exc
    first = part.first_line()
    text = _LINE.sub(lambda m: f"on line {int(m.group(1)) - 2 + first}", str(exc))
    return type(exc)(text)
