"""PyTorch helper: set an output layer's bias from labels or from a BiasResult.

Importing this module imports torch; ``biascalc`` itself never does.
"""

from __future__ import annotations

from typing import Any

import torch

from ..result import BiasResult
from ._frameworks import check_shape, resolve

__all__ = ["init_output_bias_"]


def init_output_bias_(module: Any, y_or_result: Any, **options: Any) -> BiasResult:
    """Set ``module.bias`` in place to the bias biascalc recommends; return the result.

    ``module`` is any module with a ``.bias`` (``torch.nn.Linear``, ``nn.Conv1d``...) or a
    bias tensor itself.  ``y_or_result`` is a :class:`~biascalc.BiasResult` or labels
    (anything :func:`biascalc.compute_bias` takes, and torch tensors); ``options`` are
    passed to ``compute_bias`` (``task``, ``loss``, ``sample_weight``, ...).  The bias is
    copied under ``torch.no_grad()``, keeping the layer's dtype and device.  The returned
    result holds the loss to expect at step 0 (``expected_loss_recommended``).

    >>> head = torch.nn.Linear(8, 1)
    >>> r = init_output_bias_(head, torch.tensor([0, 0, 0, 1]))
    >>> round(head.bias.item(), 4), round(r.expected_loss_recommended, 4)
    (-1.0986, 0.5623)
    """
    bias = module if isinstance(module, torch.Tensor) else getattr(module, "bias", None)
    if bias is None:
        raise ValueError(f"{type(module).__name__} has no bias (was it built with bias=False?)")
    result = resolve(y_or_result, options)
    values = check_shape(result, tuple(bias.shape), f"the bias of {type(module).__name__}")
    with torch.no_grad():
        bias.copy_(torch.from_numpy(values))
    return result
