#!/usr/bin/env python3
"""Write a tiny image-classification tree and a tiny set of segmentation masks.

Usage:  python examples/make_image_samples.py OUT_DIR

OUT_DIR/pets/{cat,dog,owl}/*.png   an ImageFolder tree (7, 2 and 1 images, 2x2 pixels)
OUT_DIR/masks/*.png                 8 VOC-style palette masks, 64x64: background 0,
                                    objects of classes 1-3, a 255 (ignore) border
                                    around each object, as PASCAL VOC draws them

Deterministic (seeded); needs numpy and Pillow (pip install 'biascalc[images]').
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image


def pets(out: Path) -> None:
    for cls, n in (("cat", 7), ("dog", 2), ("owl", 1)):
        (out / cls).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.new("RGB", (2, 2), (40 * i, 80, 120)).save(out / cls / f"{i}.png")


def masks(out: Path, n: int = 8, size: int = 64, seed: int = 0) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    palette = [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [0, 0, 0] * 251 + [224, 224, 192]
    for i in range(n):
        mask = np.zeros((size, size), np.uint8)
        for _ in range(2):
            cy, cx = rng.integers(12, size - 12, 2)
            r = rng.integers(5, 12)
            d = np.hypot(yy - cy, xx - cx)
            mask[(d >= r) & (d < r + 2)] = 255  # the ignore border
            mask[d < r] = rng.integers(1, 4)
        im = Image.fromarray(mask, "L").convert("P")
        im.putpalette(palette)
        im.save(out / f"{i:04d}.png")


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__.split("\n\n")[1])
    out = Path(sys.argv[1])
    pets(out / "pets")
    masks(out / "masks")


if __name__ == "__main__":
    main()
