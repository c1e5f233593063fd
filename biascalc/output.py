"""Writing results: atomically, never over an input."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Sequence

from .errors import DataError
from .readers import quoted

__all__ = ["check_output_path", "write_atomic"]


def _refuse(given: str) -> DataError:
    return DataError(
        f"refusing to write the result over the input {quoted(given)}; choose another -o file"
    )


def check_output_path(output: str, inputs: Sequence[str]) -> None:
    """Refuse an output path that is one of the inputs or lies in a missing folder."""
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise DataError(
            f"cannot write {quoted(output)}: folder {quoted(folder)} does not exist; "
            "create it first"
        )
    if os.path.isdir(output):
        raise DataError(f"cannot write {quoted(output)}: it is a directory; give a file name")
    for given in inputs:
        if given == "-":
            continue
        if os.path.exists(given) and os.path.exists(output):
            if os.path.samefile(given, output):
                raise _refuse(given)
        elif os.path.realpath(given) == os.path.realpath(output):
            raise _refuse(given)


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    The bytes go to a temporary file in the same folder, which is flushed to disk and
    renamed over ``path`` (``os.replace`` is atomic on POSIX and Windows).  On any
    failure, including Ctrl-C, the temporary file is removed and ``path`` is untouched.
    A symbolic link is followed (the file it points to is replaced, the link stays), and
    a device or pipe (``-o /dev/stdout``) is written in place: renaming over it would
    replace the device node itself.
    """
    target = os.path.realpath(path)
    if os.path.exists(target) and not stat.S_ISREG(os.stat(target).st_mode):
        try:
            with open(target, "wb") as f:
                f.write(data)
        except OSError as exc:
            raise _write_error(path, exc) from None
        return
    folder = os.path.dirname(target)
    try:
        fd, tmp = tempfile.mkstemp(
            dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp"
        )
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(target):
            with contextlib.suppress(OSError):
                os.chmod(tmp, os.stat(target).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _write_error(path, exc) from None
        raise


def _write_error(path: str, exc: OSError) -> DataError:
    reason = exc.strerror or str(exc) or type(exc).__name__
    return DataError(f"cannot write {quoted(path)}: {reason}; nothing was written")
