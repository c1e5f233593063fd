"""Segmentation masks -> one histogram of pixel values per file, decoded in parallel.

A mask holds one class id per pixel: a PNG in mode ``L`` (8-bit grey), ``P`` (palette:
the palette *indices* are the class ids, as PASCAL VOC ships its masks; the colours are
never looked at), ``1`` (1-bit: ids 0 and 1) or ``I;16`` (16-bit grey), or a ``.npy``
array of integers (or booleans) of any shape.  Files are recognised by their first bytes,
not their names.  Each file becomes a :class:`MaskHistogram` (pixels per value); the
statistics (:mod:`biascalc.stats.pixels`) drop ignored values and add them up.

Speed and memory: files are decoded by a pool of threads, in order, with at most a few
files in flight, so memory stays at a few masks whatever the number of files.  Pillow
releases the GIL while it inflates a PNG and while it builds a histogram
(``Image.histogram``, done in C, so an 8-bit mask never becomes a NumPy array), so the
threads use the cores for the expensive part; the 16-bit and ``.npy`` paths count with
NumPy's ``bincount``, which holds the GIL, so only their decoding runs in parallel.
``.npy`` files are memory-mapped and counted in chunks, so even a large stacked array is
never read into memory whole.
"""

from __future__ import annotations

import collections
import glob
import os
from collections.abc import Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import DataError, OptionError
from ._common import quoted
from ._paths import _not_found

__all__ = ["MASK_EXTENSIONS", "MaskHistogram", "histograms", "list_masks", "workers"]

#: A folder is searched for these (any case); a glob or a file named directly is read
#: whatever its name, by its content.
MASK_EXTENSIONS = (".png", ".npy")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_NPY_MAGIC = b"\x93NUMPY"
_OTHER_MAGIC = (
    (b"\xff\xd8\xff", "a JPEG image (lossy compression changes class ids at edges)"),
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"RIFF", "a WebP image"),
)
#: Histograms of .npy arrays span at most this many values (min to max).
MAX_SPAN = 1 << 20
_CHUNK = 1 << 22  # elements of a .npy array counted at once (32 MiB as int64)


@dataclass(frozen=True)
class MaskHistogram:
    """Pixels per value of one mask: ``counts[i]`` pixels hold the value ``offset + i``."""

    name: str
    kind: str  # the PNG mode ('L', 'P', '1', 'I;16') or 'npy'
    offset: int
    counts: npt.NDArray[np.int64]


def workers() -> int:
    """Threads decoding masks: the cores this process may use (at most 8)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def list_masks(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """The mask files of folders (recursive), globs and files, and the files skipped.

    In a folder, files and sub-folders whose names start with ``.`` are skipped (counted
    in the second list with the files that are not ``.png`` / ``.npy``).
    """
    if not paths:
        raise OptionError("--input-format masks needs a PATH: a folder, a glob or mask files")
    found: list[str] = []
    skipped: list[str] = []
    for path in paths:
        if path == "-":
            raise OptionError("--input-format masks reads files, not standard input")
        if os.path.isdir(path):
            mine = _walk(path, skipped)
            if not mine:
                raise DataError(
                    f"folder {quoted(path)} holds no mask files ({', '.join(MASK_EXTENSIONS)})"
                    + (f"; it holds {quoted(skipped[-1])} and other files" if skipped else "")
                )
            found += mine
        elif any(ch in path for ch in "*?[") and not os.path.exists(path):
            matches = sorted(p for p in glob.glob(path, recursive=True) if os.path.isfile(p))
            if not matches:
                raise DataError(f"no files match {quoted(path)}")
            found += matches
        elif os.path.isfile(path):
            found.append(path)
        else:
            raise DataError(_not_found(path))
    return found, skipped


def _walk(folder: str, skipped: list[str]) -> list[str]:
    found = []
    for top, dirs, files in os.walk(folder):
        skipped += [os.path.join(top, d) for d in sorted(dirs) if d.startswith(".")]
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if not f.startswith(".") and f.lower().endswith(MASK_EXTENSIONS):
                found.append(os.path.join(top, f))
            else:
                skipped.append(os.path.join(top, f))
    return found


def histograms(files: Sequence[str], threads: int | None = None) -> Generator[MaskHistogram]:
    """Each file's histogram, in the order of ``files``, decoded by ``threads`` threads.

    At most ``2 * threads + 2`` files are in flight; an error names its file, and the
    files after it are not decoded.  Every file must be of the same kind (PNG mode or
    ``.npy``) as the first.
    """
    first: MaskHistogram | None = None
    for h in _decoded(files, threads or workers()):
        first = first or h
        _same_kind(first, h)
        yield h


def _decoded(files: Sequence[str], n: int) -> Iterator[MaskHistogram]:
    if n == 1:
        yield from map(read_mask, files)
        return
    pool = ThreadPoolExecutor(n, thread_name_prefix="biascalc-masks")
    window: collections.deque[Future[MaskHistogram]] = collections.deque()
    try:
        for name in files:
            window.append(pool.submit(read_mask, name))
            if len(window) > 2 * n + 1:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _same_kind(first: MaskHistogram, h: MaskHistogram) -> None:
    if h.kind != first.kind:
        raise DataError(
            f"masks of mixed kinds: {quoted(first.name)} is {_kind_words(first.kind)} but "
            f"{quoted(h.name)} is {_kind_words(h.kind)}; convert them to one mode"
        )


def _kind_words(kind: str) -> str:
    return "a .npy array" if kind == "npy" else f"a PNG of mode {kind}"


def read_mask(path: str) -> MaskHistogram:
    """The histogram of one mask file (PNG or .npy, recognised by its first bytes)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except IsADirectoryError:
        raise DataError(f"{quoted(path)} is a folder, not a mask file") from None
    except OSError as exc:
        raise DataError(f"cannot read {quoted(path)}: {exc.strerror or exc}") from None
    if head.startswith(_NPY_MAGIC):
        return _read_npy(path)
    if head.startswith(_PNG_MAGIC):
        return _read_png(path)
    what = next((w for magic, w in _OTHER_MAGIC if head.startswith(magic)), None)
    found = what or ("an empty file" if not head else "neither a PNG image nor a .npy array")
    raise DataError(
        f"{quoted(path)} is {found}; masks must be PNG images (mode L, P or I;16) or "
        ".npy integer arrays of class ids"
    )


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise OptionError(
            "reading PNG masks needs Pillow: pip install 'biascalc[images]'"
        ) from None
    return Image


def _read_png(path: str) -> MaskHistogram:
    image = _pillow()
    try:
        with image.open(path, formats=["PNG"]) as im:
            mode = im.mode
            if mode in ("L", "P"):
                # Palette images: the indices are the classes; the palette is not looked at.
                return MaskHistogram(path, mode, 0, np.array(im.histogram(), np.int64))
            if mode == "1":
                hist = im.histogram()  # Pillow shows 1-bit pixels as 0 and 255
                return MaskHistogram(path, mode, 0, np.array([hist[0], hist[255]], np.int64))
            if mode.startswith("I;16") or mode == "I":
                offset, counts = _count_values(path, np.asarray(im).reshape(-1))
                return MaskHistogram(path, "I;16" if mode != "I" else "I", offset, counts)
    except DataError:
        raise
    except image.DecompressionBombError as exc:
        raise DataError(f"cannot read {quoted(path)}: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        detail = str(exc).strip() or type(exc).__name__
        raise DataError(
            f"cannot read {quoted(path)} as a PNG mask: {detail}; the file is truncated or "
            "corrupt: copy or export it again"
        ) from None
    raise DataError(
        f"{quoted(path)} is a PNG of mode {mode} "
        f"({'colour' if mode.startswith(('RGB', 'CMYK', 'YCbCr', 'HSV')) else 'with alpha'}"
        "), not a mask of class ids; masks are single-channel: mode L, P (palette indices) or "
        "I;16. Convert colour-coded masks to class ids first"
    )


def _read_npy(path: str) -> MaskHistogram:
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"cannot read {quoted(path)} as a .npy array: {detail}; the file is truncated or "
            "corrupt: save it again with numpy.save"
        ) from None
    if arr.dtype.kind not in "iub":
        raise DataError(
            f"{quoted(path)} holds {arr.dtype} values; a mask holds integer class ids "
            "(convert it with .astype(numpy.int64) if the values are whole numbers)"
        )
    offset, counts = _count_values(path, np.ravel(arr, order="K"))
    return MaskHistogram(path, "npy", offset, counts)


def _count_values(name: str, flat: np.ndarray[Any, Any]) -> tuple[int, npt.NDArray[np.int64]]:
    """(offset, pixels per value from it) of a 1-D integer array, counted chunk by chunk.

    The bins start at 0, or at the lowest value when it is negative (so that a negative
    ignore value such as -1 can be dropped later).
    """
    if flat.dtype.kind == "b":
        flat = flat.view(np.uint8)
    if flat.size == 0:
        return 0, np.zeros(0, np.int64)
    low, high = min(0, int(flat.min())), int(flat.max())
    if high - low >= MAX_SPAN:
        raise DataError(
            f"{quoted(name)} holds values from {int(flat.min()):,} to {high:,}; that is not a "
            f"mask of class ids (at most {MAX_SPAN:,} different ids)"
        )
    counts = np.zeros(high - low + 1, np.int64)
    for start in range(0, flat.size, _CHUNK):
        chunk = np.asarray(flat[start : start + _CHUNK])
        if low or chunk.dtype.itemsize >= 8:  # shift, and bincount takes no uint64
            chunk = np.subtract(chunk, low, dtype=np.int64)
        counts += np.bincount(chunk, minlength=counts.size)
    return low, counts
