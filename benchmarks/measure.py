"""Run one command as a child process; measure its wall time, CPU time and peak RSS.

Peak RSS must be measured from a *small* parent.  Linux's ``ru_maxrss`` of a child
counts the memory it shared with its parent between fork and exec, so ``os.wait4`` on a
child of this (numpy/pyarrow-laden) process would report at least this process's own
size for every command.  Hence each command runs under ``/usr/bin/time`` (GNU time, a
small C program; "Maximum resident set size", as ``-v`` prints it) or, where that is
missing, under a minimal Python wrapper that spawns the command and reports
``os.wait4``'s rusage, so the floor is a bare interpreter (~10 MiB) rather than ours.

Wall time is ``time.perf_counter`` around the whole run here (GNU time's own figure
has 10 ms resolution), or the wrapper's own ``perf_counter`` around spawn and wait.
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
from functools import cache
from importlib import metadata
from pathlib import Path

__all__ = ["Measurement", "machine_info", "rss_method", "run_command"]

GNU_TIME = "/usr/bin/time"

# Spawns argv[2:], waits, and writes "maxrss utime stime wall" to the file argv[1].
# Imports only os, sys and time, so the RSS it shares with its child before exec is small.
_WRAPPER = """\
import os, sys, time
start = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as f:
    f.write(f"{ru.ru_maxrss} {ru.ru_utime} {ru.ru_stime} {wall}")
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


@dataclass(frozen=True)
class Measurement:
    """One run of one command."""

    wall_s: float
    cpu_s: float  # user + system
    peak_rss_mib: float
    returncode: int
    stdout: str  # empty unless captured
    stderr: str  # last lines of stderr, for error reports


@cache
def _gnu_time() -> bool:
    if not os.access(GNU_TIME, os.X_OK):
        return False
    try:
        probe = subprocess.run(
            [GNU_TIME, "-f", "%M", "-o", os.devnull, "true"], capture_output=True, check=False
        )
    except OSError:
        return False
    return probe.returncode == 0


def rss_method() -> str:
    """How peak RSS is measured on this machine, for the report."""
    if _gnu_time():
        return "GNU time (`/usr/bin/time -f %M`, maximum resident set size of the command)"
    return "a minimal Python wrapper's `os.wait4` rusage (`ru_maxrss`; floor ~10 MiB)"


def _kill_group(pid: int) -> None:
    # The command runs in its own session so the timing wrapper and its child die together.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def _rss_mib(ru_maxrss: float) -> float:
    # GNU time reports kilobytes; getrusage(2) kilobytes on Linux, bytes on macOS.
    return ru_maxrss / (2**20 if sys.platform == "darwin" and not _gnu_time() else 2**10)


def run_command(argv: list[str], *, capture: bool, timeout: float) -> Measurement:
    """Run ``argv``; stdout goes to /dev/null unless ``capture`` (then to a temp file)."""
    with (
        tempfile.TemporaryDirectory(prefix="biascalc-bench-") as tmp,
        open(Path(tmp) / "stderr", "w+b") as err,
        open(Path(tmp) / "stdout" if capture else os.devnull, "w+b") as out,
    ):
        report = Path(tmp) / "rusage"
        if _gnu_time():
            wrapped = [GNU_TIME, "-f", "%M %U %S", "-o", str(report), *argv]
        else:
            wrapped = [sys.executable, "-I", "-S", "-c", _WRAPPER, str(report), *argv]
        start = time.perf_counter()
        proc = subprocess.Popen(
            wrapped, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
        )
        killer = threading.Timer(timeout, _kill_group, (proc.pid,))
        killer.start()
        try:
            returncode = proc.wait()
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
        lines = report.read_text().strip().splitlines() if report.exists() else []
        fields = lines[-1].split() if lines else []
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        out.seek(0)
        stdout = out.read().decode(errors="replace") if capture else ""
    if len(fields) < 3:
        why = f"killed after the {timeout:g} s timeout" if wall >= timeout else "no rusage report"
        return Measurement(wall, 0.0, 0.0, returncode or -1, stdout, why)
    if len(fields) == 4:
        wall = float(fields[3])
    return Measurement(
        wall_s=wall,
        cpu_s=float(fields[1]) + float(fields[2]),
        peak_rss_mib=_rss_mib(float(fields[0])),
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


def compile_biascalc() -> str:
    """Compile biascalc's modules to bytecode, as ``pip install`` does, and say what was done.

    pip compiles every module of a package it installs, so a user's ``biascalc`` and the
    one-liners' pandas, polars and DuckDB all start from cached bytecode.  An editable
    install has none until the first import writes it, and never with
    ``PYTHONDONTWRITEBYTECODE=1`` (set on the machines this project is developed on):
    then every run would compile biascalc's ~15,000 lines again (about 60 ms per run,
    measured with and without), a cost no installed copy pays.
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("biascalc")
    if spec is None or not spec.submodule_search_locations:
        return "not found"
    folder = next(iter(spec.submodule_search_locations))
    ok = compileall.compile_dir(folder, quiet=1)
    return "compiled before timing, as pip install does" if ok else "compilation failed"


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
    info["Peak RSS measured with"] = rss_method()
    for dist in ("biascalc", "numpy", "pyarrow", "pandas", "polars", "duckdb"):
        info[dist] = _version(dist)
    return info
