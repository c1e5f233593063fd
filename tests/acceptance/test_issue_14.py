"""Acceptance check of issue 14 (both cores: parallel CSV parsing, faster Parquet, a shorter
start), written from the issue's text only: the functional side. The speed targets are
timed by benchmarks/acceptance_timing.py, not here.

A file read in parallel byte ranges must give exactly the statistics of one sequential
pass: each file is also fed through standard input and gzip (both sequential by the issue)
and recomputed with pandas/numpy.
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ._util import assert_error, close, run, run_many, softmax

RNG = np.random.default_rng(14)


def adversarial_frame(n: int, seed: int) -> pd.DataFrame:
    """Rows whose text field is mostly quoted newlines, quotes and commas, so that a byte
    range boundary chosen without care falls inside a quoted field."""
    rng = np.random.default_rng(seed)
    pieces = ['a "quoted" word', "line\nbreak", "x,y", '""', "\r\n", "tail\n\n", "ok"]
    text = ["".join(rng.choice(pieces, size=int(rng.integers(1, 40)))) for _ in range(n)]
    return pd.DataFrame(
        {
            "note": text,
            "y": rng.choice(["cat", "dog", "eel", "fox"], size=n, p=[0.4, 0.3, 0.2, 0.1]),
            "w": np.round(rng.uniform(0.1, 3.0, n), 6),
            "t": np.round(rng.normal(5.0, 2.0, n), 6),
            "tail": rng.choice(['q"r', "s\nt", "u"], size=n),
        }
    )


@pytest.fixture(scope="module", params=[(40_000, 1, "\n"), (60_000, 2, "\r\n")])
def adversarial_csv(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, pd.DataFrame]:
    n, seed, newline = request.param
    frame = adversarial_frame(n, seed)
    path = tmp_path_factory.mktemp("i14") / "adv.csv"
    frame.to_csv(path, index=False, lineterminator=newline)
    assert path.stat().st_size > 4_000_000  # large enough to be split into ranges
    back = pd.read_csv(path, keep_default_na=False)
    assert back["y"].tolist() == frame["y"].tolist()  # the file is what we think it is
    return path, frame


def test_parallel_ranges_equal_one_sequential_pass(
    adversarial_csv: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    path, frame = adversarial_csv
    gz = tmp_path / "adv.csv.gz"
    gz.write_bytes(gzip.compress(path.read_bytes(), compresslevel=1))
    procs = run_many(
        [
            [path, "-t", "y", "-w", "w", "-f", "json"],
            [gz, "-t", "y", "-w", "w", "-f", "json"],
            [path, "-t", "t", "-w", "w", "-f", "json"],
            [path, "-t", "t", "--loss", "mae", "-f", "json"],
        ]
    )
    for proc in procs:
        assert proc.returncode == 0, proc.stderr[-1500:]
    r_file, r_gz, r_mean, r_median = (json.loads(p.stdout) for p in procs)
    stdin = run(
        "-",
        "-t",
        "y",
        "-w",
        "w",
        "-f",
        "json",
        "--input-format",
        "csv",
        stdin=path.read_bytes(),
    )
    assert stdin.returncode == 0, stdin.stderr[-1500:]
    r_stdin = json.loads(stdin.stdout)
    sums = frame.groupby("y")["w"].sum().reindex(["cat", "dog", "eel", "fox"]).to_numpy()
    for r in (r_file, r_gz, r_stdin):
        assert r["n_samples"] == len(frame)
        assert r["counts"] == frame["y"].value_counts().reindex(r["classes"]).tolist()
        close(softmax(r["bias"]), sums / sums.sum(), tol=1e-12)
    close(r_file["bias"], r_stdin["bias"], tol=1e-12)
    close(r_file["bias"], r_gz["bias"], tol=1e-12)
    close(r_mean["bias"], [np.average(frame["t"], weights=frame["w"])], tol=1e-12)
    assert r_median["n_samples"] == len(frame)
    close(r_median["bias"], [np.median(frame["t"])], tol=1e-12)


def test_error_line_numbers_stay_right(tmp_path: Path) -> None:
    n = 600_000
    y = RNG.integers(0, 5, size=n).astype(str)
    bad_row = int(n * 0.8)  # in a later byte range
    y[bad_row] = "inf"
    path = tmp_path / "late.csv"
    lines = ["id,x,y", *(f"{i},{i % 7},{v}" for i, v in enumerate(y))]
    path.write_text("\n".join(lines) + "\n")
    message = assert_error(run(path, "-t", "y", "--task", "regression"), 1)
    line = bad_row + 2  # 1-based, after the header
    assert re.search(rf"line {line:,}\b|line {line}\b", message), (line, message)


def test_quoted_error_line_after_multiline_fields(tmp_path: Path) -> None:
    frame = adversarial_frame(30_000, 3)
    frame["t"] = frame["t"].astype(str)
    bad = 25_000
    frame.loc[bad, "t"] = "inf"
    path = tmp_path / "adv_bad.csv"
    frame.to_csv(path, index=False)
    assert pd.read_csv(path, keep_default_na=False, dtype=str).loc[bad, "t"] == "inf"
    # the physical line on which the bad record starts: the header, one line per earlier
    # record and the newlines inside their quoted fields; or the record's number + 1
    inner = sum(int(frame.loc[: bad - 1, c].str.count("\n").sum()) for c in ("note", "tail"))
    physical = bad + 2 + inner
    message = assert_error(run(path, "-t", "t"), 1)
    numbers = [int(x.replace(",", "")) for x in re.findall(r"line ([\d,]+)", message)]
    record = bad + 2
    assert numbers and numbers[0] in (physical, record), (physical, record, message)


def test_parquet_row_groups_and_many_files(tmp_path: Path) -> None:
    n = 700_000
    labels = np.char.add("k", RNG.integers(0, 5000, size=n).astype(str))
    w = RNG.uniform(0.5, 1.5, size=n)
    table = pa.table({"label": labels, "w": w, "v": RNG.normal(size=n)})
    pq.write_table(table, tmp_path / "one.parquet", row_group_size=64_000)
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(7):
        pq.write_table(
            table.slice(i * 100_000, 100_000), folder / f"part-{i}.parquet", row_group_size=30_000
        )
    procs = run_many(
        [
            [tmp_path / "one.parquet", "-t", "label", "-w", "w", "-f", "json"],
            [folder, "-t", "label", "-w", "w", "-f", "json"],
            [folder, "-t", "v", "--loss", "mae", "-f", "json"],
        ]
    )
    for proc in procs:
        assert proc.returncode == 0, proc.stderr[-1500:]
    r_one, r_many, r_med = (json.loads(p.stdout) for p in procs)
    frame = pd.DataFrame({"label": labels, "w": w})
    sums = frame.groupby("label")["w"].sum()
    for r in (r_one, r_many):
        assert r["classes"] == sorted(sums.index)
        close(softmax(r["bias"]), (sums / sums.sum()).reindex(r["classes"]).to_numpy(), tol=1e-9)
    close(r_one["bias"], r_many["bias"], tol=1e-12)
    close(r_med["bias"], [np.median(table.column("v").to_numpy())], tol=1e-12)


@pytest.mark.parametrize("name", ["csv", "parquet"])
def test_file_inputs_do_not_import_pandas(tmp_path: Path, name: str) -> None:
    path = tmp_path / f"y.{name}"
    frame = pd.DataFrame({"y": RNG.integers(0, 2, size=100)})
    if name == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    proc = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import sys; from biascalc.cli import main; sys.exit(main(sys.argv[1:]))",
            str(path),
            "-t",
            "y",
            "-f",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-1500:]
    imported = {
        line.split("|")[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "pandas" not in imported, "pandas imported for a file input"
