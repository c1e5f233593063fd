"""A new user's first tries: label stores passed without the option that reads them, a
headerless export named by position, and mistyped options. Each is one line naming what to
pass; with that option the numbers are those of an independent count (numpy, os.scandir)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import biascalc
from biascalc.errors import ColumnNotFoundError

Run = Callable[..., subprocess.CompletedProcess[str]]


def _one_line_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    assert proc.returncode == code, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("Error: ") and proc.stderr.count("\n") == 1, proc.stderr
    return proc.stderr


def _image_tree(root: Path) -> dict[str, int]:
    """A torchvision ImageFolder tree of tiny PNGs written by Pillow -> images per class."""
    image = pytest.importorskip("PIL.Image")
    sizes = {"cat": 3, "Dog": 2, "10_owl": 1}
    for name, n in sizes.items():
        (root / name).mkdir(parents=True)
        for i in range(n):
            image.fromarray(np.full((4, 4, 3), i, dtype=np.uint8)).save(root / name / f"{i}.png")
    return sizes


def test_an_image_tree_without_input_format_names_the_option(
    run_installed: Run, tmp_path: Path
) -> None:
    root = tmp_path / "pets"
    sizes = _image_tree(root)
    message = _one_line_error(run_installed(root, "-t", "y"), 1)
    assert "holds no data files (it holds 6 other files" in message
    assert "--input-format imagefolder" in message and "--input-format masks" in message

    one = _one_line_error(run_installed(root / "cat" / "0.png", "-t", "y"), 1)
    assert "is binary data, not CSV text; for images pass --input-format imagefolder" in one

    proc = run_installed("--input-format", "imagefolder", root, "-f", "json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    # torchvision's find_classes: sorted(entry.name for entry in os.scandir(root) if dir).
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir())
    counts = np.array([sizes[c] for c in classes], dtype=float)
    assert result["classes"] == classes and result["counts"] == counts.tolist()
    np.testing.assert_allclose(result["bias"], np.log(counts / counts.sum()), rtol=1e-12)


def test_a_token_file_without_tokens_names_the_option(run_installed: Run, tmp_path: Path) -> None:
    ids = (np.random.default_rng(0).zipf(1.5, 5_000) % 50).astype(np.uint16)
    folder = tmp_path / "shards"
    folder.mkdir()
    ids.tofile(folder / "train.bin")  # nanoGPT's prepare.py: arr.tofile(), no header
    np.save(tmp_path / "ids.npy", ids.astype(np.int32))

    message = _one_line_error(run_installed(folder / "train.bin"), 1)
    assert "is binary data, not CSV text; for a token file" in message
    assert "pass --tokens uint16" in message
    message = _one_line_error(run_installed(folder), 1)
    assert "(it holds 1 other file, such as" in message and "--tokens uint16" in message
    message = _one_line_error(run_installed(tmp_path / "ids.npy"), 1)
    assert "pass --task tokens" in message and "--input-format masks" in message

    proc = run_installed(
        folder / "train.bin", "--tokens", "uint16", "--vocab-size", 50, "-f", "json"
    )
    assert proc.returncode == 0, proc.stderr
    counts = np.bincount(ids, minlength=50)
    p = np.clip(counts / counts.sum(), 1e-7, None)
    np.testing.assert_allclose(json.loads(proc.stdout)["bias"], np.log(p), rtol=1e-12)


def test_a_headerless_export_named_by_position_suggests_no_header(
    run_installed: Run, tmp_path: Path
) -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "id": np.arange(50),
            "price": rng.gamma(2.0, 10.0, 50).round(2),
            "shop": rng.choice(["north", "south"], 50),  # text: the first line is not all numbers
        }
    )
    path = tmp_path / "part-00000.csv"
    frame.to_csv(path, header=False, index=False)  # as Spark's df.write.csv writes it

    message = _one_line_error(run_installed(path, "-t", "2"), 1)
    assert message.endswith(
        "if the file has no header line, pass --no-header to name its columns by position "
        "(1 first)\n"
    )
    # A position beyond the columns is no such hint: the name is simply not there.
    assert "--no-header" not in _one_line_error(run_installed(path, "-t", "4"), 1)

    proc = run_installed(path, "--no-header", "-t", "2", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["bias"] == pytest.approx([frame["price"].mean()], rel=1e-12)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--wher", "fold < 3"], "No such option '--wher'. (Did you mean one of:"),
        (["-f", "jsn"], "'jsn' is not one of 'table', 'json'"),
        (["--loss", "bcee"], "'bcee' is not one of 'auto', 'mse'"),
        (["-t"], "Option '-t' requires an argument"),
    ],
)
def test_option_typos_are_one_line_exit_2(
    run_installed: Run, write_csv: Callable[..., Path], args: list[Any], words: str
) -> None:
    message = _one_line_error(run_installed(write_csv({"y": [0, 1, 1]}), *args), 2)
    assert words in message and message.endswith("; see 'biascalc --help'\n")
    assert "Usage:" not in message


def test_the_hints_do_not_touch_tables(run_installed: Run, tmp_path: Path) -> None:
    """A folder of text files keeps its plain message (nothing there is an image or tokens)."""
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "README.md").write_text("# labels\n")
    message = _one_line_error(run_installed(tmp_path / "notes", "-t", "y"), 1)
    assert message.endswith("files, optionally compressed\n")


def _main_without(module: str, args: list[str]) -> subprocess.CompletedProcess[str]:
    """The command run as if ``module`` were not installed (``sys.modules[m] = None``)."""
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from biascalc.cli import main\n"
        f"sys.exit(main({args!r}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )


@pytest.mark.parametrize(
    ("module", "extra", "words"),
    [
        ("dask", [], "--engine dask needs the dask package, which is not installed"),
        (
            "distributed",
            ["--scheduler", "tcp://127.0.0.1:1"],
            "the Dask engine needs the distributed package (a Dask cluster), which is not "
            "installed",
        ),
    ],
)
def test_engine_dask_without_dask_is_one_line_exit_2(
    write_csv: Callable[..., Path], module: str, extra: list[str], words: str
) -> None:
    """It was `unexpected ImportError: ... this is a bug in biascalc` (exit 1)."""
    if module == "distributed":
        pytest.importorskip("dask.dataframe")  # dask itself must be there to get this far
    path = write_csv({"y": [0, 1, 1]})
    message = _one_line_error(
        _main_without(module, [str(path), "-t", "y", "--engine", "dask", *extra]), 2
    )
    assert words in message and message.endswith("pip install 'biascalc[dask]'\n")
    assert "bug" not in message


def test_a_stray_text_file_among_images_names_the_image_options(tmp_path: Path) -> None:
    """An ImageFolder tree with a notes.txt, given without --input-format: the .txt is read
    as a table, its columns are not the labels, and the error says what to pass."""
    image = pytest.importorskip("PIL.Image")
    for cls in ("cat", "dog"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(2):
            image.new("RGB", (4, 4)).save(tmp_path / "imgs" / cls / f"{i}.png")
    (tmp_path / "imgs" / "cat" / "notes.txt").write_text("x\nsee the README\n")
    with pytest.raises(ColumnNotFoundError) as caught:
        biascalc.compute_bias_from_file(str(tmp_path / "imgs"), "y")
    message = str(caught.value)
    assert "notes.txt" in message and "--input-format imagefolder" in message
    # A plain table beside no images keeps the plain message.
    (tmp_path / "t.csv").write_text("x\n1\n")
    with pytest.raises(ColumnNotFoundError) as plain:
        biascalc.compute_bias_from_file(str(tmp_path / "t.csv"), "y")
    assert "images" not in str(plain.value)
