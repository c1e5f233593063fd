"""The classes a file's schema declares for its columns: one function for every reader.

:func:`declared_classes` takes a pyarrow schema (of a Parquet file, an Arrow IPC file or
stream, a Hugging Face ``save_to_disk`` shard, an in-memory table) and returns, per column,
the :class:`~biascalc.stats.declared.DeclaredClasses` it declares:

* Hugging Face ``datasets`` writes its features as JSON under the schema metadata key
  ``huggingface`` (``{"info": {"features": {...}}}``).  A ``ClassLabel`` feature
  (``{"_type": "ClassLabel", "names": [...]}``) names the ids 0..K-1; a ``Sequence`` /
  ``List`` / ``LargeList`` of ClassLabel (``{"_type": "List", "feature": {...}}``, as in
  go_emotions) names the ids inside each row's list.  The shape is that of
  ``datasets.Features.to_dict()`` (datasets/features/features.py).
* An Arrow dictionary column (or a list of dictionary values) declares categories whose
  names are its dictionary, known once a batch is read (``names`` None here).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..stats.declared import DeclaredClasses

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["declared_classes", "lost_categories"]

_LIST_TYPES = ("Sequence", "List", "LargeList")


def declared_classes(schema: pa.Schema | None) -> dict[str, DeclaredClasses]:
    """Column name -> the classes its schema declares (columns declaring none are absent).

    >>> import pyarrow as pa, json
    >>> meta = {"info": {"features": {"y": {"_type": "ClassLabel", "names": ["neg", "pos"]}}}}
    >>> schema = pa.schema([("y", pa.int64())], metadata={"huggingface": json.dumps(meta)})
    >>> declared_classes(schema)["y"].names
    ('neg', 'pos')
    """
    import pyarrow as pa

    if schema is None:
        return {}
    out: dict[str, DeclaredClasses] = {}
    for field in schema:
        value_type = field.type
        if _is_list(value_type):
            value_type = value_type.value_type
        if pa.types.is_dictionary(value_type):
            out[field.name] = DeclaredClasses("categories", None, bool(value_type.ordered))
    for name, names in _class_labels(schema).items():
        if name in schema.names:
            out[name] = DeclaredClasses("ClassLabel", names, True)
    return out


def lost_categories(schema: pa.Schema | None, columns: Sequence[str]) -> dict[str, int]:
    """Columns that were pandas categoricals but reach us without their categories.

    pandas records every column's dtype in the ``pandas`` schema metadata
    (``{"columns": [{"name": ..., "pandas_type": "categorical", "metadata":
    {"num_categories": K, "ordered": ...}}]}``, pandas.io.parquet / pyarrow.pandas_compat).
    Text categories are stored as an Arrow dictionary (declared, above); integer ones
    come back from Parquet as plain integers, so their unused categories and their order
    are gone.  Returns column name -> K for those columns.
    """
    import pyarrow as pa

    raw = (schema.metadata or {}).get(b"pandas") if schema is not None else None
    if schema is None or raw is None:
        return {}
    try:
        entries = json.loads(raw)["columns"]
    except (ValueError, KeyError, TypeError):
        return {}
    out = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("pandas_type") != "categorical":
            continue
        name = entry.get("field_name", entry.get("name"))
        if name not in columns or name not in schema.names:
            continue
        if not pa.types.is_dictionary(schema.field(name).type):
            k = (entry.get("metadata") or {}).get("num_categories")
            out[str(name)] = int(k) if isinstance(k, int) else 0
    return out


def _is_list(arrow_type: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_list(arrow_type)
        or pa.types.is_large_list(arrow_type)
        or pa.types.is_fixed_size_list(arrow_type)
    )


def _class_labels(schema: pa.Schema) -> dict[str, tuple[str, ...]]:
    """ClassLabel names per column from the ``huggingface`` metadata ({} if there is none)."""
    raw = (schema.metadata or {}).get(b"huggingface")
    if raw is None:
        return {}
    try:
        features = json.loads(raw)["info"]["features"]
    except (ValueError, KeyError, TypeError):
        return {}  # metadata we cannot read declares nothing; the ids stay numbers
    if not isinstance(features, dict):
        return {}
    out = {}
    for name, feature in features.items():
        names = _names(feature)
        if names is not None:
            out[str(name)] = names
    return out


def _names(feature: Any) -> tuple[str, ...] | None:
    if not isinstance(feature, dict):
        return None
    if feature.get("_type") in _LIST_TYPES:
        inner = feature.get("feature")
        return _names(inner) if isinstance(inner, dict) and "_type" in inner else None
    names = feature.get("names")
    if feature.get("_type") == "ClassLabel" and isinstance(names, list):
        return tuple(str(n) for n in names)
    return None
