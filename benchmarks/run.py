#!/usr/bin/env python
"""Benchmark biascalc against the pandas, polars and DuckDB one-liners a user would write.

Generates seeded data sets once (cached in benchmarks/data/), then runs every tool on
every workload as a separate process, the tools taking turns within each round, and
prints a Markdown table of median wall time, CPU time and peak RSS with issue #14's
targets.  Examples::

    python benchmarks/run.py --quick                       # smoke run, 200k rows
    python benchmarks/run.py --output docs/benchmarks.md   # 5M + 20M rows, 5 rounds
    python benchmarks/run.py --tools biascalc,polars --workloads binary --large-rows 0
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from datagen import DataSet, ensure_dataset
from measure import compile_biascalc, machine_info, run_command
from report import Case, Result, render_report
from workloads import TOOLS, WORKLOADS, check_value, command

HERE = Path(__file__).resolve().parent
QUICK_ROWS, QUICK_LARGE_ROWS, QUICK_REPEAT = 200_000, 800_000, 2
FORMATS = ("csv", "parquet")


def _count(text: str) -> int:
    """Parse 5000000, 5_000_000, 5M or 200k."""
    text = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    try:
        value = int(float(text[:-1]) * scale) if scale > 1 else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a row count: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("row counts are >= 0")
    return value


def _choices(allowed: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        unknown = sorted(set(items) - set(allowed))
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {', '.join(unknown)}; choose from {', '.join(allowed)}"
            )
        return items

    return parse


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--rows", type=_count, metavar="N", help="main data set rows [5M; --quick 200k]")
    add(
        "--large-rows",
        type=_count,
        metavar="N",
        help="scaling data set rows, binary workload only; 0 skips it [20M; --quick 800k]",
    )
    add("--small-rows", type=_count, default=1_000, metavar="N", help="small CSV rows [1000]")
    add("--repeat", type=int, metavar="N", help="timed rounds [5; --quick 2]")
    add("--warmup", type=int, default=1, metavar="N", help="untimed rounds first [1]")
    add(
        "--tools",
        type=_choices(TOOLS),
        default=list(TOOLS),
        metavar="LIST",
        help=f"comma-separated subset of {','.join(TOOLS)} [all]",
    )
    add(
        "--workloads",
        type=_choices(list(WORKLOADS)),
        default=list(WORKLOADS),
        metavar="LIST",
        help=f"comma-separated subset of {','.join(WORKLOADS)} [all]",
    )
    add(
        "--formats",
        type=_choices(FORMATS),
        default=list(FORMATS),
        metavar="LIST",
        help="csv,parquet or one of them [both]",
    )
    add("--quick", action="store_true", help="smoke run: smaller data, fewer rounds")
    add(
        "--data-dir",
        type=Path,
        default=HERE / "data",
        metavar="DIR",
        help="data cache [benchmarks/data]",
    )
    add("--seed", type=int, default=0, metavar="N", help="data seed [0]")
    add("--timeout", type=float, default=600.0, metavar="S", help="seconds per run [600]")
    add("--output", type=Path, metavar="FILE", help="also write the Markdown report to FILE")
    add("--json", type=Path, metavar="FILE", help="write every measurement to FILE as JSON")
    add("--generate-only", action="store_true", help="generate (cache) the data and stop")
    args = parser.parse_args(argv)
    if args.rows is None:
        args.rows = QUICK_ROWS if args.quick else 5_000_000
    if args.large_rows is None:
        args.large_rows = QUICK_LARGE_ROWS if args.quick else 20_000_000
    if args.repeat is None:
        args.repeat = QUICK_REPEAT if args.quick else 5
    if args.repeat < 1 or args.warmup < 1:
        parser.error("--repeat and --warmup must be >= 1")
    return args


def _datasets(args: argparse.Namespace) -> dict[int, DataSet]:
    sizes: list[int] = []
    data_workloads = [w for w in args.workloads if w not in ("small", "help")]
    if data_workloads:
        sizes.append(args.rows)
    if "binary" in args.workloads and args.large_rows:
        sizes.append(args.large_rows)
    if "small" in args.workloads:
        sizes.append(args.small_rows)
    return {n: ensure_dataset(args.data_dir, n, args.seed) for n in dict.fromkeys(sizes)}


def _cases(args: argparse.Namespace, data: dict[int, DataSet]) -> list[Case]:
    def path(n: int, fmt: str) -> Path:
        return data[n].csv if fmt == "csv" else data[n].parquet

    cases: list[Case] = []
    for workload in args.workloads:
        if workload == "help":
            cases.append(Case("help", "-", 0, None))
        elif workload == "small":
            if "csv" in args.formats:
                cases.append(Case("small", "csv", args.small_rows, path(args.small_rows, "csv")))
        else:
            cases.extend(Case(workload, f, args.rows, path(args.rows, f)) for f in args.formats)
    if "binary" in args.workloads and args.large_rows:
        cases.extend(
            Case("binary", f, args.large_rows, path(args.large_rows, f)) for f in args.formats
        )
    return cases


def _argv(result: Result) -> list[str] | None:
    c = result.case
    return command(result.tool, c.workload, c.fmt if c.fmt != "-" else "csv", c.path)


def run_rounds(
    cases: Sequence[Case], tools: Sequence[str], repeat: int, warmup: int, timeout: float
) -> list[Result]:
    """Run every (case, tool) warmup + repeat times, the tools taking turns in each case."""
    results = [
        Result(case, tool)
        for case in cases
        for tool in tools
        if command(tool, case.workload, case.fmt if case.fmt != "-" else "csv", case.path)
    ]
    by_case: dict[Case, list[Result]] = {}
    for r in results:
        by_case.setdefault(r.case, []).append(r)
    for round_no in range(warmup + repeat):
        label = "warm-up" if round_no < warmup else "timed"
        for case, group in by_case.items():
            print(
                f"round {round_no + 1}/{warmup + repeat} ({label}): {case.workload} "
                f"{case.fmt} {case.rows:,} rows",
                file=sys.stderr,
                flush=True,
            )
            # Rotate the order each round so no tool always runs right after another.
            shift = round_no % len(group)
            for r in group[shift:] + group[:shift]:
                argv = _argv(r)
                if r.error is not None or argv is None:
                    continue
                m = run_command(argv, capture=round_no == 0, timeout=timeout)
                if m.returncode != 0:
                    last = m.stderr.splitlines()[-1] if m.stderr else "no message"
                    r.error = f"exit {m.returncode}: {last}"
                    continue
                if round_no == 0:
                    try:
                        r.value = check_value(r.tool, r.case.workload, m.stdout)
                    except (ValueError, KeyError, IndexError) as exc:
                        r.error = f"unreadable output ({exc})"
                if round_no >= warmup:
                    r.runs.append(m)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    machine = machine_info()
    machine["biascalc bytecode"] = compile_biascalc()
    data = _datasets(args)
    if args.generate_only:
        for d in data.values():
            print(
                f"{d.rows:>12,} rows: {d.csv} {d.csv_bytes / 2**20:,.0f} MiB, "
                f"{d.parquet} {d.parquet_bytes / 2**20:,.0f} MiB"
            )
        return 0
    cases = _cases(args, data)
    results = run_rounds(cases, args.tools, args.repeat, args.warmup, args.timeout)
    shown = [a for a in (argv if argv is not None else sys.argv[1:]) if a]
    command_line = shlex.join(["python", "benchmarks/run.py", *shown])
    report = render_report(
        results,
        machine=machine,
        datasets=sorted(data.values(), key=lambda d: d.rows),
        rows=args.rows,
        large_rows=args.large_rows,
        small_rows=args.small_rows,
        repeat=args.repeat,
        warmup=args.warmup,
        command_line=command_line,
        date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    print(report)
    if args.output is not None:
        _write_atomic(args.output, _keep_token_section(args.output, report))
    if args.json is not None:
        raw = [
            {
                "workload": r.case.workload,
                "format": r.case.fmt,
                "rows": r.case.rows,
                "tool": r.tool,
                "value": r.value,
                "error": r.error,
                "runs": [{k: v for k, v in asdict(m).items() if k != "stdout"} for m in r.runs],
            }
            for r in results
        ]
        _write_atomic(args.json, json.dumps({"machine": machine, "results": raw}, indent=2))
    failed = any(r.error is not None for r in results)
    return 1 if failed else 0


def _keep_token_section(path: Path, report: str) -> str:
    """Keep the section benchmarks/tokens.py recorded in the same file (between markers)."""
    from tokens import BEGIN, END

    old = path.read_text(encoding="utf-8") if path.exists() else ""
    start, end = old.find(BEGIN), old.find(END)
    if start < 0 or end < start:
        return report
    return report.rstrip("\n") + "\n\n" + old[start : end + len(END)] + "\n"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    ) as tmp:
        tmp.write(text if text.endswith("\n") else text + "\n")
    os.replace(tmp.name, path)


if __name__ == "__main__":
    sys.exit(main())
