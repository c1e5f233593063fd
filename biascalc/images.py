"""Image data sets -> BiasResult: ImageFolder trees (images per class) and segmentation
masks (pixels per class id).

``imagefolder``: the class counts of a ``root/<class>/<image>`` tree
(:mod:`biascalc.readers._imagefolder`) go into :class:`~biascalc.stats.LabelStats` as the
counts of a label column whose values are the folder names, so every task option applies
as for a text label column (the folder names sort as torchvision sorts them).

``masks``: pixel histograms (:mod:`biascalc.readers._masks`) are added up by
:class:`~biascalc.stats.pixels.PixelCounts`; the task is decided by
:func:`decide_pixel_task` (output k is class id k: no order is detected, so nothing of
tasks.py's class ordering applies) and the expected loss
is per pixel that is not ignored, as ``CrossEntropyLoss(ignore_index=255)`` averages it.
The result also carries Eigen & Fergus's median-frequency class weights.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .assemble import finish, result_from_stats
from .errors import DataError, OptionError
from .options import MEDIAN_FREQUENCY, BiasOptions
from .readers._common import quoted
from .result import BiasResult
from .stats import LabelStats
from .stats.pixels import PixelCounts
from .tasks import Label, TaskDecision, format_values

if TYPE_CHECKING:
    from .progress import Progress

__all__ = [
    "DEFAULT_IGNORE_INDEX",
    "IMAGE_FORMATS",
    "compute_bias_from_imagefolder",
    "compute_bias_from_images",
    "compute_bias_from_masks",
]

IMAGE_FORMATS = ("imagefolder", "masks")
#: Masks: the value of pixels to skip when --ignore-index is not given (VOC, Cityscapes).
DEFAULT_IGNORE_INDEX = (255,)


def compute_bias_from_images(
    paths: str | Sequence[str],
    input_format: str,
    *,
    progress: bool | Progress = False,
    threads: int | None = None,
    **options: Any,
) -> BiasResult:
    """``input_format="imagefolder"`` or ``"masks"``: see the two functions it calls."""
    given = [paths] if isinstance(paths, str) else list(paths)
    if input_format == "imagefolder":
        if len(given) != 1:
            raise OptionError(
                f"--input-format imagefolder reads one folder (root/<class>/<image>), "
                f"not {len(given)} paths"
            )
        return compute_bias_from_imagefolder(given[0], **options)
    if input_format == "masks":
        return compute_bias_from_masks(given, progress=progress, threads=threads, **options)
    raise OptionError(f"unknown image input format {input_format!r}; choose imagefolder or masks")


def compute_bias_from_imagefolder(root: str, **options: Any) -> BiasResult:
    """The bias from the images per class of a torchvision ``ImageFolder`` tree.

    The classes are the sub-folders of ``root`` in ``ImageFolder.class_to_idx`` order;
    images are counted by extension, not opened.  ``options`` are those of
    :func:`biascalc.compute_bias` (sample weights excepted).

    >>> r = compute_bias_from_imagefolder("train")  # doctest: +SKIP
    >>> r.classes  # doctest: +SKIP
    ('cat', 'dog')
    """
    from .readers._imagefolder import scan_imagefolder

    opts = BiasOptions(**options)
    opts.refuse_pixel_options("--input-format imagefolder (counts are images per folder)")
    found = scan_imagefolder(root)
    stats = LabelStats.from_counts(found.classes, found.counts, opts.stats_spec(["class folder"]))
    result = result_from_stats(stats, opts, source=(root,))
    warnings = found.warnings()
    reason = result.task_reason
    order = [c for c in result.classes or () if c in found.classes]
    if order == found.classes:
        reason += " (the folder names: torchvision's ImageFolder.class_to_idx order)"
    elif result.task in ("multiclass", "binary", "ordinal"):
        warnings.append(
            "the class order (from --classes or --positive) differs from torchvision's "
            "ImageFolder.class_to_idx (the sorted folder names); the biases follow it"
        )
    return dataclasses.replace(
        result, targets=(), task_reason=reason, warnings=(*warnings, *result.warnings)
    )


def compute_bias_from_masks(
    paths: str | Sequence[str],
    *,
    progress: bool | Progress = False,
    threads: int | None = None,
    **options: Any,
) -> BiasResult:
    """The bias of a segmentation head from its masks: pixels per class id.

    ``paths``: folders (searched recursively for ``.png`` and ``.npy``), globs or files.
    ``ignore_index`` defaults to ``(255,)``; ``num_classes`` (or ``classes``, one name per
    id) fixes K, else K is the highest id + 1.  ``threads`` decode in parallel (default:
    the cores).  ``options`` are those of :func:`biascalc.compute_bias`.

    >>> r = compute_bias_from_masks("SegmentationClass/", num_classes=21)  # doctest: +SKIP
    >>> len(r.bias), r.loss  # doctest: +SKIP
    (21, 'cross_entropy')
    """
    from .readers._masks import histograms, list_masks

    opts = BiasOptions(**options)
    if opts.positive is not None:
        raise OptionError(
            "--positive does not apply to masks: with --task binary the output is class id 1"
        )
    if opts.sampler is not None:
        raise OptionError(
            "--sampler does not apply to masks: a sampler draws images, and each mask holds "
            "pixels of many classes, so the pixel shares it gives cannot be derived"
        )
    family = opts.family if opts.loss != "auto" else None
    pixel_task(opts.task, family)  # before reading: a task masks cannot have is refused now
    given = [paths] if isinstance(paths, str) else list(paths)
    files, skipped = list_masks(given)
    names = _class_names(opts)
    k = opts.num_classes if names is None else len(names)
    ignore = opts.ignore_index if opts.ignore_index is not None else DEFAULT_IGNORE_INDEX
    bound = f"--num-classes {k}" if opts.num_classes is not None else f"--classes ({k} names)"
    pixels = PixelCounts(ignore, k, bound)
    bar = _progress(progress)
    try:
        total = sum(os.path.getsize(f) for f in files) if bar is not None else 0
        done = 0
        with contextlib.closing(histograms(files, threads)) as masks:
            for h in masks:  # closing: on an error, the decoding threads stop at once
                pixels.add(h.name, h.offset, h.counts)
                if bar is not None:
                    done += os.path.getsize(h.name)
                    bar.update(done, total)
    finally:
        if bar is not None:
            bar.close()
    return _mask_result(pixels, opts, family, names, k, ignore, tuple(given), skipped)


def _mask_result(
    pixels: PixelCounts,
    opts: BiasOptions,
    family: str | None,
    names: tuple[Label, ...] | None,
    k: int | None,
    ignore: tuple[int, ...],
    source: tuple[str, ...],
    skipped: list[str],
) -> BiasResult:
    shown = ", ".join(str(v) for v in ignore)
    if pixels.pixels == 0:
        raise DataError(
            f"the {pixels.images:,} mask(s) have no pixels that are not ignored "
            f"(--ignore-index {shown}); nothing to count"
        )
    how = "from --num-classes" if opts.num_classes is not None else "one per --classes name"
    if k is None:
        k = int(pixels.counts.size)
        how = "the highest id + 1; give --num-classes if the head has more outputs"
    labels = names if names is not None else tuple(range(k))
    balancing = pixels.median_frequency_weights(k)
    if opts.class_weight == MEDIAN_FREQUENCY:
        opts = dataclasses.replace(opts, class_weight=_median_frequency(labels, balancing))
    decision = decide_pixel_task(
        pixels.class_counts(k),
        labels,
        task=opts.task,
        family=family,
        detail=f"{pixels.images:,} masks, {k} classes = ids 0-{k - 1} ({how}), "
        f"value {shown} ignored",
    )
    result = finish(
        decision,
        opts,
        n_samples=pixels.pixels,
        n_missing=pixels.ignored,
        weight_sum=float(pixels.pixels),
        targets=(),
        weight=None,
        source=source,
    )
    notes = []
    if skipped:
        notes.append(
            f"skipped {len(skipped):,} file(s) that are hidden or not .png / .npy, "
            f"e.g. {quoted(skipped[0])}"
        )
    parameters = dict(result.loss_parameters)
    if result.loss == "cross_entropy":
        parameters["ignore_index"] = ignore[0] if len(ignore) == 1 else list(ignore)
    return dataclasses.replace(
        result,
        loss_parameters=parameters,
        median_frequency_weights=tuple(balancing),
        warnings=(*notes, *result.warnings),
    )


def _median_frequency(
    labels: tuple[Label, ...], weights: list[float | None]
) -> dict[object, float]:
    """--class-weight median-frequency as LABEL=W: Eigen & Fergus's alpha_c per class."""
    absent = [label for label, w in zip(labels, weights, strict=True) if w is None]
    if absent:
        raise DataError(
            f"median-frequency class weights are undefined for classes with no pixels: "
            f"{absent[:10]}; drop them (--num-classes) or give the weights as LABEL=W"
        )
    return {label: float(w) for label, w in zip(labels, weights, strict=True) if w is not None}


def _class_names(opts: BiasOptions) -> tuple[Label, ...] | None:
    """--classes for masks: one name per id 0, 1, ...; ids written out must be 0 .. K-1."""
    if opts.classes is None:
        return None
    names = tuple(str(c) if not isinstance(c, int | float | bool) else c for c in opts.classes)
    if len(set(names)) != len(names):
        raise OptionError("--classes names a class more than once")
    ints = []
    for c in names:
        try:
            ints.append(int(str(c).strip()))
        except ValueError:
            return names
    if ints != list(range(len(ints))):
        raise OptionError(
            "for masks, --classes names the classes of the ids 0, 1, 2, ... in order; "
            f"{', '.join(str(c) for c in names)} look like ids other than 0-{len(ints) - 1}: "
            "give names, or --num-classes K"
        )
    return tuple(ints)


def _progress(progress: bool | Progress) -> Progress | None:
    if progress is True:
        from .progress import ProgressBar

        return ProgressBar()
    return None if progress is False else progress


def pixel_task(task: str, family: str | None) -> str:
    """The task of a mask head given --task and the loss's family (None: automatic)."""
    if task == "auto":
        task = "multilabel" if family == "binary" else "multiclass"
    if task not in ("multiclass", "multilabel", "binary") or family in ("regression", "ordinal"):
        given = f"--task {task}" if family in (None, "binary", "multiclass") else "this --loss"
        raise OptionError(
            "masks give one class per pixel: use --task multiclass (cross_entropy), "
            f"multilabel or binary (bce, focal), not {given}"
        )
    return task


def decide_pixel_task(
    counts: npt.NDArray[np.int64],
    labels: Sequence[Label],
    *,
    task: str,
    family: str | None,
    detail: str,
) -> TaskDecision:
    """The task of a segmentation head whose output k is the class of id k.

    No order is detected: ``CrossEntropyLoss`` takes the ids as output indices, so the
    classes are the ids 0 .. K-1 (``labels`` names them).  Softmax over the classes by
    default; with a sigmoid loss (bce, focal) one sigmoid per class, pixel-wise one-vs-rest
    (``multilabel`` with one output per class); ``--task binary`` is one sigmoid for id 1.
    """
    k = len(labels)
    task = pixel_task(task, family)
    if task == "binary" and k != 2:
        raise OptionError(f"--task binary needs 2 classes (ids 0 and 1), but the masks have {k}")
    head = {
        "multiclass": "a softmax over the classes",
        "multilabel": "one sigmoid per class (pixel-wise one-vs-rest)",
        "binary": "one sigmoid output for id 1",
    }[task]
    reason = f"segmentation masks: {detail}: {head}"
    warnings: list[str] = []
    absent = [i for i in range(k) if counts[i] == 0]
    if absent:
        shown = format_values([labels[i] for i in absent], limit=12)
        warnings.append(f"{len(absent)} of the {k} classes have no pixels in the masks: {shown}")
    if task == "multilabel" and k == 2:
        warnings.append(
            "2 classes with a sigmoid loss: one sigmoid per class (2 outputs); for a head with "
            "a single output (id 1 against id 0) pass --task binary"
        )
    counts = np.asarray(counts[:k], np.int64)
    return TaskDecision(
        task,  # type: ignore[arg-type]
        reason,
        tuple(labels),
        counts,
        counts.astype(np.float64),
        tuple(warnings),
    )
