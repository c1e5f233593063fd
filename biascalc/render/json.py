"""``--format json``: the result object of schema version 1 (see docs/)."""

from __future__ import annotations

from typing import Any

from ..result import BiasResult


def render_json(result: BiasResult, **_: Any) -> str:
    """One JSON object; floats in repr form, so they read back exactly."""
    return result.to_json(indent=2) + "\n"
