"""Writing results: atomically, never over an input."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence

from .errors import DataError

__all__ = ["check_output_path", "write_atomic"]


def check_output_path(output: str, inputs: Sequence[str]) -> None:
    """Refuse an output path that is one of the inputs or lies in a missing folder."""
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise DataError(
            f"cannot write '{output}': folder '{folder}' does not exist; create it first"
        )
    if os.path.isdir(output):
        raise DataError(f"cannot write '{output}': it is a directory; give a file name")
    for given in inputs:
        if given == "-" or not os.path.exists(given) or not os.path.exists(output):
            if os.path.abspath(given) == os.path.abspath(output):
                raise DataError(
                    f"refusing to write the result over the input '{given}'; choose another -o file"
                )
            continue
        if os.path.samefile(given, output):
            raise DataError(
                f"refusing to write the result over the input '{given}'; choose another -o file"
            )


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    The bytes go to a temporary file in the same folder, which is flushed to disk and
    renamed over ``path`` (``os.replace`` is atomic on POSIX and Windows).  On any
    failure, including Ctrl-C, the temporary file is removed and ``path`` is untouched.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):
            with contextlib.suppress(OSError):
                os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
