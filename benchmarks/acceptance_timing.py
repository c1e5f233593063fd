"""Independent timing check of the speed targets of issues 13, 14 and 15 (a script, not a test).

Written by the acceptance check from the issues' text, not from benchmarks/run.py: it builds
its own seeded data, runs biascalc and the one-liner a user would otherwise write side by
side (each as its own process, alternating the order every round), and prints, per case,
the median wall time, CPU time (user + sys of the process) and peak RSS, the ratio
biascalc / one-liner, the issue's target and PASS/FAIL. It also checks that both commands
computed the same thing (the count vector / the log priors) to 1e-9.

Targets (from the issues):
  13  200M uint16 tokens (GPT-2 vocabulary): wall <= 1.2x
      ``np.bincount(np.fromfile(f, dtype=np.uint16), minlength=V)``; peak <= 200 MiB.
  14  CSV 5M rows: <= 1.25x the polars and the DuckDB one-liners; CSV 20M rows: peak RSS
      <= 1.1x the 5M run; Parquet 5M rows: <= 1.5x DuckDB; 1,000-row CSV: <= 1.0x polars;
      ``--help`` <= 0.15 s; 100k-class text label <= 2x the binary label's time (CSV and
      Parquet); peak RSS <= 150 MiB (5M CSV) and <= 100 MiB (5M Parquet).
  15  1,500 masks of 512x512: wall <= 1.0x the Pillow + ``np.bincount`` loop; peak <= 250 MiB.

Usage (run on an otherwise idle machine; the full run takes about 10-15 minutes on 2 cores
and about 3 GB of disk under benchmarks/data/acceptance):

    python benchmarks/acceptance_timing.py                 # everything, full size, 5 rounds
    python benchmarks/acceptance_timing.py --quick         # small sizes, 2 rounds (smoke run)
    python benchmarks/acceptance_timing.py --only 13,15 --rounds 3

Use the interpreter of the environment where biascalc is installed: the script runs the
``biascalc`` console script next to it, and the one-liners with the same interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
PY = sys.executable
BIASCALC = str(Path(PY).with_name("biascalc"))
GPT2_VOCAB = 50_257


@dataclass
class Sample:
    wall: float
    cpu: float
    rss_mib: float
    stdout: str


@dataclass
class Case:
    name: str
    kind: str  # which targets apply: see TARGETS
    commands: dict[str, list[str]]  # tool -> argv
    samples: dict[str, list[Sample]] = field(default_factory=dict)


# A bare interpreter (``-S -I``: no site, ~10 MiB) forks and execs the command and reports
# the child's rusage.  Linux's ru_maxrss keeps the high-water mark of the memory a child
# shared with its parent before exec, so measuring from this (large) script directly would
# report this script's own RSS as every command's floor.
_WRAPPER = (
    "import os, sys, time\n"
    "t = time.perf_counter()\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execv(sys.argv[2], sys.argv[2:])\n"
    "_, status, ru = os.wait4(pid, 0)\n"
    "wall = time.perf_counter() - t\n"
    "with open(sys.argv[1], 'w') as f:\n"
    "    f.write(f'{os.waitstatus_to_exitcode(status)} {ru.ru_maxrss} "
    "{ru.ru_utime + ru.ru_stime} {wall}')\n"
)


def measure(argv: Sequence[str]) -> Sample:
    """Wall, CPU (user + sys) and peak RSS of one process (see _WRAPPER)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "rusage"
        with (Path(tmp) / "out").open("w+b") as out, (Path(tmp) / "err").open("w+b") as err:
            wrapper = [PY, "-S", "-I", "-c", _WRAPPER, str(report), *argv]
            code = subprocess.run(wrapper, stdout=out, stderr=err, check=False).returncode
            fields = report.read_text().split() if report.exists() else []
            if code != 0 or not fields or fields[0] != "0":
                err.seek(0)
                message = err.read().decode(errors="replace")[-2000:]
                status = fields[0] if fields else code
                raise SystemExit(f"failed ({status}): {' '.join(argv)}\n{message}")
            out.seek(0)
            text = out.read().decode()
    return Sample(float(fields[3]), float(fields[2]), float(fields[1]) / 1024, text)


FAILURES: list[str] = []


def measure_retrying(argv: Sequence[str], attempts: int = 3) -> Sample:
    """measure(), recording a failed run (an intermittent crash is a finding) and retrying."""
    for attempt in range(attempts):
        try:
            return measure(argv)
        except SystemExit as exc:
            FAILURES.append(str(exc))
            print(f"run failed (attempt {attempt + 1}): {exc}", file=sys.stderr)
    raise SystemExit(f"{' '.join(argv)} failed {attempts} times")


def run_case(case: Case, rounds: int) -> Case:
    tools = list(case.commands)
    for tool in tools:  # one warm-up each (page cache, bytecode)
        measure_retrying(case.commands[tool])
    for i in range(rounds):
        order = tools if i % 2 == 0 else tools[::-1]
        for tool in order:
            case.samples.setdefault(tool, []).append(measure_retrying(case.commands[tool]))
    return case


def med(case: Case, tool: str, attr: str) -> float:
    return float(statistics.median(getattr(s, attr) for s in case.samples[tool]))


# --------------------------------------------------------------------------- data


def zipf_tokens(path: Path, n: int, vocab: int, seed: int = 13) -> None:
    if path.exists() and path.stat().st_size == 2 * n:
        return
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, vocab + 1, dtype=float)
    p = 1 / ranks**1.05
    p /= p.sum()
    cdf = np.cumsum(p)
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        left = n
        while left:
            k = min(left, 5_000_000)
            ids = np.searchsorted(cdf, rng.random(k)).clip(0, vocab - 1).astype("<u2")
            ids.tofile(f)
            left -= k
    tmp.replace(path)


def label_table(n: int, seed: int = 14) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "id": np.arange(n),
        "y": (rng.random(n) < 0.03).astype(np.int8),
        "x": np.round(rng.normal(size=n), 5),
        "label": np.char.add("c", rng.integers(0, 100_000, size=n).astype(str)),
    }


def write_tables(folder: Path, n: int, csv: bool = True, parquet: bool = True) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    if (not csv or (folder / f"t{n}.csv").exists()) and (
        not parquet or (folder / f"t{n}.parquet").exists()
    ):
        return
    table = pa.table(label_table(n))
    if csv:
        pcsv.write_csv(table, folder / f"t{n}.csv")
    if parquet:
        pq.write_table(table, folder / f"t{n}.parquet")


def voc_masks(folder: Path, n: int, size: int = 512, seed: int = 15) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob("*.png"))) == n:
        return
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(n):
        a = np.zeros((size, size), np.uint8)  # background, as in VOC
        for _ in range(int(rng.integers(1, 4))):
            cls = int(rng.integers(1, 21))
            cy, cx = rng.integers(0, size, 2).tolist()
            r = int(rng.integers(30, 160))
            d = np.hypot(yy - cy, xx - cx)
            a[d < r] = cls
            a[(d >= r) & (d < r + 3)] = 255  # the ignore border
        Image.fromarray(a, mode="L").save(folder / f"m{i:05d}.png")


# --------------------------------------------------------------------------- cases


def one_liner(code: str) -> list[str]:
    return [PY, "-c", code]


def issue13(data: Path, n_tokens: int) -> list[Case]:
    f = data / f"tokens{n_tokens}.bin"
    zipf_tokens(f, n_tokens, GPT2_VOCAB)
    numpy_cmd = one_liner(
        "import json, numpy as np; "
        f"c = np.bincount(np.fromfile({str(f)!r}, dtype=np.uint16), minlength={GPT2_VOCAB}); "
        "print(json.dumps(np.log(c / c.sum()).tolist()))"
    )
    ours = [BIASCALC, str(f), "--tokens", "uint16", "--vocab-size", str(GPT2_VOCAB), "-f", "json"]
    return [Case(f"13: {n_tokens:,} uint16 tokens", "13", {"biascalc": ours, "numpy": numpy_cmd})]


def issue14(data: Path, rows: int, large_rows: int) -> list[Case]:
    write_tables(data, rows)
    write_tables(data, 1000, parquet=False)
    if large_rows:
        write_tables(data, large_rows, parquet=False)
    cases = []
    for fmt in ("csv", "parquet"):
        path = str(data / f"t{rows}.{fmt}")
        scan = "scan_csv" if fmt == "csv" else "scan_parquet"
        reader = "read_csv_auto" if fmt == "csv" else "read_parquet"
        polars = one_liner(
            "import math, polars as pl; "
            f"p = pl.{scan}({path!r}).select(pl.col('y').mean()).collect().item(); "
            "print(math.log(p / (1 - p)))"
        )
        duck = one_liner(
            "import math, duckdb; "
            f"p = duckdb.sql(\"select avg(y) from {reader}('{path}')\").fetchall()[0][0]; "
            "print(math.log(p / (1 - p)))"
        )
        ours = [BIASCALC, path, "-t", "y", "-f", "json"]
        cases.append(
            Case(
                f"14: {fmt} {rows:,} rows, binary",
                f"14-{fmt}",
                {"biascalc": ours, "polars": polars, "duckdb": duck},
            )
        )
        text = [BIASCALC, path, "-t", "label", "-f", "json"]
        cases.append(
            Case(
                f"14: {fmt} {rows:,} rows, 100k-class text vs binary",
                "14-text",
                {"biascalc-text": text, "biascalc-binary": ours},
            )
        )
    small = str(data / "t1000.csv")
    cases.append(
        Case(
            "14: csv 1,000 rows",
            "14-small",
            {
                "biascalc": [BIASCALC, small, "-t", "y", "-f", "json"],
                "polars": one_liner(
                    "import math, polars as pl; "
                    f"p = pl.read_csv({small!r}, columns=['y'])['y'].mean(); "
                    "print(math.log(p / (1 - p)))"
                ),
            },
        )
    )
    cases.append(Case("14: --help", "14-help", {"biascalc": [BIASCALC, "--help"]}))
    if large_rows:
        big = str(data / f"t{large_rows}.csv")
        cases.append(
            Case(
                f"14: csv {large_rows:,} rows (peak RSS vs {rows:,})",
                "14-large",
                {
                    "biascalc-large": [BIASCALC, big, "-t", "y", "-f", "json"],
                    "biascalc-5M": [BIASCALC, str(data / f"t{rows}.csv"), "-t", "y", "-f", "json"],
                },
            )
        )
    return cases


def issue15(data: Path, n_masks: int) -> list[Case]:
    folder = data / f"masks{n_masks}"
    voc_masks(folder, n_masks)
    loop = one_liner(
        "import glob, json, numpy as np; from PIL import Image\n"
        "c = np.zeros(256, np.int64)\n"
        f"for f in sorted(glob.glob({str(folder / '*.png')!r})):\n"
        "    c += np.bincount(np.asarray(Image.open(f)).ravel(), minlength=256)\n"
        "c = c[:21]; print(json.dumps(np.log(c / c.sum()).tolist()))"
    )
    ours = [BIASCALC, "--input-format", "masks", str(folder), "--num-classes", "21", "-f", "json"]
    return [
        Case(f"15: {n_masks:,} masks 512x512", "15", {"biascalc": ours, "pillow+bincount": loop})
    ]


# --------------------------------------------------------------------------- report


def same_numbers(case: Case) -> str:
    """biascalc's bias against the one-liner's numbers (log priors / logit), up to a constant."""
    outs = {tool: s[0].stdout for tool, s in case.samples.items()}
    if "biascalc" not in outs or len(outs) < 2 or not outs["biascalc"].startswith("{"):
        return "-"
    ours = np.asarray(json.loads(outs["biascalc"])["bias"], dtype=float)
    verdicts = []
    for tool, text in outs.items():
        if tool == "biascalc":
            continue
        theirs = np.atleast_1d(np.asarray(json.loads(text.strip().splitlines()[-1]), dtype=float))
        finite = np.isfinite(theirs)
        if len(theirs) != len(ours):
            verdicts.append(f"{tool}: length {len(theirs)} != {len(ours)}")
            continue
        a, b = ours[finite], theirs[finite]
        if len(a) > 1:
            a, b = a - a[0], b - b[0]
        ok = np.allclose(a, b, rtol=1e-9, atol=1e-9)
        verdicts.append(f"{tool}: {'same' if ok else 'DIFFERENT'}")
    return "; ".join(verdicts)


TARGETS: list[tuple[str, str, Callable[[Case], tuple[float, float]]]] = []  # kind, label, fn


Check = Callable[[Case], tuple[float, float]]


def target(kind: str, label: str) -> Callable[[Check], Check]:
    """Register a target: for cases of ``kind``, fn(case) -> (measured, limit)."""

    def register(fn: Check) -> Check:
        TARGETS.append((kind, label, fn))
        return fn

    return register


def ratio(case: Case, a: str, b: str, attr: str = "wall") -> float:
    return med(case, a, attr) / med(case, b, attr)


@target("13", "wall <= 1.2x numpy")
def _t13_wall(c: Case) -> tuple[float, float]:
    return ratio(c, "biascalc", "numpy"), 1.2


@target("13", "peak RSS <= 200 MiB")
def _t13_rss(c: Case) -> tuple[float, float]:
    return med(c, "biascalc", "rss_mib"), 200.0


@target("14-csv", "wall <= 1.25x polars")
def _t14_csv_polars(c: Case) -> tuple[float, float]:
    return ratio(c, "biascalc", "polars"), 1.25


@target("14-csv", "wall <= 1.25x duckdb")
def _t14_csv_duck(c: Case) -> tuple[float, float]:
    return ratio(c, "biascalc", "duckdb"), 1.25


@target("14-csv", "peak RSS <= 150 MiB")
def _t14_csv_rss(c: Case) -> tuple[float, float]:
    return med(c, "biascalc", "rss_mib"), 150.0


@target("14-parquet", "wall <= 1.5x duckdb")
def _t14_pq_duck(c: Case) -> tuple[float, float]:
    return ratio(c, "biascalc", "duckdb"), 1.5


@target("14-parquet", "peak RSS <= 100 MiB")
def _t14_pq_rss(c: Case) -> tuple[float, float]:
    return med(c, "biascalc", "rss_mib"), 100.0


@target("14-small", "wall <= 1.0x polars")
def _t14_small(c: Case) -> tuple[float, float]:
    return ratio(c, "biascalc", "polars"), 1.0


@target("14-help", "wall <= 0.15 s")
def _t14_help(c: Case) -> tuple[float, float]:
    return med(c, "biascalc", "wall"), 0.15


@target("14-text", "text <= 2x binary")
def _t14_text(c: Case) -> tuple[float, float]:
    return ratio(c, "biascalc-text", "biascalc-binary"), 2.0


@target("14-large", "peak RSS <= 1.1x the 5M run")
def _t14_flat(c: Case) -> tuple[float, float]:
    return ratio(c, "biascalc-large", "biascalc-5M", "rss_mib"), 1.1


@target("15", "wall <= 1.0x Pillow + np.bincount")
def _t15_wall(c: Case) -> tuple[float, float]:
    return ratio(c, "biascalc", "pillow+bincount"), 1.0


@target("15", "peak RSS <= 250 MiB")
def _t15_rss(c: Case) -> tuple[float, float]:
    return med(c, "biascalc", "rss_mib"), 250.0


def report(cases: list[Case], rounds: int) -> str:
    lines = [
        f"# Acceptance timing ({rounds} rounds, medians; load average at the end: "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)",
        "",
        "| case | tool | wall s | CPU s | peak MiB | numbers |",
        "|---|---|---:|---:|---:|---|",
    ]
    for case in cases:
        check = same_numbers(case)
        for tool in case.samples:
            lines.append(
                f"| {case.name} | {tool} | {med(case, tool, 'wall'):.3f} | "
                f"{med(case, tool, 'cpu'):.3f} | {med(case, tool, 'rss_mib'):.0f} | {check} |"
            )
            check = ""
    lines += ["", "| case | target | measured | limit | verdict |", "|---|---|---:|---:|---|"]
    for case in cases:
        for kind, label, fn in TARGETS:
            if case.kind == kind:
                value, limit = fn(case)
                verdict = "PASS" if value <= limit else "FAIL"
                lines.append(f"| {case.name} | {label} | {value:.3f} | {limit} | {verdict} |")
    if FAILURES:
        lines += ["", f"{len(FAILURES)} failed run(s) (retried):"]
        lines += [
            f"- {f.splitlines()[0]} | {' '.join(f.splitlines()[1:])[-300:]}" for f in FAILURES
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--only", default="13,14,15", help="issues to time, e.g. 13,15")
    parser.add_argument("--data", type=Path, default=HERE / "data" / "acceptance")
    parser.add_argument("--output", type=Path, default=None, help="also write the report here")
    args = parser.parse_args(argv)
    rounds = args.rounds or (2 if args.quick else 5)
    args.data.mkdir(parents=True, exist_ok=True)
    only = {s.strip() for s in args.only.split(",")}
    # Start every tool from compiled bytecode, as after pip install (an editable install
    # under PYTHONDONTWRITEBYTECODE=1 would compile biascalc's source on every run).
    subprocess.run([PY, "-m", "compileall", "-q", str(HERE.parent / "biascalc")], check=False)
    cases: list[Case] = []
    if "13" in only:
        cases += issue13(args.data, 2_000_000 if args.quick else 200_000_000)
    if "14" in only:
        cases += issue14(
            args.data, 200_000 if args.quick else 5_000_000, 0 if args.quick else 20_000_000
        )
    if "15" in only:
        cases += issue15(args.data, 60 if args.quick else 1500)
    for case in cases:
        print(f"timing {case.name} ...", file=sys.stderr, flush=True)
        run_case(case, rounds)
    text = report(cases, rounds)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
