"""What a run imports before and while reading a file (issue 14: a shorter start).

Measured with ``python -X importtime``: pandas (~0.3 s), the code and table renderers and
the framework integrations are not needed to read a file and print JSON.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

NOT_FOR_FILES = (
    "pandas",
    "polars",
    "torch",
    "scipy",
    "jax",
    "keras",
    "deltalake",
    "datasets",
    "biascalc.render.code",
    "biascalc.render.table",
    "biascalc.integrations",
)
#: Imported only by the runs that need them: each format's reader, the --where parser,
#: Delta tables, quantile sketches (a few milliseconds of start-up each, issue 14).
ON_DEMAND = (
    "biascalc.readers._csv",
    "biascalc.readers._columnar",
    "biascalc.readers._filter",
    "biascalc.readers._grammar",
    "biascalc.readers._delta",
    "biascalc.stats.sketch",
)


def _imported(*args: str, watch: tuple[str, ...] = NOT_FOR_FILES) -> list[str]:
    code = (
        "import sys; from biascalc.cli import main\n"
        f"code = main({list(args)!r})\n"
        f"loaded = [m for m in {watch!r} if m in sys.modules]\n"
        "sys.stderr.write(f'{code} ' + ','.join(loaded))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    status, _, loaded = proc.stderr.strip().rpartition("\n")[2].partition(" ")
    assert status == "0", proc.stderr
    return [m for m in loaded.split(",") if m]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_file_input_imports_only_what_it_needs(
    kind: str, write_csv: Callable[..., Path], write_parquet: Callable[..., Path]
) -> None:
    columns = {"y": [0, 1, 1], "z": ["a", "b", "c"]}
    path = write_csv(columns) if kind == "csv" else write_parquet(columns)
    assert _imported(str(path), "-t", "y", "-f", "json", "-o", str(path.parent / "b.json")) == []


@pytest.mark.parametrize(
    ("kind", "extra", "expected"),
    [
        ("csv", (), ["biascalc.readers._csv"]),
        ("parquet", (), ["biascalc.readers._columnar"]),
        (
            "parquet",
            ("--where", "z != 'c'"),
            ["biascalc.readers._columnar", "biascalc.readers._filter", "biascalc.readers._grammar"],
        ),
        # The median: the result says how exact it is (stats/sketch.py).
        ("csv", ("--loss", "mae"), ["biascalc.readers._csv", "biascalc.stats.sketch"]),
    ],
)
def test_a_run_imports_the_reader_of_its_format_only(
    kind: str,
    extra: tuple[str, ...],
    expected: list[str],
    write_csv: Callable[..., Path],
    write_parquet: Callable[..., Path],
) -> None:
    columns = {"y": [0, 1, 1], "z": ["a", "b", "c"]}
    path = write_csv(columns) if kind == "csv" else write_parquet(columns)
    out = str(path.parent / "b.json")
    args = (str(path), "-t", "y", *extra, "-f", "json", "-o", out)
    assert _imported(*args, watch=ON_DEMAND) == expected


def test_table_output_imports_the_table_renderer_only(write_csv: Callable[..., Path]) -> None:
    path = write_csv({"y": [0, 1, 1]})
    loaded = _imported(str(path), "-t", "y", "-o", str(path.parent / "bias.txt"))
    assert loaded == ["biascalc.render.table"]
