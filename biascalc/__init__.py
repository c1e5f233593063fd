"""biascalc: the output-layer bias that makes a network start at the data's prior.

>>> import biascalc
>>> r = biascalc.compute_bias([0, 0, 0, 1])
>>> r.activation, r.bias.round(4).tolist()
('sigmoid', [-1.0986])

The public API is re-exported here and imported lazily, so that ``biascalc --help``
does not pay for numpy and pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .api import (
        collect_file_stats,
        compute_bias,
        compute_bias_from_counts,
        compute_bias_from_file,
        compute_bias_from_prior,
        compute_bias_from_stats,
        result_from_stats,
    )
    from .errors import BiascalcError, ColumnNotFoundError, DataError, OptionError
    from .images import compute_bias_from_imagefolder, compute_bias_from_masks
    from .options import BiasOptions
    from .result import BiasResult
    from .stats import LabelStats, StatsSpec

__all__ = [
    "BiasOptions",
    "BiasResult",
    "BiascalcError",
    "ColumnNotFoundError",
    "DataError",
    "LabelStats",
    "OptionError",
    "StatsSpec",
    "__version__",
    "collect_file_stats",
    "compute_bias",
    "compute_bias_from_counts",
    "compute_bias_from_file",
    "compute_bias_from_imagefolder",
    "compute_bias_from_masks",
    "compute_bias_from_prior",
    "compute_bias_from_stats",
    "result_from_stats",
]

_WHERE = {
    "collect_file_stats": "api",
    "compute_bias": "api",
    "compute_bias_from_counts": "api",
    "compute_bias_from_file": "api",
    "compute_bias_from_imagefolder": "images",
    "compute_bias_from_masks": "images",
    "compute_bias_from_prior": "api",
    "compute_bias_from_stats": "api",
    "result_from_stats": "api",
    "BiascalcError": "errors",
    "ColumnNotFoundError": "errors",
    "DataError": "errors",
    "OptionError": "errors",
    "BiasOptions": "options",
    "BiasResult": "result",
    "LabelStats": "stats",
    "StatsSpec": "stats",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module 'biascalc' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
