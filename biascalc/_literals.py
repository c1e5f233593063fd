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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Numbers", "float_texts", "json_text", "str_literals"]

#: Shorter lists are written value by value (NumPy's set-up costs more than it saves).
_BULK = 64


def float_texts(values: Any) -> list[str]:
    """``repr`` of each float (a sequence of floats or a float64 array), in order.

    >>> float_texts([0.1, -0.0, 0.0, 0.1, 1e-05])
    ['0.1', '-0.0', '0.0', '0.1', '1e-05']
    """
    import numpy as np

    array = np.ascontiguousarray(values, dtype=np.float64)
    return _distinct_texts(array.view(np.int64), array)


def _distinct_texts(keys: Any, array: Any) -> list[str]:
    """``repr`` of each value of ``array``, made once per distinct key (the values' bit
    patterns, or the values), when at most half of the keys are distinct."""
    import numpy as np

    if array.size >= _BULK:
        distinct, inverse = np.unique(keys, return_inverse=True)
        if 2 * distinct.size <= array.size:
            values = distinct.view(array.dtype).tolist()
            texts = np.array(list(map(repr, values)), dtype=object)
            out: list[str] = texts[inverse.ravel()].tolist()
            return out
    return list(map(repr, array.tolist()))


@dataclass(frozen=True, eq=False)
class Numbers:
    """A long list of numbers kept as a NumPy array (int64 or float64) until it is written.

    :meth:`to_list` is the list of Python numbers (non-finite floats as None when
    ``null_non_finite``); :meth:`json` is ``json.dumps(to_list(), allow_nan=False)``.
    """

    array: Any
    null_non_finite: bool = False

    @staticmethod
    def of(values: Sequence[Any], kind: type[int] | type[float]) -> Numbers | list[Any]:
        """``values`` as int64 or float64 numbers, or a list of ``kind(v)`` where NumPy's
        conversion would differ (integers beyond 64 bits, values that are not numbers)."""
        import numpy as np

        try:
            return Numbers(np.array(values, dtype=np.int64 if kind is int else np.float64))
        except (OverflowError, TypeError, ValueError):
            return list(map(kind, values))

    def _finite(self) -> Any:
        import numpy as np

        return np.isfinite(self.array) if self.array.dtype.kind == "f" else None

    def to_list(self) -> list[Any]:
        values: list[Any] = self.array.tolist()
        finite = self._finite()
        if self.null_non_finite and finite is not None and not finite.all():
            return [v if ok else None for v, ok in zip(values, finite.tolist(), strict=True)]
        return values

    def json(self, memo: dict[Any, str] | None = None) -> str:
        import numpy as np

        array, finite = self.array, self._finite()
        if finite is not None and not finite.all() and not self.null_non_finite:
            return json.dumps(self.to_list(), allow_nan=False)  # raises, as json.dumps does
        key = (array.dtype.str, array.tobytes())
        if memo is not None and key in memo:
            return memo[key]
        if finite is None:
            texts = _distinct_texts(array, array)
        else:
            texts = _distinct_texts(array.view(np.int64), array)
            for i in np.flatnonzero(~finite).tolist():
                texts[i] = "null"
        text = "[" + ", ".join(texts) + "]"
        if memo is not None:
            memo[key] = text
        return text


def json_text(value: Any, memo: dict[Any, str] | None = None) -> str:
    """``json.dumps(value, ensure_ascii=False, allow_nan=False)``, fast for long lists.

    :class:`Numbers` write themselves; a long list of strs that need no escape is
    joined.  ``memo`` keeps the text of long lists already written (bias and prior_bias,
    or classes and outputs, are often the same).

    >>> json_text(["a"] * 100) == json.dumps(["a"] * 100)
    True
    """
    if isinstance(value, Numbers):
        return value.json(memo)
    if isinstance(value, list) and len(value) >= _BULK and set(map(type, value)) == {str}:
        key = tuple(value)
        if memo is not None and key in memo:
            return memo[key]
        joined = "".join(value)
        # json.dumps(ensure_ascii=False) escapes only " \ and U+0000-U+001F, which
        # are not printable; other text that is not printable takes json.dumps' path.
        if joined.isprintable() and '"' not in joined and "\\" not in joined:
            text = '["' + '", "'.join(value) + '"]'
            if memo is not None:
                memo[key] = text
            return text
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


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
    joined = "".join(texts)
    if not (joined.isascii() and joined.isprintable()) or "'" in joined or "\\" in joined:
        return None
    if not texts:
        return []
    return ("'" + "'\0'".join(texts) + "'").split("\0")  # no text holds a NUL
