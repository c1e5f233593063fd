"""The Markdown report: results table, issue #14's targets with pass/fail, machine, data."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from datagen import DataSet
from measure import Measurement
from workloads import TOOLS, WORKLOADS, display_command

__all__ = ["REL_TOL", "Case", "Result", "render_report"]

#: Relative tolerance of the cross-tool agreement check.
REL_TOL = 1e-9
_FORMAT_NAMES = {"csv": "CSV", "parquet": "Parquet", "-": "-"}


@dataclass(frozen=True)
class Case:
    """One workload on one file (``fmt`` is "-" and ``path`` None for ``help``)."""

    workload: str
    fmt: str
    rows: int
    path: Path | None


@dataclass
class Result:
    """All runs of one tool on one case."""

    case: Case
    tool: str
    runs: list[Measurement] = field(default_factory=list)  # timed runs only
    value: float | None = None  # the checked number, from the first (capturing) run
    error: str | None = None

    @property
    def wall(self) -> float | None:
        return statistics.median(m.wall_s for m in self.runs) if self.runs else None

    @property
    def cpu(self) -> float | None:
        return statistics.median(m.cpu_s for m in self.runs) if self.runs else None

    @property
    def rss(self) -> float | None:
        return max(m.peak_rss_mib for m in self.runs) if self.runs else None


@dataclass(frozen=True)
class Target:
    name: str
    measured: float | None
    limit: float
    unit: str

    @property
    def verdict(self) -> str:
        if self.measured is None:
            return "not run"
        return "pass" if self.measured <= self.limit else "**FAIL**"


class _Index:
    def __init__(self, results: Sequence[Result]) -> None:
        self._by_key = {(r.case.workload, r.case.fmt, r.case.rows, r.tool): r for r in results}

    def get(self, workload: str, fmt: str, rows: int, tool: str) -> Result | None:
        result = self._by_key.get((workload, fmt, rows, tool))
        return result if result is not None and result.error is None else None

    def reference(self, result: Result) -> Result | None:
        c = result.case
        return self.get(c.workload, c.fmt, c.rows, "biascalc")


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _attr(result: Result | None, name: str) -> float | None:
    if result is None:
        return None
    value: float | None = getattr(result, name)
    return value


_TOOL_NAMES = {"polars": "polars", "duckdb": "DuckDB", "pandas": "pandas"}


def _targets(index: _Index, rows: int, large_rows: int, small_rows: int) -> list[Target]:
    def wall(workload: str, fmt: str, tool: str, n: int = rows) -> float | None:
        return _attr(index.get(workload, fmt, n, tool), "wall")

    def rss(workload: str, fmt: str, n: int = rows) -> float | None:
        return _attr(index.get(workload, fmt, n, "biascalc"), "rss")

    n, big = f"{rows:,}", f"{large_rows:,}"

    def versus(fmt: str, tool: str, limit: float, workload: str = "binary") -> Target:
        return Target(
            f"{_FORMAT_NAMES[fmt]} {n} rows: biascalc wall / {_TOOL_NAMES[tool]} wall",
            _ratio(wall(workload, fmt, "biascalc"), wall(workload, fmt, tool)),
            limit,
            "x",
        )

    targets = [
        versus("csv", "polars", 1.25),
        versus("csv", "duckdb", 1.25),
        Target(f"CSV {n} rows: biascalc peak RSS", rss("binary", "csv"), 150, "MiB"),
        versus("parquet", "duckdb", 1.5),
        Target(f"Parquet {n} rows: biascalc peak RSS", rss("binary", "parquet"), 100, "MiB"),
        Target(
            f"CSV peak RSS, {big} rows / {n} rows",
            _ratio(rss("binary", "csv", large_rows), rss("binary", "csv")),
            1.1,
            "x",
        ),
        Target(
            f"{small_rows:,}-row CSV: biascalc wall / polars wall",
            _ratio(
                wall("small", "csv", "biascalc", small_rows),
                wall("small", "csv", "polars", small_rows),
            ),
            1.0,
            "x",
        ),
        Target("`biascalc --help` wall", wall("help", "-", "biascalc", 0), 0.15, "s"),
    ]
    for workload, limit in (("token", 2.0), ("mae", 3.0)):
        for fmt in ("csv", "parquet"):
            targets.append(
                Target(
                    f"{_FORMAT_NAMES[fmt]} {n} rows: biascalc {workload} wall / binary wall",
                    _ratio(wall(workload, fmt, "biascalc"), wall("binary", fmt, "biascalc")),
                    limit,
                    "x",
                )
            )
    return targets


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _check(result: Result, reference: Result | None) -> str:
    if result.error is not None:
        return f"**error**: {result.error}"
    if result.tool == "biascalc":
        return "reference" if result.value is not None else "-"
    if result.value is None:
        return "-"
    if reference is None or reference.value is None:
        return "no reference"
    a, b = result.value, reference.value
    rel = abs(a - b) / max(abs(b), 1e-300)
    return "ok" if rel <= REL_TOL else f"**DIFF** rel {rel:.1e} ({a:.10g} vs {b:.10g})"


def _results_table(results: Sequence[Result], index: _Index) -> list[str]:
    lines = [
        "| Workload | Format | Rows | Tool | Median wall s | Min-max s | Median CPU s "
        "| biascalc / tool (wall) | Peak RSS MiB | Check |",
        "|---|---|--:|---|--:|--:|--:|--:|--:|---|",
    ]
    for r in results:
        reference = index.reference(r)
        ratio = _ratio(_attr(reference, "wall"), r.wall) if r.error is None else None
        spread = (
            f"{min(m.wall_s for m in r.runs):.3f}-{max(m.wall_s for m in r.runs):.3f}"
            if r.runs
            else "-"
        )
        rows = f"{r.case.rows:,}" if r.case.rows else "-"
        lines.append(
            f"| {r.case.workload} | {_FORMAT_NAMES[r.case.fmt]} | {rows} | {r.tool} "
            f"| {_num(r.wall, 3)} | {spread} | {_num(r.cpu, 2)} | {_num(ratio, 2)} "
            f"| {_num(r.rss, 0)} | {_check(r, reference)} |"
        )
    return lines


def _commands(workloads: Sequence[str], tools: Sequence[str]) -> list[str]:
    lines = [
        "F is the file.  biascalc runs as its installed console script; the others as "
        "`python -c CODE` with the CODE shown.",
        "",
        "| Workload | Tool | Command or CODE |",
        "|---|---|---|",
    ]
    for workload in workloads:
        for tool in (t for t in TOOLS if t in tools):
            for fmt in ("csv", "parquet") if WORKLOADS[workload].file else ("-",):
                if workload == "small" and fmt == "parquet":
                    continue
                shown = display_command(tool, workload, fmt if fmt != "-" else "csv")
                if shown is None:
                    continue
                label = "" if fmt == "-" else f" ({_FORMAT_NAMES[fmt]})"
                lines.append(f"| {workload}{label} | {tool} | `{shown}` |")
    return lines


def _size_note(rows: int, large_rows: int) -> list[str]:
    if (rows, large_rows) == (5_000_000, 20_000_000):
        return []
    return [
        f"Note: the targets are set for 5,000,000 and 20,000,000 rows; this run used {rows:,} "
        f"and {large_rows:,}, so the verdicts below are indicative only (start-up dominates "
        "small files).",
        "",
    ]


def render_report(
    results: Sequence[Result],
    *,
    machine: dict[str, str],
    datasets: Sequence[DataSet],
    rows: int,
    large_rows: int,
    small_rows: int,
    repeat: int,
    warmup: int,
    command_line: str,
    date: str,
) -> str:
    """The whole Markdown document."""
    index = _Index(results)
    workloads = list(dict.fromkeys(r.case.workload for r in results))
    tools = list(dict.fromkeys(r.tool for r in results))
    out = [
        "# Benchmarks",
        "",
        f"Generated by `benchmarks/run.py` on {date}. To reproduce (from the repository root, "
        "with biascalc, pandas, polars and DuckDB installed):",
        "",
        "```sh",
        command_line,
        "```",
        "",
        "See `benchmarks/README.md` for the options. Each command runs as its own process; "
        f"the tools take turns within each of {repeat} timed rounds (after {warmup} warm-up "
        "round(s), which also check every tool's number against biascalc's JSON).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *(f"| {k} | {v} |" for k, v in machine.items()),
        "",
        "## Data",
        "",
        "8 float features, `label` (int 0/1, ~3 % positives), `token` (string, 100,000-word "
        "vocabulary, Zipf-Mandelbrot frequencies), `target` (float, log-normal), seeded; "
        "Parquet with pyarrow's default settings and 1,000,000-row row groups.",
        "",
        "| Rows | CSV MiB | Parquet MiB | Positives | Distinct tokens | Generated in s |",
        "|--:|--:|--:|--:|--:|--:|",
        *(
            f"| {d.rows:,} | {d.csv_bytes / 2**20:,.1f} | {d.parquet_bytes / 2**20:,.1f} "
            f"| {d.positives / d.rows:.2%} | {d.distinct_tokens:,} "
            f"| {d.seconds:.1f}{' (cached)' if d.cached else ''} |"
            for d in datasets
        ),
        "",
        "## Results",
        "",
        "Wall: median over the timed rounds, whole process (interpreter start-up, imports, "
        "read, compute, output). **biascalc / tool** is biascalc's median wall time divided by "
        "the tool's: below 1 biascalc is faster. CPU: user + system time of the process (above "
        "wall means several cores were used). Peak RSS: the maximum over the rounds of the "
        "process's maximum resident set size (measured as the Machine table says). Check: the "
        f"tool's number against biascalc's JSON, relative tolerance {REL_TOL:g}.",
        "",
        *_results_table(results, index),
        "",
        "## Targets (issue #14)",
        "",
        *_size_note(rows, large_rows),
        "| Target | Measured | Limit | Result |",
        "|---|--:|--:|---|",
        *(
            f"| {t.name} | {_num(t.measured, 2)} {t.unit} | {t.limit:g} {t.unit} | {t.verdict} |"
            for t in _targets(index, rows, large_rows, small_rows)
        ),
        "",
        "## Commands",
        "",
        *_commands(workloads, tools),
        "",
    ]
    return "\n".join(out)
