"""Label statistics as JSON, so partial results computed anywhere can be merged.

A partition (a file, a Dask partition, a Spark task) computes :class:`LabelStats`;
``stats_to_dict`` turns it into plain JSON values; any number of those are read back with
``stats_from_dict`` and combined with :meth:`LabelStats.merge`.  The format is versioned
(``biascalc_stats``: 1) and documented in docs/distributed.md.

Only statistics travel: counts per class, weighted moments and the means of a few
transforms.  The one exception is :class:`ValueStore` (the label values themselves, kept
for exact medians and quantiles), which is serialised only when it was collected.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from ..errors import DataError
from .counts import CountPart, ValueCounts
from .declared import DeclaredClasses
from .labels import ColumnStats, LabelStats, StatsSpec
from .moments import ExtraMeans, Moments
from .sketch import SketchStore
from .values import ValueStore

__all__ = [
    "STATS_FORMAT_VERSION",
    "stats_from_dict",
    "stats_from_json",
    "stats_to_dict",
    "stats_to_json",
]

STATS_FORMAT_VERSION = 1


def _num(x: float) -> float | str:
    """Floats as JSON: repr precision; infinities (the min/max of nothing) as strings."""
    return x if math.isfinite(x) else repr(float(x))


def _float(x: float | str) -> float:
    return float(x)


def _moments_to(m: Moments) -> dict[str, Any]:
    return {
        "weight": m.weight,
        "mean": _num(m.mean),
        "m2": _num(m.m2),
        "min": _num(m.minimum),
        "max": _num(m.maximum),
    }


def _moments_from(d: dict[str, Any]) -> Moments:
    return Moments(
        float(d["weight"]), _float(d["mean"]), _float(d["m2"]), _float(d["min"]), _float(d["max"])
    )


def _counts_to(vc: ValueCounts | None) -> dict[str, Any] | None:
    if vc is None:
        return None
    if vc.overflowed:
        return {"limit": vc.limit, "overflowed": True}
    counted = vc.result()
    assert counted is not None
    values, counts, weights = counted
    return {
        "limit": vc.limit,
        "overflowed": False,
        "values": values,
        "counts": [int(c) for c in counts],
        "weights": [float(w) for w in weights],
    }


def _counts_from(d: dict[str, Any] | None) -> ValueCounts | None:
    if d is None:
        return None
    vc = ValueCounts(int(d["limit"]))
    if d.get("overflowed"):
        vc.overflowed = True
        return vc
    values = d["values"]
    if values:
        if all(isinstance(v, str) for v in values):
            import pyarrow as pa

            keys: Any = pa.array(values, pa.string())
        else:
            keys = np.asarray(values)
            if keys.dtype == object:
                raise DataError("statistics hold class labels of mixed types")
        vc.parts = [
            CountPart(
                keys,
                np.asarray(d["weights"], dtype=np.float64),
                np.asarray(d["counts"], dtype=np.int64),
            )
        ]
    return vc


def _store_to(store: ValueStore | None) -> dict[str, Any] | None:
    if store is None:
        return None

    y, w = store.arrays()
    out: dict[str, Any] = {"values": y.tolist(), "weights": None if w is None else w.tolist()}
    if isinstance(store, SketchStore):
        # The points of a quantile sketch: its ranks may be off by this much weight.
        out["error"] = store.error
    return out


def _store_from(d: dict[str, Any] | None) -> ValueStore | None:
    if d is None:
        return None
    y = np.asarray(d["values"], dtype=np.float64)
    w = None if d["weights"] is None else [np.asarray(d["weights"], dtype=np.float64)]
    if "error" in d:
        return SketchStore([y], w, float(d["error"]))
    return ValueStore([y], w)


def stats_to_dict(stats: LabelStats) -> dict[str, Any]:
    """Plain JSON values describing ``stats`` completely."""
    spec = stats.spec
    return {
        "biascalc_stats": STATS_FORMAT_VERSION,
        "spec": {
            "targets": list(spec.targets),
            "weight": spec.weight,
            "classes": spec.classes,
            "keep_values": spec.keep_values,
            "extra_means": list(spec.extra_means),
            "class_limit": spec.class_limit,
            "where": spec.where,
        },
        "n_rows": stats.n_rows,
        "n_missing": stats.n_missing,
        "rows_seen": stats.rows_seen,
        "weight_sum": stats.weight_sum,
        "one_hot_rows": stats.one_hot_rows,
        "notes": list(stats.notes),
        "columns": [
            {
                "name": c.name,
                "kind": c.kind,
                "moments": _moments_to(c.moments),
                "extra": {k: _moments_to(m) for k, m in c.extra.means.items()},
                "counts": _counts_to(c.counts),
                "values": _store_to(c.store),
                "integral": c.integral,
                "non_integral_example": c.non_integral_example,
                "declared": None if c.declared is None else c.declared.to_dict(),
            }
            for c in stats.columns
        ],
    }


def _where(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"'where' must be text or null, not {type(value).__name__}")
    return value


def stats_from_dict(d: dict[str, Any]) -> LabelStats:
    """The inverse of :func:`stats_to_dict`."""
    if not isinstance(d, dict) or d.get("biascalc_stats") != STATS_FORMAT_VERSION:
        raise DataError(
            f"not biascalc statistics of format version {STATS_FORMAT_VERSION} "
            "(write them with --save-stats or LabelStats.to_dict())"
        )
    try:
        s = d["spec"]
        spec = StatsSpec(
            tuple(s["targets"]),
            s["weight"],
            s["classes"],
            bool(s["keep_values"]),
            tuple(s["extra_means"]),
            int(s["class_limit"]),
            where=_where(s.get("where")),  # absent in statistics saved before --where
        )
        stats = LabelStats(spec)
        stats.n_rows, stats.n_missing = int(d["n_rows"]), int(d["n_missing"])
        stats.rows_seen, stats.weight_sum = int(d["rows_seen"]), float(d["weight_sum"])
        one_hot = d.get("one_hot_rows")  # absent in statistics of biascalc 0.1: unknown
        stats.one_hot_rows = None if one_hot is None else int(one_hot)
        stats.notes = [str(n) for n in d.get("notes", [])]
        stats.columns = [
            ColumnStats(
                c["name"],
                c["kind"],
                _moments_from(c["moments"]),
                ExtraMeans({k: _moments_from(m) for k, m in c["extra"].items()}),
                _counts_from(c["counts"]),
                _store_from(c["values"]),
                bool(c["integral"]),
                c["non_integral_example"],
                DeclaredClasses.from_dict(c.get("declared")),
            )
            for c in d["columns"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"malformed biascalc statistics: {type(exc).__name__}: {exc}") from None
    return stats


def stats_to_json(stats: LabelStats) -> str:
    return json.dumps(stats_to_dict(stats), ensure_ascii=False, allow_nan=False)


def stats_from_json(text: str) -> LabelStats:
    try:
        return stats_from_dict(json.loads(text))
    except json.JSONDecodeError as exc:
        raise DataError(f"biascalc statistics are not valid JSON: {exc}") from None
