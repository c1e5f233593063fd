"""The public entry points: labels in memory, in files, or as known priors -> BiasResult."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DataError, OptionError
from .inmemory import to_table
from .losses import Loss, LossData
from .losses.classification import BinaryCrossEntropy, CrossEntropy
from .options import BiasOptions
from .result import BiasResult, TargetStatistics
from .stats import LabelStats, StatsSpec
from .tasks import TaskDecision, decide_task

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "compute_bias",
    "compute_bias_from_counts",
    "compute_bias_from_file",
    "compute_bias_from_prior",
    "compute_bias_from_stats",
    "collect_file_stats",
    "result_from_stats",
]

WEIGHT_COLUMN = "__biascalc_weight__"


def compute_bias(
    y: Any,
    *,
    task: str = "auto",
    loss: str = "auto",
    sample_weight: Any = None,
    classes: Sequence[object] | None = None,
    positive: object | None = None,
    center: bool = False,
    huber_delta: float = 1.0,
    quantile: float = 0.5,
    tweedie_power: float = 1.5,
    eps: float = 1e-7,
    pos_weight: float | Sequence[float] | None = None,
    class_weight: str | Mapping[object, float] | None = None,
    label_smoothing: float = 0.0,
    focal_gamma: float = 2.0,
    focal_alpha: float = 0.25,
) -> BiasResult:
    """Compute the output-layer bias for labels held in memory.

    ``y`` may be a list, a NumPy array (2-D: one column per output), a pandas Series or
    DataFrame (one target per column), a polars Series/DataFrame, or a PyArrow Array,
    ChunkedArray or Table.  The keywords are the command line's options.

    >>> r = compute_bias(["cat", "dog", "dog", "bird"])
    >>> r.task, r.classes
    ('multiclass', ('bird', 'cat', 'dog'))
    >>> [round(float(b), 4) for b in r.bias]
    [-1.3863, -1.3863, -0.6931]
    >>> compute_bias([0.5, 2.0, 6.5]).bias.tolist()  # non-integral: regression
    [3.0]
    """
    options = BiasOptions(
        task=task,
        loss=loss,
        classes=None if classes is None else tuple(classes),
        positive=positive,
        center=center,
        huber_delta=huber_delta,
        quantile=quantile,
        tweedie_power=tweedie_power,
        eps=eps,
        pos_weight=pos_weight
        if pos_weight is None or isinstance(pos_weight, int | float)
        else tuple(pos_weight),
        class_weight=class_weight,
        label_smoothing=label_smoothing,
        focal_gamma=focal_gamma,
        focal_alpha=focal_alpha,
    )
    table = to_table(y)
    targets, weight = table.column_names, None
    if sample_weight is not None:
        import pyarrow as pa

        w = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
        if w.shape[0] != table.num_rows:
            raise DataError(
                f"sample_weight has {w.shape[0]} values but y has {table.num_rows} rows"
            )
        table = table.append_column(WEIGHT_COLUMN, pa.array(w))
        weight = WEIGHT_COLUMN
    stats = collect(options.stats_spec(targets, weight), table.to_batches())
    return result_from_stats(stats, options)


def compute_bias_from_file(
    path: str | Sequence[str],
    target: str | Sequence[str] | None = None,
    *,
    weight: str | None = None,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    **options: Any,
) -> BiasResult:
    """Compute the bias from the label column(s) of a file (CSV, TSV, Parquet, JSON Lines,
    Arrow/Feather, optionally gzip/bz2/zstd-compressed); ``"-"`` reads standard input.

    ``path`` may also be several paths, a directory or a glob, read as one data set.
    ``options`` are the keyword options of :func:`compute_bias`.  When the file has only
    one column, ``target`` may be omitted.

    >>> compute_bias_from_file("sample_data/wine.csv", "target").classes  # doctest: +SKIP
    (0, 1, 2)
    """
    opts = BiasOptions(**options)
    stats, names = collect_file_stats(
        path,
        target,
        weight=weight,
        input_format=input_format,
        delimiter=delimiter,
        encoding=encoding,
        options=opts,
    )
    return result_from_stats(stats, opts, source=names)


def collect_file_stats(
    path: str | Sequence[str],
    target: str | Sequence[str] | None = None,
    *,
    weight: str | None = None,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    options: BiasOptions | None = None,
) -> tuple[LabelStats, tuple[str, ...]]:
    """Read files into label statistics (and the input names), without deciding anything.

    The statistics can be saved (``stats.to_dict()``) and merged with others later.
    """
    from .readers import open_dataset

    opts = options or BiasOptions()
    paths = [path] if isinstance(path, str) else list(path)
    targets = None if target is None else ([target] if isinstance(target, str) else list(target))
    with open_dataset(
        paths, input_format=input_format, delimiter=delimiter, encoding=encoding
    ) as dataset:
        targets = dataset.resolve_targets(targets, weight)
        columns = [*targets, *([weight] if weight else [])]
        stats = dataset.collect(lambda: LabelStats(opts.stats_spec(targets, weight)), columns)
        names = tuple(dataset.names)
    return stats, names


def compute_bias_from_stats(
    stats: Sequence[LabelStats | Mapping[str, Any]], **options: Any
) -> BiasResult:
    """Merge partial statistics (objects or their ``to_dict()`` form) and compute the bias.

    Statistics saved with ``biascalc ... --save-stats part.json`` on each machine are
    merged here exactly as if one machine had read all the data.
    """
    if not stats:
        raise OptionError("no statistics to merge")
    parts = [s if isinstance(s, LabelStats) else LabelStats.from_dict(dict(s)) for s in stats]
    merged = parts[0]
    for part in parts[1:]:
        if part.spec.targets != merged.spec.targets or part.spec.weight != merged.spec.weight:
            raise DataError(
                f"statistics of targets {list(part.spec.targets)} cannot be merged with "
                f"statistics of targets {list(merged.spec.targets)}"
            )
        merged = merged.merge(part)
    return result_from_stats(merged, BiasOptions(**options))


def compute_bias_from_counts(counts: Mapping[object, int], **options: Any) -> BiasResult:
    """The bias from class counts alone, e.g. ``{0: 284315, 1: 492}``.

    Labels given as text ("0", "true") are read as numbers or booleans when they all
    are.  ``options`` are those of :func:`compute_bias`.

    >>> round(float(compute_bias_from_counts({0: 284315, 1: 492}).bias[0]), 5)
    -6.35936
    """
    opts = BiasOptions(**options)
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
    values = [float(prior)] if isinstance(prior, int | float) else [float(p) for p in prior]
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
    if opts.classes is None:
        return tuple(range(n_classes))
    if len(opts.classes) != n_classes:
        raise OptionError(
            f"--classes names {len(opts.classes)} classes but --prior describes {n_classes}"
        )
    return tuple(opts.classes)


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


def collect(spec: StatsSpec, batches: Iterable[pa.RecordBatch]) -> LabelStats:
    """Fold record batches into fresh statistics."""
    stats = LabelStats(spec)
    for batch in batches:
        stats.update(batch)
    return stats


def result_from_stats(
    stats: LabelStats,
    options: BiasOptions,
    *,
    source: tuple[str, ...] | None = None,
) -> BiasResult:
    """Turn label statistics into a result: task -> loss -> bias and expected losses."""
    names = ", ".join(f"'{t}'" for t in stats.spec.targets)
    if stats.n_rows == 0:
        raise DataError(
            f"no rows with a label in {names}"
            + (f" ({stats.n_missing} rows have a missing label)" if stats.n_missing else "")
        )
    if stats.weighted and stats.weight_sum <= 0:
        raise DataError(
            f"the sample weights in '{stats.spec.weight}' are all zero; "
            "at least one must be positive"
        )
    decision = decide_task(
        stats,
        task=options.task,
        family=options.family if options.loss != "auto" else None,
        classes=options.classes,
        positive=options.positive,
    )
    weight = stats.spec.weight if stats.spec.weight != WEIGHT_COLUMN else "sample_weight"
    return finish(
        decision,
        options,
        n_samples=stats.n_rows,
        n_missing=stats.n_missing,
        weight_sum=stats.weight_sum,
        targets=stats.spec.targets,
        weight=weight,
        stats=stats,
        source=source,
    )


def finish(
    decision: TaskDecision,
    options: BiasOptions,
    *,
    n_samples: int | None,
    n_missing: int,
    weight_sum: float,
    targets: tuple[str, ...],
    weight: str | None,
    stats: LabelStats | None = None,
    source: tuple[str, ...] | None = None,
) -> BiasResult:
    """A decided task -> the loss's fit and the expected losses -> BiasResult."""
    statistics = priors = prior_bias = None
    if decision.task == "regression":
        assert stats is not None
        loss = options.loss_for("regression")
        data = LossData(columns=tuple(stats.columns))
        statistics = tuple(
            TargetStatistics(
                c.name,
                c.moments.mean,
                c.moments.variance**0.5,
                c.moments.minimum,
                c.moments.maximum,
            )
            for c in stats.columns
        )
    else:
        assert decision.class_weight is not None and decision.classes is not None
        priors = decision.class_weight / weight_sum
        loss = options.loss_for(decision.task, decision.classes, priors)
        data = _class_data(decision, priors)
        prior_bias = _plain(loss, options).fit(data).bias
    fit = loss.fit(data)
    zero = loss.mean_loss(data, np.zeros_like(fit.bias))
    recommended = loss.mean_loss(data, fit.bias)
    return BiasResult(
        task=decision.task,
        task_reason=decision.reason,
        loss=loss.name,
        activation=loss.activation,
        targets=targets,
        bias=fit.bias,
        n_samples=n_samples,
        n_missing=n_missing,
        expected_loss_zero_bias=zero,
        expected_loss_recommended=recommended,
        loss_parameters=loss.parameters(),
        weight=weight,
        weight_sum=weight_sum if weight is not None else None,
        classes=decision.classes,
        counts=None if decision.counts is None else tuple(int(c) for c in decision.counts),
        priors=None if priors is None else tuple(float(p) for p in priors),
        statistics=statistics,
        prior_bias=prior_bias,
        outputs=_outputs(decision, targets),
        explanation=fit.explanation,
        warnings=(*decision.warnings, *fit.warnings),
        source=source,
    )


def _class_data(decision: TaskDecision, priors: np.ndarray[Any, np.dtype[np.float64]]) -> LossData:
    """Class shares -> what the loss works from, per output unit."""
    assert decision.classes is not None
    labels = tuple(_label(c) for c in decision.classes)
    if decision.task == "binary":
        return LossData(priors=priors[1:], labels=labels[1:])
    if decision.task == "ordinal":
        # Output k predicts P(y > c_k) = sum of the shares above class k, k = 0 .. K-2.
        above = np.clip(1.0 - np.cumsum(priors)[:-1], 0.0, 1.0)
        return LossData(priors=above, labels=tuple(f"> {c}" for c in labels[:-1]))
    return LossData(priors=priors, labels=labels)


def _outputs(decision: TaskDecision, targets: tuple[str, ...]) -> tuple[str, ...]:
    """A name for each output unit, in order."""
    classes = [str(c) for c in decision.classes or ()]
    if decision.task == "binary":
        return (classes[1],)
    if decision.task == "ordinal":
        return tuple(f"> {c}" for c in classes[:-1])
    if decision.task == "regression":
        return targets
    return tuple(classes)


def _plain(loss: Loss, options: BiasOptions) -> Loss:
    """The same loss without training-time adjustments: its bias is the plain prior."""
    if loss.family == "multiclass":
        return CrossEntropy(options.center, eps=options.eps)
    if loss.family == "binary":
        return BinaryCrossEntropy(eps=options.eps)
    return loss


def _label(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)
