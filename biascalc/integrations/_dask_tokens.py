"""Dask: token counts of a column of token-id lists (``--task tokens``), per file or
partition on the workers, merged in a tree; only the O(V) counts travel.

Each file is read on a worker by the local engine's reader (:func:`collect_file`) into a
:class:`TokenStats`, exactly as the local engine reads it, so both engines give the same
counts; a Dask DataFrame's partitions are converted to Arrow and counted the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from ..errors import OptionError
from ..options import BiasOptions
from ..readers import RowFilter, parse_where
from ..stats.tokens import TokenSpec, TokenStats

try:
    from dask.base import compute
    from dask.delayed import Delayed, delayed
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "biascalc's Dask integration needs dask: pip install 'biascalc[dask]'"
    ) from exc

__all__ = ["collect_token_frame_stats", "collect_token_path_stats"]


def _one_target(target: str | Sequence[str] | None, weight: str | None) -> list[str] | None:
    if weight is not None or (
        target is not None and not isinstance(target, str) and len(target) != 1
    ):
        raise OptionError(
            "--task tokens counts one column of token ids (-t COLUMN), without --weight"
        )
    if target is None:
        return None
    return [target] if isinstance(target, str) else list(target)


def collect_token_path_stats(
    names: list[str],
    target: str | Sequence[str] | None,
    *,
    weight: str | None,
    options: BiasOptions,
    reading: dict[str, Any],
    scheduler: str | None,
    split_every: int,
    where: str | None,
) -> tuple[TokenStats, tuple[str, ...]]:
    """Files (paths, folders, globs) -> token counts computed on a Dask cluster."""
    from ..readers import open_dataset
    from .dask import _client, _distributed, _Reopen

    targets = _one_target(target, weight)
    with open_dataset(names, where=where, **reading) as dataset:
        targets = dataset.resolve_targets(targets, None)
        spec = options.token_spec(targets[0])
        named = len(dataset.readers) > 1
        parts = [
            delayed(_file_counts)(_Reopen.of(reader), spec, named, dataset.row_filter)
            for reader in dataset.readers
        ]
        with _client(scheduler, *_distributed()):
            stats = _reduce(parts, split_every)
        dataset.check_rows(cast(Any, stats))
        stats.notes.extend(dataset.warnings)
        return stats, tuple(dataset.names)


def collect_token_frame_stats(
    frame: Any,
    target: str | Sequence[str],
    *,
    options: BiasOptions,
    split_every: int,
    where: str | RowFilter | None,
) -> TokenStats:
    """A Dask DataFrame's column of token-id lists -> merged token counts."""
    targets = _one_target(target, None)
    assert targets is not None
    row_filter = parse_where(where) if isinstance(where, str) else where
    read = [*targets, *(c for c in (row_filter.columns if row_filter else ()) if c != targets[0])]
    missing = [c for c in read if c not in frame.columns]
    if missing:
        raise OptionError(
            f"column {', '.join(repr(c) for c in missing)} is not in the data; "
            f"the columns are {', '.join(map(str, frame.columns))}"
        )
    spec = options.token_spec(targets[0])
    partitions = frame[read].to_delayed()
    if not partitions:
        return TokenStats(spec)
    return _reduce(
        [delayed(_partition_counts)(p, spec, row_filter) for p in partitions], split_every
    )


def _file_counts(source: Any, spec: TokenSpec, named: bool, row_filter: RowFilter | None) -> Any:
    """Runs on a worker: one file, read by the local engine's reader -> token counts."""
    from ..readers import collect_file

    reader = source.open() if hasattr(source, "open") else source
    stats = collect_file(
        reader,
        cast(Any, lambda: TokenStats(spec)),
        [spec.target],
        named=named,
        row_filter=row_filter,
    )
    return stats.to_dict()


def _partition_counts(frame: Any, spec: TokenSpec, row_filter: RowFilter | None) -> Any:
    """Runs on a worker: one pandas partition -> its rows passing the filter -> counts."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if row_filter is not None:
        table = row_filter.apply(table, [spec.target])
    stats = TokenStats(spec)
    stats.update(table)
    return stats.to_dict()


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    total = TokenStats.from_dict(parts[0])
    for part in parts[1:]:
        total = total.merge(TokenStats.from_dict(part))
    return total.to_dict()


def _reduce(parts: list[Delayed], split_every: int) -> TokenStats:
    """Merge in a tree on the workers (split_every parts per task); fetch the result."""
    while len(parts) > 1:
        parts = [
            delayed(_merge)(parts[i : i + split_every]) for i in range(0, len(parts), split_every)
        ]
    (data,) = compute(parts[0])  # type: ignore[no-untyped-call]
    return TokenStats.from_dict(data)
