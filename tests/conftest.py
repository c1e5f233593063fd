"""Shared fixtures: real files in tmp dirs, the CLI through CliRunner and as a subprocess."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from biascalc.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data"


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[..., Path]:
    """write_csv({"y": [0, 1]}, name="labels.csv") -> path of a CSV written by pyarrow."""

    def write(columns: dict[str, Sequence[Any]], name: str = "labels.csv") -> Path:
        path = tmp_path / name
        pcsv.write_csv(pa.table(columns), path)
        return path

    return write


@pytest.fixture
def write_text(tmp_path: Path) -> Callable[..., Path]:
    """write_text("y\\n0\\n1\\n", name="labels.csv") -> path (bytes or str content)."""

    def write(content: str | bytes, name: str = "labels.csv") -> Path:
        path = tmp_path / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    return write


@pytest.fixture
def write_parquet(tmp_path: Path) -> Callable[..., Path]:
    def write(columns: dict[str, Sequence[Any]] | pa.Table, name: str = "labels.parquet") -> Path:
        path = tmp_path / name
        pq.write_table(columns if isinstance(columns, pa.Table) else pa.table(columns), path)
        return path

    return write


@pytest.fixture
def run() -> Callable[..., Result]:
    """Run the click command in-process: run("file.csv", "-t", "y") -> click Result."""

    def invoke(*args: Any, input: str | bytes | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)

    return invoke


def _installed_command() -> list[str]:
    exe = shutil.which("biascalc", path=os.path.dirname(sys.executable))
    return [exe] if exe else [sys.executable, "-m", "biascalc"]


@pytest.fixture
def run_installed() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the installed `biascalc` console script as a subprocess."""

    def call(
        *args: Any, input: str | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_installed_command(), *map(str, args)],
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=cwd or ROOT,
            check=False,
        )

    return call


def saved_hf_file(ds: Any, tmp_path: Path, how: str) -> Path:
    """A Hugging Face ``datasets.Dataset`` written as its users write it: ``to_parquet``
    (one Parquet file) or ``save_to_disk`` (a folder; its Arrow shard is returned)."""
    if how == "to_parquet":
        path = tmp_path / "train.parquet"
        ds.to_parquet(str(path))
        return path
    ds.save_to_disk(str(tmp_path / "saved"))
    (path,) = (tmp_path / "saved").glob("data-*.arrow")
    return Path(path)


def python_without_pandas(code: str) -> str:
    """Run ``code`` in a fresh interpreter in which pandas cannot be imported; its stdout."""
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['pandas'] = None\n" + code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout
