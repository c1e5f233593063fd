"""Statistics -> task -> loss -> result: the one place a BiasResult is put together."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import DataError
from .losses import Loss, LossData
from .losses.base import MAX_LINES, fmt
from .losses.classification import BinaryCrossEntropy, CrossEntropy
from .losses.priors import sampled_priors
from .options import BiasOptions
from .result import BiasResult, TargetStatistics
from .stats import LabelStats
from .tasks import TaskDecision, decide_task

__all__ = ["WEIGHT_COLUMN", "finish", "result_from_stats"]

#: The name given to ``sample_weight`` when labels come from memory.
WEIGHT_COLUMN = "__biascalc_weight__"


def result_from_stats(
    stats: LabelStats,
    options: BiasOptions,
    *,
    source: tuple[str, ...] | None = None,
) -> BiasResult:
    """Turn label statistics into a result: task -> loss -> bias and expected losses."""
    names = ", ".join(f"'{t}'" for t in stats.spec.targets)
    if stats.rows_seen == 0 and stats.spec.where is not None:
        raise DataError(f"no rows pass --where {stats.spec.where!r}; check the expression")
    if stats.n_rows == 0 and stats.rows_seen == 0:
        raise DataError("there are no labels: the input has no rows")
    if stats.n_rows == 0:
        raise DataError(
            f"no rows with a label in {names}"
            + (f" ({stats.n_missing} rows have a missing label)" if stats.n_missing else "")
        )
    if stats.weighted and not math.isfinite(stats.weight_sum):
        raise DataError(
            f"the sample weights in '{stats.spec.weight}' add up to more than the largest "
            "floating-point number; divide them by a constant (only their ratios matter)"
        )
    if stats.weighted and stats.weight_sum <= 0:
        raise DataError(
            f"the sample weights in '{stats.spec.weight}' are all zero; "
            "at least one must be positive"
        )
    decision = decide_task(
        stats,
        task=options.task,
        family=options.family if options.loss != "auto" else None,
        classes=options.classes,
        positive=options.positive,
    )
    weight = stats.spec.weight if stats.spec.weight != WEIGHT_COLUMN else "sample_weight"
    return finish(
        decision,
        options,
        n_samples=stats.n_rows,
        n_missing=stats.n_missing,
        weight_sum=stats.weight_sum,
        targets=stats.spec.targets,
        weight=weight,
        stats=stats,
        source=source,
        where=stats.spec.where,
    )


def finish(
    decision: TaskDecision,
    options: BiasOptions,
    *,
    n_samples: int | None,
    n_missing: int,
    weight_sum: float,
    targets: tuple[str, ...],
    weight: str | None,
    stats: LabelStats | None = None,
    source: tuple[str, ...] | None = None,
    where: str | None = None,
) -> BiasResult:
    """A decided task -> the loss's fit and the expected losses -> BiasResult."""
    statistics = priors = prior_bias = training_priors = None
    explanation: tuple[str, ...] = ()
    if decision.task == "regression":
        assert stats is not None
        loss = options.loss_for("regression")
        data = LossData(columns=tuple(stats.columns))
        statistics = tuple(
            TargetStatistics(
                c.name,
                c.moments.mean,
                c.moments.variance**0.5,
                c.moments.minimum,
                c.moments.maximum,
            )
            for c in stats.columns
        )
    else:
        assert decision.class_weight is not None and decision.classes is not None
        priors = decision.class_weight / weight_sum
        counts = None if decision.counts is None else decision.counts.astype(np.float64)
        loss = options.loss_for(decision.task, decision.classes, priors, counts)
        data = plain_data = _class_data(decision, priors, loss)
        if options.sampler_power is not None:
            # Without counts (--prior) the class probabilities are proportional to them.
            training_priors, line = sampled_priors(
                priors if counts is None else counts,
                decision.class_weight if counts is not None else priors,
                options.sampler_power,
            )
            data = _class_data(decision, training_priors, loss)
            explanation = (line,)
        explanation += _class_weight_lines(options, loss)
    fit = loss.fit(data)
    if decision.task != "regression":
        plain = _plain(loss, options)
        prior_bias = (
            fit.bias if plain is loss and data is plain_data else plain.fit(plain_data).bias
        )
    approximate = _approximation_note(stats)
    zero = loss.mean_loss(data, np.zeros_like(fit.bias))
    recommended = loss.mean_loss(data, fit.bias)
    return BiasResult(
        task=decision.task,
        task_reason=decision.reason,
        loss=loss.name,
        activation=loss.activation,
        targets=targets,
        bias=fit.bias,
        n_samples=n_samples,
        n_missing=n_missing,
        expected_loss_zero_bias=zero,
        expected_loss_recommended=recommended,
        loss_parameters={
            **loss.parameters(),
            **({} if options.sampler is None else {"sampler": options.sampler}),
        },
        weight=weight,
        weight_sum=weight_sum if weight is not None else None,
        classes=decision.classes,
        counts=None if decision.counts is None else tuple(int(c) for c in decision.counts),
        priors=None if priors is None else tuple(float(p) for p in priors),
        training_priors=None
        if training_priors is None
        else tuple(float(p) for p in training_priors),
        statistics=statistics,
        prior_bias=prior_bias,
        outputs=loss.output_names(_outputs(decision, targets)),
        explanation=(*explanation, *fit.explanation),
        warnings=(*decision.warnings, *fit.warnings, *approximate, *(stats.notes if stats else ())),
        source=source,
        where=where,
    )


def _approximation_note(stats: LabelStats | None) -> tuple[str, ...]:
    """Order statistics from a quantile sketch say how far off they may be."""
    if stats is None or not any(c.store is not None for c in stats.columns):
        return ()
    from .stats.sketch import approximation_warning

    note = approximation_warning(stats)
    return (note,) if note else ()


def _class_data(
    decision: TaskDecision, priors: np.ndarray[Any, np.dtype[np.float64]], loss: Loss
) -> LossData:
    """Class shares -> what the loss works from, per output unit."""
    assert decision.classes is not None
    labels = tuple(_label(c) for c in decision.classes)
    if decision.task == "binary":
        return LossData(priors=priors[1:], labels=labels[1:])
    if decision.task == "ordinal":
        # Output k of CORAL predicts P(y > c_k) = sum of the shares above class k,
        # k = 0 .. K-2; CORN's conditional shares are ratios of these.
        above = np.clip(1.0 - np.cumsum(priors)[:-1], 0.0, 1.0)
        names = tuple(f"> {c}" for c in labels[:-1])
        return LossData(priors=above, labels=loss.output_names(names))
    return LossData(priors=priors, labels=labels)


def _class_weight_lines(options: BiasOptions, loss: Loss) -> tuple[str, ...]:
    """--explain lines saying where effective-number class weights come from."""
    weights = getattr(loss, "class_weight", None)
    if not isinstance(options.class_weight, str) or options.class_weight == "balanced":
        return ()
    shown = ", ".join(fmt(w) for w in (weights if weights is not None else ())[:MAX_LINES])
    return (
        f"--class-weight {options.class_weight}: w_k = (1 - beta) / (1 - beta^n_k), n_k = rows "
        f"of class k, scaled to sum to K [Cui et al. 2019]: [{shown}]",
    )


def _outputs(decision: TaskDecision, targets: tuple[str, ...]) -> tuple[str, ...]:
    """A name for each output unit, in order."""
    classes = [str(c) for c in decision.classes or ()]
    if decision.task == "binary":
        return (classes[1],)
    if decision.task == "ordinal":
        return tuple(f"> {c}" for c in classes[:-1])
    if decision.task == "regression":
        return targets
    return tuple(classes)


def _plain(loss: Loss, options: BiasOptions) -> Loss:
    """The same loss without training-time adjustments (``loss`` itself if it has none):
    its bias is the plain prior."""
    if isinstance(loss, CrossEntropy):
        if loss.parameters().keys() <= {"center"}:
            return loss
        return CrossEntropy(options.center, eps=options.eps)
    if isinstance(loss, BinaryCrossEntropy):
        if not loss.parameters():
            return loss
        return BinaryCrossEntropy(eps=options.eps)
    if loss.family == "binary":  # focal
        return BinaryCrossEntropy(eps=options.eps)
    return loss


def _label(value: object) -> str:
    return repr(value) if isinstance(value, str) else str(value)
