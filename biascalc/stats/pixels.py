"""Pixel counts per class id over segmentation masks, and median-frequency class weights.

:class:`PixelCounts` adds up one mask histogram at a time (memory: one count per class
id, whatever the number of masks), drops ignored values, refuses values that are not
class ids, and keeps what median-frequency balancing needs.  It merges like every other
statistic here.  It is not a :class:`~biascalc.stats.LabelStats`: the class of output k
is the id k (the order is fixed, never detected), ignored pixels and the per-image
totals of median-frequency balancing have no place there, and one mask would be 262,144
rows.

Median-frequency balancing (D. Eigen and R. Fergus, "Predicting Depth, Surface Normals
and Semantic Labels with a Common Multi-Scale Convolutional Architecture", ICCV 2015,
section 4.3; used by SegNet): class c is weighted by

    alpha_c = median_freq / freq(c),
    freq(c) = (pixels of class c) / (pixels of the images where c is present),

where median_freq is the median of freq over the classes.  Here "pixels" are the pixels
that are not ignored, the median is taken over the classes present in at least one mask
(for an even number, the mean of the two middle values, as ``numpy.median``), and a class
present nowhere has no weight (None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import DataError

__all__ = ["PixelCounts", "median_frequency_weights"]

IntArray = npt.NDArray[np.int64]


def _grown(a: IntArray, size: int) -> IntArray:
    if a.size >= size:
        return a
    out = np.zeros(size, np.int64)
    out[: a.size] = a
    return out


@dataclass
class PixelCounts:
    """Pixels per class id 0, 1, ... over many masks, with the ignored pixels counted apart.

    ``num_classes`` (when known) bounds the ids: a larger value is an error naming the
    mask.  ``ignore`` values are dropped (PyTorch's ``CrossEntropyLoss(ignore_index=...)``
    skips those pixels); a negative value that is not ignored is an error.

    >>> import numpy as np
    >>> p = PixelCounts(ignore=(255,))
    >>> p.add("a.png", 0, np.bincount([0, 0, 1, 255, 255], minlength=256))
    >>> p.counts.tolist(), p.ignored, p.images
    ([2, 1], 2, 1)
    """

    ignore: tuple[int, ...] = (255,)
    num_classes: int | None = None
    bound: str = "--num-classes"  # how num_classes was given, for messages
    counts: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    #: Per class: the non-ignored pixels of the masks in which the class is present.
    image_pixels: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    ignored: int = 0
    images: int = 0

    def add(self, name: str, offset: int, histogram: npt.NDArray[Any]) -> None:
        """Fold one mask: ``histogram[i]`` pixels of value ``offset + i``."""
        h = np.asarray(histogram, np.int64)
        self.images += 1
        for value in self.ignore:
            i = value - offset
            if 0 <= i < h.size and h[i]:
                self.ignored += int(h[i])
                h = h.copy() if h is histogram else h
                h[i] = 0
        used = np.flatnonzero(h)
        if used.size == 0:
            return
        low, high = int(used[0]) + offset, int(used[-1]) + offset
        if low < 0:
            raise DataError(
                f"{_q(name)} has {int(h[low - offset]):,} pixels of value {low}, which is not "
                f"a class id; if it marks pixels to skip, pass --ignore-index {low}"
            )
        if self.num_classes is not None and high >= self.num_classes:
            more = int(np.count_nonzero(used + offset >= self.num_classes)) - 1
            raise DataError(
                f"{_q(name)} has {int(h[high - offset]):,} pixels of value {high}"
                + (f" (and {more} more values >= {self.num_classes})" if more else "")
                + f", but {self.bound} allows the ids 0 to "
                f"{self.num_classes - 1}; raise it, or pass --ignore-index {high} "
                "if those pixels are to be skipped"
            )
        # From id 0 (offsets are 0, or negative when the mask holds negative values).
        ids = h[-offset:] if offset <= 0 else np.concatenate([np.zeros(offset, np.int64), h])
        ids = ids[: high + 1]
        self.counts = _grown(self.counts, ids.size)
        self.counts[: ids.size] += ids
        self.image_pixels = _grown(self.image_pixels, ids.size)
        self.image_pixels[: ids.size][ids > 0] += int(ids.sum())

    def merge(self, other: PixelCounts) -> PixelCounts:
        """The counts of two disjoint sets of masks."""
        size = max(self.counts.size, other.counts.size)
        return PixelCounts(
            self.ignore,
            self.num_classes,
            self.bound,
            _grown(self.counts, size) + _grown(other.counts, size),
            _grown(self.image_pixels, size) + _grown(other.image_pixels, size),
            self.ignored + other.ignored,
            self.images + other.images,
        )

    @property
    def pixels(self) -> int:
        """The pixels counted (not ignored)."""
        return int(self.counts.sum())

    def class_counts(self, k: int) -> IntArray:
        """Pixels of the ids 0 .. k-1 (ids never seen count 0)."""
        return _grown(self.counts, k)[:k]

    def median_frequency_weights(self, k: int) -> list[float | None]:
        """Eigen & Fergus's alpha_c for the ids 0 .. k-1 (see the module docstring)."""
        return median_frequency_weights(self.class_counts(k), _grown(self.image_pixels, k)[:k])


def median_frequency_weights(
    counts: npt.NDArray[Any], image_pixels: npt.NDArray[Any]
) -> list[float | None]:
    """alpha_c = median(freq) / freq(c), freq(c) = counts[c] / image_pixels[c].

    >>> median_frequency_weights(np.array([6, 3, 0]), np.array([10, 5, 0]))
    [1.0, 1.0, None]
    """
    counts = np.asarray(counts, np.float64)
    present = counts > 0
    if not present.any():
        return [None] * counts.size
    freq = counts[present] / np.asarray(image_pixels, np.float64)[present]
    median = float(np.median(freq))
    out: list[float | None] = [None] * counts.size
    for i, f in zip(np.flatnonzero(present), freq, strict=True):
        out[int(i)] = median / float(f)
    return out


def _q(name: str) -> str:
    from ..readers._common import quoted

    return quoted(name)
