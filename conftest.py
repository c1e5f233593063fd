"""Root pytest configuration: doctests in biascalc/ run with the tests.

Keras 3 picks its backend at import; the project's tests use the torch backend.  Modules
whose framework is not installed are left out of doctest collection.
"""

from __future__ import annotations

import importlib.util
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

collect_ignore = [
    f"biascalc/integrations/{name}.py"
    for name, module in (
        ("torch", "torch"),
        ("keras", "keras"),
        ("jax", "jax"),
        ("dask", "dask"),
        ("_dask_tokens", "dask"),
        ("spark", "pyspark"),
        ("_spark_filter", "pyspark"),
        ("_spark_lists", "pyspark"),
        ("_spark_tokens", "pyspark"),
    )
    if importlib.util.find_spec(module) is None
]
