"""The result of a computation and its JSON shape (schema version 1).

The JSON object is documented in README.md and as a JSON Schema in
docs/biascalc-result.schema.json; :class:`BiasResultDict` describes it for type checkers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, TypedDict, cast

import numpy as np
import numpy.typing as npt

from ._literals import Numbers, json_text
from ._version import __version__

__all__ = [
    "SCHEMA_VERSION",
    "BiasResult",
    "BiasResultDict",
    "ExpectedLossDict",
    "TokenSummary",
    "TokenSummaryDict",
]

SCHEMA_VERSION = 1
Label = bool | int | float | str


class ExpectedLossDict(TypedDict):
    zero_bias: float | None
    recommended: float | None


class TargetStatisticsDict(TypedDict):
    target: str
    mean: float | None
    std: float | None
    min: float | None
    max: float | None


class TokenSummaryDict(TypedDict):
    vocab_size: int
    vocab_size_from: str
    n_tokens: int
    n_ignored: int
    ignore_index: list[int]
    dtype: str | None
    n_absent: int
    entropy: float
    top: list[list[int]]


class BiasResultDict(TypedDict):
    schema_version: int
    biascalc_version: str
    source: list[str] | None
    where: str | None
    task: str
    task_reason: str
    loss: str
    loss_parameters: dict[str, Any]
    activation: str
    targets: list[str]
    weight: str | None
    classes: list[Label] | None
    counts: list[int] | None
    priors: list[float] | None
    training_priors: list[float] | None
    statistics: list[TargetStatisticsDict] | None
    n_samples: int | None
    n_missing: int
    weight_sum: float | None
    bias: list[float | None]
    outputs: list[str]
    prior_bias: list[float | None] | None
    expected_initial_loss: ExpectedLossDict
    explanation: list[str]
    warnings: list[str]
    median_frequency_weights: list[float | None] | None
    tokens: TokenSummaryDict | None


def _finite(x: float) -> float | None:
    """JSON has no inf/nan: non-finite numbers become null."""
    x = float(x)
    return x if math.isfinite(x) else None


def _finite_numbers(values: npt.NDArray[np.float64]) -> Numbers:
    """A float array as JSON values: non-finite ones become null."""
    return Numbers(np.asarray(values, dtype=np.float64), null_non_finite=True)


@dataclass(frozen=True)
class TargetStatistics:
    """Summary of a regression target (weighted when weights are given)."""

    target: str
    mean: float
    std: float
    minimum: float
    maximum: float


@dataclass(frozen=True)
class TokenSummary:
    """What a person reads about a token stream instead of V rows (``--task tokens``).

    ``entropy`` is the unigram entropy -sum_k p_k log p_k of the counted tokens, in nats:
    the mean cross-entropy at step 0 of a bias that is exactly log p (no clipping).
    ``top`` lists (id, count) of the most frequent ids, most frequent first.
    """

    vocab_size: int
    vocab_size_from: str
    n_tokens: int
    n_ignored: int
    ignore_index: tuple[int, ...]
    dtype: str | None
    n_absent: int
    entropy: float
    top: tuple[tuple[int, int], ...]

    def to_dict(self) -> TokenSummaryDict:
        return {
            "vocab_size": self.vocab_size,
            "vocab_size_from": self.vocab_size_from,
            "n_tokens": self.n_tokens,
            "n_ignored": self.n_ignored,
            "ignore_index": list(self.ignore_index),
            "dtype": self.dtype,
            "n_absent": self.n_absent,
            "entropy": float(self.entropy),
            "top": [[int(i), int(c)] for i, c in self.top],
        }


@dataclass(frozen=True)
class BiasResult:
    """The recommended output-layer bias and everything needed to trust it.

    ``bias`` has one value per output unit: 1 for binary, K for multiclass, one per
    target for multilabel and regression.  ``classes`` is aligned with it for multiclass
    (for binary it is ``(negative, positive)``; the single output is the positive class;
    for multilabel it holds the target names).  ``training_priors`` are the class shares
    the loss sees under ``sampler`` (None without one); ``priors`` are the data's.

    >>> from biascalc import compute_bias
    >>> r = compute_bias([0, 0, 0, 1])
    >>> r.task, r.classes, round(float(r.bias[0]), 6)
    ('binary', (0, 1), -1.098612)
    """

    task: str
    task_reason: str
    loss: str
    activation: str
    targets: tuple[str, ...]
    bias: npt.NDArray[np.float64]
    n_samples: int | None
    n_missing: int
    expected_loss_zero_bias: float
    expected_loss_recommended: float
    loss_parameters: dict[str, Any] = field(default_factory=dict)
    weight: str | None = None
    weight_sum: float | None = None
    classes: tuple[Label, ...] | None = None
    counts: tuple[int, ...] | None = None
    priors: tuple[float, ...] | None = None
    training_priors: tuple[float, ...] | None = None
    statistics: tuple[TargetStatistics, ...] | None = None
    prior_bias: npt.NDArray[np.float64] | None = None
    outputs: tuple[str, ...] = ()
    explanation: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    source: tuple[str, ...] | None = None
    #: The row filter (``--where``) the counted rows passed, as given; None: every row.
    where: str | None = None
    #: Masks: Eigen & Fergus's median-frequency class weights, aligned with ``classes``
    #: (None for a class with no pixels); see :mod:`biascalc.stats.pixels`.
    median_frequency_weights: tuple[float | None, ...] | None = None
    tokens: TokenSummary | None = None

    def to_dict(self) -> BiasResultDict:
        """The JSON object, as plain Python values (what ``--format json`` prints)."""
        fields = {k: v.to_list() if isinstance(v, Numbers) else v for k, v in self._fields()}
        return cast(BiasResultDict, fields)

    def _fields(self) -> list[tuple[str, Any]]:
        """The fields of :meth:`to_dict`, in order, with its long lists of numbers still
        arrays (:class:`~biascalc._literals.Numbers`), for :meth:`to_json` to write."""
        return [
            ("schema_version", SCHEMA_VERSION),
            ("biascalc_version", __version__),
            ("source", None if self.source is None else list(self.source)),
            ("where", self.where),
            ("task", self.task),
            ("task_reason", self.task_reason),
            ("loss", self.loss),
            ("loss_parameters", dict(self.loss_parameters)),
            ("activation", self.activation),
            ("targets", list(self.targets)),
            ("weight", self.weight),
            ("classes", None if self.classes is None else list(self.classes)),
            ("counts", None if self.counts is None else Numbers.of(self.counts, int)),
            ("priors", None if self.priors is None else Numbers.of(self.priors, float)),
            (
                "training_priors",
                None if self.training_priors is None else Numbers.of(self.training_priors, float),
            ),
            (
                "statistics",
                None
                if self.statistics is None
                else [
                    {
                        "target": s.target,
                        "mean": _finite(s.mean),
                        "std": _finite(s.std),
                        "min": _finite(s.minimum),
                        "max": _finite(s.maximum),
                    }
                    for s in self.statistics
                ],
            ),
            ("n_samples", self.n_samples),
            ("n_missing", self.n_missing),
            ("weight_sum", None if self.weight_sum is None else _finite(self.weight_sum)),
            ("bias", _finite_numbers(self.bias)),
            ("outputs", list(self.outputs)),
            ("prior_bias", None if self.prior_bias is None else _finite_numbers(self.prior_bias)),
            (
                "expected_initial_loss",
                {
                    "zero_bias": _finite(self.expected_loss_zero_bias),
                    "recommended": _finite(self.expected_loss_recommended),
                },
            ),
            ("explanation", list(self.explanation)),
            ("warnings", list(self.warnings)),
            (
                "median_frequency_weights",
                None
                if self.median_frequency_weights is None
                else [None if w is None else _finite(w) for w in self.median_frequency_weights],
            ),
            ("tokens", None if self.tokens is None else self.tokens.to_dict()),
        ]

    def to_json(self, indent: int | None = 2) -> str:
        """``to_dict()`` as JSON text; floats use repr, so they round-trip exactly.

        With ``indent``, each top-level field is on its own line and its value is written
        compactly (lists on one line): readable, and fast for 100,000 classes because
        long lists are written in bulk (:func:`biascalc._literals.json_text`: the same
        text as ``json.dumps``).  Without it, the text is ``json.dumps(to_dict())``.
        """
        memo: dict[Any, str] = {}
        before, between, after = ("{", ", ", "}") if indent is None else ("{\n", ",\n", "\n}")
        pad = "" if indent is None else " " * indent
        parts = [before]
        for k, v in self._fields():
            # One join at the end: the 100,000-value lists are copied once, not per step.
            parts += [between, pad, json.dumps(k), ": ", json_text(v, memo)]
        parts[1] = ""  # no separator before the first field
        return "".join(parts) + after
