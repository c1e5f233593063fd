"""Framework arrays (torch, JAX, TensorFlow, CuPy, ...) as NumPy, without importing them.

They are recognised by what they offer, not by their type, so no framework is imported
to check: ``detach()`` / ``cpu()`` (torch: leave the autograd graph, copy to the host),
then NumPy's ``__array__`` protocol (JAX, TensorFlow, most array libraries), then
``__dlpack__`` (the array API standard's exchange protocol, read with
``numpy.from_dlpack``).  A tensor on a device whose tensors hold no data (torch's
``meta``) is an error naming the device.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import DataError

__all__ = ["is_framework_array", "to_host"]

# Containers biascalc reads itself (they have __array__ too, with their own meaning).
_OWN = ("numpy", "pandas", "polars", "pyarrow", "builtins")
#: Devices whose tensors have a shape but no values.
NO_DATA_DEVICES = ("meta",)


def is_framework_array(value: Any) -> bool:
    """Whether ``value`` is an array of another library that should become NumPy."""
    if type(value).__module__.split(".")[0] in _OWN:
        return False
    return hasattr(value, "__array__") or hasattr(value, "__dlpack__")


def no_data_device(value: Any) -> str | None:
    """The device's name when ``value`` lives where tensors hold no data (``meta``)."""
    device = getattr(value, "device", None)
    kind = getattr(device, "type", device)
    return str(device) if isinstance(kind, str) and kind in NO_DATA_DEVICES else None


def to_host(value: Any, what: str = "labels") -> np.ndarray[Any, Any]:
    """A framework array as a NumPy array in host memory (a copy only where needed).

    >>> class Column:  # any object offering NumPy's array protocol
    ...     def __array__(self, dtype=None, copy=None):
    ...         return np.array([0, 1, 1])
    >>> to_host(Column()).tolist()
    [0, 1, 1]
    """
    device = no_data_device(value)
    if device is not None:
        raise DataError(
            f"{what} are on the {device} device, whose tensors hold no values; "
            "pass the labels themselves (on the CPU or a GPU)"
        )
    for step in ("detach", "cpu"):
        method = getattr(value, step, None)
        if callable(method):
            value = method()
    try:
        array = np.asarray(value) if hasattr(value, "__array__") else np.from_dlpack(value)
    except (TypeError, RuntimeError, BufferError, ValueError) as exc:
        widen = getattr(value, "float", None)  # torch bfloat16 has no NumPy dtype
        if not callable(widen):
            raise DataError(
                f"{what} of type {type(value).__name__} cannot be read as an array ({exc}); "
                "copy them to the CPU (for example .cpu() or .get()) or pass a NumPy array"
            ) from None
        array = np.asarray(widen())
    if array.dtype.kind == "V" or array.dtype.name == "bfloat16":  # ml_dtypes (JAX)
        array = array.astype(np.float64)
    return array
