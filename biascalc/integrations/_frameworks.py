"""What the framework helpers share: labels or a result in, a checked bias out."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from ..result import BiasResult

__all__ = ["check_shape", "resolve"]


def resolve(y_or_result: Any, options: dict[str, Any]) -> BiasResult:
    """``y_or_result`` as a BiasResult: returned as is, or computed with ``compute_bias``.

    Framework tensors are accepted as labels and weights, as by ``compute_bias``.
    """
    if isinstance(y_or_result, BiasResult):
        if options:
            raise TypeError(
                f"options {sorted(options)} apply when computing from labels, not to a BiasResult"
            )
        return y_or_result
    from ..api import compute_bias

    if (
        isinstance(y_or_result, list | tuple)
        and y_or_result
        and isinstance(y_or_result[0], list | tuple)
    ):
        y_or_result = np.asarray(y_or_result)  # a label matrix written as nested lists
    return compute_bias(y_or_result, **options)  # tensors are read there (biascalc._tensors)


def check_shape(result: BiasResult, shape: tuple[int, ...], what: str) -> npt.NDArray[np.float64]:
    """The bias, after checking it fits ``shape`` (a bias vector of one value per unit)."""
    bias = np.asarray(result.bias, dtype=np.float64)
    if tuple(shape) != bias.shape:
        raise ValueError(
            f"{what} has shape {tuple(shape)}, but biascalc computed {bias.size} bias value(s) "
            f"for this {result.task} task (loss {result.loss}); "
            f"the output layer needs {bias.size} unit(s)"
        )
    if not all(math.isfinite(b) for b in bias.tolist()):
        raise ValueError(f"the computed bias {bias.tolist()} is not finite; refusing to use it")
    return bias
