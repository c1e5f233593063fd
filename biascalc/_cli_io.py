"""What the command reads and writes besides the data: the result (stdout, or ``-o FILE``
written atomically), ``--save-stats`` and ``--from-stats`` files.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click

__all__ = ["can_encode", "emit", "load_stats", "save_stats"]


def can_encode(text: str) -> bool:
    try:
        text.encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def emit(data: str | bytes, output: str | None) -> None:
    if output is None:
        try:
            if isinstance(data, bytes):
                sys.stdout.buffer.write(data)
                sys.stdout.buffer.flush()
            else:
                click.echo(data, nl=False)
                sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise click.ClickException(f"cannot write the output: {exc.strerror or exc}") from None
        return
    from .output import write_atomic

    write_atomic(output, data if isinstance(data, bytes) else data.encode("utf-8"))


def save_stats(path: str, stats: Any, inputs: Sequence[str]) -> None:
    """Write label statistics (or token counts) as one line of JSON, atomically."""
    from .output import check_output_path, write_atomic

    check_output_path(path, inputs)
    write_atomic(path, (json.dumps(stats.to_dict(), ensure_ascii=False) + "\n").encode())


def load_stats(path: str) -> dict[str, Any]:
    from .errors import DataError

    try:
        with open(path, encoding="utf-8") as f:
            data: dict[str, Any] = json.load(f)
    except OSError as exc:
        raise DataError(f"cannot read statistics '{path}': {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"'{path}' is not a biascalc statistics file (JSON): {exc}") from None
    return data
