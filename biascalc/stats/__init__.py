"""Streaming, mergeable label statistics.

Everything biascalc computes is a function of a few per-column summaries that can be
accumulated batch by batch and merged across partitions in any order:

* :class:`Moments` - weighted count, mean and sum of squared deviations (Chan et al.'s
  parallel update), plus min and max.  The mean is computed with power-of-two scaling so
  that values near 1e308 do not overflow.
* :class:`ExtraMeans` - weighted means of fixed transforms of the label (``log y``,
  ``y log y``, ``y**a``) that some deviances need.
* :class:`ValueCounts` - weighted counts per distinct value (NumPy for numbers, Arrow
  dictionary codes for text), up to a limit on the number of distinct values.
* :class:`ValueStore` - the non-missing values themselves, only for losses whose minimiser
  is an order statistic (median, quantile, Huber).

:class:`LabelStats` ties them together for one or several target columns, drops rows
with a missing label and validates the weights.

References: T. F. Chan, G. H. Golub, R. J. LeVeque, "Algorithms for computing the sample
variance", The American Statistician 37 (1983) - the pairwise merge used in
:meth:`Moments.merge`.
"""

from .counts import CLASS_LIMIT, CountPart, ValueCounts
from .labels import AUTO_MAX_CLASSES, ColumnStats, Kind, LabelStats, StatsSpec
from .moments import ExtraMeans, FloatArray, Moments
from .values import ValueStore

__all__ = [
    "AUTO_MAX_CLASSES",
    "CLASS_LIMIT",
    "ColumnStats",
    "CountPart",
    "ExtraMeans",
    "FloatArray",
    "Kind",
    "LabelStats",
    "Moments",
    "StatsSpec",
    "ValueCounts",
    "ValueStore",
]
