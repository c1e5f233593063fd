"""Results without data: from known class probabilities (--prior) or counts (--counts)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._tensors import is_framework_array, to_host
from .assemble import finish, result_from_stats
from .errors import OptionError
from .options import BiasOptions
from .result import BiasResult
from .stats import LabelStats
from .tasks import TaskDecision

__all__ = ["compute_bias_from_counts", "compute_bias_from_prior"]


def compute_bias_from_counts(counts: Mapping[object, int], **options: Any) -> BiasResult:
    """The bias from class counts alone, e.g. ``{0: 284315, 1: 492}``.

    Labels given as text ("0", "true") are read as numbers or booleans when they all
    are.  ``options`` are those of :func:`compute_bias`.

    >>> round(float(compute_bias_from_counts({0: 284315, 1: 492}).bias[0]), 5)
    -6.35936
    """
    opts = BiasOptions(**options)
    opts.refuse_pixel_options("--counts")
    if not counts:
        raise OptionError("--counts is empty; give LABEL=N pairs")
    labels = _typed_labels(list(counts))
    stats = LabelStats.from_counts(
        labels, [int(n) for n in counts.values()], opts.stats_spec(["counts"])
    )
    return dataclasses.replace(
        result_from_stats(stats, opts), targets=(), weight=None, weight_sum=None
    )


def compute_bias_from_prior(prior: float | Sequence[float], **options: Any) -> BiasResult:
    """The bias from known class probabilities, with no data.

    One number is the positive rate of a binary task; several are the class
    probabilities of a multiclass (or, with ``task="ordinal"``, ordinal) task and must sum
    to 1; with ``task="multilabel"`` they are the positive rates of each label.
    ``classes`` names the classes (default 0, 1, ...).

    >>> round(float(compute_bias_from_prior(0.01).bias[0]), 5)  # RetinaNet's prior
    -4.59512
    """
    opts = BiasOptions(**options)
    opts.refuse_pixel_options("--prior")
    if is_framework_array(prior):
        prior = to_host(prior, "prior").tolist()
    values = [float(p) for p in np.ravel(np.asarray(prior, dtype=np.float64))]
    task = opts.task if opts.task != "auto" else ("binary" if len(values) == 1 else "multiclass")
    if opts.family is not None and opts.task == "auto":
        task = {"binary": "binary" if len(values) == 1 else "multilabel"}.get(
            opts.family, opts.family
        )
    if task == "regression":
        raise OptionError("--prior gives class probabilities; it does not apply to regression")
    shares = np.array(values)
    if not np.all(np.isfinite(shares)):
        raise OptionError("--prior values must be finite numbers")
    if task in ("binary", "multilabel"):
        if np.any((shares <= 0) | (shares >= 1)):
            raise OptionError(f"--prior must be strictly between 0 and 1, not {values}")
        if task == "binary" and len(values) != 1:
            raise OptionError("a binary --prior is one number, the positive rate")
    elif np.any(shares < 0) or not math.isclose(float(shares.sum()), 1.0, abs_tol=1e-6):
        raise OptionError(
            "--prior values are probabilities of the classes and must sum to 1, "
            f"not {shares.sum():.6g}"
        )
    classes = _prior_classes(opts, task, len(values))
    if task == "binary":
        decision = TaskDecision(
            "binary",
            "--prior gives the positive rate",
            classes,
            None,
            np.array([1 - values[0], values[0]]),
        )
    elif task == "multilabel":
        decision = TaskDecision(
            "multilabel", "--prior gives each label's positive rate", classes, None, shares
        )
    else:
        reason = f"--prior gives {len(values)} class probabilities"
        decision = TaskDecision(task, reason, classes, None, shares)  # type: ignore[arg-type]
    return finish(
        decision, opts, n_samples=None, n_missing=0, weight_sum=1.0, targets=(), weight=None
    )


def _prior_classes(opts: BiasOptions, task: str, k: int) -> tuple[Any, ...]:
    n_classes = 2 if task == "binary" else k
    classes = tuple(range(n_classes)) if opts.classes is None else tuple(opts.classes)
    if len(classes) != n_classes:
        raise OptionError(
            f"--classes names {len(classes)} classes but --prior describes {n_classes}"
        )
    if opts.positive is None:
        return classes
    if task != "binary":
        raise OptionError("--positive only applies to binary tasks")
    # The prior is the rate of the last class; --positive must name that class.
    names = [str(c) for c in classes]
    if str(opts.positive) not in names:
        raise OptionError(f"--positive {opts.positive!r} is not one of the classes {list(classes)}")
    if names.index(str(opts.positive)) != 1:
        raise OptionError(
            f"--prior {classes[1]!r}'s rate is given, but --positive names {opts.positive!r}: "
            "give the positive class's rate, or list it last in --classes"
        )
    return classes


def _typed_labels(labels: list[object]) -> list[object]:
    """Labels typed on the command line become numbers or booleans when they all are."""
    if not all(isinstance(v, str) for v in labels):
        return labels
    text = [str(v).strip() for v in labels]
    for parse in (int, float):
        try:
            return [parse(t) for t in text]
        except ValueError:
            continue
    if all(t.lower() in ("true", "false") for t in text):
        return [t.lower() == "true" for t in text]
    return labels
