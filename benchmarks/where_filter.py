"""What ``--where`` costs: the same read with no filter, a text test, and a compound test.

Writes seeded data once (``--rows`` rows: ``label`` 0/1, ``split`` of three words,
``fold`` 0-4, ``x`` uniform) as Parquet and CSV into ``--data-dir``, then runs the
installed ``biascalc`` on each file with each filter, ``--repeat`` rounds in turn, each
as its own process measured by :mod:`measure` (wall, CPU, peak RSS).  Every run's
``n_samples`` is checked against a NumPy count of the passing rows.  Prints a Markdown
table of medians.

    python benchmarks/where_filter.py                 # 5M rows, 3 rounds
    python benchmarks/where_filter.py --rows 20M      # memory must stay flat
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from measure import run_command

FILTERS = {
    "none": None,
    "split == 'train'": lambda split, fold: split == "train",
    "fold < 3 and split != 'test'": lambda split, fold: (fold < 3) & (split != "test"),
}


def _rows(text: str) -> int:
    text = text.lower().replace("_", "").replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def generate(rows: int, folder: Path) -> tuple[dict[str, Path], dict[str, int]]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    paths = {fmt: folder / f"where_{rows}.{fmt}" for fmt in ("parquet", "csv")}
    rng = np.random.default_rng(0)
    split = rng.choice(np.array(["train", "test", "val"]), rows)
    fold = rng.integers(0, 5, rows)
    expected = {
        name: int(rows if test is None else np.count_nonzero(test(split, fold)))
        for name, test in FILTERS.items()
    }
    if not all(p.exists() for p in paths.values()):
        table = pa.table(
            {"label": rng.integers(0, 2, rows), "split": split, "fold": fold, "x": rng.random(rows)}
        )
        for fmt, path in paths.items():
            tmp = path.with_suffix(".tmp")
            pq.write_table(table, tmp) if fmt == "parquet" else pcsv.write_csv(table, tmp)
            tmp.rename(path)
    return paths, expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="5M")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--data-dir", default=str(Path(__file__).parent / "data"))
    args = parser.parse_args(argv)
    rows = _rows(args.rows)
    paths, expected = generate(rows, Path(args.data_dir))
    biascalc = shutil.which("biascalc", path=os.path.dirname(sys.executable)) or "biascalc"
    runs: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    for _ in range(args.repeat):
        for fmt, path in paths.items():
            for name in FILTERS:
                where = [] if name == "none" else ["--where", name]
                argv_ = [biascalc, str(path), "-t", "label", "-f", "json", "--no-progress", *where]
                m = run_command(argv_, capture=True, timeout=600)
                if m.returncode != 0:
                    print(f"failed: {' '.join(argv_)}\n{m.stderr}", file=sys.stderr)
                    return 1
                got = json.loads(m.stdout)["n_samples"]
                if got != expected[name]:
                    print(f"{fmt} {name}: n_samples {got} != {expected[name]}", file=sys.stderr)
                    return 1
                runs.setdefault((fmt, name), []).append((m.wall_s, m.cpu_s, m.peak_rss_mib))
    print(f"{rows:,} rows, {args.repeat} rounds (medians)\n")
    print("| file | --where | rows passing | wall s | CPU s | peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for (fmt, name), values in runs.items():
        wall, cpu, rss = (statistics.median(v) for v in zip(*values, strict=True))
        print(f"| {fmt} | {name} | {expected[name]:,} | {wall:.2f} | {cpu:.2f} | {rss:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
