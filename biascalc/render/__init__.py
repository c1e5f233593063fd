"""Renderers: one pure function per output format, BiasResult -> text.

Nothing numeric happens here: renderers only format what the result holds.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..result import BiasResult

__all__ = ["BINARY_FORMATS", "FORMATS", "render", "shown_sources"]

#: Files a report names before "and N more" (the JSON lists them all).
SHOWN_SOURCES = 3

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


def shown_sources(source: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """The first files of a data set and " and N more files" (or "") for the rest: a
    folder of 60 CSV files or a Delta table's parts would fill a screen.

    >>> shown_sources(("a.csv", "b.csv", "c.csv", "d.csv", "e.csv"))
    (('a.csv', 'b.csv', 'c.csv'), ' and 2 more files')
    """
    rest = len(source) - SHOWN_SOURCES
    if rest <= 1:  # "and 1 more file" is no shorter than the file
        return source, ""
    return source[:SHOWN_SOURCES], f" and {rest:,} more files"


def render(result: BiasResult, fmt: str, **context: Any) -> str | bytes:
    """Render ``result`` in format ``fmt`` (a key of :data:`FORMATS`).

    ``context`` carries presentation details a format may use: ``unicode`` (table bars),
    ``layer`` (the PyTorch variable name).  Renderers ignore what they do not use.
    """
    module, function = FORMATS[fmt]
    renderer: Renderer = getattr(importlib.import_module(f".{module}", __name__), function)
    return renderer(result, **context)
