"""Ctrl-C at the console: one line on stderr, exit 130, no temporary file, no hang.

A KeyboardInterrupt that unwinds normally ends in the interpreter's shutdown, and that is
where reading compressed input with pyarrow went wrong: its I/O threads may still be
inside a Python ``read`` of the stream being decompressed, so the shutdown aborted the
process (``Fatal Python error: PyGILState_Release``, exit 134) or waited forever for
Arrow's thread pool.  So an interrupt of the ``biascalc`` command leaves through
:func:`abort` instead: the message, the temporary copies of standard input removed, then
``os._exit(130)`` without the shutdown.  A watchdog thread, woken by the signal itself
(``signal.set_wakeup_fd``), does the same if the main thread has not got there within
``GRACE`` seconds (stuck in C code that does not return to Python).

Only the console script installs this (:func:`watch`); ``biascalc.cli.main([...])``
called from Python keeps Python's usual KeyboardInterrupt.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from typing import NoReturn

#: Seconds the main thread gets to reach :func:`abort` after Ctrl-C.
GRACE = 1.5
_leaving = threading.Lock()


def abort(message: str = "Aborted.") -> NoReturn:
    """Print one line, remove the temporary copies of standard input, exit 130 at once."""
    if _leaving.acquire(blocking=False):
        with contextlib.suppress(OSError):
            os.write(2, (message + "\n").encode())
        _remove_spools()
        os._exit(130)
    while True:  # the other thread is leaving already
        time.sleep(1)


def leave(code: int) -> NoReturn:
    """End the console script with ``code`` once its output is flushed, skipping shutdown.

    The interpreter's shutdown runs C++ destructors of native thread pools (pyarrow's);
    one of them, still joinable, aborted about 1 run in 60 after the result was printed
    ("terminate called without an active exception", exit 134).  Nothing is left to do
    at that point but remove the temporary copies of standard input, so leave directly.
    """
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    _remove_spools()
    os._exit(code)


def _remove_spools() -> None:
    """Remove the temporary copies of standard input, if the readers ever made one.

    Looked up in ``sys.modules`` rather than imported: importing the readers would load
    numpy and pyarrow (0.1 s) into a run that never read data (``biascalc --help``).
    """
    paths = sys.modules.get("biascalc.readers._paths")
    if paths is not None:
        paths._remove_all_spools()


def watch() -> None:
    """Start the watchdog (call from the main thread, before any other thread starts)."""
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)

    def wait() -> None:
        while True:
            if signal.SIGINT in os.read(read_end, 64):
                time.sleep(GRACE)
                abort()

    threading.Thread(target=wait, name="biascalc-interrupt", daemon=True).start()
