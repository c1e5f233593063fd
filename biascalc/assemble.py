"""Statistics -> task -> loss -> result: the one place a BiasResult is put together."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from .classnames import LabelTexts
from .errors import DataError, OptionError
from .losses import Loss, LossData
from .losses.base import MAX_LINES, fmt
from .losses.classification import BinaryCrossEntropy, CrossEntropy
from .losses.priors import sampled_priors
from .options import BiasOptions
from .result import BiasResult, TargetStatistics, TokenSummary
from .stats import LabelStats
from .stats.tokens import TokenStats
from .tasks import TaskDecision, decide_task, decide_tokens

__all__ = ["WEIGHT_COLUMN", "finish", "result_from_stats"]

#: The name given to ``sample_weight`` when labels come from memory.
WEIGHT_COLUMN = "__biascalc_weight__"
#: Token results list this many of the most frequent ids.
TOP_TOKENS = 10


def result_from_stats(
    stats: LabelStats | TokenStats,
    options: BiasOptions,
    *,
    source: tuple[str, ...] | None = None,
) -> BiasResult:
    """Turn label statistics into a result: task -> loss -> bias and expected losses."""
    if isinstance(stats, TokenStats):
        return _token_result(stats, options, source)
    if options.task == "tokens":
        raise DataError("--task tokens needs token counts; these statistics are of label columns")
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
    tokens: TokenSummary | None = None,
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
        data = plain_data = _class_data(decision, priors, loss, weight_sum)
        if options.sampler_power is not None:
            # Without counts (--prior) the class probabilities are proportional to them.
            training_priors, line = sampled_priors(
                priors if counts is None else counts,
                decision.class_weight if counts is not None else priors,
                options.sampler_power,
            )
            data = _class_data(decision, training_priors, loss, weight_sum)
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
        counts=None if decision.counts is None else tuple(decision.counts.tolist()),
        priors=None if priors is None else tuple(priors.tolist()),
        training_priors=None if training_priors is None else tuple(training_priors.tolist()),
        statistics=statistics,
        prior_bias=prior_bias,
        outputs=loss.output_names(_outputs(decision, targets)),
        explanation=(*explanation, *fit.explanation),
        warnings=(*decision.warnings, *fit.warnings, *approximate, *(stats.notes if stats else ())),
        source=source,
        where=where,
        tokens=tokens,
    )


def _approximation_note(stats: LabelStats | None) -> tuple[str, ...]:
    """Order statistics from a quantile sketch say how far off they may be."""
    if stats is None or not any(c.store is not None for c in stats.columns):
        return ()
    from .stats.sketch import approximation_warning

    note = approximation_warning(stats)
    return (note,) if note else ()


def _token_result(
    stats: TokenStats, options: BiasOptions, source: tuple[str, ...] | None
) -> BiasResult:
    """Token counts -> the ids 0..V-1 as classes of a softmax -> BiasResult."""
    if options.task not in ("auto", "tokens"):
        raise OptionError(f"token counts give a --task tokens result, not --task {options.task}")
    decision = decide_tokens(stats, options.vocab_size)
    assert decision.counts is not None
    counts = decision.counts
    n = stats.n_tokens
    p = counts[counts > 0] / n
    # Most frequent first; equal counts by id (a stable sort of the negated counts).
    top = np.argsort(-counts, kind="stable")[:TOP_TOKENS]
    given = options.vocab_size is not None or stats.spec.vocab_size is not None
    summary = TokenSummary(
        vocab_size=int(counts.size),
        vocab_size_from="--vocab-size" if given else "largest id + 1",
        n_tokens=n,
        n_ignored=stats.n_ignored,
        ignore_index=stats.spec.ignore_index,
        dtype=stats.spec.dtype,
        n_absent=int(np.count_nonzero(counts == 0)),
        entropy=-math.fsum((p * np.log(p)).tolist()),  # exactly rounded, run to run
        top=tuple((int(i), int(counts[i])) for i in top if counts[i] > 0),
    )
    return finish(
        decision,
        options,
        n_samples=n,
        n_missing=stats.n_ignored,
        weight_sum=float(n),
        targets=(stats.spec.target,),
        weight=None,
        source=source,
        tokens=summary,
    )


def _class_data(
    decision: TaskDecision,
    priors: np.ndarray[Any, np.dtype[np.float64]],
    loss: Loss,
    total: float,
) -> LossData:
    """Class shares -> what the loss works from, per output unit."""
    assert decision.classes is not None
    if decision.task == "tokens":  # ids 0 .. V-1 name themselves
        names = _token_names(len(priors))
        return LossData(priors=priors, labels=names, total=total, summarise_clipping=True)
    labels = LabelTexts(decision.classes)
    if decision.task == "binary":
        return LossData(priors=priors[1:], labels=labels[1:])
    if decision.task == "ordinal":
        # Output k of CORAL predicts P(y > c_k) = sum of the shares above class k,
        # k = 0 .. K-2; CORN's conditional shares are ratios of these.
        above = np.clip(1.0 - np.cumsum(priors)[:-1], 0.0, 1.0)
        names = tuple(f"> {c}" for c in labels[:-1])
        return LossData(priors=above, labels=loss.output_names(names))
    return LossData(priors=priors, labels=labels, total=total)


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
    if decision.task == "tokens":
        return _token_names(len(decision.classes or ()))
    classes = tuple(map(str, decision.classes or ()))
    if decision.task == "binary":
        return (classes[1],)
    if decision.task == "ordinal":
        return tuple(f"> {c}" for c in classes[:-1])
    if decision.task == "regression":
        return targets
    return classes


def _plain(loss: Loss, options: BiasOptions) -> Loss:
    """The same loss without training-time adjustments (``loss`` itself if it has none):
    its bias is the plain prior."""
    if isinstance(loss, CrossEntropy):
        if loss.parameters().keys() <= {"center"}:
            return loss
        return CrossEntropy(options.center, eps=options.eps, smoothing=loss.smoothing)
    if isinstance(loss, BinaryCrossEntropy):
        if not loss.parameters():
            return loss
        return BinaryCrossEntropy(eps=options.eps)
    if loss.family == "binary":  # focal
        return BinaryCrossEntropy(eps=options.eps)
    return loss


@functools.lru_cache(maxsize=2)
def _token_names(n: int) -> tuple[str, ...]:
    """ "0" .. "n-1": the labels and output names of a vocabulary (built once per result)."""
    return tuple(map(str, range(n)))
