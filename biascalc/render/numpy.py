"""``--format numpy``: the bias as a float64 ``.npy`` file (one value per output unit)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from ..result import BiasResult


def render_numpy(result: BiasResult, **_: Any) -> bytes:
    """The bias in NumPy's ``.npy`` format, readable with ``numpy.load(path)``.

    Written without pickling, so ``numpy.load`` needs no ``allow_pickle``.  Non-finite
    values are kept as they are (NaN/inf are valid float64 data in ``.npy``).

    >>> import io, numpy
    >>> from biascalc import compute_bias
    >>> numpy.load(io.BytesIO(render_numpy(compute_bias([0.0, 0.25, 0.5, 1.5])))).tolist()
    [0.5625]
    """
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(result.bias, dtype=np.float64), allow_pickle=False)
    return buffer.getvalue()


def describe_outputs(result: BiasResult, limit: int = 20) -> str:
    """The line the CLI writes to stderr with a .npy file: which output each value is for.

    >>> from biascalc import compute_bias
    >>> describe_outputs(compute_bias(["a", "b", "b"], task="multiclass"))
    "biascalc: the .npy file holds 2 values, one per output, in this order: 'a', 'b'"
    """
    names = [repr(o) for o in result.outputs[:limit]]
    if len(result.outputs) > limit:
        names.append(f"... {len(result.outputs) - limit} more (--format json lists them all)")
    n = len(result.bias)
    return (
        f"biascalc: the .npy file holds {n} value{'s' if n != 1 else ''}, one per output, "
        f"in this order: {', '.join(names)}"
    )
