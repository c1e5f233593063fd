"""Spark: the token counts of a column of token-id arrays (``--task tokens``).

Spark explodes the arrays and counts rows per id (``groupBy(id).count()``); only the
V (id, count) rows reach the driver, where they fill a :class:`TokenStats` exactly as
counting the same ids locally would.  Spark has no row order to report, so a bad id is
named with how often it occurs rather than with its position.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DataError, OptionError
from ..options import BiasOptions
from ..readers import parse_where
from ..stats.tokens import MAX_VOCAB, TokenStats

try:
    from pyspark.sql import functions as F
    from pyspark.sql import types as T
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("biascalc's Spark integration needs PySpark") from exc

__all__ = ["collect_token_stats"]

_INTEGRAL = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)


def collect_token_stats(
    frame: Any, target: str, options: BiasOptions, where: str | None = None
) -> TokenStats:
    """Count the ids of ``target``: an integer column, or arrays (nested too) of integers,
    in the rows that pass ``where`` (the readers' filter grammar, as a Spark filter)."""
    types = {f.name: f.dataType for f in frame.schema.fields}
    row_filter = None if where is None else parse_where(where)
    named = [target, *(row_filter.columns if row_filter else ())]
    missing = [c for c in dict.fromkeys(named) if c not in types]
    if missing:
        raise OptionError(
            f"column {', '.join(repr(c) for c in missing)} is not in the data; "
            f"the columns are {', '.join(types)}"
        )
    if row_filter is not None:
        from ._spark_filter import spark_condition

        frame = frame.filter(spark_condition(row_filter, types))
    column = F.col("`" + target.replace("`", "``") + "`")
    dtype = types[target]
    depth = 0
    while isinstance(dtype, T.ArrayType):
        dtype, depth = dtype.elementType, depth + 1
    if not isinstance(dtype, _INTEGRAL):
        raise DataError(
            f"column {target!r} holds {types[target].simpleString()} values; --task tokens needs "
            "integer token ids (or arrays of them): tokenise the text first"
        )
    for _ in range(max(depth - 1, 0)):
        column = F.flatten(column)
    ids = frame.select((F.explode(column) if depth else column).alias("id"))
    rows = ids.groupBy("id").count().collect()
    spec = options.token_spec(target, dtype.simpleString())
    stats = TokenStats(spec)
    ignore = set(spec.ignore_index)
    limit = spec.vocab_size if spec.vocab_size is not None else MAX_VOCAB
    kept: dict[int, int] = {}
    for row in rows:
        value, n = row["id"], int(row["count"])
        stats.n_seen += n
        if value is None:
            raise DataError(
                f"column {target!r} holds {n:,} missing (null) token ids; fill or drop them"
            )
        if value in ignore:
            stats.n_ignored += n
        elif not 0 <= value < limit:
            raise DataError(
                f"{stats.describe_bad_id(int(value), limit, f'in column {target!r} ({n:,} times)')}"
            )
        else:
            kept[int(value)] = n
    counts = np.zeros(max(kept) + 1 if kept else 0, np.int64)
    if kept:
        counts[np.fromiter(kept, np.int64)] = np.fromiter(kept.values(), np.int64)
    stats.counts = counts
    return stats
