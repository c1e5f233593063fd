"""Exact minimisers of the order-statistic losses: weighted quantiles and the Huber location.

Both work on the label values held in memory (see :class:`biascalc.stats.ValueStore`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["huber_location", "weighted_quantile"]

FloatArray = npt.NDArray[np.float64]


def _sorted(y: FloatArray, w: FloatArray | None) -> tuple[FloatArray, FloatArray]:
    order = np.argsort(y, kind="stable")
    ys = y[order]
    ws = np.ones_like(ys) if w is None else w[order]
    keep = ws > 0  # zero-weight rows do not affect any minimiser
    return ys[keep], ws[keep]


def weighted_quantile(y: FloatArray, q: float, w: FloatArray | None = None) -> float:
    """The midpoint of the set of minimisers of the mean pinball loss at level ``q``.

    The pinball (quantile) loss rho_q(r) = max(q r, (q - 1) r) is minimised by any c with
    W(y < c) <= q W and W(y > c) <= (1 - q) W (Koenker & Bassett 1978).  That set is an
    interval [lo, hi]; we return its midpoint, so that for unweighted data and q = 0.5
    this is ``numpy.median``.  The mean absolute error is the q = 0.5 case.

    >>> weighted_quantile(np.array([1.0, 2.0, 3.0, 4.0]), 0.5)
    2.5
    >>> weighted_quantile(np.array([1.0, 2.0, 3.0]), 0.5, np.array([1.0, 1.0, 5.0]))
    3.0
    """
    if w is None:
        return _unweighted_quantile(y, q)
    ys, ws = _sorted(y, w)
    if ys.size == 0:
        raise ValueError("no values with positive weight")
    cum = np.cumsum(ws)
    target = q * cum[-1]
    lo = int(np.searchsorted(cum, target, side="left"))  # first k with C_k >= qW
    hi = int(np.searchsorted(cum, target, side="right"))  # first k with C_k > qW
    lo, hi = min(lo, ys.size - 1), min(hi, ys.size - 1)
    # Midpoint written so that it cannot overflow for values near the float maximum.
    return float(ys[lo] / 2 + ys[hi] / 2)


def _unweighted_quantile(y: FloatArray, q: float) -> float:
    """The same interval midpoint with unit weights, by selection in O(n) (no sort).

    With C_k = k + 1, the first k with C_k >= qn is ceil(qn) - 1 and the first with
    C_k > qn is floor(qn).
    """
    n = y.size
    if n == 0:
        raise ValueError("no values")
    t = q * n
    lo = min(max(math.ceil(t) - 1, 0), n - 1)
    hi = min(math.floor(t), n - 1)
    part = np.partition(y, sorted({lo, hi}))
    return float(part[lo] / 2 + part[hi] / 2)


def huber_location(y: FloatArray, delta: float, w: FloatArray | None = None) -> float:
    """The exact minimiser of the mean Huber loss over a constant prediction c.

    L(c) = sum_i w_i h(y_i - c), h(r) = r^2/2 for |r| <= delta, delta (|r| - delta/2)
    otherwise (Huber 1964; PyTorch ``HuberLoss``).  L is convex and its derivative
    -g(c) with g(c) = sum_i w_i clip(y_i - c, -delta, delta) is piecewise linear and
    non-increasing in c, with breakpoints at y_i +- delta.  We locate the breakpoint
    segment where g changes sign by binary search, using prefix sums so that each g(c)
    costs O(log n), then solve the linear equation on that segment exactly.  O(n log n).

    >>> huber_location(np.array([0.0, 1.0, 2.0, 100.0]), 1.0)
    1.5
    """
    ys, ws = _sorted(y, w)
    if ys.size == 0:
        raise ValueError("no values with positive weight")
    cw = np.concatenate([[0.0], np.cumsum(ws)])
    cwy = np.concatenate([[0.0], np.cumsum(ws * ys)])

    def parts(c: float) -> tuple[float, float, float]:
        # g(c) = delta*W(y > c+delta) - delta*W(y < c-delta) + sum_{inside} w (y - c)
        i = int(np.searchsorted(ys, c - delta, side="left"))  # y < c - delta: [0, i)
        j = int(np.searchsorted(ys, c + delta, side="right"))  # y > c + delta: [j, n)
        w_in = cw[j] - cw[i]
        wy_in = cwy[j] - cwy[i]
        const = delta * (cw[-1] - cw[j]) - delta * cw[i] + wy_in
        return const, w_in, const - w_in * c

    knots = np.unique(np.concatenate([ys - delta, ys + delta]))
    # g(knots[0]) >= 0 and g(knots[-1]) <= 0; find the last knot with g >= 0.
    lo, hi = 0, knots.size - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if parts(float(knots[mid]))[2] >= 0:
            lo = mid
        else:
            hi = mid
    a, b = float(knots[lo]), float(knots[hi])
    ga, gb = parts(a)[2], parts(b)[2]
    if ga == 0 and gb == 0:
        return (a + b) / 2  # g vanishes on the whole segment: any point minimises
    if ga == 0:
        return a
    if gb == 0:
        return b
    const, w_in, _ = parts((a + b) / 2)  # the inside set is fixed within the segment
    if w_in == 0:
        return (a + b) / 2
    return float(np.clip(const / w_in, a, b))
