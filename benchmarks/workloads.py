"""The workloads and, for each tool, the command a user would type to get the same number.

Every one-liner prints one number that is checked against biascalc's JSON:

* ``binary`` / ``small``: the sigmoid bias logit(p) = log(p / (1 - p)) of ``label``;
* ``token``: the sum over classes of the softmax biases log(n_k / n) of ``token`` (one
  number that depends on every class count; the one-liners compute all of them);
* ``mse``: the mean of ``target``;  ``mae``: its exact median.

The one-liners read only the column they need, as a user who knows the library would.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "TOOLS",
    "WORKLOADS",
    "Workload",
    "biascalc_argv",
    "check_value",
    "command",
    "display_command",
]

TOOLS = ("biascalc", "pandas", "polars", "duckdb", "python")


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    biascalc_args: tuple[str, ...]
    column: str
    file: bool = True  # False: the command reads no data (``help``)


WORKLOADS = {
    w.name: w
    for w in (
        Workload("binary", "binary label (3 % positives), bce", ("-t", "label"), "label"),
        Workload("token", "string label, 100k vocabulary, cross-entropy", ("-t", "token"), "token"),
        Workload("mse", "float target, mse (mean)", ("-t", "target", "--loss", "mse"), "target"),
        Workload(
            "mae", "float target, mae (exact median)", ("-t", "target", "--loss", "mae"), "target"
        ),
        Workload("small", "1,000-row CSV, binary label", ("-t", "label"), "label"),
        Workload("help", "`biascalc --help` (start-up)", ("--help",), "", file=False),
    )
}

# Python one-liners: {path} is the file as a Python string literal, {sql_path} as an SQL
# string literal; {reader}/{cols}/{scan}/{duck} name the format's reader.
_LOGIT = "print(math.log(p / (1 - p)))"
_PANDAS = {
    "binary": "import math, pandas as pd; "
    "p = pd.{reader}({path}, {cols}=['label'])['label'].mean(); " + _LOGIT,
    "token": "import numpy as np, pandas as pd; "
    "s = pd.{reader}({path}, {cols}=['token'])['token'].value_counts(normalize=True); "
    "print(np.log(s).sum())",
    "mse": "import pandas as pd; print(pd.{reader}({path}, {cols}=['target'])['target'].mean())",
    "mae": "import pandas as pd; print(pd.{reader}({path}, {cols}=['target'])['target'].median())",
}
_POLARS = {
    "binary": "import math, polars as pl; "
    "p = pl.{scan}({path}).select(pl.col('label').mean()).collect().item(); " + _LOGIT,
    "token": "import polars as pl; print(pl.{scan}({path}).group_by('token').len()"
    ".select((pl.col('len') / pl.col('len').sum()).log().sum()).collect().item())",
    "mse": "import polars as pl; "
    "print(pl.{scan}({path}).select(pl.col('target').mean()).collect().item())",
    "mae": "import polars as pl; "
    "print(pl.{scan}({path}).select(pl.col('target').median()).collect().item())",
}
_DUCKDB = {
    "binary": "import math, duckdb; "
    'p = duckdb.sql("select avg(label) from {duck}({sql_path})").fetchall()[0][0]; ' + _LOGIT,
    "token": 'import duckdb; print(duckdb.sql("select sum(ln(n / t)) from (select count(*) as n, '
    'sum(count(*)) over () as t from {duck}({sql_path}) group by token)").fetchall()[0][0])',
    "mse": "import duckdb; "
    'print(duckdb.sql("select avg(target) from {duck}({sql_path})").fetchall()[0][0])',
    "mae": "import duckdb; "
    'print(duckdb.sql("select median(target) from {duck}({sql_path})").fetchall()[0][0])',
}
_READERS = {
    "csv": {"reader": "read_csv", "cols": "usecols", "scan": "scan_csv", "duck": "read_csv"},
    "parquet": {
        "reader": "read_parquet",
        "cols": "columns",
        "scan": "scan_parquet",
        "duck": "read_parquet",
    },
}
_TEMPLATES = {"pandas": _PANDAS, "polars": _POLARS, "duckdb": _DUCKDB}


def _data_workload(workload: str) -> str:
    return "binary" if workload == "small" else workload


def _template(tool: str, workload: str, fmt: str, path: str, sql_path: str) -> str | None:
    if tool == "python":
        return "pass" if workload == "help" else None
    table = _TEMPLATES.get(tool)
    if table is None or workload == "help":
        return None
    return table[_data_workload(workload)].format(path=path, sql_path=sql_path, **_READERS[fmt])


def biascalc_argv() -> list[str]:
    """The installed console script, preferring the one beside this interpreter."""
    beside = Path(sys.executable).with_name("biascalc")
    found = str(beside) if beside.exists() else shutil.which("biascalc")
    if found is None:
        raise SystemExit("the biascalc console script is not installed (pip install -e .)")
    return [found]


def command(tool: str, workload: str, fmt: str, path: Path | None) -> list[str] | None:
    """The argv that runs ``tool`` on ``workload``, or None if the tool has no such run."""
    spec = WORKLOADS[workload]
    if tool == "biascalc":
        files = [str(path)] if spec.file and path is not None else []
        extra = [] if workload == "help" else ["--format", "json"]
        return [*biascalc_argv(), *files, *spec.biascalc_args, *extra]
    file = "" if path is None else str(path)
    sql_literal = "'" + file.replace("'", "''") + "'"
    code = _template(tool, workload, fmt, repr(file), sql_literal)
    return None if code is None else [sys.executable, "-c", code]


def display_command(tool: str, workload: str, fmt: str) -> str | None:
    """The command as shown in the report (Python code for the one-liners), file as F."""
    spec = WORKLOADS[workload]
    if tool == "biascalc":
        extra = "" if workload == "help" else " --format json"
        target = "F " if spec.file else ""
        return f"biascalc {target}{' '.join(spec.biascalc_args)}{extra} > /dev/null"
    return _template(tool, workload, fmt, "F", "'F'")


def check_value(tool: str, workload: str, stdout: str) -> float | None:
    """The number a run printed, reduced to the one number compared across tools."""
    if workload == "help":
        return None
    if tool != "biascalc":
        return float(stdout.strip().splitlines()[-1])
    bias = [float(b) for b in json.loads(stdout)["bias"]]
    return math.fsum(bias) if workload == "token" else bias[0]
