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
        raise ValueError(_no_bias(module))
    if bias.is_meta:
        raise ValueError(
            f"the bias of {type(module).__name__} is on the {bias.device} device, whose tensors "
            "hold no values: a bias set there is lost when the module is materialised; "
            "call module.to_empty(device=...) (or build it on a real device) first"
        )
    result = resolve(y_or_result, options)
    values = check_shape(result, tuple(bias.shape), f"the bias of {type(module).__name__}")
    with torch.no_grad():
        bias.copy_(torch.from_numpy(values))
    return result


_HEADS = (torch.nn.Linear, torch.nn.Bilinear, torch.nn.modules.conv._ConvNd)


def _no_bias(module: Any) -> str:
    """Why ``module`` has no bias, and which module to pass instead."""
    name = type(module).__name__
    if not isinstance(module, torch.nn.Module):
        return f"{name} is not a torch module or tensor with a bias"
    with_bias = [
        (path, m)
        for path, m in module.named_modules()
        if path and isinstance(getattr(m, "bias", None), torch.Tensor)
    ]
    # The output layer is the last linear (or convolution) layer; a norm layer after it
    # has a bias too, but is not the head.
    heads = [(p, m) for p, m in with_bias if isinstance(m, _HEADS)] or with_bias
    if heads:
        path, last = heads[-1]
        expr = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in path.split("."))
        return (
            f"{name} has no bias of its own; pass its output layer, its last "
            f"{type(last).__name__}: model{expr}"
        )
    if any(True for _ in module.children()):
        return f"{name} has no bias and none of its modules has one (built with bias=False?)"
    return f"{name} has no bias (was it built with bias=False?)"
