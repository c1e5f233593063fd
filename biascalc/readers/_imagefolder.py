"""An image-classification tree laid out for torchvision's ``ImageFolder``: counts per class.

``root/<class>/**/<image>``: the classes are the sub-folders of ``root`` and each image
file below a class folder is one sample of that class.  The rules are torchvision's
(``torchvision/datasets/folder.py``, read at release 0.29.1, re-implemented here):

* ``find_classes``: the classes are the names of the entries of ``root`` that are
  directories (``os.scandir`` + ``DirEntry.is_dir()``, which follows symbolic links),
  sorted with Python's ``sorted`` (by code point), and ``class_to_idx`` numbers them in
  that order.  Hidden folders are *not* excluded by torchvision, so they are classes here
  too (with a warning), or the indices would not be ``ImageFolder.class_to_idx``.
* ``make_dataset``: a sample is a file anywhere below its class folder
  (``os.walk(..., followlinks=True)``) whose lower-cased name ends with one of
  ``IMG_EXTENSIONS``.  A class with no such file is an error there unless
  ``allow_empty=True``; here it is a class with count 0 and a warning.

Two deliberate differences, both reported: files whose name starts with ``.`` (and files
inside hidden sub-folders of a class) are skipped, as the issue asks (macOS ``._x.jpg``
resource forks, ``.ipynb_checkpoints``), although torchvision would count those with an
image extension; and a symbolic-link loop is walked once instead of forever.  Images are
counted, never opened: nothing here needs Pillow.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..errors import DataError
from ._common import quoted

__all__ = ["IMG_EXTENSIONS", "FolderCounts", "find_classes", "scan_imagefolder"]

#: torchvision.datasets.folder.IMG_EXTENSIONS (lower case; matched case-insensitively).
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def find_classes(root: str) -> list[str]:
    """The class folders of ``root`` in ``ImageFolder.class_to_idx`` order.

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("b", "a", "B", "10", "9"):
    ...     (d / name).mkdir()
    >>> find_classes(str(d))
    ['10', '9', 'B', 'a', 'b']
    """
    try:
        with os.scandir(root) as entries:
            classes = sorted(entry.name for entry in entries if entry.is_dir())
    except NotADirectoryError:
        raise DataError(
            f"{quoted(root)} is not a folder; --input-format imagefolder reads a folder with "
            "one sub-folder per class (root/<class>/<image>)"
        ) from None
    except FileNotFoundError:
        raise DataError(f"folder {quoted(root)} not found") from None
    except PermissionError:
        raise DataError(f"cannot read folder {quoted(root)}: permission denied") from None
    return classes


@dataclass
class FolderCounts:
    """Images per class folder, and what was left out."""

    root: str
    classes: list[str]
    counts: list[int]
    #: Files without an image extension, below the class folders or directly in root.
    other: list[str] = field(default_factory=list)
    #: Hidden files (and files in hidden folders) below the class folders.
    hidden: list[str] = field(default_factory=list)
    #: How many of ``hidden`` have an image extension (torchvision would count those).
    hidden_images: int = 0

    def warnings(self) -> list[str]:
        """What the counts leave out or may get wrong, in words."""
        out = []
        if self.hidden:
            out.append(
                f"skipped {len(self.hidden):,} hidden file(s) (names starting with '.', or in "
                f"hidden folders), e.g. {quoted(self.hidden[0])}; torchvision's ImageFolder "
                f"would count {self.hidden_images:,} of them as images"
            )
        if self.other:
            out.append(
                f"skipped {len(self.other):,} file(s) without an image extension "
                f"({', '.join(IMG_EXTENSIONS)}), e.g. {quoted(self.other[0])}"
            )
        for name in self.classes:
            if name.startswith("."):
                out.append(
                    f"class folder {quoted(name)} is hidden, but torchvision's find_classes "
                    f"makes it class {self.classes.index(name)}, so it is one here too; delete "
                    "it if it is not a class (the other classes' indices move)"
                )
        empty = [quoted(name) for name, n in zip(self.classes, self.counts, strict=True) if not n]
        if empty:
            out.append(
                f"class folder(s) with no images: {', '.join(empty[:10])}"
                + (f" and {len(empty) - 10} more" if len(empty) > 10 else "")
                + "; torchvision's ImageFolder refuses them unless allow_empty=True"
            )
        return out


def scan_imagefolder(root: str) -> FolderCounts:
    """Count the images of each class folder of ``root`` without opening any of them."""
    classes = find_classes(root)
    if not classes:
        raise DataError(
            f"folder {quoted(root)} has no class folders; --input-format imagefolder reads "
            "root/<class>/<image> (torchvision's ImageFolder layout)"
        )
    found = FolderCounts(root, classes, [0] * len(classes))
    with os.scandir(root) as entries:
        loose = sorted(e.name for e in entries if not e.is_dir())
    for fname in loose:  # files beside the class folders: not samples for torchvision either
        (found.hidden if fname.startswith(".") else found.other).append(os.path.join(root, fname))
    for i, name in enumerate(classes):
        found.counts[i] = _count_class(os.path.join(root, name), found)
    if sum(found.counts) == 0:
        raise DataError(
            f"the class folders of {quoted(root)} hold no image files "
            f"({', '.join(IMG_EXTENSIONS)}, any case); nothing to count"
        )
    return found


def _count_class(folder: str, found: FolderCounts) -> int:
    n = 0
    seen: set[tuple[int, int]] = set()
    for top, dirs, files in os.walk(folder, followlinks=True, onerror=_raise):
        st = os.stat(top)
        if (st.st_dev, st.st_ino) in seen:  # a symbolic-link loop: walked once
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirs.sort()
        rel = os.path.relpath(top, folder)
        in_hidden = rel != "." and any(p.startswith(".") for p in rel.split(os.sep))
        for fname in sorted(files):
            is_image = fname.lower().endswith(IMG_EXTENSIONS)
            if in_hidden or fname.startswith("."):
                found.hidden.append(os.path.join(top, fname))
                found.hidden_images += is_image
            elif is_image:
                n += 1
            else:
                found.other.append(os.path.join(top, fname))
    return n


def _raise(exc: OSError) -> None:
    raise DataError(
        f"cannot read folder {quoted(str(exc.filename))}: {exc.strerror or exc}"
    ) from None
