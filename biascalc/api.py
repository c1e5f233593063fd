"""The public entry points: labels in memory or in files -> statistics -> BiasResult."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DataError
from .losses import LossData
from .options import BiasOptions
from .result import BiasResult, TargetStatistics
from .stats import LabelStats, StatsSpec
from .tasks import decide_task

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["compute_bias", "compute_bias_from_file", "result_from_stats"]

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
) -> BiasResult:
    """Compute the output-layer bias for labels held in memory.

    ``y`` may be a list, a NumPy array (2-D: one column per output), a pandas Series or
    DataFrame (one target per column), or a PyArrow Array, ChunkedArray or Table.

    >>> r = compute_bias(["cat", "dog", "dog", "bird"])
    >>> r.task, r.classes
    ('multiclass', ('bird', 'cat', 'dog'))
    >>> [round(float(b), 4) for b in r.bias]
    [-1.3863, -1.3863, -0.6931]
    >>> compute_bias([1.0, 2.0, 6.0]).bias.tolist()
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
    )
    table = _to_table(y)
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

    ``options`` are the keyword options of :func:`compute_bias`.  When the file has only
    one column, ``target`` may be omitted.

    >>> compute_bias_from_file("sample_data/wine.csv", "target").classes  # doctest: +SKIP
    (0, 1, 2)
    """
    from .readers import open_dataset

    opts = BiasOptions(**options)
    paths = [path] if isinstance(path, str) else list(path)
    targets = None if target is None else ([target] if isinstance(target, str) else list(target))
    dataset = open_dataset(paths, input_format=input_format, delimiter=delimiter, encoding=encoding)
    targets = dataset.resolve_targets(targets, weight)
    columns = [*targets, *([weight] if weight else [])]
    stats = dataset.collect(lambda: LabelStats(opts.stats_spec(targets, weight)), columns)
    return result_from_stats(stats, opts, source=tuple(dataset.names))


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
        family=None if options.loss == "auto" else options.make_loss(options.loss).family,
        classes=options.classes,
        positive=options.positive,
    )
    loss = options.loss_for(decision.task)
    warnings = list(decision.warnings)
    statistics = None
    if decision.task == "regression":
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
        priors = None
    else:
        assert decision.class_weight is not None and decision.classes is not None
        priors = decision.class_weight / stats.weight_sum
        data = LossData(priors=priors, labels=tuple(_label(c) for c in decision.classes))
        if decision.task == "binary":
            data = LossData(priors=priors[1:], labels=(_label(decision.classes[1]),))
    fit = loss.fit(data)
    warnings.extend(fit.warnings)
    zero = loss.mean_loss(data, np.zeros_like(fit.bias))
    recommended = loss.mean_loss(data, fit.bias)
    return BiasResult(
        task=decision.task,
        task_reason=decision.reason,
        loss=loss.name,
        activation=loss.activation,
        targets=stats.spec.targets,
        bias=fit.bias,
        n_samples=stats.n_rows,
        n_missing=stats.n_missing,
        expected_loss_zero_bias=zero,
        expected_loss_recommended=recommended,
        loss_parameters=loss.parameters(),
        weight=stats.spec.weight if stats.spec.weight != WEIGHT_COLUMN else "sample_weight",
        weight_sum=stats.weight_sum if stats.weighted else None,
        classes=decision.classes,
        counts=None if decision.counts is None else tuple(int(c) for c in decision.counts),
        priors=None if priors is None else tuple(float(p) for p in priors),
        statistics=statistics,
        warnings=tuple(warnings),
        source=source,
    )


def _label(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def _to_table(y: Any) -> pa.Table:
    """Labels in memory -> an Arrow table with one column per target."""
    import pyarrow as pa

    if isinstance(y, pa.Table):
        return y
    if isinstance(y, pa.RecordBatch):
        return pa.Table.from_batches([y])
    if isinstance(y, pa.Array | pa.ChunkedArray):
        return pa.table({"y": y})
    module = type(y).__module__.split(".")[0]
    if module == "pandas":
        import pandas as pd

        if isinstance(y, pd.DataFrame):
            return pa.Table.from_pandas(y, preserve_index=False).rename_columns(
                [str(c) for c in y.columns]
            )
        if isinstance(y, pd.Series):
            return pa.table({str(y.name) if y.name is not None else "y": pa.Array.from_pandas(y)})
    if module == "polars":
        return _to_table(y.to_arrow())
    if isinstance(y, np.ndarray) and y.ndim == 2:
        return pa.table({f"y{j}": _array(y[:, j]) for j in range(y.shape[1])})
    if isinstance(y, np.ndarray) and y.ndim != 1:
        raise DataError(f"labels must be 1-D or 2-D, not {y.ndim}-D")
    if isinstance(y, str | bytes):
        raise DataError("labels must be a sequence of values, not a single string")
    return pa.table({"y": _array(y)})


def _array(values: Any) -> pa.Array:
    import pyarrow as pa

    if isinstance(values, np.ndarray):
        if values.dtype.kind == "O":
            values = values.tolist()
        else:
            return pa.array(values, from_pandas=True)
    try:
        return pa.array(list(values), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataError(f"labels must all be numbers, all text or all booleans ({exc})") from None
