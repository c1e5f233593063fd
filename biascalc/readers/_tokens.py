"""Token files -> token counts: nanoGPT ``.bin`` files, ``.npy`` arrays, raw streams.

A nanoGPT ``train.bin`` is the token ids as flat little-endian integers with no header
(``np.array(ids, dtype=np.uint16).tofile(f)`` in nanoGPT's ``data/*/prepare.py``), so
its integer type must be given (``--tokens uint16``).  A ``.npy`` file says its dtype,
shape and byte order in its header (NumPy's format, ``numpy.lib.format``); the data
after the header is read the same way, whatever its shape or memory order, because a
unigram count does not depend on the order of the ids.

Files are read in chunks of CHUNK_IDS ids into two reused buffers: a reader thread fills
and widens one (``readinto`` and ``np.copyto`` release the GIL) while the other is
counted, so memory stays O(V + chunk) for a file of any size and the read overlaps the
counting.  A mapped
file would avoid one copy, but every page it touches counts as resident memory, so a
200M-token file would show 400 MB resident; buffered reads keep the peak near 50 MB.
Standard input and pipes are read the same way, without being spooled to disk.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import DataError, OptionError
from ..stats.tokens import TokenSpec, TokenStats
from ._common import _sniff_ext, quoted
from ._paths import _expand, _is_stream

if TYPE_CHECKING:
    from ..progress import Progress

__all__ = [
    "CHUNK_IDS",
    "TOKEN_DTYPES",
    "TOKEN_SUFFIXES",
    "TokenFile",
    "count_token_files",
    "is_token_path",
    "open_token_files",
]

#: ``--tokens`` names -> the little-endian dtype nanoGPT-style files are written in.
TOKEN_DTYPES = {"uint16": "<u2", "uint32": "<u4", "int32": "<i4", "int64": "<i8"}
TOKEN_SUFFIXES = (".bin", ".npy")
#: Ids per chunk.  Two read buffers (2-8 MiB each) and two int64 buffers (8 MiB each) are
#: reused; 1M and 2M ids per chunk measured the same speed.
CHUNK_IDS = 1 << 20


def is_token_path(path: str) -> bool:
    """Whether a path names a token file by its extension (``.bin``, ``.npy``)."""
    return path.lower().endswith(TOKEN_SUFFIXES)


@dataclass(frozen=True)
class TokenFile:
    """One token file: where its ids start, their dtype, and how many bytes they take."""

    path: str
    name: str
    dtype: np.dtype[Any]
    offset: int = 0
    size: int | None = None  # bytes of ids; None for a stream (read to its end)

    @property
    def label(self) -> str:
        """The dtype as a user names it (``uint16``; ``>i4`` for a big-endian array)."""
        return (
            self.dtype.name if self.dtype.isnative or self.dtype.itemsize == 1 else self.dtype.str
        )


def open_token_files(paths: Sequence[str], tokens: str | None) -> list[TokenFile]:
    """Check token files and read their headers; ``tokens`` is the raw files' dtype name."""
    if tokens is not None and tokens not in TOKEN_DTYPES:
        raise OptionError(f"unknown --tokens {tokens!r}; choose one of {', '.join(TOKEN_DTYPES)}")
    found: list[TokenFile] = []
    for given in paths or ["-"]:
        for path in _token_paths(given):
            found.append(_open_one(path, tokens))
    return found


def _token_paths(given: str) -> list[str]:
    if given != "-" and os.path.isdir(given):
        out = []
        for root, dirs, files in os.walk(given):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            out += [
                os.path.join(root, f)
                for f in sorted(files)
                if is_token_path(f) and not f.startswith((".", "_"))
            ]
        if not out:
            raise DataError(f"directory {quoted(given)} holds no .bin or .npy token files")
        return out
    return [f.path for f in _expand(given)]


def _open_one(path: str, tokens: str | None) -> TokenFile:
    name = "<stdin>" if path == "-" else path
    if path != "-" and path.lower().endswith(".npy"):
        return _open_npy(path, tokens)
    if tokens is None:
        raise OptionError(
            f"{quoted(name)} is raw token ids with no header; say their integer type with "
            f"--tokens {'|'.join(TOKEN_DTYPES)} (nanoGPT's train.bin is uint16)"
        )
    if _sniff_ext(name):
        raise OptionError(
            f"{quoted(name)} is a table, not raw token ids; read a column of token lists "
            "with -t COLUMN --task tokens instead of --tokens"
        )
    dtype = np.dtype(TOKEN_DTYPES[tokens])
    if path == "-" or _is_stream(path):
        return TokenFile(path, name, dtype)
    size = _size(path)
    _check_size(name, size, dtype, tokens)
    return TokenFile(path, name, dtype, 0, size)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError as exc:
        raise DataError(f"cannot read {quoted(path)}: {exc.strerror or exc}") from None


def _check_size(name: str, size: int, dtype: np.dtype[Any], what: str) -> None:
    if size == 0:
        raise DataError(f"{quoted(name)} is empty; it holds no token ids")
    if size % dtype.itemsize:
        raise DataError(
            f"{quoted(name)} has {size:,} bytes, not a multiple of {dtype.itemsize} (the size "
            f"of one {what} id); check --tokens, or the file is truncated"
        )


def _open_npy(path: str, tokens: str | None) -> TokenFile:
    """Read a .npy header (format versions 1 and 2) without loading the array."""
    fmt = np.lib.format
    try:
        with open(path, "rb") as f:
            version = fmt.read_magic(f)
            if version == (1, 0):
                shape, _fortran, dtype = fmt.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _fortran, dtype = fmt.read_array_header_2_0(f)
            else:  # 3.0 is only written for structured dtypes with non-Latin-1 names
                raise ValueError(f"format version {version[0]}.{version[1]}")
            offset = f.tell()
    except OSError as exc:
        raise DataError(f"cannot read {quoted(path)}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise DataError(
            f"{quoted(path)} is not a readable .npy array of token ids ({exc}); "
            "write it with numpy.save"
        ) from None
    if dtype.kind not in "iu" or dtype.fields is not None:
        raise DataError(
            f"{quoted(path)} holds {dtype} values; token ids must be integers "
            "(save them with an integer dtype such as uint16 or int32)"
        )
    if tokens is not None and np.dtype(TOKEN_DTYPES[tokens]) != dtype:
        raise OptionError(
            f"{quoted(path)} holds {dtype} ids (its header says so); drop --tokens {tokens}, "
            "which is for raw files without a header"
        )
    count = int(np.prod(shape, dtype=np.int64))
    size = count * dtype.itemsize
    if count == 0:
        raise DataError(f"{quoted(path)} holds an empty array {tuple(shape)}; it has no token ids")
    if _size(path) - offset < size:
        raise DataError(
            f"{quoted(path)} is truncated: its header promises {count:,} ids of {dtype} "
            f"({size:,} bytes) but {_size(path) - offset:,} bytes follow it"
        )
    return TokenFile(path, path, dtype, offset, size)


def count_token_files(
    files: Sequence[TokenFile],
    spec_for: Callable[[str], TokenSpec],
    progress: Progress | None = None,
) -> TokenStats:
    """Count every file into one TokenStats (``spec_for(dtype label)`` makes each spec)."""
    total: TokenStats | None = None
    size = sum(f.size or 0 for f in files)
    done = 0
    try:
        for file in files:
            part = TokenStats(spec_for(file.label))
            base = 0
            for chunk in _chunks(file):
                part.add(chunk, _locator(file, base), file.dtype)
                base += chunk.size
                if progress is not None:
                    progress.update(done + base * file.dtype.itemsize, size)
            done += file.size or 0
            total = part if total is None else total.merge(part)
    finally:
        if progress is not None:
            progress.close()
    assert total is not None
    return total


def _locator(file: TokenFile, base: int) -> Callable[[int], str]:
    """Where element i of the chunk that starts at id ``base`` is, in words."""

    def where(i: int) -> str:
        index = base + i
        byte = file.offset + index * file.dtype.itemsize
        return f"at token {index:,} (byte {byte:,}) of {quoted(file.name)}"

    return where


def _chunks(file: TokenFile) -> Iterator[npt.NDArray[np.intp]]:
    """The file's ids as int64, chunk by chunk, read and widened ahead in a second thread.

    bincount counts int64 (intp) ids; given uint16 it would allocate a fresh int64 copy
    of every chunk (page faults included) while holding the GIL.  Here the reader thread
    widens each chunk into a reused buffer (``np.copyto`` releases the GIL), so the main
    thread only counts: 30 % less CPU time on 200M uint16 ids, measured.
    """
    items = max(1, CHUNK_IDS)
    native = file.dtype == np.dtype(np.intp)
    with _open_stream(file) as stream:
        raw = [np.empty(items, file.dtype) for _ in range(2)]
        wide = raw if native else [np.empty(items, np.intp) for _ in range(2)]
        left = [file.size]
        with ThreadPoolExecutor(1, thread_name_prefix="biascalc-tokens") as pool:
            which, read = 0, 0
            pending = pool.submit(_fill, stream, raw[which], wide[which], left)
            while True:
                got = pending.result()
                read += got
                if got == 0:
                    if read == 0:
                        _check_size(file.name, 0, file.dtype, file.label)
                    return
                if got % file.dtype.itemsize:
                    # Only a stream can end mid-id: the size of a file was checked before.
                    _check_size(file.name, read, file.dtype, file.label)
                current = which
                which ^= 1
                pending = pool.submit(_fill, stream, raw[which], wide[which], left)
                yield wide[current][: got // file.dtype.itemsize]


def _open_stream(file: TokenFile) -> IO[bytes]:
    try:
        if file.path == "-":
            return open(sys.stdin.fileno(), "rb", buffering=0, closefd=False)
        stream = open(file.path, "rb", buffering=0)  # noqa: SIM115 (the caller closes it)
    except OSError as exc:
        raise DataError(f"cannot read {quoted(file.name)}: {exc.strerror or exc}") from None
    if file.offset:
        stream.seek(file.offset)
    if file.size is not None and hasattr(os, "posix_fadvise"):
        os.posix_fadvise(stream.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
    return stream


def _fill(
    stream: IO[bytes],
    buffer: npt.NDArray[Any],
    wide: npt.NDArray[np.intp],
    left: list[int | None],
) -> int:
    """Read into ``buffer`` until it is full or the data ends, and widen the whole ids read
    into ``wide``; the number of bytes read.

    ``left[0]`` is the number of bytes still to read (None: to the end of the stream),
    so the bytes after a .npy array's data are never read as ids.
    """
    raw = buffer.view(np.uint8)
    want = raw.size if left[0] is None else min(raw.size, left[0])
    total = 0
    while total < want:
        n = stream.readinto(raw[total:want])  # type: ignore[attr-defined]
        if not n:
            break
        total += n
    if left[0] is not None:
        left[0] -= total
    whole = total // buffer.itemsize
    if wide is not buffer:
        np.copyto(wide[:whole], buffer[:whole], casting="unsafe")
    return total
