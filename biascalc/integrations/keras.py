"""Keras 3 helper: a bias initializer computed from labels (any backend).

Importing this module imports keras; ``biascalc`` itself never does.
"""

from __future__ import annotations

from typing import Any

import keras

from ._frameworks import check_shape, resolve

__all__ = ["OutputBias", "bias_initializer"]


@keras.saving.register_keras_serializable(package="biascalc")
class OutputBias(keras.initializers.Constant):  # type: ignore[misc]
    """A constant bias vector that checks it matches the layer it initialises.

    Unlike ``keras.initializers.Constant([...])``, which broadcasts a one-element list
    over any number of units, a shape mismatch raises a clear error.

    Saved models record it as Keras' own ``Constant`` holding the values (``__class__``
    names ``Constant``, which is what Keras' serialiser reads), so a model saved with it
    loads in a fresh process with nothing but ``keras`` imported; the loaded layer's
    initializer is that ``Constant`` (the check applies where the bias is first built,
    and the saved weights hold the trained bias anyway).  Models saved by biascalc 0.1
    (as ``biascalc>OutputBias``) still load once this module is imported.
    """

    def __init__(self, value: list[float]) -> None:
        super().__init__([float(v) for v in value])

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return keras.initializers.Constant  # type: ignore[no-any-return]

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        if tuple(shape) != (len(self.value),):
            raise ValueError(
                f"OutputBias holds {len(self.value)} value(s) but the layer's bias has shape "
                f"{tuple(shape)}; give the output layer {len(self.value)} unit(s)"
            )
        return keras.ops.convert_to_tensor(self.value, dtype=dtype or keras.backend.floatx())

    def get_config(self) -> dict[str, Any]:
        return {"value": list(self.value)}


def bias_initializer(y_or_result: Any, **options: Any) -> OutputBias:
    """A Keras initializer for ``Dense(units, bias_initializer=...)`` from labels or a result.

    ``y_or_result`` is a :class:`~biascalc.BiasResult` or labels (anything
    :func:`biascalc.compute_bias` takes; backend tensors too); ``options`` go to
    ``compute_bias``.  For a multilabel head pass the label matrix (one column per
    label): each unit starts at the logit of its label's prevalence.

    >>> init = bias_initializer([[1, 0], [0, 0], [0, 0], [0, 1]], task="multilabel")
    >>> [round(b, 4) for b in init.value]
    [-1.0986, -1.0986]
    >>> layer = keras.layers.Dense(2, bias_initializer=init)
    >>> layer.build((None, 3))
    """
    result = resolve(y_or_result, options)
    values = check_shape(result, (len(result.bias),), "the bias")
    return OutputBias(values.tolist())
