"""JAX/Flax helper: a ``bias_init`` function computed from labels.

Importing this module imports jax; ``biascalc`` itself never does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax.numpy as jnp

from ._frameworks import check_shape, resolve

__all__ = ["bias_init"]


def bias_init(y_or_result: Any, **options: Any) -> Callable[..., Any]:
    """A Flax-style initializer ``init(key, shape, dtype=float32) -> array`` for a bias.

    ``y_or_result`` is a :class:`~biascalc.BiasResult` or labels (anything
    :func:`biascalc.compute_bias` takes; JAX arrays too); ``options`` go to
    ``compute_bias``.  Use it as ``flax.linen.Dense(units, bias_init=bias_init(y))``; the
    function raises ``ValueError`` if the layer's bias shape does not match.

    >>> init = bias_init([0, 0, 0, 1])
    >>> [round(b, 4) for b in init(None, (1,)).tolist()]
    [-1.0986]
    """
    result = resolve(y_or_result, options)
    values = check_shape(result, (len(result.bias),), "the bias")

    def init(key: Any, shape: Any, dtype: Any = jnp.float32) -> Any:
        check_shape(result, tuple(shape), "the layer's bias")
        return jnp.asarray(values, dtype=dtype)

    return init
