"""One or more files opened as one data set: paths resolved, readers chosen, columns checked.

:func:`open_dataset` turns paths (files, folders, globs, standard input) into one
reader per file; :class:`Dataset` checks the requested columns in every file (with
suggestions for a near miss) and hands the reading to :mod:`._collect`, which folds the
batches into statistics.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple, TypeGuard

from ..errors import ColumnNotFoundError, DataError, OptionError
from ._collect import collect_readers
from ._common import (
    FORMATS,
    FileReader,
    _compression,
    _refuse_archives,
    _sniff_format,
    escaped,
    not_a_table_hint,
    quoted,
)
from ._features import lost_categories
from ._partitions import PartitionedReader, with_partitions
from ._paths import _expand, _is_stream, _remove_spool, _spool, path_list, unique_files

if TYPE_CHECKING:
    from ..progress import Progress
    from ..stats import LabelStats
    from ._csv import CsvReader
    from ._filter import RowFilter

__all__ = ["CsvOptions", "Dataset", "expand_target_globs", "open_dataset"]


class Dataset:
    """One or more files read as one data set (they must share the needed columns).

    ``progress``, when set, is told the bytes read so far after every batch (see
    :mod:`biascalc.progress`) and closed when :meth:`collect` ends.  ``row_filter``, when
    set (``--where``), drops the rows that do not pass it before the statistics see them;
    the Dask engine applies it on the workers, so it pickles.
    """

    def __init__(
        self,
        readers: list[FileReader],
        cleanup: list[str],
        progress: Progress | None = None,
        row_filter: RowFilter | None = None,
    ) -> None:
        self.readers = readers
        self._cleanup = cleanup
        self.progress = progress
        self.row_filter = row_filter
        #: What resolving the paths found worth saying (a file reached twice).
        self.warnings: list[str] = []

    def close(self) -> None:
        """Remove the temporary copies of standard input and pipes."""
        for path in self._cleanup:
            _remove_spool(path)
        self._cleanup.clear()

    def __enter__(self) -> Dataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.readers]

    def resolve_targets(self, targets: Sequence[str] | None, weight: str | None) -> list[str]:
        """Check the requested columns exist (with suggestions); default a lone column."""
        first = self.readers[0]
        if not targets:
            if len(first.column_names) == 1:
                targets = list(first.column_names)
            else:
                shown = _show_columns(first.column_names)
                raise OptionError(
                    f"{quoted(first.name)} has {len(first.column_names)} columns ({shown}); "
                    "say which holds the labels with --target"
                )
        targets = expand_target_globs(targets, first.column_names, first.name, weight)
        wanted = [*targets, *([weight] if weight else [])]
        for reader in self.readers:
            for name in wanted:
                _check_column(name, reader)
            for name in self.row_filter.columns if self.row_filter else ():
                _check_column(name, reader, "--where names column")
        if weight is not None and weight in targets:
            raise OptionError(f"column {quoted(weight)} cannot be both a target and the weight")
        if len(set(targets)) != len(targets):
            raise OptionError("a --target column is named more than once")
        for reader in self.readers:
            inner = reader.inner if isinstance(reader, PartitionedReader) else reader
            if _is_csv(inner) and weight is not None:
                inner.types.setdefault(weight, "float64")
                inner.weight_columns = frozenset([weight])
        return list(targets)

    def notes(self, targets: Sequence[str], classes_given: bool) -> list[str]:
        """What reading found worth saying, for every engine: :attr:`warnings` (a file
        reached twice), and, unless the classes were given, the target columns that were
        pandas categoricals whose categories the file did not keep (integer categories in
        Parquet): the classes then come from the data, which may miss unused categories
        and differ from the declared order."""
        return [*self.warnings, *([] if classes_given else self._category_notes(targets))]

    def _category_notes(self, targets: Sequence[str]) -> list[str]:
        lost: dict[str, int] = {}
        for reader in self.readers:
            lost.update(lost_categories(getattr(reader, "schema", None), targets))
        return [
            f"column {quoted(name)} was a pandas categorical"
            + (f" of {k} categories" if k else "")
            + "; Parquet keeps integer categories as plain integers, so the classes are the "
            "values found, in ascending order, not the categories in their order; pass "
            "--classes to give them"
            for name, k in lost.items()
        ]

    def collect(self, make_stats: Callable[[], LabelStats], columns: Sequence[str]) -> LabelStats:
        """Read the columns of every file into one set of statistics
        (:func:`~biascalc.readers._collect.collect_readers`), checking there were rows."""
        try:
            total = collect_readers(
                self.readers, make_stats, columns, self.progress, self.row_filter
            )
            self.check_rows(total)
            return total
        finally:
            # Also on errors: the bar must be gone before the message is printed.
            if self.progress is not None:
                self.progress.close()

    def check_rows(self, total: LabelStats) -> None:
        """A data set with a header but no rows is an error (there is nothing to fit)."""
        if total.rows_seen == 0 and self.row_filter is not None:
            raise DataError(
                f"no rows pass --where {self.row_filter.text!r}; "
                "check the column's values and the expression"
            )
        if total.rows_seen == 0:
            where = (
                f"{quoted(self.readers[0].name)} has"
                if len(self.readers) == 1
                else "the inputs have"
            )
            raise DataError(f"{where} column names but no rows of data; add rows of labels")


def expand_target_globs(
    targets: Sequence[str], columns: Sequence[str], where: str, weight: str | None = None
) -> list[str]:
    """``-t 'tag_*'``: a target with shell-style wildcards is every matching column, in the
    order of ``columns`` (the weight column excluded); a name that is a column is itself.

    >>> expand_target_globs(["tag_*"], ["id", "tag_b", "tag_a", "w"], "f.csv")
    ['tag_b', 'tag_a']
    """
    out: list[str] = []
    for target in targets:
        if target in columns or not any(ch in target for ch in "*?["):
            out.append(target)
            continue
        hits = [c for c in columns if fnmatch.fnmatchcase(c, target) and c != weight]
        if not hits:
            raise ColumnNotFoundError(
                f"--target {quoted(target)} matches no column of {quoted(where)}; "
                f"columns are: {_show_columns(columns)}"
            )
        out += hits
    return out


def _show_columns(names: Sequence[str], limit: int = 30) -> str:
    """All the column names, or the first and the last ones (labels are often last)."""
    if len(names) <= limit:
        return ", ".join(_shown(n) for n in names)
    head, tail = names[: limit - 6], names[-5:]
    skipped = len(names) - len(head) - len(tail)
    return (
        ", ".join(_shown(n) for n in head)
        + f", ... {skipped} more ..., "
        + ", ".join(_shown(n) for n in tail)
        + f" ({len(names)} in all)"
    )


def _shown(name: str) -> str:
    """A column name in a list: an unnamed column (pandas' index) is '', never a gap."""
    return escaped(name[:_NAME_LIMIT] + ("..." if len(name) > _NAME_LIMIT else "")) or "''"


_NAME_LIMIT = 60
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _check_column(name: str, reader: FileReader, role: str = "column") -> None:
    names = reader.column_names
    hits = names.count(name)
    if hits > 1:
        raise DataError(
            f"column {quoted(name)} appears {hits} times in the header of {quoted(reader.name)}; "
            "rename the copies so it is unique"
        )
    if hits == 1:
        return
    found = "not found in" if role == "column" else "which is not in"
    message = (
        f"{role} {quoted(name)}{'' if role == 'column' else ','} {found} {quoted(reader.name)}; "
        f"columns are: {_show_columns(names)}"
    )
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    folded = [n for n in names if n.strip().casefold() == name.strip().casefold()]
    suggestion = folded[0] if folded else (close[0] if close else None)
    if suggestion is not None:
        message += f"; did you mean {quoted(suggestion)}?"
    elif _is_csv(reader) and reader.header and all(_NUMBER.fullmatch(n.strip()) for n in names):
        message += (
            "; every name in the first line is a number, so it looks like data: if the file "
            "has no header line, pass --no-header and name columns by position (-t 1)"
        )
    elif _is_csv(reader) and reader.header and name.isdecimal() and 1 <= int(name) <= len(names):
        # `-t 2` is how `cut -f 2` users name a column of a headerless export.
        message += (
            "; if the file has no header line, pass --no-header to name its columns by "
            "position (1 first)"
        )
    else:
        message += _beside_images(reader.path)
    raise ColumnNotFoundError(message)


def _beside_images(path: str) -> str:
    """The images hint when the file lies among images: a notes.txt in an ImageFolder tree
    given without --input-format is read as a table, and its columns are not the labels."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        names = os.listdir(folder)
    except OSError:
        return ""
    hint = not_a_table_hint(names)
    return "; the file lies among images" + hint if hint.startswith("; for images") else ""


def open_dataset(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    input_format: str | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    progress: bool | Progress = False,
    where: str | RowFilter | None = None,
    header: bool = True,
    decimal: str | None = None,
    thousands: str | None = None,
) -> Dataset:
    """Open files (or ``"-"`` for standard input) as one data set.

    A directory is every data file below it, with hive partition folders
    (``year=2024/``) as columns; a glob is every file it matches.  ``progress=True``
    draws a progress bar on standard error when it is a terminal and the read is long
    (:class:`biascalc.progress.ProgressBar`); or pass your own :class:`Progress`.
    ``where`` is a row filter (``"split == 'train'"``, see :mod:`biascalc.readers._filter`):
    only the rows that pass it reach the statistics.  ``header=False`` reads CSV files
    without a header line (columns named ``"1"``, ``"2"``, ...); ``decimal`` /
    ``thousands`` say how CSV numbers are written (``","`` / ``"."`` for ``1.739,26``).

    >>> ds = open_dataset(["sample_data/wine.csv"])  # doctest: +SKIP
    >>> ds.readers[0].column_names[:2]  # doctest: +SKIP
    ['alcohol', 'malic_acid']
    """
    if input_format is not None and input_format not in FORMATS:
        raise OptionError(
            f"unknown --input-format {input_format!r}; choose one of {', '.join(FORMATS)}"
        )
    if delimiter is not None and len(delimiter) != 1:
        if delimiter in ("\\t", "tab"):
            delimiter = "\t"
        else:
            raise OptionError(f"--delimiter must be one character, not {delimiter!r}")
    if isinstance(where, str):
        from ._filter import parse_where

        row_filter: RowFilter | None = parse_where(where)
    else:
        row_filter = where
    if decimal is not None or thousands is not None:
        from ._csvnumbers import check_separators

        check_separators(decimal, thousands)
    paths = path_list(paths) or ["-"]
    readers: list[FileReader] = []
    bases: list[str | None] = []
    cleanup: list[str] = []
    dataset = Dataset(readers, cleanup, row_filter=row_filter)
    try:
        files, dataset.warnings = unique_files([f for given in paths for f in _expand(given)])
        for found in files:
            path = found.path
            name = "<stdin>" if path == "-" else path
            if path == "-" or _is_stream(path):
                path = _spool(path)
                cleanup.append(path)
                if os.path.getsize(path) == 0:
                    raise DataError(
                        f"{'standard input' if name == '<stdin>' else repr(name)} is empty; "
                        "pipe a file into biascalc or pass a path"
                    )
            spooled = path != found.path
            csv = CsvOptions(delimiter, encoding, header, decimal, thousands, spooled)
            reader = _open_one(path, name, input_format, csv)
            readers.append(found.wrap(reader) if found.wrap is not None else reader)
            bases.append(found.base)
        readers[:] = with_partitions(readers, bases)
    except BaseException:
        dataset.close()
        raise
    if progress is True:
        from ..progress import ProgressBar

        dataset.progress = ProgressBar()
    elif progress is not False:
        dataset.progress = progress
    return dataset


class CsvOptions(NamedTuple):
    """How to read CSV text: open_dataset's options, passed on to :class:`CsvReader`."""

    delimiter: str | None = None
    encoding: str | None = None
    header: bool = True
    decimal: str | None = None
    thousands: str | None = None
    #: A temporary copy of standard input or a pipe: read in one pass.
    spooled: bool = False


def _is_csv(reader: object) -> TypeGuard[CsvReader]:
    """Whether ``reader`` reads CSV; without importing the CSV reader when no CSV was opened
    (then none can exist)."""
    module = sys.modules.get(f"{__package__}._csv")
    return module is not None and isinstance(reader, module.CsvReader)


def _open_one(path: str, name: str, input_format: str | None, csv: CsvOptions) -> FileReader:
    try:
        _refuse_archives(path, name)
        fmt = input_format or _sniff_format(path, name)
        # Each format's reader is imported when a file of that format is opened.
        if fmt == "parquet":
            from ._columnar import ParquetReader

            return ParquetReader(path, name)
        if fmt == "arrow":
            from ._columnar import ArrowReader

            return ArrowReader(path, name)
        compression = _compression(path)
        if fmt == "jsonl":
            from ._columnar import JsonLinesReader

            return JsonLinesReader(path, name, compression)
        from ._csv import CsvReader

        delimiter = "\t" if fmt == "tsv" and csv.delimiter is None else csv.delimiter
        return CsvReader(
            path,
            name,
            delimiter,
            csv.encoding,
            compression,
            header=csv.header,
            decimal=csv.decimal,
            thousands=csv.thousands,
            splittable=not csv.spooled,
        )
    except PermissionError:
        raise DataError(f"cannot read {quoted(name)}: permission denied") from None
    except IsADirectoryError:
        raise DataError(f"{quoted(name)} is a directory") from None
