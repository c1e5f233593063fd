"""Renderers: one pure function per output format, BiasResult -> text.

Nothing numeric happens here: renderers only format what the result holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..result import BiasResult
from .json import render_json
from .table import render_table

__all__ = ["RENDERERS", "render"]

Renderer = Callable[..., str]

RENDERERS: dict[str, Renderer] = {
    "table": render_table,
    "json": render_json,
}


def render(result: BiasResult, fmt: str, **context: Any) -> str:
    """Render ``result`` in format ``fmt`` (a key of :data:`RENDERERS`)."""
    return RENDERERS[fmt](result, **context)
