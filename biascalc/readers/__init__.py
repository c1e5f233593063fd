"""Readers: paths (or standard input) -> Arrow record batches of only the needed columns.

Formats: CSV (delimiter sniffed), TSV, Parquet, JSON Lines, Arrow IPC / Feather v2.
Text formats may be gzip-, bz2- or zstd-compressed; compression is recognised from the
file's first bytes, so the extension need not say.  The format comes from the extension
(``.csv.gz`` -> CSV), from ``input_format``, or from the file's magic bytes (which is how
Parquet, Arrow and JSON Lines piped into standard input are recognised).

Everything streams: CSV and JSON are parsed in blocks by pyarrow, Parquet is read by row
group / batch, Arrow files are memory-mapped.  Several paths, a directory or a glob are
one data set; hive partition folders (``year=2024/``) become columns.

Modules, one job each: ``_common`` (formats, sniffing, errors, counted streams),
``_csv``, ``_columnar`` (Parquet, JSON Lines, Arrow), ``_paths`` (directories, globs,
standard input), ``_partitions`` (hive folders), ``_folders`` and ``_delta`` (Delta
tables, Hugging Face folders), ``_grammar`` and ``_filter`` (``--where``), ``_dataset``
(:class:`Dataset`, :func:`open_dataset`: paths -> readers, columns checked) and
``_collect`` (every file's batches folded into statistics).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

from . import _common
from ._collect import collect_file
from ._common import _HEADER_LIMIT as _HEADER_LIMIT  # shrunk by tests
from ._common import _SAMPLE_BYTES as _SAMPLE_BYTES
from ._common import (
    BATCH_ROWS,
    CSV_BLOCK_BYTES,
    CSV_RANGE_BYTES,
    FORMATS,
    ROW_GROUP_ROWS,
    THREADS,
    FileReader,
    escaped,
    quoted,
)
from ._dataset import Dataset, expand_target_globs, open_dataset
from ._features import declared_classes
from ._partitions import PartitionedReader

if TYPE_CHECKING:
    from ._columnar import ArrowReader, JsonLinesReader, ParquetReader
    from ._csv import CsvReader
    from ._filter import RowFilter, parse_where

#: Names imported on first use: a run imports the reader of its own format only, and the
#: ``--where`` parser only with a filter (start-up time, issue 14).
_LAZY = {
    "ArrowReader": "_columnar",
    "JsonLinesReader": "_columnar",
    "ParquetReader": "_columnar",
    "CsvReader": "_csv",
    "RowFilter": "_filter",
    "parse_where": "_filter",
}

__all__ = [
    "BATCH_ROWS",
    "CSV_BLOCK_BYTES",
    "CSV_RANGE_BYTES",
    "FORMATS",
    "ROW_GROUP_ROWS",
    "THREADS",
    "ArrowReader",
    "CsvReader",
    "Dataset",
    "FileReader",
    "JsonLinesReader",
    "ParquetReader",
    "PartitionedReader",
    "RowFilter",
    "collect_file",
    "declared_classes",
    "escaped",
    "expand_target_globs",
    "open_dataset",
    "parse_where",
    "quoted",
]


def __getattr__(name: str) -> object:
    """``readers.CsvReader`` and the other names of ``_LAZY``, imported when first asked for."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """Setting a tuning constant on the package (``readers.CSV_BLOCK_BYTES = 1024``, as
    tests do) sets it in ``_common``, where the readers look it up at call time.

    The documented way to customise module attributes: Python reference, "Customizing
    module attribute access" (``sys.modules[__name__].__class__``).
    """

    def __setattr__(self, name: str, value: object) -> None:
        if name in _common.TUNABLES:
            setattr(_common, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
