"""The ``biascalc`` console script: Ctrl-C is one line and exit 130 from its first step on.

:func:`biascalc.cli.main` handles an interrupt once it runs (:mod:`biascalc._signals`),
but importing click and the command's options before it takes about 40 ms, and an
interrupt there would print a KeyboardInterrupt traceback.  So the script's entry point
is this module, which imports nothing but the standard library's ``signal`` before it
guards that import.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType


def _interrupted(signum: int, frame: FrameType | None) -> None:
    os.write(2, b"Aborted.\n")
    os._exit(130)  # nothing was read or written yet: nothing to clean up


def main() -> None:
    """Import the command line with Ctrl-C guarded, then run it."""
    previous = signal.signal(signal.SIGINT, _interrupted)
    from .cli import main as run

    signal.signal(signal.SIGINT, previous)
    sys.exit(run())
