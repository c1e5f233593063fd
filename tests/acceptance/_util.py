"""Helpers of the acceptance checks: run the installed command, read its JSON, recompute.

Written from the issues' text only; every expected number is recomputed here from the raw
values with numpy / scipy / torch, never taken from biascalc.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def command() -> list[str]:
    """The installed console script of this environment (falls back to ``-m biascalc``)."""
    script = Path(sys.executable).with_name("biascalc")
    return [str(script)] if script.exists() else [sys.executable, "-m", "biascalc"]


def run(
    *args: object, stdin: str | bytes | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``biascalc ARGS`` as a subprocess; text stdout/stderr."""
    env = dict(os.environ, KERAS_BACKEND="torch", COLUMNS="200")
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [*command(), *map(str, args)],
        input=data,
        capture_output=True,
        timeout=timeout,
        cwd=cwd or ROOT,
        env=env,
        check=False,
    )
    return subprocess.CompletedProcess(
        proc.args,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def run_json(*args: object, **kwargs: Any) -> dict[str, Any]:
    """Run with ``--format json``; assert exit 0 and return the parsed result."""
    proc = run(*args, "--format", "json", **kwargs)
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def assert_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """Exit ``code``, one ``Error: ...`` line on stderr (no traceback), containing ``needles``."""
    assert proc.returncode == code, (
        f"expected exit {code}, got {proc.returncode}\nstdout: {proc.stdout[:500]}\n"
        f"stderr: {proc.stderr[:1000]}"
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, f"expected one 'Error:' line, got: {proc.stderr[:1000]!r}"
    assert "Traceback" not in proc.stderr, proc.stderr[:2000]
    # an option that does not exist yet is no evidence of the check it stands for
    assert "No such option" not in proc.stderr, proc.stderr[:500]
    assert "is not one of" not in proc.stderr, proc.stderr[:500]
    message = errors[0]
    assert len(message) <= 600, f"message not capped ({len(message)} chars)"
    for needle in needles:
        assert needle.lower() in message.lower(), f"{needle!r} not in {message!r}"
    return message


def close(got: Iterable[float] | float, want: Iterable[float] | float, tol: float = 1e-9) -> None:
    """Assert equal to ``tol`` relative + absolute, with a readable message."""
    g = np.asarray(got, dtype=float)
    w = np.asarray(want, dtype=float)
    assert g.shape == w.shape, f"shape {g.shape} != {w.shape}: got {g}, want {w}"
    np.testing.assert_allclose(g, w, rtol=tol, atol=tol)


def softmax(b: Sequence[float]) -> np.ndarray:
    z = np.asarray(b, dtype=float)
    e = np.exp(z - z.max())
    return e / e.sum()


def logit(p: Any) -> Any:
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


def find_vector(obj: Any, want: Sequence[float], tol: float = 1e-9) -> bool:
    """Whether a list equal to ``want`` (to ``tol``) appears anywhere in a JSON value."""
    if isinstance(obj, dict):
        return any(find_vector(v, want, tol) for v in obj.values())
    if isinstance(obj, list):
        numbers = len(obj) == len(want) and all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in obj
        )
        if numbers and np.allclose(np.asarray(obj, dtype=float), want, rtol=tol, atol=tol):
            return True
        return any(find_vector(v, want, tol) for v in obj)
    return False


def json_text(result: dict[str, Any]) -> str:
    return json.dumps(result)


def run_many(
    calls: Sequence[Sequence[object]], timeout: float = 300
) -> list[subprocess.CompletedProcess[str]]:
    """Run several ``biascalc`` commands at once (their start-up latency overlaps)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, len(calls))) as pool:
        return list(pool.map(lambda args: run(*args, timeout=timeout), calls))


def log_prior_differences(bias: list[float], counts: np.ndarray, present: np.ndarray) -> None:
    """Softmax biases: differences between present classes equal log count ratios."""
    b = np.asarray(bias, dtype=float)[present]
    c = np.log(counts[present].astype(float))
    close(b - b[0], c - c[0], tol=1e-6)


def assert_absent_warned(result: dict[str, Any], names: list[str]) -> None:
    assert all(np.isfinite(result["bias"])), result["bias"]
    text = " ".join(result["warnings"])
    for name in names:
        assert name in text, f"absent class {name!r} not named in warnings {result['warnings']}"


def hf_inputs(folder: Path) -> list[Path]:
    """The files of the ``hf_files`` fixture: to_parquet's file, save_to_disk's Arrow files."""
    return [folder / "hf.parquet", *sorted((folder / "saved").glob("data-*.arrow"))]
