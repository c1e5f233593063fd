"""Token counts: the unigram statistics of a token stream, streaming and mergeable.

A language model's next-token targets are a stream of integer ids; everything the bias
of its output layer depends on is how often each id occurs.  :class:`TokenStats` keeps
one int64 count per id (memory O(V)), fed chunk by chunk with NumPy's ``bincount``, so
a stream of any length is counted in O(V + chunk) memory.  Counts of disjoint parts add
up, so parts counted anywhere (files, machines, Dask or Spark partitions) merge exactly.

Ids equal to an ``ignore_index`` value (PyTorch ``CrossEntropyLoss(ignore_index=-100)``:
padding and masked positions) are not targets: they are counted apart as ignored.  Any
other id outside [0, V) is an error naming the id and where it is.

>>> import numpy as np
>>> s = TokenStats(TokenSpec("tokens"))
>>> s.add(np.array([3, 1, -100, 3], dtype=np.int64))
>>> s.counts.tolist(), s.n_tokens, s.n_ignored
([0, 1, 0, 2], 3, 1)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import DataError

__all__ = [
    "DEFAULT_IGNORE_INDEX",
    "MAX_VOCAB",
    "TOKEN_STATS_KIND",
    "TokenSpec",
    "TokenStats",
    "is_token_stats",
]

#: PyTorch's CrossEntropyLoss default ``ignore_index``.
DEFAULT_IGNORE_INDEX = (-100,)
#: The largest vocabulary counted (2**24 ids, 128 MiB of counts).  An id beyond it is
#: almost always a file read with the wrong integer type.
MAX_VOCAB = 1 << 24
#: The ``kind`` of token statistics in their JSON form (docs/distributed.md).
TOKEN_STATS_KIND = "tokens"

Locate = Callable[[int], str]
IntArray = npt.NDArray[np.int64]


def _nowhere(i: int) -> str:
    return f"at position {i:,}"


@dataclass(frozen=True)
class TokenSpec:
    """What a token stream is counted for.

    ``target`` names the stream (a column, or ``tokens`` for token files) in results and
    messages; ``vocab_size`` V, when known while reading, makes ids >= V an error with
    their position; ``dtype`` is the stored integer type, for the result's reason.
    """

    target: str
    vocab_size: int | None = None
    ignore_index: tuple[int, ...] = DEFAULT_IGNORE_INDEX
    dtype: str | None = None


@dataclass
class TokenStats:
    """Counts per token id, the number of ignored positions, and the positions seen.

    Feed it integer arrays with :meth:`add` (``locate(i)`` says where element i of the
    array is, for error messages); combine parts with :meth:`merge`.
    """

    spec: TokenSpec
    counts: IntArray = field(default_factory=lambda: np.zeros(0, np.int64))
    n_seen: int = 0
    n_ignored: int = 0
    #: Table input: rows read, and rows holding a null list (no sequence), skipped.
    rows_seen: int = 0
    n_null_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def n_tokens(self) -> int:
        """Positions counted (seen minus ignored)."""
        return self.n_seen - self.n_ignored

    @property
    def largest_id(self) -> int | None:
        """The largest id counted, or None when nothing was counted."""
        seen = np.flatnonzero(self.counts)
        return int(seen[-1]) if seen.size else None

    def declare(self, declared: object) -> None:
        """Declared class names (a ClassLabel) do not apply to token ids."""

    def update(self, batch: Any, rows: npt.NDArray[np.int64] | None = None) -> None:
        """Fold one batch of a table whose column ``spec.target`` holds token ids, or
        lists of them (nested too), one sequence per row.

        ``rows``: each row's position in its file when rows were filtered out before
        (``--where``), so errors name the right row.  A null list is a row without a
        sequence (counted in ``n_null_rows``); a null id inside a list is an error.
        """
        import pyarrow as pa

        from .._arrow import from_numpy, to_numpy
        from .lists import decoded, flatten, is_list_type

        name = self.spec.target
        column = decoded(batch.column(name))
        offset = self.rows_seen
        self.rows_seen += batch.num_rows

        def file_row(row: int) -> int:
            return offset + row if rows is None else int(rows[row])

        listed = is_list_type(column.type)
        flat = flatten(column) if listed else None
        values = decoded(flat.values) if flat is not None else column
        if not (pa.types.is_integer(values.type) or pa.types.is_null(values.type)):
            raise DataError(
                f"column {name!r} holds {column.type} values; --task tokens needs integer "
                "token ids (or lists of them): tokenise the text first"
            )
        if flat is not None:
            self.n_null_rows += flat.null_rows
            if values.null_count:
                row, j = flat.row_and_index(int(np.argmin(to_numpy(values.is_valid()))))
                raise DataError(
                    f"token id missing (null) in row {file_row(row):,}, element {j:,} of "
                    f"column {name!r}; fill or drop it (an empty list is a row with no tokens)"
                )
            at = flat.row_and_index

            def where(i: int) -> str:
                row, j = at(i)
                return f"in row {file_row(row):,}, element {j:,} of column {name!r}"

        else:
            kept: npt.NDArray[np.intp] | None = None
            if values.null_count:  # a plain column: a null is a missing row
                valid = to_numpy(values.is_valid())
                self.n_null_rows += int(np.count_nonzero(~valid))
                kept = np.flatnonzero(valid)
                values = values.filter(from_numpy(valid))

            def where(i: int) -> str:
                row = i if kept is None else int(kept[i])
                return f"in row {file_row(row):,} of column {name!r}"

        if pa.types.is_null(values.type):  # nothing but null lists or missing rows
            return
        if self.spec.dtype is None:
            self.spec = dataclasses.replace(self.spec, dtype=str(values.type))
        self.add(np.asarray(to_numpy(values)), where)

    def add(
        self,
        ids: npt.NDArray[Any],
        locate: Locate = _nowhere,
        stored: np.dtype[Any] | None = None,
    ) -> None:
        """Count one chunk of token ids (any NumPy integer dtype).

        ``stored`` is the dtype the ids were read from when they were widened for
        counting (uint16 ids in an int64 array): its range bounds the values, so no
        min/max pass is needed when it cannot hold a bad id.
        """
        n = int(ids.size)
        if n == 0:
            return
        if ids.dtype.kind not in "iu":
            raise DataError(f"token ids must be integers, not {ids.dtype} values")
        ids = ids.reshape(-1)
        limit = self.spec.vocab_size if self.spec.vocab_size is not None else MAX_VOCAB
        info = np.iinfo(stored if stored is not None else ids.dtype)
        # The common case (uint16 ids, nothing to skip) costs one bincount: min and max
        # are only computed when the dtype can hold a value outside [0, limit).
        low = int(ids.min()) if info.min < 0 else 0
        high = int(ids.max()) if info.max >= limit else 0
        if low < 0 or high >= limit:
            ids = self._drop_outside(ids, limit, locate)
        counted = np.bincount(ids, minlength=self.counts.size)
        # Ignored ids inside [0, limit) (a padding id) are counted, then moved out of the
        # bins: cheaper than masking every chunk.
        for ignored in self.spec.ignore_index:
            if 0 <= ignored < counted.size:
                self.n_ignored += int(counted[ignored])
                counted[ignored] = 0
        if counted.size > self.counts.size:
            counted[: self.counts.size] += self.counts
            self.counts = counted.astype(np.int64, copy=False)
        else:
            self.counts += counted
        self.n_seen += n

    def _drop_outside(self, ids: npt.NDArray[Any], limit: int, locate: Locate) -> Any:
        """Ids outside [0, limit): ignored ones are counted and dropped, others an error."""
        outside = (ids < 0) | (ids >= limit)
        values = ids[outside]
        ignored = np.isin(values, np.asarray(self.spec.ignore_index, dtype=np.int64))
        if not ignored.all():
            first = int(np.argmin(ignored))
            position = int(np.flatnonzero(outside)[first])
            raise DataError(self.describe_bad_id(int(values[first]), limit, locate(position)))
        self.n_ignored += int(values.size)
        return ids[~outside]

    def describe_bad_id(self, value: int, limit: int, where: str) -> str:
        ignore = ", ".join(str(i) for i in self.spec.ignore_index) or "none"
        if value < 0:
            return (
                f"token id {value} {where} is negative and not an --ignore-index value "
                f"({ignore}); mark padding with --ignore-index {value} or fix the data"
            )
        if self.spec.vocab_size is not None:
            return (
                f"token id {value:,} {where} is not below --vocab-size {limit:,}; "
                "give the model's vocabulary size, or --ignore-index for a special id"
            )
        return (
            f"token id {value:,} {where} is beyond {MAX_VOCAB - 1:,}, the largest id biascalc "
            "counts; check --tokens (the integer type the file was written with)"
        )

    def check_vocab(self, vocab_size: int) -> None:
        """Refuse counted ids >= vocab_size (statistics merged before V was known)."""
        largest = self.largest_id
        if largest is not None and largest >= vocab_size:
            raise DataError(
                f"the token counts hold id {largest:,}, which is not below --vocab-size "
                f"{vocab_size:,}; give the model's vocabulary size"
            )

    def merge(self, other: TokenStats) -> TokenStats:
        """The statistics of two disjoint parts of one token stream."""
        a, b = self.spec, other.spec
        if a.ignore_index != b.ignore_index:
            raise DataError(
                f"token statistics counted with --ignore-index {list(a.ignore_index)} cannot be "
                f"merged with ones counted with {list(b.ignore_index)}"
            )
        if a.vocab_size is not None and b.vocab_size is not None and a.vocab_size != b.vocab_size:
            raise DataError(
                f"token statistics for --vocab-size {a.vocab_size} cannot be merged with ones "
                f"for --vocab-size {b.vocab_size}"
            )
        size = max(self.counts.size, other.counts.size)
        counts = np.zeros(size, np.int64)
        counts[: self.counts.size] += self.counts
        counts[: other.counts.size] += other.counts
        vocab = a.vocab_size if a.vocab_size is not None else b.vocab_size
        dtype = a.dtype if a.dtype == b.dtype else None
        spec = TokenSpec(a.target, vocab, a.ignore_index, dtype)
        return TokenStats(
            spec,
            counts,
            self.n_seen + other.n_seen,
            self.n_ignored + other.n_ignored,
            self.rows_seen + other.rows_seen,
            self.n_null_rows + other.n_null_rows,
            list(dict.fromkeys([*self.notes, *other.notes])),
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (docs/distributed.md): the non-zero counts, sparsely."""
        seen = np.flatnonzero(self.counts)
        return {
            "biascalc_stats": 1,
            "kind": TOKEN_STATS_KIND,
            "target": self.spec.target,
            "vocab_size": self.spec.vocab_size,
            "ignore_index": list(self.spec.ignore_index),
            "dtype": self.spec.dtype,
            "n_seen": self.n_seen,
            "n_ignored": self.n_ignored,
            "ids": seen.tolist(),
            "counts": self.counts[seen].tolist(),
            "rows_seen": self.rows_seen,
            "null_rows": self.n_null_rows,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenStats:
        """The inverse of :meth:`to_dict`, checking the counts add up."""
        try:
            vocab = data["vocab_size"]
            spec = TokenSpec(
                str(data["target"]),
                None if vocab is None else int(vocab),
                tuple(int(i) for i in data["ignore_index"]),
                data.get("dtype"),
            )
            ids = np.asarray(data["ids"], dtype=np.int64)
            values = np.asarray(data["counts"], dtype=np.int64)
            n_seen, n_ignored = int(data["n_seen"]), int(data["n_ignored"])
            table = (int(data.get("rows_seen", 0)), int(data.get("null_rows", 0)))
            notes = [str(n) for n in data.get("notes", [])]
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise DataError(f"malformed token statistics: {type(exc).__name__}: {exc}") from None
        if (
            ids.shape != values.shape
            or ids.ndim != 1
            or (ids.size and (ids.min() < 0 or ids.max() >= MAX_VOCAB))
            or (values < 0).any()
            or np.unique(ids).size != ids.size
            or int(values.sum()) != n_seen - n_ignored
            or n_ignored < 0
        ):
            raise DataError(
                "malformed token statistics: the ids and counts do not match n_seen and n_ignored"
            )
        counts = np.zeros(int(ids.max()) + 1 if ids.size else 0, np.int64)
        counts[ids] = values
        return cls(spec, counts, n_seen, n_ignored, *table, notes)


def is_token_stats(data: object) -> bool:
    """Whether a statistics JSON object holds token counts (rather than label statistics)."""
    return isinstance(data, dict) and data.get("kind") == TOKEN_STATS_KIND
