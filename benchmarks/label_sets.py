"""Multilabel label sets: a list column, one-hot columns and delimited text, side by side.

Writes (once, seeded) a go_emotions-like data set of ``--rows`` rows and 28 labels in
three layouts: a Parquet ``list<string>`` column, a Parquet file of 28 one-hot columns and
a CSV of ``|``-joined labels; then times, each in a fresh process, biascalc on each
layout and a polars one-liner on the list column (``explode`` + ``unique`` per row), and
checks that every command gives the same positive shares.  Prints a Markdown table of
median wall and CPU time (user + system of the child).

    python benchmarks/label_sets.py                 # 1,000,000 rows, 3 rounds
    python benchmarks/label_sets.py --rows 200000 --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

LABELS = [f"emotion_{i:02d}" for i in range(28)]


def write_data(folder: Path, rows: int, seed: int = 0) -> dict[str, Path]:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    paths = {
        "list": folder / f"sets_{rows}.parquet",
        "onehot": folder / f"onehot_{rows}.parquet",
        "text": folder / f"joined_{rows}.csv",
    }
    if all(p.exists() for p in paths.values()):
        return paths
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(2, 30)  # Zipf-like label frequencies
    hot = rng.random((rows, len(LABELS))) < 0.6 * p / p.sum() * 3
    offsets = np.concatenate([[0], np.cumsum(hot.sum(axis=1))]).astype(np.int32)
    codes = pa.array(np.nonzero(hot)[1].astype(np.int32))
    names = pa.DictionaryArray.from_arrays(codes, pa.array(LABELS)).cast(pa.string())
    sets = pa.ListArray.from_arrays(pa.array(offsets), names)
    pq.write_table(pa.table({"labels": sets}), paths["list"])
    pq.write_table(
        pa.table({f"tag_{n}": hot[:, j].astype(np.int8) for j, n in enumerate(LABELS)}),
        paths["onehot"],
    )
    import pyarrow.compute as pc

    joined = pc.binary_join(sets, "|")
    pcsv.write_csv(pa.table({"id": np.arange(rows), "labels": joined}), paths["text"])
    return paths


def commands(paths: dict[str, Path]) -> dict[str, list[str]]:
    exe = str(Path(sys.executable).with_name("biascalc"))
    polars = (
        "import polars as pl, json; f = pl.read_parquet({p!r}, columns=['labels']); "
        "n = f.height; e = f.with_row_index().explode('labels').unique().drop_nulls('labels'); "
        "c = e['labels'].value_counts(); "
        "print(json.dumps({{r[0]: r[1] / n for r in c.iter_rows()}}))"
    ).format(p=str(paths["list"]))
    return {
        "biascalc, list column (Parquet)": [exe, str(paths["list"]), "-t", "labels", "-f", "json"],
        "biascalc, -t 'tag_*' (28 one-hot Parquet columns)": [
            exe,
            str(paths["onehot"]),
            "-t",
            "tag_*",
            "-f",
            "json",
        ],
        "biascalc, --label-sep '\\|' (CSV)": [
            exe,
            str(paths["text"]),
            "-t",
            "labels",
            "--label-sep",
            "|",
            "-f",
            "json",
        ],
        "polars one-liner, list column": [sys.executable, "-c", polars],
    }


def shares(output: str) -> dict[str, float]:
    data = json.loads(output)
    if "priors" in data:
        names = [str(o).removeprefix("tag_") for o in data["outputs"]]
        return dict(zip(names, data["priors"], strict=True))
    return {str(k): float(v) for k, v in data.items()}


def timed(argv: list[str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", type=Path, default=Path(__file__).parent / "data")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    paths = write_data(args.data, args.rows)
    reference: dict[str, float] | None = None
    lines = [
        f"{args.rows:,} rows, {len(LABELS)} labels, median of {args.rounds} rounds",
        "",
        "| command | wall s | CPU s | shares agree |",
        "|---|---|---|---|",
    ]
    for name, argv in commands(paths).items():
        runs = [timed(argv) for _ in range(args.rounds)]
        got = shares(runs[-1][2])
        reference = reference or got
        agree = set(got) == set(reference) and all(
            abs(got[k] - reference[k]) < 1e-12 for k in reference
        )
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        lines.append(f"| {name} | {wall:.2f} | {cpu:.2f} | {'yes' if agree else 'NO'} |")
    print("\n".join(lines))
    print(f"\n(machine: {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
