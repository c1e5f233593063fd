"""Literal text of long lists (a bias per class of 100,000): JSON and Python, in bulk.

The text is exactly what ``json.dumps`` and ``repr`` write value by value; it is only
made faster.  ``repr`` of a float, the shortest text that reads back to the same double
(David Gay's algorithm, Python's ``float.__repr__``), costs about 0.5 us a value:
55 ms for 100,000 biases, twice (bias and prior_bias) in one JSON result.  Class shares
and their biases are functions of the class counts, and a long tail holds many classes
with the same count, so :func:`float_texts` writes each distinct double once (equal
bits, so ``-0.0`` and ``0.0`` stay apart).  Text labels without characters that need an
escape are quoted by joining them (:func:`json_text`, :func:`str_literals`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["float_texts", "json_text", "str_literals"]

#: Shorter lists are written value by value (NumPy's set-up costs more than it saves).
_BULK = 64
#: Characters json.dumps(ensure_ascii=False) escapes (Python's json.encoder.ESCAPE).
_JSON_ESCAPED = re.compile(r'[\x00-\x1f"\\]')
#: Characters outside printable ASCII, and the quote and backslash, which repr() escapes.
_REPR_ESCAPED = re.compile(r"[^ -&(-\[\]-~]")


def float_texts(values: Any) -> list[str]:
    """``repr`` of each float (a sequence of floats or a float64 array), in order.

    >>> float_texts([0.1, -0.0, 0.0, 0.1, 1e-05])
    ['0.1', '-0.0', '0.0', '0.1', '1e-05']
    """
    import numpy as np

    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.size < _BULK:
        return list(map(repr, array.tolist()))
    distinct, inverse = np.unique(array.view(np.int64), return_inverse=True)
    if 2 * distinct.size > array.size:
        return list(map(repr, array.tolist()))
    texts = np.array(list(map(repr, distinct.view(np.float64).tolist())), dtype=object)
    out: list[str] = texts[inverse.ravel()].tolist()
    return out


def json_text(value: Any, memo: dict[bytes, str] | None = None) -> str:
    """``json.dumps(value, ensure_ascii=False, allow_nan=False)``, fast for long lists.

    Lists of only finite floats, only ints or only strs take a bulk path; ``memo`` keeps
    the text of float lists already written (bias and prior_bias are often the same).
    Anything else, and any error (NaN, unknown types), is json.dumps' own.

    >>> json_text([0.5] * 100) == json.dumps([0.5] * 100)
    True
    """
    if isinstance(value, list) and len(value) >= _BULK:
        kinds = set(map(type, value))
        if kinds == {float}:
            return _float_list(value, memo)
        if kinds == {int}:
            return "[" + ", ".join(map(int.__repr__, value)) + "]"
        if kinds == {str} and _JSON_ESCAPED.search("".join(value)) is None:
            return '["' + '", "'.join(value) + '"]'
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _float_list(values: list[float], memo: dict[bytes, str] | None) -> str:
    import numpy as np

    array = np.array(values, dtype=np.float64)
    if not bool(np.all(np.isfinite(array))):  # json.dumps raises its own error
        return json.dumps(values, ensure_ascii=False, allow_nan=False)
    key = array.tobytes()
    if memo is not None and key in memo:
        return memo[key]
    text = "[" + ", ".join(float_texts(array)) + "]"
    if memo is not None:
        memo[key] = text
    return text


def str_literals(values: Sequence[object]) -> list[str] | None:
    """``repr`` of each value when all are strs of printable ASCII without a quote or a
    backslash (then ``repr`` and ``ascii`` both only add the quotes); else None, and the
    caller writes them one by one.

    >>> str_literals(["cat", "dog"]), str_literals(["it's"]), str_literals([1])
    (["'cat'", "'dog'"], None, None)
    """
    if set(map(type, values)) - {str}:
        return None
    texts: list[str] = list(values)  # type: ignore[arg-type]  # all str, checked above
    if _REPR_ESCAPED.search("".join(texts)) is not None:
        return None
    return ["'" + v + "'" for v in texts]
