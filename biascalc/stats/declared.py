"""Class names and order that a label column declares itself (not the data's values).

Two sources (found by :func:`biascalc.readers.declared_classes` in a file's schema, or in
an in-memory table's):

* ``"categories"``: an Arrow dictionary column, which is how pandas categoricals, polars
  ``Enum``/``Categorical`` and other dictionary-encoded columns are stored.  The classes are
  the dictionary, in its order (unused categories included), so class i is the column's
  code i (``Series.cat.codes``, polars ``to_physical()``).  The names come from the data's
  dictionary, batch by batch, and every batch must carry the same one.
* ``"ClassLabel"``: a Hugging Face ``datasets`` ClassLabel (or a ``Sequence`` of them),
  whose names are in the ``huggingface`` schema metadata; the data holds the ids
  0..K-1, and -1 means "no label" (the datasets documentation: "You can use -1 to
  represent unknown/missing labels").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["DeclaredClasses", "Source", "merge_declared", "note_dictionary"]

Source = Literal["categories", "ClassLabel"]
Label = bool | int | float | str


@dataclass(frozen=True)
class DeclaredClasses:
    """The classes a column declares: ``names`` in order (None until a batch shows them).

    ``conflict`` holds two declarations that differ between parts of the input (files, row
    groups): then the column declares no usable order, and tasks.py says so (polars writes
    a Categorical with each row group's own dictionary, in order of appearance).
    """

    source: Source
    names: tuple[Label, ...] | None = None
    ordered: bool = False
    conflict: tuple[tuple[Label, ...], tuple[Label, ...]] | None = None

    def with_names(self, names: tuple[Label, ...]) -> DeclaredClasses:
        """These declared classes with the names of one batch's dictionary."""
        if self.conflict is not None or names == self.names:
            return self
        if self.names is None:
            return replace(self, names=names)
        return replace(self, names=None, conflict=(self.names, names))

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "names": None if self.names is None else list(self.names),
            "ordered": self.ordered,
            "conflict": None if self.conflict is None else [list(c) for c in self.conflict],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> DeclaredClasses | None:
        if d is None:
            return None
        if d["source"] not in ("categories", "ClassLabel"):
            raise ValueError(f"unknown class source {d['source']!r}")
        names = None if d["names"] is None else tuple(d["names"])
        conflict = d.get("conflict")
        pair = None if conflict is None else (tuple(conflict[0]), tuple(conflict[1]))
        return cls(d["source"], names, bool(d["ordered"]), pair)


def merge_declared(a: DeclaredClasses | None, b: DeclaredClasses | None) -> DeclaredClasses | None:
    """The declaration of two parts of one column (a part that declares nothing defers)."""
    if a is None or b is None or a == b:
        return b if a is None else a
    if a.conflict is not None or b.conflict is not None:
        return a if a.conflict is not None else b
    if a.source == b.source and (a.names is None or b.names is None or a.names == b.names):
        merged = a if b.names is None else b
        return replace(merged, ordered=a.ordered and b.ordered)
    return replace(a, names=None, conflict=(a.names or (), b.names or ()))


def note_dictionary(
    declared: DeclaredClasses, last: pa.Array | None, arr: pa.Array
) -> tuple[DeclaredClasses, pa.Array | None]:
    """A categories column's names from one batch's dictionary (and the dictionary seen).

    Batches of one Parquet row group share their dictionary: the same buffers are not
    compared again.
    """
    import pyarrow as pa

    from .counts import _same_buffers

    if declared.source != "categories" or declared.conflict is not None:
        return declared, last
    if not pa.types.is_dictionary(arr.type):
        return declared, last
    dictionary = arr.dictionary
    if last is not None and (_same_buffers(last, dictionary) or last.equals(dictionary)):
        return declared, last
    return declared.with_names(tuple(dictionary.to_pylist())), dictionary
