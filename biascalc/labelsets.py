"""The multilabel task of one list-valued column: label sets or multi-hot rows.

A list column (Parquet/Arrow ``list``, ``large_list``, ``fixed_size_list``, JSON Lines
arrays, Hugging Face ``Sequence(ClassLabel)``, text split by ``--label-sep``) is a
multilabel target with one sigmoid output per label:

* label sets (``["sports", "news"]``, ids ``[3, 7]``): the outputs are the distinct labels
  (or the ClassLabel names, or the categories, or ``--classes``), and output j's share
  p_j is the weighted share of rows whose set contains label j.  An empty list is a row
  with no labels (it counts in the denominator); a null list is a missing row.
* multi-hot rows (a ``fixed_size_list`` of 0/1; lists of float or boolean 0/1 of one
  length, as Hugging Face multilabel sets store them; or integer lists of 0/1 of one
  length that repeat values, which a set never does): one output per position, p_j the
  weighted share of rows with a 1 at position j.  Integer lists of one or two 0/1 values
  that never repeat could be either; they are read as label sets, with a warning.

The bias of output j is then logit(p_j), BCEWithLogitsLoss's constant minimiser (see
losses/classification.py).  Where the label order comes from is worded as in tasks.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .classnames import (
    ORDER_SOURCE,
    counted,
    declared_of,
    format_values,
    in_order,
    label_kind,
    refuse_unknown,
)
from .errors import DataError, OptionError

if TYPE_CHECKING:
    from .stats import ColumnStats, LabelStats
    from .tasks import TaskDecision

__all__ = ["decide_label_sets", "joined_labels_hint"]


def decide_label_sets(
    stats: LabelStats,
    task: str,
    family: str | None,
    classes: Sequence[object] | None,
    positive: object | None,
) -> TaskDecision:
    """The multilabel decision for a single list column (tasks.decide_task's rule 0)."""
    from .tasks import TaskDecision, coerce_label

    if len(stats.columns) > 1:
        listed = ", ".join(f"'{c.name}'" for c in stats.columns if c.kind == "list")
        raise DataError(
            f"column {listed} holds a list of labels per row, which is a whole multilabel "
            "target on its own; give it as the only --target"
        )
    col = stats.columns[0]
    given = task if task != "auto" else {"binary": "multilabel"}.get(family or "", family)
    if given not in (None, "multilabel"):
        raise OptionError(
            f"column '{col.name}' holds a list of labels per row, a multilabel target; "
            f"{'--task ' + task if task != 'auto' else 'the loss'} does not fit it (use "
            "--task multilabel or a sigmoid loss such as bce)"
        )
    if positive is not None:
        raise OptionError(
            "--positive does not apply to multilabel targets: each label is one output"
        )
    lists = col.lists
    assert lists is not None
    names: tuple[bool | int | float | str, ...]
    if lists.multi_hot:
        names, counts, weights, what = _positions(col, classes)
    else:
        if lists.element == "float" or (lists.fixed and lists.element == "bool"):
            raise DataError(
                f"column '{col.name}' holds lists of numbers that are not all 0 or 1; a "
                "multi-hot column holds 0/1 per position, a label set holds text or integer "
                "labels"
            )
        found = counted(col)
        if found is None:
            raise DataError(f"column '{col.name}' has more distinct labels than biascalc can count")
        seen, seen_counts, seen_weights = found
        if classes is not None:
            kind = label_kind(col) if lists.element != "null" else "string"
            order = [coerce_label(c, _element_kind(kind, lists.element), "label") for c in classes]
            if len(set(order)) != len(order):
                raise OptionError("--classes names a label more than once")
            refuse_unknown(col, seen, order, "--classes", "add them to --classes")
            source = "in the order of --classes"
        elif (declared := declared_of(col)) is not None:
            order = list(declared.names or ())
            refuse_unknown(col, seen, order, "its declared labels", "give them all with --classes")
            source = ORDER_SOURCE[declared.source, declared.ordered]
        else:
            order, source = list(seen), "in ascending order, from the data"
        if not order:
            raise DataError(
                f"column '{col.name}' has no labels: every row's list is empty; name the "
                "labels with --classes"
            )
        counts, weights = in_order(order, seen, seen_counts, seen_weights)
        names = tuple(order)
        sep = stats.spec.label_sep
        shape = (
            "lists of labels in column '{}' (a label set per row)"
            if sep is None
            else "text in column '{}' split at " + repr(sep) + " into label sets"
        )
        what = (
            f"{shape.format(col.name)}: {len(order)} labels {format_values(order)}; labels {source}"
        )
    reason = what if task == "auto" and family is None else f"{_given(task)}; {what}"
    warnings = _extremes(names, counts, stats)
    if lists.ambiguous and classes is None and declared_of(col) is None:
        warnings.insert(0, _ambiguous_warning(col.name, lists.width or 0))
    return TaskDecision("multilabel", reason, names, counts, weights, tuple(warnings))


def _ambiguous_warning(name: str, width: int) -> str:
    return (
        f"every list in column '{name}' holds {width} value(s) of 0 or 1, none repeated: read "
        "as label sets of the ids 0 and 1; if they are multi-hot vectors (a 0/1 per output), "
        f"store them as a fixed-size list (pyarrow pa.list_(pa.int8(), {width}), datasets "
        f"Sequence(length={width})) or as floats, and the rows are read per position"
    )


def _element_kind(kind: str, element: str) -> str:
    return "string" if kind == "string" else element


def _given(task: str) -> str:
    return f"--task {task} given" if task != "auto" else "the loss is a sigmoid loss"


def _positions(
    col: ColumnStats, classes: Sequence[object] | None
) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, str]:
    """Multi-hot rows: one output per position, named by --classes, ClassLabel or index."""
    lists = col.lists
    assert lists is not None and lists.width is not None
    width = lists.width
    declared = declared_of(col)
    if classes is not None:
        if len(classes) != width:
            raise OptionError(
                f"--classes names {len(classes)} labels, but the multi-hot rows of column "
                f"'{col.name}' have {width} positions"
            )
        names, source = tuple(str(c) for c in classes), "named by --classes"
    elif declared is not None and len(declared.names or ()) == width:
        names, source = tuple(str(n) for n in declared.names or ()), "named by its ClassLabel"
    else:
        names, source = tuple(f"{col.name}[{j}]" for j in range(width)), "named by position"
    kind = "fixed-size lists" if lists.fixed else "lists of one length with repeated values"
    what = (
        f"column '{col.name}' holds {kind} of {width} 0/1 values (multi-hot): one output per "
        f"position, {source}"
    )
    return names, lists.ones, lists.ones_weight, what


def _extremes(names: Sequence[object], counts: np.ndarray, stats: LabelStats) -> list[str]:
    """Labels in no row or in every row: their bias is clipped to stay finite."""
    out = []
    never = [n for n, c in zip(names, counts, strict=True) if c == 0]
    always = [n for n, c in zip(names, counts, strict=True) if c == stats.n_rows]
    if never:
        out.append(
            f"label {format_values(never)[1:-1]} is never positive"
            if len(never) == 1
            else f"{len(never)} labels are never positive: {format_values(never)}"
        )
    if always:
        out.append(
            f"label {format_values(always)[1:-1]} is always positive"
            if len(always) == 1
            else f"{len(always)} labels are always positive: {format_values(always)}"
        )
    return out


#: Separators that joined label sets use, in the order they are tried.
_SEPARATORS = ("|", ";", ",", "/", " ")
#: Distinct values looked at (the most frequent first is not needed: any sample shows it).
_SAMPLE = 5000


def joined_labels_hint(
    name: str, values: Sequence[object], counts: Sequence[int], n_missing: int
) -> str | None:
    """A warning when text classes look like label sets joined by a separator.

    That is: at least 20 % of the rows hold the separator, and most of the pieces recur
    (in two or more joined values, or on their own), so ``'sports|news'`` is not a class
    but two labels.  ``'New York'`` does not trigger it: its pieces do not recur.
    """
    texts = [(v, c) for v, c in zip(values[:_SAMPLE], counts[:_SAMPLE], strict=False)]
    if not all(isinstance(v, str) for v, _ in texts):
        return None
    rows = sum(c for _, c in texts)
    sample = "".join(str(v) for v, _ in texts)
    for sep in _SEPARATORS:
        if sep not in sample:  # one scan in C instead of one test per value
            continue
        joined = [(str(v), c) for v, c in texts if sep in str(v)]
        if not joined or sum(c for _, c in joined) < 0.2 * rows:
            continue
        seen: dict[str, int] = {}
        for v, _ in joined:
            for piece in {p.strip() for p in v.split(sep) if p.strip()}:
                seen[piece] = seen.get(piece, 0) + 1
        alone = {str(v) for v, _ in texts if sep not in str(v)}
        recurring = [p for p, k in seen.items() if k >= 2 or p in alone]
        if len(recurring) >= 2 and len(recurring) >= 0.5 * len(seen):
            missing = (
                f"; the {n_missing} rows with an empty cell would then count as rows with no "
                "labels instead of missing"
                if n_missing
                else ""
            )
            shown = format_values(sorted(recurring))
            return (
                f"column '{name}' looks like label sets joined by {sep!r} "
                f"({sum(c for _, c in joined)} of {rows} rows hold it; pieces such as "
                f"{shown} recur), which are read here as classes of combinations; pass "
                f"--label-sep {sep!r} to read one sigmoid output per label{missing}"
            )
    return None
