"""From what the user typed to files: directories, globs, standard input and pipes.

A directory is every data file below it (sorted; names starting with ``.`` or ``_`` are
skipped, as Spark, Hive and pyarrow.dataset skip them).  Standard input and named pipes
are copied once to a temporary file, so they can be sniffed and re-read (CSV type
widening reads a file again) in bounded memory.
"""

from __future__ import annotations

import atexit
import contextlib
import difflib
import glob
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import DataError, OptionError
from ._common import _DATA_SUFFIXES, FileReader, _sniff_ext, not_a_table_hint, quoted
from ._folders import folder_files, refuse_nested

_WILDCARDS = "*?["


@dataclass(frozen=True)
class Found:
    """A file to read, and the folder its hive partition keys are counted from (if any).

    ``wrap``, for a file of a table (Delta), turns the file's reader into the table's view
    of it (column names, partition values).
    """

    path: str
    base: str | None = None
    wrap: Callable[[FileReader], FileReader] | None = None


def path_list(path: Any) -> list[str]:
    """What the API takes as input paths (a path or several; str, bytes or os.PathLike)
    as a list of strings.  Anything else is a usage error, not a TypeError."""
    items = [path] if isinstance(path, str | bytes | os.PathLike) else path
    try:
        return [os.fsdecode(p) for p in items]
    except TypeError:
        raise OptionError(
            f"a path must be a str or os.PathLike (or a list of them), not {type(path).__name__}"
        ) from None


def _expand(path: str) -> list[Found]:
    if path == "-":
        return [Found(path)]
    if os.path.isdir(path):
        table = folder_files(path)
        return table if table is not None else [Found(f, path) for f in _walk(path)]
    if any(ch in path for ch in _WILDCARDS) and not os.path.exists(path):
        matches = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
        if not matches:
            raise DataError(f"no files match {quoted(path)}")
        base = _glob_base(path)
        return [Found(m, base) for m in matches]
    if not os.path.exists(path):
        raise DataError(_not_found(path))
    if not os.path.isfile(path) and not _is_stream(path):
        raise DataError(f"{quoted(path)} is not a file or a directory; give a data file")
    return [Found(path)]


def _walk(path: str) -> list[str]:
    found: list[str] = []
    other: list[str] = []
    for root, dirs, files in os.walk(path, onerror=_unreadable_folder):
        refuse_nested(root, path)
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for f in sorted(files):
            if f.startswith((".", "_")):
                continue
            (found if _sniff_ext(f) else other).append(os.path.join(root, f))
    if not found:
        besides = (
            f" (it holds {len(other)} other file{'s' if len(other) > 1 else ''}, such as "
            f"{quoted(other[0])})"
            if other
            else ""
        )
        raise DataError(
            f"directory {quoted(path)} holds no data files{besides}; biascalc reads "
            f"{_DATA_SUFFIXES} files, optionally compressed{not_a_table_hint(other)}"
        )
    return found


def _unreadable_folder(exc: OSError) -> None:
    """A folder below an input folder that cannot be listed is an error, never skipped."""
    name = exc.filename if isinstance(exc.filename, str) else str(exc.filename)
    reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror or exc
    raise DataError(
        f"cannot read folder {quoted(name)}: {reason}; its files would be left out "
        "(fix its permissions, or pass the folders to read)"
    )


def unique_files(found: list[Found]) -> tuple[list[Found], list[str]]:
    """The files with each one kept once, and a warning for each file reached again.

    The same file may be given twice, or as a folder and one of its files, or through a
    link; it is recognised by its device and inode (``os.stat``), so its rows are
    counted once.  Standard input and pipes are never the same file.
    """
    seen: dict[tuple[int, int], str] = {}
    kept: list[Found] = []
    warnings: list[str] = []
    for item in found:
        try:
            info = os.stat(item.path) if item.path != "-" else None
        except OSError:
            info = None  # reported when the file is opened
        if info is None or not stat.S_ISREG(info.st_mode):
            kept.append(item)
            continue
        key = (info.st_dev, info.st_ino)
        if key in seen:
            first = seen[key]
            again = "again" if first == item.path else f"again as {quoted(item.path)}"
            warnings.append(f"{quoted(first)} is reached {again}; its rows are counted once")
            continue
        seen[key] = item.path
        kept.append(item)
    return kept, warnings


def _glob_base(pattern: str) -> str:
    """The folders of a pattern before its first wildcard: ``data/year=*/*.csv`` -> ``data``."""
    parts = pattern.replace(os.altsep or os.sep, os.sep).split(os.sep)
    fixed = []
    for part in parts[:-1]:
        if any(ch in part for ch in _WILDCARDS):
            break
        fixed.append(part)
    return os.sep.join(fixed) or ("/" if pattern.startswith(os.sep) else ".")


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
