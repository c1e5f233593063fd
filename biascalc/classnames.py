"""Class names for tasks.py: declared classes, how values are shown, stray text.

tasks.py decides where the class order comes from (the data, the column's declared
categories, its ClassLabel names, ``--classes``); these helpers read the declaration
(:class:`~biascalc.stats.declared.DeclaredClasses`), word the reasons and warnings, and
refuse a numeric column with a few typos read as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, overload

from .errors import DataError
from .stats import ColumnStats
from .stats.declared import DeclaredClasses

__all__ = ["LabelTexts", "format_values"]


def format_values(values: Sequence[object], limit: int = 6) -> str:
    """``{0, 1, 2}`` style listing, shortened after ``limit`` values."""
    shown = [show(v) for v in values[:limit]]
    if len(values) > limit:
        shown.append(f"... {len(values) - limit} more")
    return "{" + ", ".join(shown) + "}"


def show(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)


class LabelTexts(Sequence[str]):
    """The classes as messages show them (:func:`show`: text quoted), each made when read.

    A loss names only the classes its warnings and explanation lines mention (at most
    MAX_LINES, or the clipped ones); quoting 100,000 labels up front took 60 ms.

    >>> texts = LabelTexts(("cat", 3))
    >>> len(texts), texts[0], list(texts[1:])
    (2, "'cat'", ['3'])
    """

    __slots__ = ("_values",)

    def __init__(self, values: Sequence[object]) -> None:
        self._values = values

    def __len__(self) -> int:
        return len(self._values)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> LabelTexts: ...

    def __getitem__(self, index: int | slice) -> str | LabelTexts:
        if isinstance(index, slice):
            return LabelTexts(self._values[index])
        return show(self._values[index])

    def __repr__(self) -> str:
        return f"LabelTexts({self._values!r})"


#: How task_reason says where the class order came from, per declaration (source, ordered).
ORDER_SOURCE = {
    ("categories", False): "in the order of the column's declared categories",
    ("categories", True): "in the order of the column's declared (ordered) categories",
    ("ClassLabel", True): "named by the column's ClassLabel feature, in id order",
    ("ClassLabel", False): "named by the column's ClassLabel feature, in id order",
}


def declared_of(col: ColumnStats) -> DeclaredClasses | None:
    """The column's declared classes, when their names are known."""
    d = col.declared
    return d if d is not None and d.names is not None else None


def conflicting(col: ColumnStats, declared: DeclaredClasses) -> str:
    """Declarations that differ between parts: an error, or for plain dictionaries a warning."""
    a, b = declared.conflict or ((), ())
    if declared.source == "categories" and not declared.ordered:
        return (
            f"column '{col.name}' is dictionary-encoded, but its dictionaries differ between "
            "parts of the input (polars writes a Categorical this way), so they declare no "
            "class order: the classes are sorted; give the order with --classes if its "
            "codes must match"
        )
    raise DataError(
        f"column '{col.name}' declares different classes in different parts of the input "
        f"({format_values(a)} and {format_values(b)}), so its codes do not mean the same "
        "class everywhere; give the class order with --classes"
    )


def is_ordered(declared: DeclaredClasses | None) -> bool:
    return declared is not None and declared.ordered


def label_kind(col: ColumnStats) -> str:
    """The type of the class labels: ClassLabel ids are reported (and named) by name."""
    declared = declared_of(col)
    return "string" if declared is not None and declared.source == "ClassLabel" else col.kind


def counted(col: ColumnStats) -> tuple[list[Any], Any, Any] | None:
    """The column's classes with row counts and weights; ClassLabel ids become names."""
    counted = col.counts.result() if col.counts is not None else None
    declared = declared_of(col)
    if counted is None or declared is None or declared.source != "ClassLabel":
        return counted
    names = declared.names or ()
    ids, counts, weights = counted
    bad = [i for i in ids if not (isinstance(i, int) and 0 <= i < len(names))]
    if bad:
        raise DataError(
            f"column '{col.name}' holds the id {bad[0]!r}, but its ClassLabel feature names "
            f"{len(names)} classes (ids 0 to {len(names) - 1}, -1 for no label); fix the "
            "labels or the dataset's features"
        )
    return [names[i] for i in ids], counts, weights


def in_order(
    order: list[Any], seen: list[Any], seen_counts: Any, seen_weights: Any
) -> tuple[Any, Any]:
    """Row counts and weight sums of the ``seen`` labels laid out in ``order`` (a class
    of ``order`` never seen counts 0); ``order`` must hold every seen label."""
    import numpy as np

    if order == seen:  # the common case, and the only one with 100,000 classes
        return np.asarray(seen_counts, np.int64), np.asarray(seen_weights, np.float64)
    index = {v: i for i, v in enumerate(order)}
    counts = np.zeros(len(order), np.int64)
    weights = np.zeros(len(order), np.float64)
    for v, c, w in zip(seen, seen_counts, seen_weights, strict=True):
        counts[index[v]] += c
        weights[index[v]] += w
    return counts, weights


def detect_declared(col: ColumnStats) -> tuple[Literal["binary", "multiclass"], str]:
    declared = declared_of(col)
    assert declared is not None
    names = declared.names or ()
    what = "ClassLabel names" if declared.source == "ClassLabel" else "declared categories"
    return (
        "binary" if len(names) == 2 else "multiclass",
        f"{len(names)} {what} {format_values(names)}",
    )


def refuse_unknown(
    col: ColumnStats, seen: Sequence[object], order: Sequence[object], where: str, fix: str
) -> None:
    known = set(order)
    unknown = [v for v in seen if v not in known]
    if unknown:
        raise DataError(
            f"column '{col.name}' has labels that are not in {where}: "
            f"{format_values(unknown)}; {fix}"
        )


def absent_warning(absent: Sequence[object]) -> str:
    if len(absent) == 1:
        return f"class {show(absent[0])} has no rows in the data"
    return f"{len(absent)} classes have no rows in the data: {format_values(absent)}"


def refuse_stray_text(name: str, values: Sequence[object], counts: Sequence[int]) -> None:
    """A numeric column with a few typos is read as text; say so instead of guessing.

    Triggers when at least two distinct values are numbers and the rest are at most three
    values on under 1 % of the rows: '12..5' in a price column, 'abc' in a 0/1 column.
    """
    text: list[tuple[object, int]] = []
    for v, c in zip(values, counts, strict=True):
        if not _is_number(v):
            text.append((v, c))
            if len(text) > 3:
                return  # real text labels: stop early (a vocabulary has 100,000 of them)
    numbers = len(values) - len(text)
    rows = sum(counts)
    if numbers >= 2 and 0 < len(text) <= 3 and sum(c for _, c in text) < 0.01 * rows:
        shown = ", ".join(repr(v) for v, _ in text)
        raise DataError(
            f"column '{name}' holds numbers except {sum(c for _, c in text)} row(s) with text "
            f"({shown}); fix or empty those cells, or pass --task multiclass to treat every "
            "value as a class label"
        )


def _is_number(value: object) -> bool:
    try:
        float(str(value))
    except ValueError:
        return False
    return True


#: Integer labels up to this are suggested as --classes 0,1,...,max when they have gaps.
_SPELL_OUT = 1000


def index_warnings(
    name: str,
    task: str,
    order: Sequence[object],
    kind: str,
    declared: DeclaredClasses | None,
    classes: Sequence[object] | None,
    positive: object | None,
) -> list[str]:
    """Warnings when output i is not what a training script's class index i would be.

    A bias whose order does not match the user's class indices is worse than an error, so
    every way the outputs can differ from the indices a loss sees is said:

    * integer labels from the data that are not 0..K-1 (``{0, 2, 5}``, ``{1, 2, 3}``,
      ``{-1, 0, 1}``): output 1 is the second smallest label, while
      ``CrossEntropyLoss`` on the raw labels needs max + 1 outputs, with label 2 at 2;
    * ``--classes`` in another order than the column's declared classes (ClassLabel ids,
      categorical codes): output i is then the i-th of ``--classes``, not code i;
    * ``--positive`` naming a declared binary column's class 0: the output predicts it,
      so the target must be ``code == 0``, not the codes.
    """
    out: list[str] = []
    if (
        classes is None
        and declared is None
        and kind == "integer"
        and task in ("multiclass", "ordinal")
        and list(order) != list(range(len(order)))
    ):
        values = [int(v) for v in order]  # type: ignore[call-overload]
        fix = "map them to 0..K-1 in the training data, as these outputs are"
        if values[0] >= 0 and values[-1] < _SPELL_OUT:
            spelled = ",".join(str(i) for i in range(values[-1] + 1))
            fix = f"for a head indexed by the labels themselves pass --classes {spelled}; {fix}"
        out.append(
            f"integer labels {format_values(values)} in column '{name}' are not the indices "
            f"0..{len(values) - 1}: output i is the i-th smallest label (output 1 is "
            f"{values[1] if len(values) > 1 else values[0]}); a loss that takes the labels "
            f"as class indices needs 0..K-1: {fix}"
        )
    names = list(declared.names or ()) if declared is not None else []
    if classes is not None and names and list(order) != names:
        out.append(
            f"--classes orders the outputs differently from the classes column '{name}' "
            f"declares {format_values(names)} (their codes 0, 1, ...): output i is the i-th "
            "of --classes, not code i; train on the same order, or drop --classes"
        )
    if positive is not None and task == "binary" and len(names) == 2 and names[0] == order[1]:
        out.append(
            f"--positive {show(order[1])} is code 0 of column '{name}' ({format_values(names)}):"
            f" the output predicts it, so its target is (code == 0), not the codes themselves"
        )
    return out
