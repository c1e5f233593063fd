"""The command line: output, JSON contract, errors and exit codes, end to end."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest

from biascalc import __version__
from biascalc.cli import cli

from .conftest import ROOT, SAMPLE_DATA

SCHEMA = json.loads((ROOT / "docs" / "biascalc-result.schema.json").read_text())


def test_json_fields_binary(run: Callable[..., Any], write_csv: Callable[..., Path]) -> None:
    path = write_csv({"y": [0, 1, 1, 0, 0, None], "x": [1, 2, 3, 4, 5, 6]})
    result = run(path, "-t", "y", "--format", "json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["schema_version"] == 1
    assert d["biascalc_version"] == __version__
    assert d["source"] == [str(path)]
    assert d["task"] == "binary"
    assert d["task_reason"] == "2 distinct values {0, 1}; classes in ascending order, from the data"
    assert d["loss"] == "bce"
    assert d["activation"] == "sigmoid"
    assert d["targets"] == ["y"]
    assert d["classes"] == [0, 1]
    assert d["counts"] == [3, 2]
    assert d["priors"] == [0.6, 0.4]
    assert d["n_samples"] == 5
    assert d["n_missing"] == 1
    assert d["weight"] is None and d["weight_sum"] is None
    assert d["bias"] == [math.log(0.4 / 0.6)]
    p = 0.4
    assert d["expected_initial_loss"] == {
        "zero_bias": math.log(2),
        "recommended": pytest.approx(-(p * math.log(p) + (1 - p) * math.log(1 - p)), rel=1e-15),
    }
    assert d["warnings"] == []


def test_json_matches_the_schema(run: Callable[..., Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    cases = [
        ("breast_cancer.csv", ["-t", "target"]),
        ("wine.parquet", ["-t", "cultivar"]),
        ("diabetes.csv", ["-t", "target"]),
        ("fraud_imbalanced.csv", ["-t", "is_fraud", "--weight", "weight"]),
        ("multilabel_tags.parquet", ["-t", "tag_sports", "-t", "tag_music"]),
    ]
    for name, args in cases:
        result = run(SAMPLE_DATA / name, *args, "-f", "json")
        assert result.exit_code == 0, result.output
        jsonschema.validate(json.loads(result.stdout), SCHEMA)


def test_json_classes_keep_their_type(
    run: Callable[..., Any], write_parquet: Callable[..., Path]
) -> None:
    d = json.loads(run(write_parquet({"y": [True, False, False]}), "-f", "json").stdout)
    assert d["classes"] == [False, True]
    d = json.loads(run(write_parquet({"y": ["b", "a", "c"]}), "-f", "json").stdout)
    assert d["classes"] == ["a", "b", "c"]
    d = json.loads(run(write_parquet({"y": [0.0, 1.0, 2.0]}), "-f", "json").stdout)
    assert d["classes"] == [0.0, 1.0, 2.0]
    d = json.loads(run(write_parquet({"y": [0.1, 0.2, 0.3]}), "-f", "json").stdout)
    assert d["classes"] is None and d["statistics"][0]["mean"] == pytest.approx(0.2)


def test_floats_round_trip(run: Callable[..., Any], write_csv: Callable[..., Path]) -> None:
    path = write_csv({"y": [0.1, 0.7, 1 / 3]})
    d = json.loads(run(path, "-f", "json").stdout)
    expected = (0.1 + 0.7 + 1 / 3) / 3
    assert d["bias"][0] == pytest.approx(expected, rel=1e-15)
    table = run(path).stdout
    assert repr(d["bias"][0]) in table


def test_table_output(run: Callable[..., Any]) -> None:
    result = run(SAMPLE_DATA / "breast_cancer.csv", "-t", "target")
    assert result.exit_code == 0
    out = result.stdout
    assert "task        binary \u2014 2 distinct values {0, 1}" in out
    assert "569 used, 0 missing" in out
    assert "0.5211495071076268" in out
    assert "zero bias          0.6931471805599453" in out
    assert result.stderr == ""


def test_single_column_file_needs_no_target(
    run: Callable[..., Any], write_csv: Callable[..., Path]
) -> None:
    d = json.loads(run(write_csv({"label": ["a", "b", "b"]}), "-f", "json").stdout)
    assert d["targets"] == ["label"]


def test_missing_column_suggests_a_name(
    run: Callable[..., Any], write_csv: Callable[..., Path]
) -> None:
    path = write_csv({"label": [0, 1], "x1": [1, 2]})
    result = run(path, "-t", "lable")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"Error: column 'lable' not found in '{path}'; columns are: label, x1; "
        "did you mean 'label'?\n"
    )


def test_target_needed_for_several_columns(
    run: Callable[..., Any], write_csv: Callable[..., Path]
) -> None:
    result = run(write_csv({"a": [0], "b": [1]}))
    assert result.exit_code == 2
    assert "say which holds the labels with --target" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--huber-delta", "2"], "--huber-delta applies to --loss huber only"),
        (["--loss", "bce", "--task", "regression"], "--loss bce does not fit --task regression"),
        (["--quantile", "2", "--loss", "quantile"], "--quantile must be strictly between 0 and 1"),
        (["--layer", "m.head"], "--layer applies to --format pytorch only"),
        (["--center"], "--center applies to the cross_entropy loss, not bce"),
    ],
)
def test_usage_errors_exit_2(
    run: Callable[..., Any], write_csv: Callable[..., Path], args: list[str], message: str
) -> None:
    result = run(write_csv({"y": [0, 1, 1]}), *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert message in result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1


def test_bad_data_exit_1(run: Callable[..., Any], write_csv: Callable[..., Path]) -> None:
    result = run(write_csv({"y": [1.0, -2.0, 3.5]}), "--loss", "poisson")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the poisson loss needs non-negative labels, but column 'y' has the value -2.0; "
        "choose another --loss (mse, huber) or fix the labels\n"
    )
    assert result.stdout == ""


def test_missing_file(run: Callable[..., Any], tmp_path: Path) -> None:
    result = run(tmp_path / "nope.csv", "-t", "y")
    assert result.exit_code == 1
    assert result.stderr == f"Error: file '{tmp_path / 'nope.csv'}' not found\n"


def test_output_file_is_written(
    run: Callable[..., Any], write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    out = tmp_path / "bias.json"
    result = run(write_csv({"y": [0, 1, 1]}), "-f", "json", "-o", out)
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(out.read_text())["classes"] == [0, 1]


def test_every_option_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    for param in cli.params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("--") and opt not in ("--help",):
                assert opt in readme, f"{opt} is not documented in README.md"


def test_help_has_an_example(run: Callable[..., Any]) -> None:
    out = run("--help").stdout
    assert "Examples, one per task:" in out and "biascalc labels.csv --target y" in out
    for task in ("binary", "multiclass", "regression", "ordinal"):
        assert f"# {task}" in out, f"--help has no example for {task}"


# ----------------------------------------------------------------- the installed command


def test_installed_command_end_to_end(run_installed: Callable[..., Any]) -> None:
    proc = run_installed("sample_data/wine.parquet", "-t", "cultivar", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["classes"] == ["class_0", "class_1", "class_2"]
    assert d["counts"] == [59, 71, 48]
    assert d["bias"] == [math.log(59 / 178), math.log(71 / 178), math.log(48 / 178)]


def test_installed_command_reads_stdin(run_installed: Callable[..., Any]) -> None:
    text = (SAMPLE_DATA / "breast_cancer.csv").read_text()
    proc = run_installed("-", "-t", "target", "-f", "json", input=text)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["source"] == ["<stdin>"]
    assert json.loads(proc.stdout)["counts"] == [212, 357]


def test_installed_command_error_is_one_line(
    run_installed: Callable[..., Any], tmp_path: Path
) -> None:
    proc = run_installed(tmp_path / "missing.csv")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith("Error: ") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_debug_shows_the_traceback(
    run_installed: Callable[..., Any], write_csv: Callable[..., Path]
) -> None:
    proc = run_installed(write_csv({"y": [1.0, -2.0]}), "--loss", "gamma", "--debug")
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr and "Error: the gamma loss" in proc.stderr


def test_python_dash_m_and_version(run_installed: Callable[..., Any]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "biascalc", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and proc.stdout.strip() == f"biascalc, version {__version__}"


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; from biascalc.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'pyarrow', 'numpy') if m in sys.modules]\n"
        "sys.stderr.write(','.join(heavy))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.stderr == ""


@pytest.mark.parametrize(
    ("name", "check"), [("bias.json", "json"), ("bias.npy", "npy"), ("bias.py", "py")]
)
def test_output_extension_chooses_the_format(
    run: Callable[..., Any], write_csv: Callable[..., Path], tmp_path: Path, name: str, check: str
) -> None:
    out = tmp_path / name
    assert run(write_csv({"y": [0, 1, 1]}), "-o", out).exit_code == 0
    if check == "json":
        assert json.loads(out.read_text())["classes"] == [0, 1]
    elif check == "npy":
        assert out.read_bytes().startswith(b"\x93NUMPY")
    else:
        assert "OUTPUT_BIAS = " in out.read_text()
    # An explicit --format wins over the extension.
    assert run(write_csv({"y": [0, 1, 1]}), "-o", out, "--format", "table").exit_code == 0
    assert out.read_text(errors="replace").startswith("source")


def test_cli_choices_match_the_library_registries() -> None:
    # cli.py lists them literally so that --help need not import numpy; keep them in step.
    from biascalc.cli import FORMAT_CHOICES, LOSS_CHOICES, TASK_CHOICES
    from biascalc.losses import LOSSES
    from biascalc.render import FORMATS
    from biascalc.tasks import TASKS

    assert ("auto", *LOSSES) == LOSS_CHOICES
    assert ("auto", *TASKS) == TASK_CHOICES
    assert set(FORMAT_CHOICES) == set(FORMATS)


def test_eps_sets_the_clip(run: Callable[..., Any], write_csv: Callable[..., Path]) -> None:
    d = json.loads(run(write_csv({"y": [1, 1, 1]}), "--eps", "0.001", "-f", "json").stdout)
    assert d["bias"] == [pytest.approx(math.log(0.999 / 0.001), rel=1e-12)]


@pytest.mark.parametrize(("args", "expected"), [((), True), (("--no-progress",), False)])
def test_no_progress_reaches_the_reader(
    run: Callable[..., Any],
    write_csv: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    expected: bool,
) -> None:
    from biascalc import api

    seen: dict[str, Any] = {}
    real = api.collect_file_stats

    def spy(*a: Any, **kw: Any) -> Any:
        seen.update(kw)
        return real(*a, **kw)

    monkeypatch.setattr(api, "collect_file_stats", spy)
    assert run(write_csv({"y": [0, 1]}), *args).exit_code == 0
    assert seen["progress"] is expected


def test_every_option_is_in_a_help_section() -> None:
    from biascalc._cli_help import option_names
    from biascalc.cli import HELP_SECTIONS, cli

    listed = {name for names in HELP_SECTIONS.values() for name in names}
    options = set(option_names(cli, click.Context(cli)))
    assert options - listed == set(), "add these options to a section of HELP_SECTIONS"
    assert listed - options == set(), "HELP_SECTIONS names options that do not exist"


def test_installed_help_imports_no_numpy() -> None:
    """The console script's own exit path must not load the readers (numpy, pyarrow)."""
    import shutil

    script = shutil.which("biascalc")
    if script is None:
        pytest.skip("the biascalc console script is not installed")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", script, "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()}
    assert not imported & {"numpy", "pyarrow", "pandas"}, sorted(imported & {"numpy", "pyarrow"})
