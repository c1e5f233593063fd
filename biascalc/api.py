"""The public entry points: labels in memory, in files, or as known priors -> BiasResult."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .assemble import WEIGHT_COLUMN, result_from_stats
from .errors import DataError, OptionError
from .images import IMAGE_FORMATS, compute_bias_from_images
from .inmemory import to_table, weight_array
from .nodata import compute_bias_from_counts, compute_bias_from_prior
from .options import BiasOptions
from .result import BiasResult
from .stats import LabelStats, StatsSpec
from .stats.tokens import TokenStats, is_token_stats

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "collect_file_stats",
    "compute_bias",
    "compute_bias_from_counts",
    "compute_bias_from_file",
    "compute_bias_from_prior",
    "compute_bias_from_stats",
    "result_from_stats",
]


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
    activation: str | None = None,
    output_range: tuple[float, float] | None = None,
    variance_activation: str | None = None,
    logit_adjustment: float | None = None,
    sampler: str | None = None,
    vocab_size: int | None = None,
    ignore_index: Sequence[int] | None = None,
    smoothing: float = 0.0,
    label_sep: str | None = None,
) -> BiasResult:
    """Compute the output-layer bias for labels held in memory.

    ``y`` may be a list, a NumPy array (2-D: one column per output), a pandas Series or
    DataFrame (one target per column), a polars Series/DataFrame, or a PyArrow Array,
    ChunkedArray or Table, a ``datasets.Dataset``, a framework tensor, a dict of columns, or
    an iterator (read once, in order); anything else (a set, a path, an object that holds
    no values) is a one-line DataError.  The keywords are the command line's options.  With
    ``task="tokens"``, ``y`` is token ids of any shape (a NumPy array, a CPU tensor, a
    list of equal-length lists), every element one next-token target.

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
        pos_weight=_pos_weight(pos_weight),
        class_weight=class_weight,
        label_smoothing=label_smoothing,
        focal_gamma=focal_gamma,
        focal_alpha=focal_alpha,
        activation=activation,
        output_range=output_range,
        variance_activation=variance_activation,
        logit_adjustment=logit_adjustment,
        sampler=sampler,
        vocab_size=vocab_size,
        ignore_index=None if ignore_index is None else tuple(ignore_index),
        smoothing=smoothing,
        label_sep=label_sep,
    )
    if options.task == "tokens":
        if sample_weight is not None:
            raise OptionError("sample_weight does not apply to --task tokens")
        return result_from_stats(_count_ids(y, options), options)
    table = to_table(y)
    targets, weight = table.column_names, None
    if sample_weight is not None:
        import pyarrow as pa

        w = weight_array(sample_weight, table.num_rows)
        table = table.append_column(WEIGHT_COLUMN, pa.array(w))
        weight = WEIGHT_COLUMN
    from ._arrow import without_views

    batches = (without_views(b) for b in table.to_batches())
    stats = collect(options.stats_spec(targets, weight), batches, table.schema)
    return result_from_stats(stats, options)


def _pos_weight(value: Any) -> float | tuple[float, ...] | None:
    """One number or one per output; NumPy values and framework tensors too."""
    from ._tensors import is_framework_array, to_host

    if value is None or isinstance(value, int | float):
        return value
    if is_framework_array(value):
        value = to_host(value, "pos_weight")
    if np.ndim(value) == 0:
        return float(value)
    return tuple(float(v) for v in np.asarray(value, dtype=np.float64).reshape(-1))


def compute_bias_from_file(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    target: str | Sequence[str] | None = None,
    *,
    weight: str | None = None,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    progress: bool = False,
    where: str | None = None,
    tokens: str | None = None,
    header: bool = True,
    decimal: str | None = None,
    thousands: str | None = None,
    **options: Any,
) -> BiasResult:
    """Compute the bias from the label column(s) of a file (CSV, TSV, Parquet, JSON Lines,
    Arrow/Feather, optionally gzip/bz2/zstd-compressed); ``"-"`` reads standard input.

    ``path`` may also be several paths, a directory or a glob, read as one data set.
    ``where`` keeps only the rows that pass a filter such as ``"split == 'train'"``
    (README, "Choosing rows"); ``n_samples`` then counts those rows.  ``options`` are
    the keyword options of :func:`compute_bias`.  When the file has only
    one column, ``target`` may be omitted.  ``input_format="imagefolder"`` or ``"masks"``
    reads an image data set instead (:mod:`biascalc.images`; no target, weight,
    delimiter, encoding or where).
    CSV: ``header=False`` for files without a header line (``target`` is then a 1-based
    position, ``"2"``); ``decimal`` and ``thousands`` for numbers written as ``1.739,26``
    (``decimal=",", thousands="."``).

    >>> compute_bias_from_file("sample_data/wine.csv", "target").classes  # doctest: +SKIP
    (0, 1, 2)
    """
    if input_format in IMAGE_FORMATS:
        _refuse_table_options(
            input_format,
            target=target,
            weight=weight,
            delimiter=delimiter,
            encoding=encoding,
            where=where,
        )
        from .readers._paths import path_list

        paths = path_list(path)
        return compute_bias_from_images(paths, input_format, progress=progress, **options)
    from .options import task_for_tokens

    options["task"] = task_for_tokens(options.get("task", "auto"), tokens)
    opts = BiasOptions(**options)
    stats, names = collect_file_stats(
        path,
        target,
        weight=weight,
        input_format=input_format,
        delimiter=delimiter,
        encoding=encoding,
        options=opts,
        progress=progress,
        where=where,
        tokens=tokens,
        header=header,
        decimal=decimal,
        thousands=thousands,
    )
    return result_from_stats(stats, opts, source=names)


def _refuse_table_options(input_format: str, **given: object) -> None:
    used = [f"--{k}" for k, v in given.items() if v]
    if used:
        what = "images per class folder" if input_format == "imagefolder" else "pixels per class"
        verb = "applies" if len(used) == 1 else "apply"
        raise OptionError(
            f"{' and '.join(used)} {verb} to label columns, not to --input-format "
            f"{input_format}, which counts {what}"
        )


def collect_file_stats(
    path: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    target: str | Sequence[str] | None = None,
    *,
    weight: str | None = None,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    options: BiasOptions | None = None,
    progress: bool = False,
    where: str | None = None,
    header: bool = True,
    decimal: str | None = None,
    thousands: str | None = None,
    tokens: str | None = None,
) -> tuple[LabelStats | TokenStats, tuple[str, ...]]:
    """Read files into label statistics (and the input names), without deciding anything.

    The statistics can be saved (``stats.to_dict()``) and merged with others later.
    With ``options.task == "tokens"``, ``.npy`` files and raw token files (``tokens``:
    their dtype, ``uint16|uint32|int32|int64``) are counted into :class:`TokenStats`.
    """
    from .readers import open_dataset
    from .readers._paths import path_list

    opts = options or BiasOptions()
    paths = path_list(path)
    targets = None if target is None else ([target] if isinstance(target, str) else list(target))
    if tokens is not None and opts.task == "auto":
        opts = dataclasses.replace(opts, task="tokens")
    if opts.task == "tokens" and _token_files(paths, tokens):
        if targets or weight or where:
            raise OptionError(
                "token files hold ids only: --target, --weight and --where apply to columns "
                "of a table"
            )
        return _collect_token_files(paths, tokens, opts, progress)
    if tokens is not None:
        raise OptionError(f"--tokens {tokens} reads raw token files, not these inputs")
    # One set of reading options for both branches (--no-header, --decimal, --thousands too).
    reading: dict[str, Any] = {
        "input_format": input_format,
        "delimiter": delimiter,
        "encoding": encoding,
        "progress": progress,
        "where": where,
        "header": header,
        "decimal": decimal,
        "thousands": thousands,
    }
    if opts.task == "tokens":  # a column of token ids or token-id lists in a table
        if weight is not None or (targets is not None and len(targets) != 1):
            raise OptionError(
                "--task tokens counts one column of token ids (-t COLUMN), without --weight"
            )
        with open_dataset(paths, **reading) as dataset:
            column = dataset.resolve_targets(targets, None)[0]
            token_spec = opts.token_spec(column)
            counted: TokenStats = cast(Any, dataset.collect)(
                lambda: TokenStats(token_spec), [column]
            )
            counted.notes.extend(dataset.warnings)
            return counted, tuple(dataset.names)
    with open_dataset(paths, **reading) as dataset:
        targets = dataset.resolve_targets(targets, weight)
        columns = [*targets, *([weight] if weight else [])]
        spec = opts.stats_spec(
            targets, weight, dataset.row_filter.text if dataset.row_filter else None
        )
        stats = dataset.collect(lambda: LabelStats(spec), columns)
        stats.notes.extend(dataset.notes(targets, opts.classes is not None))
        names = tuple(dataset.names)
    return stats, names


def compute_bias_from_stats(
    stats: Sequence[LabelStats | TokenStats | Mapping[str, Any]], **options: Any
) -> BiasResult:
    """Merge partial statistics (objects or their ``to_dict()`` form) and compute the bias.

    Statistics saved with ``biascalc ... --save-stats part.json`` on each machine are
    merged here exactly as if one machine had read all the data.
    """
    if not stats:
        raise OptionError("no statistics to merge")
    parts = [_load_stats(s) for s in stats]
    tokens = [p for p in parts if isinstance(p, TokenStats)]
    if tokens:
        return _merged_token_result(tokens, len(parts), options)
    opts = BiasOptions(**options)
    opts.refuse_pixel_options("saved statistics")
    merged = parts[0]
    assert isinstance(merged, LabelStats)
    for part in parts[1:]:
        assert isinstance(part, LabelStats)
        if part.spec.targets != merged.spec.targets or part.spec.weight != merged.spec.weight:
            raise DataError(
                f"statistics of targets {list(part.spec.targets)} cannot be merged with "
                f"statistics of targets {list(merged.spec.targets)}"
            )
        merged = merged.merge(part)
    return result_from_stats(merged, opts)


def _load_stats(part: LabelStats | TokenStats | Mapping[str, Any]) -> LabelStats | TokenStats:
    if isinstance(part, LabelStats | TokenStats):
        return part
    if is_token_stats(part):
        return TokenStats.from_dict(dict(part))
    return LabelStats.from_dict(dict(part))


def _merged_token_result(
    parts: Sequence[TokenStats], n_parts: int, options: Mapping[str, Any]
) -> BiasResult:
    """Token counts saved in parts -> one result (--from-stats of token statistics)."""
    if len(parts) != n_parts:
        raise DataError("token statistics cannot be merged with label statistics")
    total = parts[0]
    for more in parts[1:]:
        total = total.merge(more)
    task = options.get("task", "auto")
    opts = BiasOptions(**{**options, "task": "tokens" if task == "auto" else task})
    if opts.ignore_index is not None and opts.ignore_index != total.spec.ignore_index:
        raise DataError(
            f"these token counts were made with --ignore-index "
            f"{', '.join(map(str, total.spec.ignore_index))}; the ignored ids cannot change "
            "when the counts are merged: count the parts again"
        )
    return result_from_stats(total, opts)


def _token_files(paths: Sequence[str], tokens: str | None) -> bool:
    """Whether the inputs are token files (.npy, .bin, or raw ids with --tokens)."""
    from .readers._tokens import is_token_path

    if tokens is not None:
        return True
    marked = [is_token_path(p) for p in paths]
    if any(marked) and not all(marked):
        raise OptionError("give either token files (.bin, .npy) or tables, not both")
    return bool(paths) and all(marked)


def _collect_token_files(
    paths: Sequence[str], tokens: str | None, options: BiasOptions, progress: bool
) -> tuple[TokenStats, tuple[str, ...]]:
    from .readers._tokens import count_token_files, open_token_files

    files = open_token_files(paths, tokens)
    bar = None
    if progress:
        from .progress import ProgressBar

        bar = ProgressBar()
    stats = count_token_files(files, lambda dtype: options.token_spec("tokens", dtype), bar)
    return stats, tuple(f.name for f in files)


def _count_ids(y: Any, options: BiasOptions) -> TokenStats:
    """Token ids held in memory -> TokenStats."""
    from .inmemory import plain_values

    y = plain_values(y, "token ids")
    try:
        ids = np.asarray(y)
    except ValueError as exc:  # ragged nested lists
        raise DataError(f"token ids must form a rectangular array: {exc}") from None
    if ids.dtype.kind not in "iu":
        raise DataError(f"token ids must be integers, not {ids.dtype} values")
    stats = TokenStats(options.token_spec("tokens", ids.dtype.name))
    flat = ids.reshape(-1)
    stats.add(flat, lambda i: f"at index {tuple(int(j) for j in np.unravel_index(i, ids.shape))}")
    return stats


def collect(
    spec: StatsSpec, batches: Iterable[pa.RecordBatch], schema: pa.Schema | None = None
) -> LabelStats:
    """Fold record batches into fresh statistics (``schema``: the classes it declares)."""
    from .readers import declared_classes

    stats = LabelStats(spec)
    stats.declare(declared_classes(schema))
    for batch in batches:
        stats.update(batch)
    return stats
