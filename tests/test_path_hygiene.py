"""Paths as users give them: the same file twice, unreadable files and folders (tested as
an unprivileged user, since root reads everything), ``-o -`` for standard output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

NOBODY = 65534

# Run biascalc's main() as an unprivileged user: everything it imports lazily is imported
# first, by a run on a readable file as root; then the process drops to NOBODY.  Exit 77
# says the switch was impossible (no CAP_SETUID), so the test skips.
_AS_NOBODY = f"""
import contextlib, io, os, sys
import biascalc.cli
with contextlib.redirect_stdout(io.StringIO()):
    biascalc.cli.main(["warm.csv"])
    biascalc.cli.main(["warm.csv", "-f", "json"])  # each renderer is imported when used
try:
    os.setgroups([])
    os.setgid({NOBODY})
    os.setuid({NOBODY})
except (OSError, AttributeError):
    sys.exit(77)
sys.exit(biascalc.cli.main(sys.argv[1:]))
"""


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder the unprivileged user can enter (pytest's tmp_path is private to root)."""
    with tempfile.TemporaryDirectory(prefix="biascalc-perm-") as name:
        os.chmod(name, 0o755)
        yield Path(name)
        for root, dirs, _ in os.walk(name):  # let the cleanup enter what the test locked
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)


def _csv(path: Path, y: list[int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pcsv.write_csv(pa.table({"y": y}), path)
    path.chmod(0o644)
    return path


def _run_unprivileged(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if os.geteuid() != 0:
        command = [sys.executable, "-m", "biascalc", *args]
    else:
        _csv(cwd / "warm.csv", [0, 1])
        command = [sys.executable, "-c", _AS_NOBODY, *args]
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)
    if proc.returncode == 77:
        pytest.skip("cannot switch to an unprivileged user here")
    return proc


def test_unreadable_input_file_is_exit_1(shared_dir: Path) -> None:
    _csv(shared_dir / "f.csv", [0, 1, 1]).chmod(0)
    proc = _run_unprivileged(shared_dir, "f.csv", "-t", "y")
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == "Error: cannot read 'f.csv': permission denied\n"


def test_unreadable_file_in_a_folder_is_named(shared_dir: Path) -> None:
    _csv(shared_dir / "d" / "a.csv", [0, 1])
    _csv(shared_dir / "d" / "b.csv", [1]).chmod(0)
    proc = _run_unprivileged(shared_dir, "d", "-t", "y")
    assert proc.returncode == 1
    assert proc.stderr == "Error: cannot read 'd/b.csv': permission denied\n"


def test_unreadable_sub_folder_is_an_error(shared_dir: Path) -> None:
    _csv(shared_dir / "d" / "a.csv", [0, 1])
    _csv(shared_dir / "d" / "sub" / "b.csv", [1])
    (shared_dir / "d" / "sub").chmod(0)
    proc = _run_unprivileged(shared_dir, "d", "-t", "y")
    assert proc.returncode == 1
    assert proc.stderr.startswith("Error: cannot read folder 'd/sub': permission denied")
    assert len(proc.stderr.splitlines()) == 1


def test_readable_folder_as_the_same_user_still_works(shared_dir: Path) -> None:
    # The control: the harness itself reads what it may.
    _csv(shared_dir / "d" / "a.csv", [0, 1, 1])
    proc = _run_unprivileged(shared_dir, "d", "-t", "y", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["counts"] == [1, 2]


def test_same_file_twice_counted_once_with_a_warning(run: Any, tmp_path: Path) -> None:
    a = _csv(tmp_path / "d" / "a.csv", [0, 1, 1])
    _csv(tmp_path / "d" / "b.csv", [1])
    result = run(tmp_path / "d", a, "-t", "y", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["counts"] == [1, 3]  # a.csv once, b.csv once
    assert data["warnings"] == [f"'{a}' is reached again; its rows are counted once"]
    table = run(a, a, "-t", "y").output
    assert f"warning: '{a}' is reached again; its rows are counted once" in table


def test_dash_output_is_stdout(run_installed: Any, tmp_path: Path) -> None:
    path = _csv(tmp_path / "a.csv", [0, 1, 1, 1])
    proc = run_installed(path, "-t", "y", "-o", "-", "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["counts"] == [1, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]  # no file named '-'
