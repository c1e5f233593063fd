"""CSV files as people export them (issue 11, section 3) and the defects of section 4.

Inputs are written by the tools that write them in practice (pandas, polars, pyarrow;
Excel's "sep=" line and thousands separators as Excel writes them in its locales), and
the signal and pipe cases run the installed command as a real process.
"""

from __future__ import annotations

import bz2
import gzip
import math
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest
from click.testing import Result

from biascalc._cli_run import MESSAGE_LIMIT
from biascalc.api import compute_bias_from_file
from biascalc.errors import ColumnNotFoundError
from tests.conftest import _installed_command
from tests.test_hostile import assert_one_line_error, ok_json

Run = Callable[..., Result]


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


# --- headerless files --------------------------------------------------------------


def test_no_header_names_columns_by_position(run: Run, tmp_path: Path) -> None:
    polars = pytest.importorskip("polars")
    y = [0, 1, 1, 1, 0, 1, 1, 0]
    path = tmp_path / "dump.csv"
    polars.DataFrame({"a": list(range(8)), "b": y}).write_csv(path, include_header=False)
    result = ok_json(run(path, "--no-header", "-t", "2", "-f", "json"))
    assert result["bias"] == [pytest.approx(_logit(float(np.mean(y))), rel=1e-12)]
    assert result["n_samples"] == 8  # the first line is a row, not a header


def test_numeric_header_suggests_no_header(run: Run, tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    path = tmp_path / "dump.csv"
    pandas.DataFrame({"a": [3, 4, 5], "b": [0.5, 1, 0]}).to_csv(path, header=False, index=False)
    line = assert_one_line_error(run(path, "-t", "2"), 1, "not found", "--no-header", "-t 1")
    assert "columns are: 3, 0.5" in line
    # With real names the suggestion is not made.
    pandas.DataFrame({"a": [3], "b": [1]}).to_csv(path, index=False)
    with pytest.raises(ColumnNotFoundError) as info:
        compute_bias_from_file(str(path), "c")
    assert "--no-header" not in str(info.value)


def test_spark_headerless_csv(run: Run, tmp_path: Path) -> None:
    # Spark's df.write.csv writes no header by default; pyarrow writes the same bytes.
    y = [1, 0, 0, 0, 1, 0]
    path = tmp_path / "part-00000.csv"
    options = pcsv.WriteOptions(include_header=False)
    pcsv.write_csv(pa.table({"id": range(6), "label": y}), path, write_options=options)
    result = ok_json(run(path, "--no-header", "-t", "2", "-f", "json"))
    assert result["bias"] == [pytest.approx(_logit(2 / 6), rel=1e-12)]


# --- Excel -----------------------------------------------------------------------


def test_excel_sep_line_sets_the_delimiter(run: Run, tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({"name": ["a;b", "c", "d", "e"], "y": [1, 0, 0, 1]})
    path = tmp_path / "excel.csv"
    path.write_text("sep=;\r\n" + frame.to_csv(sep=";", index=False, lineterminator="\r\n"))
    result = ok_json(run(path, "-t", "y", "-f", "json"))
    assert result["bias"] == [pytest.approx(_logit(0.5), rel=1e-12)]
    assert result["n_samples"] == 4


def test_excel_sep_line_keeps_line_numbers(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("sep=,\ny,w\n1,1\n0,-2\n")
    assert_one_line_error(run(path, "-t", "y", "-w", "w"), 1, "on line 4")


# --- thousands separators and decimal commas --------------------------------------------


@pytest.mark.parametrize(
    ("written", "options"),
    [
        (["1,739.26", "12.5", "2,000,000.1"], ["--thousands", ","]),
        (["1.739,26", "12,5", "2.000.000,1"], ["--thousands", ".", "--decimal", ","]),
        (["1 739,26", "12,5", "2 000 000,1"], ["--thousands", " ", "--decimal", ","]),
        (["1'739.26", "12.5", "2'000'000.1"], ["--thousands", "'"]),
    ],
)
def test_thousands_separators(
    run: Run, tmp_path: Path, written: list[str], options: list[str]
) -> None:
    pandas = pytest.importorskip("pandas")
    values = [1739.26, 12.5, 2000000.1] * 3
    path = tmp_path / "prices.csv"
    sep = ";" if "--decimal" in options else ","
    pandas.DataFrame({"price": written * 3, "k": list(range(9))}).to_csv(path, sep=sep, index=False)
    # Without the options: an error that says what was found and what to pass.
    line = assert_one_line_error(run(path, "-t", "price"), 1, "thousands separator")
    sep = options[1]
    assert f"pass --thousands {sep if sep in ',.' else repr(sep)}" in line
    assert ("--decimal ," in line) == ("--decimal" in options)
    result = ok_json(run(path, "-t", "price", "--loss", "mse", *options, "-f", "json"))
    assert result["bias"] == [pytest.approx(float(np.mean(values)), rel=1e-12)]


def test_thousands_integers_stay_classes(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "n.csv"
    path.write_text('y\n"1,000"\n"2,000"\n"2,000"\n"1,000"\n"3,000"\n')
    result = ok_json(run(path, "-t", "y", "--thousands", ",", "-f", "json"))
    assert result["classes"] == [1000, 2000, 3000]


def test_decimal_comma_option(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("y\t z\n0,5\tA\n1,5\tB\n2,25\tC\n")
    result = ok_json(run(path, "-t", "y", "--decimal", ",", "--loss", "mse", "-f", "json"))
    assert result["bias"] == [pytest.approx((0.5 + 1.5 + 2.25) / 3, rel=1e-12)]


def test_bad_separator_options(run: Run, write_csv: Callable[..., Path]) -> None:
    path = write_csv({"y": [0, 1]})
    assert_one_line_error(run(path, "--decimal", ";"), 2, "--decimal takes")
    assert_one_line_error(run(path, "--thousands", "x"), 2, "--thousands takes")
    assert_one_line_error(run(path, "--thousands", ",", "--decimal", ","), 2, "cannot both")


# --- unnamed columns ------------------------------------------------------------------


def test_unnamed_index_column_is_shown(run: Run, tmp_path: Path) -> None:
    pandas = pytest.importorskip("pandas")
    path = tmp_path / "indexed.csv"
    pandas.DataFrame({"y": [0, 1], "z": [1, 2]}).to_csv(path)  # index column, empty name
    line = assert_one_line_error(run(path, "-t", "q"), 1, "columns are: '', y, z")
    assert ", ," not in line


# --- section 4: a later column changing type -------------------------------------------


def test_later_column_widens_to_float(run: Run, tmp_path: Path) -> None:
    # Integers, then one 2.5 after the first block, in the second column of three.
    values = [i % 3 for i in range(200_000)] + [2.5]
    path = tmp_path / "late.csv"
    pcsv.write_csv(
        pa.table({"id": range(len(values)), "y": [*values[:-1], 0], "z": ["t"] * len(values)}),
        path,
    )
    text = path.read_text().rsplit("\n", 2)[0] + f'\n{len(values) - 1},2.5,"t"\n'
    path.write_text(text)
    result = ok_json(run(path, "-t", "y", "--loss", "mse", "-f", "json"))
    assert result["bias"] == [pytest.approx(float(np.mean(values)), rel=1e-12)]


def test_later_weight_value_names_the_weight_column(run: Run, tmp_path: Path) -> None:
    rows = "".join(f"{i},{i % 2},1\n" for i in range(200_000))
    path = tmp_path / "late.csv"
    path.write_text("id,y,w\n" + rows + "1,1,heavy\n")
    line = assert_one_line_error(run(path, "-t", "y", "-w", "w"), 1, "column 'w'", "'heavy'")
    assert "bug" not in line


# --- messages are capped -----------------------------------------------------------------


def test_huge_type_message_is_capped(run: Run, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    fields = {f"field_with_a_long_name_{i}": [i] for i in range(3000)}
    table = pa.table({"y": pa.array([fields])})
    path = tmp_path / "nested.parquet"
    pq.write_table(table, path)
    line = assert_one_line_error(run(path, "-t", "y"), 1, "a struct per row", "select or flatten")
    assert len(line) <= MESSAGE_LIMIT + len("Error:  ...  ... (000,000 more characters)")
    assert "field_with_a_long_name_" not in line  # the type (the schema) is not printed


# --- processes: pipes, full disks, Ctrl-C ------------------------------------------------


def _command(*args: object) -> list[str]:
    return [*_installed_command(), *map(str, args)]


def test_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    pcsv.write_csv(pa.table({"y": np.arange(200_000) % 1000}), path)
    for args in ([path, "-t", "y", "-f", "json"], ["--help"]):
        proc = subprocess.Popen(_command(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        proc.stdout.close()  # as `| true` does
        _, err = proc.communicate(timeout=60)
        assert (proc.returncode, err) == (0, b"")
    shell = subprocess.run(
        f"{' '.join(_command(path, '-t', 'y', '-f', 'json'))} | true; echo ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        check=False,
    )
    assert shell.stdout.strip() == "0"
    assert shell.stderr == ""


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["--help"], ["--version"], ["DATA", "-t", "y", "-f", "json"]])
def test_full_disk_is_one_line(tmp_path: Path, args: list[str]) -> None:
    path = tmp_path / "y.csv"
    path.write_text("y\n0\n1\n1\n")
    argv = [str(path) if a == "DATA" else a for a in args]
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            _command(*argv), stdout=full, stderr=subprocess.PIPE, text=True, check=False
        )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["Error: cannot write the output: No space left on device"]


@pytest.fixture(scope="module")
def slow_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CSV that takes biascalc a second or more to read, plain, gzip and bz2."""
    folder = tmp_path_factory.mktemp("sig")
    rng = np.random.default_rng(0)
    n = 2_500_000
    sink = pa.BufferOutputStream()
    pcsv.write_csv(pa.table({"y": rng.integers(0, 2, n), "t": rng.integers(0, 10**6, n)}), sink)
    data = sink.getvalue().to_pybytes()
    paths = {"plain": folder / "y.csv", "gzip": folder / "y.csv.gz", "bz2": folder / "y.csv.bz2"}
    paths["plain"].write_bytes(data)
    paths["gzip"].write_bytes(gzip.compress(data, compresslevel=1))
    paths["bz2"].write_bytes(bz2.compress(data, compresslevel=1))
    return paths


def _wait_until_reading(pid: int, source: Path) -> None:
    """Until the process has the input open (past the start-up): a file, or the folder
    where the copy of standard input appears."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if source.is_dir() and any(source.iterdir()):
            return
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(_link(pid, fd) == str(source) for fd in fds):
                return
        except OSError:
            return  # the process is gone: the caller sees its exit
        time.sleep(0.01)


def _link(pid: int, fd: str) -> str:
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return ""


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
@pytest.mark.parametrize(("kind", "rounds"), [("bz2", 6), ("gzip", 6), ("plain", 3), ("stdin", 3)])
def test_ctrl_c_while_reading(
    slow_inputs: dict[str, Path], tmp_path: Path, kind: str, rounds: int
) -> None:
    """A real SIGINT to a real process: exit 130, one line, no temporary file, promptly."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    interrupted = 0
    for _ in range(rounds):
        source = slow_inputs["gzip" if kind == "stdin" else kind]
        stdin = open(source, "rb") if kind == "stdin" else None  # noqa: SIM115
        argv = _command("-" if stdin else source, "-t", "y", "-f", "json")
        proc = subprocess.Popen(
            argv, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        _wait_until_reading(proc.pid, tmp_path if stdin else source)
        # Once the file is open, a quiet machine reads the plain file (in parallel ranges)
        # in about 0.1 s and the gzip one in about 0.2 s: the signal must come before that.
        time.sleep(random.uniform(0.0, {"plain": 0.05, "bz2": 0.3}.get(kind, 0.1)))
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        waited = time.monotonic() - sent
        if stdin is not None:
            stdin.close()
        if proc.returncode == 0 or out:
            # The result was out before the signal (a fast machine); a signal during the
            # interpreter's own shutdown then ends the process as SIGINT does (-2).
            continue
        interrupted += 1
        assert proc.returncode == 130, err
        assert err.decode().splitlines() == ["Aborted."]
        assert out == b""
        assert waited < 2.5
        assert list(tmp_path.iterdir()) == []
    assert interrupted > 0, "no run was interrupted: make the input larger"


def test_interrupt_in_process_returns_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # main(argv) called from Python keeps Python's KeyboardInterrupt handling: exit 130.
    from biascalc import _cli_compute, cli

    def interrupt(*args: object, **kw: object) -> None:
        raise KeyboardInterrupt

    path = tmp_path / "y.csv"
    path.write_text("y\n0\n1\n")
    monkeypatch.setattr(_cli_compute, "compute", interrupt)
    assert cli.main([str(path), "-t", "y"]) == 130
    assert capsys.readouterr().err == "Aborted.\n"


@pytest.mark.parametrize("module", ["click", "biascalc.cli"])
def test_ctrl_c_while_the_console_script_imports_its_command(module: str) -> None:
    """An interrupt during the console script's first imports (click, the options: ~40 ms)
    is one line and exit 130 too, not a KeyboardInterrupt traceback.

    The signal is raised by the import system itself when it looks for ``module``, so it
    comes exactly there, on any machine.
    """
    code = (
        "import importlib.abc, os, signal, sys\n"
        "class Interrupt(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r}:\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "sys.argv = ['biascalc', '--version']\n"
        "from biascalc._console import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert (proc.returncode, proc.stderr, proc.stdout) == (130, "Aborted.\n", "")


def test_the_console_script_is_the_guarded_entry_point() -> None:
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name="biascalc")
    assert script.value == "biascalc._console:main"
