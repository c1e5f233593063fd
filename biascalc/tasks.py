"""Task detection and class encoding.

The rules, in order (the first that applies wins; each gives a one-line reason):

1. ``--task`` given: that task.
2. The loss implies the family: a regression loss means regression, ``bce`` means binary
   (multilabel with several targets), ``cross_entropy`` means multiclass.
3. ``--classes`` with K names: binary for K = 2, multiclass otherwise.
4. Several target columns: all 0/1 (or boolean) with exactly one 1 in every row ->
   multiclass, one-hot encoded (class k is column k; ``keras.utils.to_categorical``,
   ``F.one_hot``); all 0/1 otherwise -> multilabel; all numeric -> multi-output regression.
   ``task="multiclass"`` (or cross-entropy) on such columns requires them to be one-hot;
   ``task="multilabel"`` (or ``bce``) reads a one-hot matrix as independent labels.
5. One column: booleans -> binary; exactly two distinct values -> binary; text ->
   multiclass; numbers that are not all integers -> regression; integers with at most
   ``AUTO_MAX_CLASSES`` (20) distinct values -> multiclass, more -> regression.  So a
   0..4 star rating is multiclass and a 0..300 count is regression.

Where the class order comes from is decided here, once, and stated at the end of the
reason: ``classes=`` (``--classes``) wins; else the column's declared classes (an Arrow
dictionary's categories, a Hugging Face ClassLabel's names: stats/declared.py), with
binary for two of them and multiclass otherwise; else the data's values ascending
(numbers numerically, text by code point, False < True), as ``numpy.unique`` and
scikit-learn's ``LabelEncoder`` order them.  For binary tasks the positive class is the
last one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from .classnames import (
    ORDER_SOURCE,
    absent_warning,
    conflicting,
    counted,
    declared_of,
    detect_declared,
    format_values,
    in_order,
    index_warnings,
    is_ordered,
    label_kind,
    refuse_stray_text,
    refuse_unknown,
    show,
)
from .errors import DataError, OptionError
from .stats import AUTO_MAX_CLASSES, ColumnStats, LabelStats
from .stats.tokens import TokenStats

__all__ = ["TASKS", "Task", "TaskDecision", "decide_task", "decide_tokens", "format_values"]

Task = Literal["regression", "binary", "multiclass", "multilabel", "ordinal", "tokens"]
TASKS: tuple[Task, ...] = (
    "regression",
    "binary",
    "multiclass",
    "multilabel",
    "ordinal",
    "tokens",
)
Label = bool | int | float | str


@dataclass(frozen=True)
class TaskDecision:
    """The task, why, and for classification the classes with their counts.

    ``classes`` holds one entry per class (binary: ``(negative, positive)``) or, for
    multilabel, the target names (one per output).  ``counts`` and ``class_weight`` are
    aligned with it: rows and weight sums per class (multilabel: of the positives).
    """

    task: Task
    reason: str
    classes: tuple[Label, ...] | None = None
    counts: npt.NDArray[np.int64] | None = None
    class_weight: npt.NDArray[np.float64] | None = None
    warnings: tuple[str, ...] = ()


def decide_task(
    stats: LabelStats,
    *,
    task: str = "auto",
    family: str | None = None,
    classes: Sequence[object] | None = None,
    positive: object | None = None,
) -> TaskDecision:
    """Decide the task from the statistics and the options.

    ``family`` is the loss's family (``"regression"``, ``"binary"``, ``"multiclass"``) or
    None when the loss is automatic.
    """
    cols = stats.columns
    if any(c.kind == "list" for c in cols):  # label sets or multi-hot rows: multilabel
        from .labelsets import decide_label_sets

        return decide_label_sets(stats, task, family, classes, positive)
    reason = ""
    if task != "auto":
        reason = f"--task {task} given"
    elif family == "regression":
        task, reason = "regression", "the loss is a regression loss"
    elif family == "binary":
        task = "multilabel" if len(cols) > 1 else "binary"
        reason = "the loss is a sigmoid loss"
    elif family == "multiclass":
        task, reason = "multiclass", "the loss is cross-entropy"
    elif family == "ordinal":
        task, reason = "ordinal", "the loss is an ordinal loss (CORAL or CORN)"
    elif classes is not None and len(cols) == 1:
        task = "binary" if len(classes) == 2 else "multiclass"
        reason = f"--classes names {len(classes)} classes"
    if len(cols) > 1:
        one_hot = _one_hot(stats, task, reason, classes, positive)
        if one_hot is not None:
            return one_hot
        decision = _decide_multi(stats, task, reason)
        _refuse_class_options(decision, classes, positive)
        return decision
    col = cols[0]
    if task == "auto":
        task, reason = _detect_single(col) if declared_of(col) is None else detect_declared(col)
    if task == "regression":
        _require_numeric(col)
        decision = TaskDecision("regression", reason)
        _refuse_class_options(decision, classes, positive)
        return decision
    if task == "multilabel":
        decision = _decide_multi(stats, task, reason)
        _refuse_class_options(decision, classes, positive)
        return decision
    if task == "tokens":
        raise OptionError(
            f"--task tokens counts token ids; column '{col.name}' was read as labels "
            "(give a list column of ids, a .npy file, or a raw file with --tokens)"
        )
    if task not in ("binary", "multiclass", "ordinal"):
        raise OptionError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    return _classify(col, task, reason, classes, positive, stats.n_missing)


def _refuse_class_options(decision: TaskDecision, classes: object, positive: object) -> None:
    """--classes and --positive name the classes of one target; never ignore them silently."""
    if decision.task == "regression" and (classes is not None or positive is not None):
        raise OptionError(
            f"--classes and --positive apply to classification, but the task is regression "
            f"({decision.reason}); pass --task binary or --task multiclass to treat the labels "
            "as classes"
        )
    if decision.task == "multilabel" and (classes is not None or positive is not None):
        raise OptionError(
            "--classes and --positive do not apply to multilabel targets: each target column "
            "is one output, with 1 as its positive value"
        )


def _detect_single(col: ColumnStats) -> tuple[Task, str]:
    counted = col.counts.result() if col.counts is not None else None
    values = counted[0] if counted is not None else None
    if col.kind == "null":
        raise DataError(f"column '{col.name}' has no usable value: every row is empty or missing")
    if col.kind == "bool":
        return "binary", f"boolean values {format_values(values or [False, True])}"
    if values is not None and len(values) == 2:
        return "binary", f"2 distinct values {format_values(values)}"
    if col.kind == "string":
        if values is None:
            raise DataError(_too_many_classes(col))
        assert counted is not None
        refuse_stray_text(col.name, values, counted[1].tolist())
        return (
            "multiclass",
            f"text labels with {len(values)} distinct values {format_values(values)}",
        )
    if not col.integral:
        return "regression", f"non-integral numbers (e.g. {col.non_integral_example!r})"
    if values is not None and len(values) == 1 and values[0] in (0, 1):
        return "binary", f"0/1 labels with only one value present ({values[0]})"
    if values is not None and len(values) <= AUTO_MAX_CLASSES:
        return (
            "multiclass",
            f"integers with {len(values)} distinct values {format_values(values)} "
            f"(at most {AUTO_MAX_CLASSES})",
        )
    return (
        "regression",
        f"integers with more than {AUTO_MAX_CLASSES} distinct values "
        f"(from {_num(col.moments.minimum)} to {_num(col.moments.maximum)})",
    )


def _too_many_classes(col: ColumnStats) -> str:
    """The class limit, and what to do when a column has more distinct values."""
    limit = col.counts.limit if col.counts is not None else 0
    numeric = "pass --task regression (task='regression') for a numeric target, or " * (col.numeric)
    return (
        f"column '{col.name}' has more than {limit:,} distinct values, biascalc's limit for "
        f"classes; {numeric}count the classes elsewhere and pass them with --counts "
        "(compute_bias_from_counts), or check that this is the label column"
    )


def _num(x: float) -> str:
    return str(int(x)) if x.is_integer() and abs(x) < 2**53 else repr(x)


def _require_numeric(col: ColumnStats) -> None:
    if col.kind == "null":
        raise DataError(f"column '{col.name}' has no usable value: every row is empty or missing")
    if not col.numeric:
        raise DataError(
            f"column '{col.name}' holds {col.kind} values; a regression target must be numeric"
        )


def coerce_label(value: object, kind: str, what: str) -> Label:
    """Turn a class named on the command line ('1', 'true') into the labels' own type."""
    if not isinstance(value, str) or kind == "string":
        if isinstance(value, bool | int | float | str):
            return value
        raise OptionError(f"{what} {value!r} is not a label value")
    text = value.strip()
    try:
        if kind == "integer":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise OptionError(f"{what} {value!r} is not a number, but the labels are numbers") from None
    if kind == "bool":
        low = text.lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise OptionError(f"{what} {value!r} is not true or false, but the labels are booleans")
    return value


def _classify(
    col: ColumnStats,
    task: str,
    reason: str,
    classes: Sequence[object] | None,
    positive: object | None,
    n_missing: int = 0,
) -> TaskDecision:
    found = counted(col)
    if found is None and col.counts is not None and col.counts.overflowed:
        raise DataError(_too_many_classes(col))
    if found is None:
        raise DataError(
            f"column '{col.name}' does not hold class labels (too many distinct values, or "
            "numbers that are not whole); for a numeric target use a regression loss such as "
            "--loss mse, or --task regression"
        )
    seen, seen_counts, seen_weights = found
    if not seen:
        raise DataError(f"column '{col.name}' has no usable value: every row is empty or missing")
    warnings: list[str] = []
    kind = label_kind(col)
    declared = declared_of(col)
    if classes is not None:
        order = [coerce_label(c, kind, "class") for c in classes]
        if len(set(order)) != len(order):
            raise OptionError("--classes names a class more than once")
        refuse_unknown(col, seen, order, "--classes", "add them to --classes")
        source = "in the order of --classes"
    elif declared is not None:
        order = list(declared.names or ())
        refuse_unknown(
            col, seen, order, "its declared classes", "give all the classes with --classes"
        )
        source = ORDER_SOURCE[declared.source, declared.ordered]
    else:
        order = list(seen)
        source = "in ascending order, from the data"
        if col.declared is not None and col.declared.conflict is not None:
            warnings.append(conflicting(col, col.declared))
    pos = None if positive is None else coerce_label(positive, kind, "--positive")
    if task == "binary":
        if pos is not None and pos not in order:
            if len(order) >= 2:
                raise OptionError(
                    f"--positive {pos!r} is not one of the classes {format_values(order)}"
                )
            order.append(pos)
        if len(order) == 1:
            order, note = _complete_single_class(col, order[0])
            warnings.append(note)
        if len(order) != 2:
            raise DataError(
                f"a binary task needs 2 classes but column '{col.name}' has {len(order)}: "
                f"{format_values(order)}; use --task multiclass, or pass --classes"
            )
        if pos is not None:
            order = [order[0] if order[1] == pos else order[1], pos]
    elif task == "ordinal" and classes is None and kind == "string" and not is_ordered(declared):
        warnings.append(
            f"ordinal classes are text, ordered by code point: {format_values(order)}; "
            "if that is not their order, give it with --classes"
        )
    if task == "ordinal" and len(order) < 2:
        raise DataError(
            f"an ordinal task needs at least 2 classes, but column '{col.name}' has {len(order)}"
        )
    if task != "binary" and pos is not None:
        raise OptionError("--positive only applies to binary tasks")
    counts, weights = in_order(order, seen, seen_counts, seen_weights)
    if classes is None and declared is None and col.kind == "string":
        from .labelsets import joined_labels_hint

        hint = joined_labels_hint(col.name, seen, seen_counts.tolist(), n_missing)
        if hint is not None:
            warnings.append(hint)
    warnings += index_warnings(col.name, task, order, kind, declared, classes, pos)
    absent = [order[i] for i in np.flatnonzero(counts == 0)]
    if absent:
        warnings.append(absent_warning(absent))
    if len(order) == 1:
        warnings.append(
            f"only one class ({show(order[0])}) in column '{col.name}': a softmax over one "
            "output always predicts it; name the other classes with --classes"
        )
    if pos is not None:
        source += ", the positive class from --positive"
    reason = f"{reason}; classes {source}"
    return TaskDecision(task, reason, tuple(order), counts, weights, tuple(warnings))  # type: ignore[arg-type]


def _complete_single_class(col: ColumnStats, only: Label) -> tuple[list[Label], str]:
    """Infer the other class of a 0/1 or boolean column that shows only one value."""
    if isinstance(only, bool):
        other: Label = not only
    elif only in (0, 1) and col.kind in ("integer", "float"):
        other = type(only)(1 - only)
    else:
        raise DataError(
            f"column '{col.name}' has only one class ({show(only)}); name the other class "
            "with --classes or --positive"
        )
    order = sorted([only, other])
    return (
        order,
        f"only one class ({show(only)}) in the data; the other class is taken to be {show(other)}",
    )


def _decide_multi(stats: LabelStats, task: str, reason: str) -> TaskDecision:
    cols = stats.columns
    for col in cols:
        if col.kind == "null":
            raise DataError(
                f"column '{col.name}' has no usable value: every row is empty or missing"
            )
    if task in ("binary", "multiclass"):
        raise OptionError(
            f"a {task} task takes one target column (or, for multiclass, one-hot 0/1 columns), "
            f"not {len(cols)}; use --task multilabel"
        )
    binary = [_zero_one(c) for c in cols]
    if task == "auto":
        if all(b is not None for b in binary):
            task, reason = "multilabel", f"{len(cols)} target columns, all 0/1"
        elif all(c.numeric for c in cols):
            task, reason = "regression", f"{len(cols)} numeric target columns"
        else:
            text = [c.name for c in cols if not c.numeric]
            raise DataError(
                f"target columns {', '.join(text)} hold text; several targets must be all 0/1 "
                "(multilabel) or all numeric (regression)"
            )
    if task == "regression":
        for col in cols:
            _require_numeric(col)
        return TaskDecision("regression", reason)
    counts = np.zeros(len(cols), np.int64)
    weights = np.zeros(len(cols), np.float64)
    warnings = []
    for j, (col, pair) in enumerate(zip(cols, binary, strict=True)):
        if pair is None:
            raise DataError(
                f"multilabel target column '{col.name}' must hold only 0 and 1 (or true/false)"
            )
        counts[j], weights[j] = pair
        if counts[j] == 0 or counts[j] == stats.n_rows:
            warnings.append(
                f"label '{col.name}' is {'never' if counts[j] == 0 else 'always'} positive"
            )
    return TaskDecision(
        "multilabel", reason, tuple(c.name for c in cols), counts, weights, tuple(warnings)
    )


def _zero_one(col: ColumnStats) -> tuple[int, float] | None:
    """(positive rows, positive weight) of a 0/1 column, or None if it is not 0/1."""
    counted = col.counts.result() if col.counts is not None else None
    if counted is None or not col.numeric:
        return None
    values, counts, weights = counted
    if any(
        not (v is True or v is False or (isinstance(v, int | float) and v in (0, 1)))
        for v in values
    ):
        return None
    pos = [i for i, v in enumerate(values) if v == 1]
    return (int(counts[pos[0]]), float(weights[pos[0]])) if pos else (0, 0.0)


def _one_hot(
    stats: LabelStats,
    task: str,
    reason: str,
    classes: Sequence[object] | None,
    positive: object | None,
) -> TaskDecision | None:
    """Several 0/1 target columns with exactly one 1 per row: one-hot multiclass.

    Returns None when the rule does not apply (the columns are then multilabel or
    regression targets, see :func:`_decide_multi`).  Under ``task="multiclass"`` columns
    that are not one-hot are an error saying how many rows are not.
    """
    cols = stats.columns
    if task not in ("auto", "multiclass"):
        return None
    pairs = [_zero_one(c) for c in cols]
    zero_one = all(p is not None for p in pairs) and all(c.kind != "null" for c in cols)
    rows, one_hot = stats.n_rows, stats.one_hot_rows
    if not (zero_one and one_hot == rows and rows > 0):
        if task != "multiclass":
            return None
        if not zero_one:
            raise OptionError(
                f"a multiclass task on {len(cols)} target columns needs them one-hot (0/1, one 1 "
                "per row); they are not all 0/1: give the class column as the one target"
            )
        what = (
            "these statistics do not record whether the rows are one-hot"
            if one_hot is None
            else f"{rows - one_hot} of the {rows} row(s) have no 1 or several"
        )
        raise DataError(
            f"a multiclass task on {len(cols)} 0/1 target columns needs them one-hot, but "
            f"{what}; use --task multilabel for independent labels"
        )
    names: list[Label] = [c.name for c in cols]
    if classes is not None:
        if len(classes) != len(cols):
            raise OptionError(
                f"--classes names {len(classes)} classes but there are {len(cols)} one-hot "
                "target columns; name one class per column, in column order"
            )
        names = [c if isinstance(c, bool | int | float | str) else str(c) for c in classes]
    if positive is not None:
        raise OptionError("--positive only applies to binary tasks")
    counts = np.array([p[0] for p in pairs if p is not None], np.int64)
    weights = np.array([p[1] for p in pairs if p is not None], np.float64)
    shape = (
        f"one-hot: each of the {rows} rows has exactly one 1 in the {len(cols)} 0/1 target "
        "columns, so class k is column k"
    )
    if task == "multiclass":
        reason = f"{reason}; {shape}"
    else:
        reason = f"{shape} (for independent labels: task='multilabel', --task multilabel)"
    absent = [names[i] for i in np.flatnonzero(counts == 0)]
    warnings = (absent_warning(absent),) if absent else ()
    return TaskDecision("multiclass", reason, tuple(names), counts, weights, warnings)


def decide_tokens(stats: TokenStats, vocab_size: int | None = None) -> TaskDecision:
    """The classes of a token stream: the ids 0 .. V-1, in id order.

    V is ``vocab_size`` (the option), else the one the statistics were counted for, else
    the largest id seen + 1, with a warning: a model with a larger vocabulary has outputs
    this bias does not cover.
    """
    if stats.n_seen == 0:
        raise DataError(f"there are no token ids in {stats.spec.target!r}")
    if stats.n_tokens == 0:
        ignored = ", ".join(str(i) for i in stats.spec.ignore_index)
        raise DataError(
            f"all {stats.n_seen:,} token positions are --ignore-index values ({ignored}); "
            "there is nothing to count"
        )
    warnings: list[str] = []
    v = vocab_size if vocab_size is not None else stats.spec.vocab_size
    largest = stats.largest_id
    assert largest is not None
    if v is None:
        v = largest + 1
        warnings.append(
            f"--vocab-size not given: the vocabulary is taken to be the largest token id + 1 "
            f"= {v:,}; a model with more outputs needs --vocab-size, since this bias has no "
            f"entry for ids above {largest:,}"
        )
        source = "the largest id + 1"
    else:
        stats.check_vocab(v)
        source = "--vocab-size"
    if stats.n_null_rows:
        warnings.append(
            f"{stats.n_null_rows:,} rows of '{stats.spec.target}' hold no token ids (null) "
            "and were skipped"
        )
    warnings.extend(stats.notes)
    counts = np.zeros(v, np.int64)
    counts[: min(v, stats.counts.size)] = stats.counts[:v]
    dtype = f"{stats.spec.dtype} " if stats.spec.dtype else ""
    reason = (
        f"--task tokens: {stats.n_tokens:,} {dtype}token ids, each a target of a softmax "
        f"over a vocabulary of {v:,} ({source})"
    )
    return TaskDecision(
        "tokens",
        reason,
        tuple(range(v)),
        counts,
        counts.astype(np.float64),
        tuple(warnings),
    )
