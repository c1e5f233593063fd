"""Hive-partitioned folders: ``data/year=2024/part-0.parquet`` gives the column ``year``.

The ``key=value`` folder names between the folder given (or a glob's fixed prefix) and
each file become columns with one value per file, so a label stored only in the path can
be a ``--target`` or ``--weight``.  As in pyarrow.dataset's hive partitioning, names and
values are URL-decoded, ``__HIVE_DEFAULT_PARTITION__`` is a missing value, folder names
without ``=`` are ignored, and a key is an integer (int32) when all its values are, else
text.  A file without a key gets missing values for it; a column stored in the file wins
over a folder of the same name.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._common import Delegating, FileReader

if TYPE_CHECKING:
    import pyarrow as pa

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
_INT = re.compile(r"-?\d+")
_INT32 = (-(1 << 31), (1 << 31) - 1)

Value = int | str | None


def partition_keys(path: str, base: str | None) -> dict[str, str | None]:
    """The ``key=value`` folders of ``path`` below ``base``, decoded; values as written."""
    if base is None:
        return {}
    folder = os.path.relpath(os.path.dirname(path), base)
    keys: dict[str, str | None] = {}
    for segment in folder.split(os.sep):
        key, sep, value = segment.partition("=")
        if not sep or not key:
            continue
        value = urllib.parse.unquote(value)
        keys[urllib.parse.unquote(key)] = None if value == NULL_PARTITION else value
    return keys


def infer_types(
    found: Sequence[dict[str, str | None]],
) -> tuple[list[dict[str, Value]], dict[str, bool]]:
    """Each file's typed values of every key, and which keys are integers (all values are)."""
    keys = list(dict.fromkeys(k for per_file in found for k in per_file))
    integral = {k: all(_is_int32(per_file.get(k)) for per_file in found) for k in keys}
    typed = [{k: _typed(per_file.get(k), integral[k]) for k in keys} for per_file in found]
    return typed, integral


def _is_int32(value: str | None) -> bool:
    if value is None:
        return True
    return bool(_INT.fullmatch(value)) and _INT32[0] <= int(value) <= _INT32[1]


def _typed(value: str | None, integral: bool) -> Value:
    return int(value) if value is not None and integral else value


@dataclass
class PartitionedReader(Delegating):
    """A file's reader with its partition columns appended (one value for every row)."""

    inner: FileReader
    values: dict[str, Value]
    integral: dict[str, bool]
    #: Declared Arrow types of the keys (a Delta table's schema); hive keys have none.
    types: dict[str, pa.DataType] = field(default_factory=dict)
    column_names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        own = self.inner.column_names
        self.values = {k: v for k, v in self.values.items() if k not in own}
        self.column_names = [*own, *self.values]

    def batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        own = [c for c in columns if c not in self.values]
        # Only path columns asked for: the file's first column still gives the row count.
        read = own or self.inner.column_names[:1]
        for batch in self.inner.batches(read):
            n = batch.num_rows
            arrays = [
                batch.column(own.index(c)) if c in own else self._constant(c, n) for c in columns
            ]
            yield pa.RecordBatch.from_arrays(
                arrays, names=list(columns), metadata=batch.schema.metadata
            )

    def path_columns(self, keys: Sequence[str], n: int = 1) -> pa.RecordBatch:
        """``n`` rows of the file's partition values (``keys`` must all be path columns)."""
        import pyarrow as pa

        return pa.RecordBatch.from_arrays([self._constant(k, n) for k in keys], names=list(keys))

    def _constant(self, key: str, n: int) -> pa.Array:
        import numpy as np
        import pyarrow as pa

        from .._arrow import from_numpy

        value = self.values[key]
        declared = self.types.get(key)
        if declared is not None and not pa.types.is_string(declared):
            return pa.repeat(pa.scalar(value, declared), n)
        if value is None:
            return pa.nulls(n, pa.int32() if self.integral.get(key) else pa.string())
        if isinstance(value, int):
            return from_numpy(np.full(n, value, dtype=np.int32))
        # Text as a one-entry dictionary: the counts then work on the (all-zero) codes.
        # Built from buffers: pyarrow.array would import pandas (see _arrow.py).
        data = value.encode("utf-8")
        offsets = np.array([0, len(data)], dtype=np.int32)
        dictionary = pa.Array.from_buffers(
            pa.string(), 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
        )
        return pa.DictionaryArray.from_arrays(from_numpy(np.zeros(n, np.int32)), dictionary)


def with_partitions(readers: Sequence[FileReader], bases: Sequence[str | None]) -> list[FileReader]:
    """The readers, each wrapped with its partition columns when the paths have any."""
    found = [partition_keys(r.path, b) for r, b in zip(readers, bases, strict=True)]
    if not any(found):
        return list(readers)
    typed, integral = infer_types(found)
    return [
        PartitionedReader(r, values, integral) for r, values in zip(readers, typed, strict=True)
    ]
