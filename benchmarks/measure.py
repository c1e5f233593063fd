"""Run one command as a child process; measure its wall time, CPU time and peak RSS.

Peak RSS comes from ``os.wait4``: the kernel's ``ru_maxrss`` of exactly that child (and
any of its own children it waited for), which is what ``/usr/bin/time -v`` prints as
"Maximum resident set size", without a wrapper process or output to parse.  Wall time is
``time.perf_counter`` from just before the fork to the end of the wait.
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

__all__ = ["Measurement", "machine_info", "run_command"]


@dataclass(frozen=True)
class Measurement:
    """One run of one command."""

    wall_s: float
    cpu_s: float  # user + system
    peak_rss_mib: float
    returncode: int
    stdout: str  # empty unless captured
    stderr: str  # last lines of stderr, for error reports


def _rss_mib(ru_maxrss: int) -> float:
    # Linux reports kilobytes, macOS bytes (getrusage(2) on each).
    return ru_maxrss / (2**20 if sys.platform == "darwin" else 2**10)


def _kill(pid: int) -> None:
    # os.kill, not Popen.send_signal: the latter polls, and could reap the child under
    # the os.wait4 below (losing its rusage).
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def run_command(
    argv: list[str], *, capture: bool, timeout: float, env: dict[str, str] | None = None
) -> Measurement:
    """Run ``argv``; stdout goes to /dev/null unless ``capture`` (then to a temp file)."""
    with (
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryFile() if capture else open(os.devnull, "wb") as out,
    ):
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        # A blocking wait (no polling loop competing for the CPU); a timer kills overruns.
        killer = threading.Timer(timeout, _kill, (proc.pid,))
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        returncode = os.waitstatus_to_exitcode(status)
        proc.returncode = returncode  # we reaped it; keep Popen from trying again
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        stdout = ""
        if capture:
            out.seek(0)
            stdout = out.read().decode(errors="replace")
    return Measurement(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mib=_rss_mib(usage.ru_maxrss),
        returncode=returncode,
        stdout=stdout,
        stderr="\n".join(stderr.strip().splitlines()[-5:]),
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return None


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                name = line.split("=", 1)[1].strip().strip('"')
                return f"{name} (kernel {platform.release()})"
    except OSError:
        pass
    return platform.platform()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, str]:
    """The machine and software the benchmark ran on, for the report header."""
    ram = _ram_gib()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    info = {
        "CPU": _cpu_model(),
        "Cores": f"{os.cpu_count()} logical",
        "RAM": f"{ram:.1f} GiB" if ram is not None else "unknown",
        "OS": _os_name(),
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
    }
    if load is not None:
        info["Load average at start"] = ", ".join(f"{x:.2f}" for x in load)
    for dist in ("biascalc", "numpy", "pyarrow", "pandas", "polars", "duckdb"):
        info[dist] = _version(dist)
    return info
