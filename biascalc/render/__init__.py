"""Renderers: one pure function per output format, BiasResult -> text.

Nothing numeric happens here: renderers only format what the result holds.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..result import BiasResult

__all__ = ["BINARY_FORMATS", "FORMATS", "render"]

Renderer = Callable[..., str | bytes]

#: format name -> (module, function).  Modules are imported only when used.
FORMATS: dict[str, tuple[str, str]] = {
    "table": ("table", "render_table"),
    "json": ("json", "render_json"),
    "python": ("code", "render_python"),
    "pytorch": ("code", "render_pytorch"),
    "keras": ("code", "render_keras"),
    "jax": ("code", "render_jax"),
    "numpy": ("numpy", "render_numpy"),
}
#: Formats whose output is bytes, never written to a terminal.
BINARY_FORMATS = frozenset({"numpy"})


def render(result: BiasResult, fmt: str, **context: Any) -> str | bytes:
    """Render ``result`` in format ``fmt`` (a key of :data:`FORMATS`).

    ``context`` carries presentation details a format may use: ``unicode`` (table bars),
    ``layer`` (the PyTorch variable name).  Renderers ignore what they do not use.
    """
    module, function = FORMATS[fmt]
    renderer: Renderer = getattr(importlib.import_module(f".{module}", __name__), function)
    return renderer(result, **context)
