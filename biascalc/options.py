"""The options of a computation, validated once, and what they imply for reading."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from .errors import DataError, OptionError
from .losses import DEFAULT_EPS, DEFAULT_LOSS, LOSSES, Loss, make_loss
from .losses.priors import effective_number_weights, parse_sampler
from .stats import StatsSpec
from .tasks import TASKS, coerce_label

if TYPE_CHECKING:
    from .stats.tokens import TokenSpec

__all__ = ["BiasOptions", "task_for_tokens"]

FloatArray = npt.NDArray[np.float64]
# Which tasks each loss family fits.
_FITS = {
    "regression": ("regression",),
    "binary": ("binary", "multilabel"),
    "multiclass": ("multiclass", "tokens"),
    "ordinal": ("ordinal",),
}

#: --class-weight median-frequency: Eigen & Fergus's weights from the masks' pixel counts
#: (stats/pixels.py), turned into LABEL=W by images.py before the loss is made.
MEDIAN_FREQUENCY = "median-frequency"
_NAMED_WEIGHTS = ("balanced", MEDIAN_FREQUENCY)


@dataclass(frozen=True)
class BiasOptions:
    """Everything that decides the answer besides the data.

    The keyword arguments of :func:`biascalc.compute_bias` are these fields.
    ``class_weight`` is ``"balanced"``, ``"effective:BETA"`` (Cui et al. 2019) or a
    mapping label -> weight (labels not named weigh 1); ``pos_weight`` is one number or
    one per output (multilabel).  ``activation`` (identity, exp, softplus, sigmoid) and
    ``output_range`` (LO, HI) put a function behind a regression head;
    ``variance_activation`` is that of the variance of ``gaussian_nll`` / scale of
    ``laplace_nll``; ``logit_adjustment`` is TAU of Menon et al. 2021; ``sampler`` is
    ``"balanced"``, ``"sqrt"`` or ``"power:Q"``.
    ``ignore_index``: label values to skip, as ``CrossEntropyLoss(ignore_index=...)``
    skips them; None means the input's default (255 for masks, -100 for --task tokens).
    ``num_classes``: masks, the classes are the ids 0 .. K-1.  Other inputs refuse both
    (:meth:`stats_spec`).
    """

    task: str = "auto"
    loss: str = "auto"
    classes: tuple[object, ...] | None = None
    positive: object | None = None
    center: bool = False
    huber_delta: float = 1.0
    quantile: float = 0.5
    tweedie_power: float = 1.5
    eps: float = DEFAULT_EPS
    pos_weight: float | tuple[float, ...] | None = None
    class_weight: str | Mapping[object, float] | None = None
    label_smoothing: float = 0.0
    focal_gamma: float = 2.0
    focal_alpha: float = 0.25
    activation: str | None = None
    output_range: tuple[float, float] | None = None
    variance_activation: str | None = None
    logit_adjustment: float | None = None
    sampler: str | None = None
    ignore_index: tuple[int, ...] | None = None
    num_classes: int | None = None
    vocab_size: int | None = None
    smoothing: float = 0.0
    #: Split text labels at this separator into label sets (multilabel), ``--label-sep``.
    label_sep: str | None = None

    def __post_init__(self) -> None:
        self._check_pixel_options()
        if self.task != "auto" and self.task not in TASKS:
            raise OptionError(
                f"unknown task {self.task!r}; choose auto or one of {', '.join(TASKS)}"
            )
        if self.loss != "auto" and self.loss not in LOSSES:
            raise OptionError(
                f"unknown loss {self.loss!r}; choose auto or one of {', '.join(LOSSES)}"
            )
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(self.classes))
            if not self.classes:
                raise OptionError("--classes is empty; name at least two classes")
        if self.pos_weight is not None and not isinstance(self.pos_weight, int | float):
            object.__setattr__(self, "pos_weight", tuple(float(x) for x in self.pos_weight))
        if (
            self.loss != "auto"
            and self.task != "auto"
            and self.task not in _FITS[LOSSES[self.loss].family]
        ):
            raise OptionError(f"--loss {self.loss} does not fit --task {self.task}")
        family = self.family
        if family == "regression" and (self.classes is not None or self.positive is not None):
            raise OptionError("--classes and --positive apply to classification, not regression")
        for name in (
            "huber_delta",
            "quantile",
            "tweedie_power",
            "eps",
            "label_smoothing",
            "focal_gamma",
            "focal_alpha",
        ):
            if not math.isfinite(getattr(self, name)):
                raise OptionError(f"--{name.replace('_', '-')} must be a finite number")
        if self.output_range is not None:
            values = tuple(float(v) for v in self.output_range)
            if len(values) != 2:
                raise OptionError(f"--output-range takes LO,HI, not {len(values)} numbers")
            object.__setattr__(self, "output_range", values)
        if self.logit_adjustment is not None and not math.isfinite(self.logit_adjustment):
            raise OptionError("--logit-adjustment must be a finite number")
        self._check_adjustments(family)
        self._check_tokens()
        self._check_label_sep(family)
        # Build the loss once to validate its parameters (when it is already known).
        probe = self.loss if self.loss != "auto" else DEFAULT_LOSS.get(self.task)
        if probe is not None:
            self._make(
                probe, None if self.class_weight is None else np.ones(2 if probe == "bce" else 3)
            )
        else:
            make_loss("mse", eps=self.eps)
            if self.activation is not None or self.variance_activation is not None:
                # Checked against the loss once it is known; here only the names.
                self._make("mse" if self.variance_activation is None else "gaussian_nll", None)
            if not 0 <= self.label_smoothing < 1:
                raise OptionError(
                    f"--label-smoothing must be in [0, 1), not {self.label_smoothing}"
                )

    def _check_pixel_options(self) -> None:
        if self.ignore_index is not None:
            values = tuple(self.ignore_index)
            if not values or not all(_is_int(v) for v in values):
                raise OptionError(f"--ignore-index takes whole numbers, not {self.ignore_index!r}")
            object.__setattr__(self, "ignore_index", tuple(int(v) for v in values))
        k = self.num_classes
        if k is not None:
            if not _is_int(k) or k < 1:
                raise OptionError(f"--num-classes must be a whole number >= 1, not {k!r}")
            if self.classes is not None and len(tuple(self.classes)) != k:
                raise OptionError(
                    f"--classes names {len(tuple(self.classes))} classes but --num-classes is {k}"
                )

    def refuse_pixel_options(self, what: str) -> None:
        """--ignore-index and --num-classes apply to masks; ``what`` is the input refusing them."""
        given = [
            option
            for option, value in (
                ("--ignore-index", self.ignore_index),
                ("--num-classes", self.num_classes),
            )
            if value is not None
        ]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            tokens = " (--ignore-index also to --task tokens)" if self.ignore_index else ""
            raise OptionError(
                f"{' and '.join(given)} {verb} to --input-format masks{tokens}, not to {what}"
            )

    def _check_adjustments(self, family: str | None) -> None:
        pw = self.pos_weight
        if pw is not None:
            values = (pw,) if isinstance(pw, int | float) else pw
            if not values or any(not (math.isfinite(v) and v > 0) for v in values):
                raise OptionError(f"--pos-weight must be positive numbers, not {pw}")
        if isinstance(self.class_weight, str) and self.class_weight not in _NAMED_WEIGHTS:
            self._effective_beta()
        if self.sampler is not None:
            parse_sampler(self.sampler)
            if self.logit_adjustment is not None:
                raise OptionError(
                    "--logit-adjustment and --sampler are two remedies for the same imbalance "
                    "and leave pi ambiguous (the data's or the sampler's priors); give one"
                )
        if isinstance(self.class_weight, Mapping):
            for label, w in self.class_weight.items():
                if not (isinstance(w, int | float) and math.isfinite(w) and w >= 0):
                    raise OptionError(
                        f"--class-weight for {label!r} must be a non-negative number, not {w!r}"
                    )
        self._check_multilabel(self.task)
        if family != "regression" and family is not None:
            for option, given in (
                ("--activation", self.activation is not None),
                ("--output-range", self.output_range is not None),
                ("--variance-activation", self.variance_activation is not None),
            ):
                if given:
                    raise OptionError(f"{option} applies to regression losses")
        if family in ("regression", "ordinal"):
            for option, given in (
                ("--pos-weight", self.pos_weight is not None),
                ("--class-weight", self.class_weight is not None),
                ("--label-smoothing", bool(self.label_smoothing)),
                ("--sampler", self.sampler is not None),
                ("--logit-adjustment", self.logit_adjustment is not None),
            ):
                if given:
                    article = "an" if family == "ordinal" else "a"
                    raise OptionError(f"{option} does not apply to {article} {family} task")

    def _check_multilabel(self, task: str) -> None:
        if task == "multilabel" and self.class_weight is not None:
            raise OptionError(
                "--class-weight does not apply to multilabel targets; use --pos-weight per label"
            )
        if task == "multilabel" and self.sampler is not None:
            raise OptionError(
                "--sampler does not apply to multilabel targets: a row holds several labels, "
                "so no sampler draws by class"
            )

    def _check_tokens(self) -> None:
        """--vocab-size and --smoothing belong to --task tokens (--ignore-index is shared
        with masks and checked in _check_pixel_options)."""
        if self.task == "tokens":
            if self.classes is not None or self.positive is not None:
                raise OptionError(
                    "--classes and --positive do not apply to --task tokens: the classes are "
                    "the token ids 0 .. V-1; give V with --vocab-size"
                )
            if self.num_classes is not None:
                raise OptionError(
                    "--num-classes is for --input-format masks; give a token stream's "
                    "vocabulary with --vocab-size"
                )
            if self.sampler is not None:
                raise OptionError(
                    "--sampler does not apply to --task tokens: every position of a sequence "
                    "is a target, so no sampler draws by token"
                )
        else:
            for option, given in (
                ("--vocab-size", self.vocab_size is not None),
                ("--smoothing", bool(self.smoothing)),
            ):
                if given:
                    raise OptionError(f"{option} applies to --task tokens only")
        from .stats.tokens import MAX_VOCAB

        v = self.vocab_size
        if v is not None and (
            isinstance(v, bool) or not isinstance(v, int | np.integer) or not 1 <= v <= MAX_VOCAB
        ):
            raise OptionError(
                f"--vocab-size must be a whole number from 1 to {MAX_VOCAB:,}, not {v}"
            )
        if not (math.isfinite(self.smoothing) and self.smoothing >= 0):
            raise OptionError(f"--smoothing must be a non-negative number, not {self.smoothing}")

    def token_spec(self, target: str, dtype: str | None = None) -> TokenSpec:
        """What token readers count for these options (``ignore_index`` None: -100)."""
        from .stats.tokens import DEFAULT_IGNORE_INDEX, TokenSpec

        ignore = DEFAULT_IGNORE_INDEX if self.ignore_index is None else self.ignore_index
        return TokenSpec(target, self.vocab_size, ignore, dtype)

    def _check_label_sep(self, family: str | None) -> None:
        if self.label_sep is None:
            return
        if not isinstance(self.label_sep, str) or not self.label_sep:
            raise OptionError("--label-sep must be a non-empty string such as '|' or ';'")
        if self.task not in ("auto", "multilabel") or family not in (None, "binary"):
            raise OptionError(
                "--label-sep splits each cell into a set of labels, a multilabel target; "
                "it does not fit "
                + (f"--task {self.task}" if self.task not in ("auto", "multilabel") else "the loss")
            )
        if self.positive is not None:
            raise OptionError("--positive does not apply to --label-sep (multilabel) targets")

    @property
    def family(self) -> str | None:
        """'regression', 'binary' (incl. multilabel), 'multiclass', 'ordinal', or None."""
        if self.loss != "auto":
            return LOSSES[self.loss].family
        if self.task == "multilabel":
            return "binary"
        if self.task == "tokens":
            return "multiclass"
        return None if self.task == "auto" else self.task

    def loss_for(
        self,
        task: str,
        classes: Sequence[object] | None = None,
        priors: FloatArray | None = None,
        counts: FloatArray | None = None,
    ) -> Loss:
        """The loss object to use once the task (and for classification, the classes) is known.

        ``priors`` are the data's class shares, ``counts`` the rows per class (None when
        only probabilities are known).
        """
        name = DEFAULT_LOSS[task] if self.loss == "auto" else self.loss
        self._check_multilabel(task)
        self._check_adjustments("binary" if task == "multilabel" else task)
        weights = None
        if self.class_weight is not None and classes is not None and priors is not None:
            weights = self._class_weights(classes, priors, counts)
        if isinstance(self.pos_weight, tuple) and classes is not None:
            outputs = len(classes) if task == "multilabel" else 1
            if len(self.pos_weight) not in (1, outputs):
                raise OptionError(
                    f"--pos-weight has {len(self.pos_weight)} values; give 1 or {outputs}"
                )
        return self._make(name, weights)

    def _make(self, name: str, class_weight: FloatArray | None) -> Loss:
        pw: Any = self.pos_weight
        if isinstance(pw, tuple):
            pw = np.array(pw, dtype=np.float64)
        return make_loss(
            name,
            huber_delta=self.huber_delta,
            quantile=self.quantile,
            tweedie_power=self.tweedie_power,
            center=self.center,
            eps=self.eps,
            pos_weight=pw,
            class_weight=class_weight,
            label_smoothing=self.label_smoothing,
            focal_gamma=self.focal_gamma,
            focal_alpha=self.focal_alpha,
            activation=self.activation,
            output_range=self.output_range,
            variance_activation=self.variance_activation,
            logit_adjustment=self.logit_adjustment,
            smoothing=self.smoothing,
        )

    @property
    def sampler_power(self) -> float | None:
        """Q of --sampler (balanced: 0, sqrt: 0.5), or None without a sampler."""
        return None if self.sampler is None else parse_sampler(self.sampler)

    def _effective_beta(self) -> float:
        """BETA of --class-weight effective:BETA."""
        assert isinstance(self.class_weight, str)
        kind, _, value = self.class_weight.partition(":")
        try:
            if kind != "effective":
                raise ValueError
            beta = float(value)
        except ValueError:
            raise OptionError(
                "--class-weight must be 'balanced', 'effective:BETA', 'median-frequency' or "
                "LABEL=W,..., "
                f"not {self.class_weight!r}"
            ) from None
        if not 0 <= beta < 1:
            raise OptionError(f"--class-weight effective:BETA needs 0 <= BETA < 1, not {value}")
        return beta

    def make_loss(self, name: str) -> Loss:
        """A loss by name with these options, before the classes are known."""
        return self._make(name, None)

    def _class_weights(
        self, classes: Sequence[object], priors: FloatArray, counts: FloatArray | None
    ) -> FloatArray:
        """--class-weight as an array aligned with ``classes``."""
        if self.class_weight == MEDIAN_FREQUENCY:  # images.py turns it into LABEL=W
            raise OptionError(
                "--class-weight median-frequency weighs classes by their pixel frequency in the "
                "images that contain them: it needs --input-format masks"
            )
        if isinstance(self.class_weight, str) and self.class_weight != "balanced":
            if counts is None:
                raise OptionError(
                    "--class-weight effective:BETA needs the number of rows per class; "
                    "give data or --counts, not --prior"
                )
            return effective_number_weights(counts, self._effective_beta(), tuple(classes))
        if self.class_weight == "balanced":
            # scikit-learn's compute_class_weight("balanced"): n / (K n_k), with weighted counts.
            if np.any(priors <= 0):
                absent = [c for c, p in zip(classes, priors, strict=True) if p <= 0]
                raise DataError(
                    f"'balanced' class weights are undefined for classes with no rows: {absent}; "
                    "give the weights as LABEL=W or drop those classes"
                )
            return np.asarray(1.0 / (len(classes) * priors), dtype=np.float64)
        assert isinstance(self.class_weight, Mapping)
        kind = _kind_of_labels(classes)
        weights = np.ones(len(classes))
        index = {c: i for i, c in enumerate(classes)}
        for label, w in self.class_weight.items():
            key = coerce_label(label, kind, "--class-weight class")
            if key not in index:
                raise OptionError(
                    f"--class-weight names class {key!r}, "
                    f"which is not one of the classes {list(classes)}"
                )
            weights[index[key]] = float(w)
        return weights

    def stats_spec(
        self, targets: Sequence[str], weight: str | None = None, where: str | None = None
    ) -> StatsSpec:
        """What the readers must collect for these options (``where``: the row filter's
        text, recorded with the statistics)."""
        self.refuse_pixel_options("label columns")
        family = self.family
        classes: Literal["auto", "always", "never"] = "auto"
        if family == "regression":
            classes = "never"
        elif family is not None or self.classes is not None or self.positive is not None:
            classes = "always"
        keep_values, extra = False, tuple[str, ...]()
        if self.loss != "auto" and family == "regression":
            loss = self.make_loss(self.loss)
            keep_values, extra = loss.needs_values(), loss.extra_means()
        return StatsSpec(
            tuple(targets),
            weight,
            classes,
            keep_values,
            tuple(extra),
            where=where,
            label_sep=self.label_sep,
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _kind_of_labels(classes: Sequence[object]) -> str:
    first = classes[0]
    if isinstance(first, bool):
        return "bool"
    if isinstance(first, int):
        return "integer"
    if isinstance(first, float):
        return "float"
    return "string"


def task_for_tokens(task: str, tokens: str | None) -> str:
    """``--tokens DTYPE`` (a raw token file) implies ``--task tokens``; refuse another task."""
    if tokens is None:
        return task
    if task not in ("auto", "tokens"):
        raise OptionError(
            f"--tokens {tokens} reads a token file, which is --task tokens, not {task}"
        )
    return "tokens"
