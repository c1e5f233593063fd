"""One-hot rows: how many rows of several 0/1 target columns hold exactly one 1.

A 0/1 matrix in which every row has exactly one 1 is a one-hot encoding of one class per
row (``keras.utils.to_categorical``, ``torch.nn.functional.one_hot``), not independent
labels: tasks.py reads it as multiclass when every kept row is one-hot.  Per-column
counts cannot tell the two apart (a multilabel matrix can have the same column sums), so
this row-level tally is kept alongside them; it merges by addition.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["count_one_hot_rows", "merge_one_hot"]


def count_one_hot_rows(values: Sequence[np.ndarray[Any, Any] | None]) -> int | None:
    """Rows whose values are all 0 or 1 with exactly one 1; None if a column is not numeric.

    >>> count_one_hot_rows([np.array([1, 0, 1]), np.array([0.0, 1.0, 1.0])])
    2
    """
    if len(values) < 2 or any(v is None for v in values):
        return None
    total: np.ndarray[Any, Any] | None = None
    zero_one: np.ndarray[Any, Any] | None = None
    for v in values:
        assert v is not None
        ones = v == 1
        ok = ones | (v == 0)
        total = ones.astype(np.int64) if total is None else total + ones
        zero_one = ok if zero_one is None else zero_one & ok
    assert total is not None and zero_one is not None
    return int(np.count_nonzero(zero_one & (total == 1)))


def merge_one_hot(a: int | None, b: int | None) -> int | None:
    """The tally of two parts; unknown (None) when either part did not record it."""
    return None if a is None or b is None else a + b
