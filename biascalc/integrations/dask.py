"""Dask: label statistics computed and merged inside the cluster.

Each partition (a Dask DataFrame partition, or one input file) is turned into
:class:`~biascalc.stats.LabelStats` on the worker that holds it; the partial statistics
are merged in a tree (fan-in ``split_every``) on the workers; only the merged statistics,
as a small JSON-able dict, come back to the client.  The label column itself never leaves
the workers.  Medians, quantiles and the Huber location use a
:class:`~biascalc.stats.sketch.QuantileSketch` per partition instead of the values, with a
guaranteed rank error (docs/distributed.md).

Files (``--engine dask``) are resolved and sniffed by the local engine's readers, and each
file is read on a worker by that same reader: the two engines read the same layouts and
give the same numbers.

Importing this module imports dask; ``pip install 'biascalc[dask]'``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import OptionError
from ..options import BiasOptions
from ..readers import RowFilter, parse_where
from ..result import BiasResult
from ..stats import LabelStats, StatsSpec
from ..stats.sketch import DEFAULT_K, QuantileSketch

try:
    from dask.base import compute
    from dask.delayed import Delayed, delayed
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "biascalc.integrations.dask needs Dask: pip install 'biascalc[dask]'"
    ) from exc

__all__ = ["collect_path_stats", "collect_stats", "compute_bias"]

#: Partial statistics merged per tree node: a few levels even for many partitions.
SPLIT_EVERY = 8
#: A file bigger than this is read as several tasks of about this size (Dask's own
#: ``read_csv`` cuts at 64 MB; a bigger piece halves the tasks for the same parallelism).
PART_BYTES = 128 << 20

# One partition's (or subtree's) statistics: LabelStats without values, and one sketch
# per target column when order statistics are needed.
_Part = tuple[LabelStats, list[QuantileSketch] | None]


def compute_bias(
    frame: Any,
    target: str | Sequence[str],
    *,
    weight: str | None = None,
    sketch_k: int = DEFAULT_K,
    split_every: int = SPLIT_EVERY,
    where: str | None = None,
    **options: Any,
) -> BiasResult:
    """The bias for the label column(s) ``target`` of a Dask DataFrame.

    ``options`` are those of :func:`biascalc.compute_bias` (``task``, ``loss``, ...);
    ``where`` keeps only the rows passing a filter (``"split == 'train'"``), applied on
    each partition with the readers' filter.  Statistics are computed where the
    partitions live and merged in the cluster; the
    result equals ``biascalc.compute_bias`` on the same labels (to rounding), except for
    the mae, quantile and huber losses, which come from a quantile sketch whose rank
    error bound is stated in the result's warnings.

    >>> import dask.dataframe as dd  # doctest: +SKIP
    >>> frame = dd.read_parquet("s3://bucket/events/", columns=["clicked"])  # doctest: +SKIP
    >>> compute_bias(frame, "clicked").bias  # doctest: +SKIP
    array([-3.47...])
    """
    from ..api import result_from_stats

    opts = BiasOptions(**options)
    if opts.task == "tokens":  # a column of token-id lists: counted per partition
        from ._dask_tokens import collect_token_frame_stats

        if weight is not None:
            raise OptionError("--task tokens counts token ids without weights")
        counts = collect_token_frame_stats(
            frame, target, options=opts, split_every=split_every, where=where
        )
        return result_from_stats(counts, opts)
    stats = collect_stats(
        frame,
        target,
        weight=weight,
        options=opts,
        sketch_k=sketch_k,
        split_every=split_every,
        where=where,
    )
    return result_from_stats(stats, opts)  # states a sketch's error bound in its warnings


def collect_stats(
    frame: Any,
    target: str | Sequence[str],
    *,
    weight: str | None = None,
    options: BiasOptions | None = None,
    sketch_k: int = DEFAULT_K,
    split_every: int = SPLIT_EVERY,
    where: str | RowFilter | None = None,
) -> LabelStats:
    """The merged :class:`LabelStats` of a Dask DataFrame's label column(s).

    Save them with ``stats.to_dict()`` to merge with other parts later.  When the options
    need order statistics, each column's values are a sketch (its points and weights).
    """
    opts = options or BiasOptions()
    from ..readers import expand_target_globs

    row_filter = parse_where(where) if isinstance(where, str) else where
    targets = [target] if isinstance(target, str) else list(target)
    targets = expand_target_globs(targets, [str(c) for c in frame.columns], "the DataFrame", weight)
    columns = [*targets, *([weight] if weight else [])]
    read = [*columns, *(c for c in (row_filter.columns if row_filter else ()) if c not in columns)]
    missing = [c for c in read if c not in frame.columns]
    if missing:
        raise OptionError(
            f"column {', '.join(repr(c) for c in missing)} is not in the data; "
            f"the columns are {', '.join(map(str, frame.columns))}"
        )
    _check_split(split_every)
    spec = opts.stats_spec(targets, weight, row_filter.text if row_filter else None)
    # Only the needed columns are read (Parquet column projection happens here).
    partitions = frame[read].to_delayed()
    if not partitions:
        return LabelStats(spec)
    return _reduce(
        [delayed(_partition_stats)(p, spec, sketch_k, row_filter) for p in partitions],
        split_every,
    )


def collect_path_stats(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    target: str | Sequence[str] | None = None,
    *,
    weight: str | None = None,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    options: BiasOptions | None = None,
    scheduler: str | None = None,
    sketch_k: int = DEFAULT_K,
    split_every: int = SPLIT_EVERY,
    where: str | None = None,
    part_bytes: int = PART_BYTES,
) -> tuple[LabelStats, tuple[str, ...]]:
    """Statistics of files (paths, directories, globs) computed on a Dask cluster.

    The paths are resolved, and each file's format, compression, delimiter, decimal mark,
    encoding and hive partition columns decided, on the client by the local engine's code
    (:func:`biascalc.readers.open_dataset`); the requested columns are checked there the
    same way.  Each resolved file is then one Dask task that reads it with that same
    reader on a worker (:func:`biascalc.readers.collect_file`), so both engines give the
    same numbers on every layout the local engine reads.  A file bigger than
    ``part_bytes`` is several tasks, one per piece of about that size (byte ranges of a
    plain CSV file cut where the local engine cuts it for its threads, runs of Parquet row
    groups), so one big file is read by all the workers.  The workers must see the paths
    (a shared file system).  ``where`` (a row filter) is applied by that reading code too.

    ``scheduler`` is a Dask scheduler address (``tcp://10.0.0.5:8786``); without it a
    LocalCluster is started for the call.  The same signature as
    :func:`biascalc.api.collect_file_stats` (the CLI's ``--engine dask``).
    """
    from ..readers import open_dataset
    from ..readers._paths import path_list

    opts = options or BiasOptions()
    names = path_list(paths)
    if not names or "-" in names:
        raise OptionError("--engine dask reads PATHs, not standard input")
    _check_split(split_every)
    if opts.task == "tokens":  # a column of token-id lists: counted per file (integrations/)
        from ._dask_tokens import collect_token_path_stats

        reading = {"input_format": input_format, "delimiter": delimiter, "encoding": encoding}
        return collect_token_path_stats(  # type: ignore[return-value]
            names,
            target,
            weight=weight,
            options=opts,
            reading=reading,
            scheduler=scheduler,
            split_every=split_every,
            where=where,
        )
    targets = None if target is None else ([target] if isinstance(target, str) else list(target))
    with open_dataset(
        names, input_format=input_format, delimiter=delimiter, encoding=encoding, where=where
    ) as dataset:
        targets = dataset.resolve_targets(targets, weight)
        columns = [*targets, *([weight] if weight else [])]
        row_filter = dataset.row_filter
        spec = opts.stats_spec(targets, weight, row_filter.text if row_filter else None)
        named = len(dataset.readers) > 1
        parts = [
            delayed(_file_stats)(
                _Reopen.of(reader), spec, columns, named, row_filter, sketch_k, piece
            )
            for reader in dataset.readers
            for piece in _pieces(reader, part_bytes)
        ]
        with _client(scheduler, *_distributed()):
            stats = _reduce(parts, split_every)
        dataset.check_rows(stats)
        stats.notes.extend(dataset.notes(targets, opts.classes is not None))
        return stats, tuple(dataset.names)


@dataclasses.dataclass(frozen=True)
class _Reopen:
    """How to open a reader again on a worker: its class and its constructor's arguments.

    Open files and pyarrow objects do not pickle, so a reader travels as the arguments it
    was made with, which include what was sniffed on the client (delimiter, decimal mark,
    compression, column types); a reader wrapping another (hive partitions) carries the
    inner one's recipe.  Paths are made absolute: a worker's working directory may differ.
    """

    cls: type
    arguments: dict[str, Any]

    @classmethod
    def of(cls, reader: Any) -> Any:
        if not dataclasses.is_dataclass(reader):
            return reader  # sent as it is: it must pickle
        arguments: dict[str, Any] = {}
        for f in dataclasses.fields(reader):
            if not f.init:
                continue
            value = getattr(reader, f.name)
            if f.name == "path" and isinstance(value, str):
                value = os.path.abspath(value)
            elif hasattr(value, "batches"):
                value = cls.of(value)
            arguments[f.name] = value
        return cls(type(reader), arguments)

    def open(self) -> Any:
        arguments = {
            k: v.open() if isinstance(v, _Reopen) else v for k, v in self.arguments.items()
        }
        return self.cls(**arguments)


def _pieces(reader: Any, part_bytes: int) -> list[tuple[int, int] | None]:
    """The tasks that read one file: the whole file (None), or pieces (k, n) of a file
    bigger than ``part_bytes`` whose reader can be cut (``parts``: plain CSV, Parquet)."""
    if part_bytes < 1:
        raise OptionError("part_bytes must be at least 1")
    n = os.path.getsize(reader.path) // part_bytes
    if n < 2 or getattr(reader, "parts", None) is None:
        return [None]
    return [(k, n) for k in range(n)]


def _check_split(split_every: int) -> None:
    if split_every < 2:
        raise OptionError("split_every must be at least 2")


def _reduce(parts: list[Delayed], split_every: int) -> LabelStats:
    """Merge the partitions' statistics in a tree on the workers; fetch only the result."""
    while len(parts) > 1:
        parts = [
            delayed(_merge_parts)(parts[i : i + split_every])
            for i in range(0, len(parts), split_every)
        ]
    # The last task turns the statistics into plain data: that dict is all that travels back.
    (data,) = compute(  # type: ignore[no-untyped-call]
        delayed(_to_dict)(parts[0])
    )
    return _from_dict(data)


def _distributed() -> tuple[Any, Any]:
    """dask.distributed's Client and LocalCluster; ``pip install dask`` alone lacks them."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise OptionError(
            "the Dask engine needs the distributed package (a Dask cluster), which is not "
            "installed: pip install 'biascalc[dask]'"
        ) from None
    return Client, LocalCluster


@contextlib.contextmanager
def _client(address: str | None, client: Any, cluster: Any) -> Iterator[Any]:
    """A Client on ``address``, or on a LocalCluster started for the call (closed after)."""
    local = None if address else cluster(dashboard_address=":0")
    try:
        with client(address or local) as c:
            yield c
    finally:
        if local is not None:
            local.close()


def _partition_stats(frame: Any, spec: StatsSpec, k: int, row_filter: RowFilter | None) -> _Part:
    """Runs on a worker: one pandas partition -> its rows passing the filter -> statistics
    (and sketches)."""
    import pyarrow as pa

    from ..readers import declared_classes

    table = pa.Table.from_pandas(frame, preserve_index=False)
    stats = LabelStats(spec)
    stats.declare(declared_classes(table.schema))  # pandas categoricals keep their order
    if row_filter is not None:
        table = row_filter.apply(table, [*spec.targets, *([spec.weight] if spec.weight else [])])
    stats.update(table)
    return _sketched(stats, spec, k)


def _file_stats(
    source: Any,
    spec: StatsSpec,
    columns: Sequence[str],
    named: bool,
    row_filter: RowFilter | None,
    k: int,
    piece: tuple[int, int] | None = None,
) -> _Part:
    """Runs on a worker: one file (or one piece of it), read by the local engine's reader
    -> statistics."""
    from ..readers import collect_file

    reader = source.open() if isinstance(source, _Reopen) else source
    stats = collect_file(
        reader,
        lambda: LabelStats(spec),
        columns,
        named=named,
        row_filter=row_filter,
        piece=piece,
    )
    return _sketched(stats, spec, k)


def _sketched(stats: LabelStats, spec: StatsSpec, k: int) -> _Part:
    """The statistics, with each column's values replaced by a sketch when kept."""
    if not spec.keep_values:
        return stats, None
    sketches = []
    for col in stats.columns:
        y, w = col.store.arrays() if col.store is not None else (np.zeros(0), None)
        sketches.append(QuantileSketch.of(y, w, k))
        col.store = None  # the values stay on this worker
    return stats, sketches


def _merge_parts(parts: list[_Part]) -> _Part:
    """Runs on a worker: merge a few partial statistics (one node of the tree)."""
    stats = parts[0][0]
    for other, _ in parts[1:]:
        stats = stats.merge(other)
    if parts[0][1] is None:
        return stats, None
    # One compression per node and column: the error bound counts tree levels.
    columns = zip(*(sketches or [] for _, sketches in parts), strict=True)
    return stats, [QuantileSketch.merge_all(column) for column in columns]


def _to_dict(part: _Part) -> dict[str, Any]:
    stats, sketches = part
    return {
        "stats": stats.to_dict(),
        "sketches": None if sketches is None else [s.to_dict() for s in sketches],
    }


def _from_dict(data: dict[str, Any]) -> LabelStats:
    stats = LabelStats.from_dict(data["stats"])
    if data["sketches"] is not None:
        for col, raw in zip(stats.columns, data["sketches"], strict=True):
            col.store = QuantileSketch.from_dict(raw).to_store()
    return stats
