"""Delta Lake tables: the Parquet files of the table's current snapshot, nothing else.

A Delta table's folder keeps every file an overwrite, delete or update replaced until it
is vacuumed; only the transaction log (``_delta_log/``) says which files are live.  The
log is replayed by the ``deltalake`` package (``pip install 'biascalc[delta]'``), which
also reads checkpoints and refuses protocol versions it does not know; each live file is
then read by the ordinary Parquet reader.  Why deltalake and not a log replay of our own:
benchmarks/delta_log.py (README, "Delta Lake tables").

On top of each file: the table's columns by their logical names (column mapping renames
them in the files to ``col-<uuid>``), null columns for columns a file predates (schema
evolution), and the partition values the log records for the file, typed as the table's
schema says.  Deletion vectors (rows deleted without rewriting a file) are refused with a
message: applying them is not implemented, and ignoring them would count deleted rows.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import DataError
from ._common import Delegating, FileReader, _first_line, quoted
from ._folders import DELTA_LOG
from ._partitions import PartitionedReader

if TYPE_CHECKING:
    import pyarrow as pa

    from ._paths import Found


def _deltalake(path: str) -> Any:
    try:
        import deltalake
    except ImportError:
        raise DataError(
            f"{quoted(path)} is a Delta Lake table (it has a {DELTA_LOG} folder); reading its "
            "current snapshot needs the deltalake package: pip install 'biascalc[delta]'"
        ) from None
    return deltalake


def delta_files(path: str) -> list[Found]:
    """The live files of the Delta table at ``path``, each with how to read it."""
    import pyarrow as pa

    from ._paths import Found

    deltalake = _deltalake(path)
    try:
        table = deltalake.DeltaTable(path)
        schema = pa.schema(table.schema().to_arrow())
        metadata = table.metadata()
        actions = _arrow_table(table.get_add_actions(flatten=False))
        uris = table.file_uris()
        _refuse_deletion_vectors(table, path)
    except DataError:
        raise
    except Exception as exc:  # deltalake's own errors (DeltaError, DeltaProtocolError, ...)
        raise DataError(
            f"cannot read the Delta table {quoted(path)}: {_first_line(str(exc), 160)}"
        ) from None
    partition_columns = list(metadata.partition_columns)
    mapped = metadata.configuration.get("delta.columnMapping.mode", "none") != "none"
    physical = {f.name: _physical_name(f, mapped) for f in schema}
    data = pa.schema([f for f in schema if f.name not in partition_columns])
    types = {c: schema.field(c).type for c in partition_columns}
    # The log's paths are URL-encoded and relative to the table (file_uris() decodes them).
    rows = actions.num_rows
    partitions: list[dict[str, Any]] = [{} for _ in range(rows)]
    if "partition" in actions.column_names:  # absent when the table is not partitioned
        column = actions.column("partition").combine_chunks()
        for i, f in enumerate(column.type):
            # As text: converting dates to Python objects imports pandas (0.9 s); the
            # partition reader casts the text back to the column's type.
            texts = column.field(i).cast(pa.large_string()).to_pylist()
            for values_of_file, text in zip(partitions, texts, strict=True):
                values_of_file[f.name] = text
    values = {
        urllib.parse.unquote(p): v
        for p, v in zip(actions.column("path").to_pylist(), partitions, strict=True)
    }
    found = []
    for uri in uris:
        relative = os.path.relpath(uri, path).replace(os.sep, "/")
        if relative not in values:
            raise DataError(
                f"the Delta table {quoted(path)} lists the file {quoted(uri)}, which is not "
                "inside the table's folder; biascalc reads local tables whose files are there"
            )
        layout = _Layout(data, physical, types, values[relative])
        found.append(Found(uri, None, wrap=layout.wrap))
    if not found:
        raise DataError(f"the Delta table {quoted(path)} has no rows in its current version")
    return found


def _arrow_table(data: Any) -> pa.Table:
    """deltalake's (arro3) tables and readers as pyarrow, through the Arrow C stream
    interface (``pyarrow.table`` would import pandas to check for a DataFrame)."""
    import pyarrow as pa

    return pa.RecordBatchReader.from_stream(data).read_all()


def _physical_name(f: pa.Field, mapped: bool) -> str:
    meta = f.metadata or {}
    name = meta.get(b"delta.columnMapping.physicalName") if mapped else None
    return str(name.decode("utf-8")) if name else str(f.name)


def _refuse_deletion_vectors(table: Any, path: str) -> None:
    features = table.protocol().reader_features or []
    if "deletionVectors" not in features:
        return

    listing = getattr(table, "deletion_vectors", None)
    files = _arrow_table(listing()).num_rows if listing is not None else None
    if files != 0:
        where = f" in {files} file(s)" if files else ""
        raise DataError(
            f"the Delta table {quoted(path)} may mark deleted rows with deletion vectors{where}, "
            "which biascalc does not apply; rewrite them first (Spark: REORG TABLE ... APPLY "
            "(PURGE)) or export the table to Parquet"
        )


@dataclass(frozen=True)
class _Layout:
    """How one live file of a table is read: names, missing columns, partition values."""

    schema: pa.Schema  # the table's data columns (not partition columns), logical names
    physical: dict[str, str]
    types: dict[str, pa.DataType]  # partition column -> type
    values: dict[str, Any]  # partition column -> value for this file

    def wrap(self, reader: FileReader) -> FileReader:
        logical = _LogicalColumns(reader, self.schema, self.physical)
        if not self.types:
            return logical
        return PartitionedReader(logical, dict(self.values), {}, types=self.types)


@dataclass
class _LogicalColumns(Delegating):
    """A data file of a table seen through the table's schema."""

    inner: FileReader
    schema: pa.Schema
    physical: dict[str, str]
    column_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.column_names = list(self.schema.names)

    def batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        stored = set(self.inner.column_names)
        present = [self.physical[c] for c in columns if self.physical[c] in stored]
        read = present or self.inner.column_names[:1]
        for batch in self.inner.batches(read):
            n = batch.num_rows
            arrays = [
                batch.column(read.index(self.physical[c]))
                if self.physical[c] in present
                else pa.nulls(n, self.schema.field(c).type)
                for c in columns
            ]
            yield pa.RecordBatch.from_arrays(
                arrays, names=list(columns), metadata=batch.schema.metadata
            )
