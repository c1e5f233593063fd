"""--input-format imagefolder: class folders in torchvision's order, images counted by extension.

Trees are written with Pillow (real image files); every expected count and class order
is recomputed here from what the test wrote, and the losses with torch.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")

from biascalc import compute_bias_from_file, compute_bias_from_imagefolder  # noqa: E402
from biascalc.errors import DataError, OptionError  # noqa: E402


def _image(path: Path, fmt: str | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (2, 2), (1, 2, 3)).save(path, format=fmt or "PNG")


def _tree(root: Path, layout: dict[str, list[str]]) -> None:
    """layout: class folder -> file names relative to it (images by extension)."""
    for cls, files in layout.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for name in files:
            p = root / cls / name
            if name.lower().endswith((".txt", ".json", ".csv")) or "." not in name:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_text("not an image")
            else:
                _image(p, "PNG")


# What torchvision's ImageFolder would make of a name, restated for the test: the file
# counts when its lower-cased name ends with one of IMG_EXTENSIONS.
TV_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def test_class_order_and_counts_follow_torchvision(tmp_path: Path) -> None:
    layout = {
        "b": ["1.jpg", "2.JPG", "3.jpeg"],
        "a": ["x.png", "deep/er/y.webp", "z.TIFF"],
        "B": ["1.bmp"],
        "10": ["1.ppm", "2.pgm", "3.tif", "4.png", "5.png"],
        "9": ["q.jpg", "notes.txt", "README"],
        "\u00e9t\u00e9": ["1.png", "2.png"],
    }
    _tree(tmp_path, layout)
    result = compute_bias_from_imagefolder(str(tmp_path))
    expected_order = sorted(layout)  # find_classes: sorted(entry.name ... if entry.is_dir())
    assert (
        list(result.classes or ()) == expected_order == ["10", "9", "B", "a", "b", "\u00e9t\u00e9"]
    )
    counts = [sum(f.lower().endswith(TV_EXTENSIONS) for f in layout[c]) for c in expected_order]
    assert list(result.counts or ()) == counts
    n = sum(counts)
    assert result.n_samples == n
    p = np.array(counts) / n
    np.testing.assert_allclose(result.bias, np.log(p), rtol=1e-15)
    assert any("2 file(s) without an image extension" in w for w in result.warnings)


def test_expected_loss_matches_torch_cross_entropy(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    layout = {"cat": [f"{i}.png" for i in range(7)], "dog": ["a.jpg"], "owl": ["1.png", "2.png"]}
    _tree(tmp_path, layout)
    result = compute_bias_from_imagefolder(str(tmp_path), task="multiclass")
    targets = torch.tensor([i for i, c in enumerate(sorted(layout)) for _ in layout[c]])
    logits = torch.tensor(result.bias, dtype=torch.float64).expand(len(targets), -1)
    expected = torch.nn.functional.cross_entropy(logits, targets).item()
    assert result.expected_loss_recommended == pytest.approx(expected, rel=1e-12)
    zero = torch.nn.functional.cross_entropy(torch.zeros_like(logits), targets).item()
    assert result.expected_loss_zero_bias == pytest.approx(zero, rel=1e-12)


def test_two_folders_are_binary_as_for_a_label_column(tmp_path: Path) -> None:
    _tree(tmp_path, {"cat": ["1.png", "2.png", "3.png"], "dog": ["1.png"]})
    result = compute_bias_from_imagefolder(str(tmp_path))
    assert result.task == "binary" and result.classes == ("cat", "dog")
    assert result.bias.tolist() == [pytest.approx(math.log(1 / 3), rel=1e-15)]
    multi = compute_bias_from_imagefolder(str(tmp_path), task="multiclass", center=True)
    b = np.log([0.75, 0.25])
    np.testing.assert_allclose(multi.bias, b - b.mean(), rtol=1e-14)


def test_hidden_files_skipped_and_counted(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "cat": ["1.png", ".2.png", "._3.jpg", ".ipynb_checkpoints/4.png", ".hidden.txt"],
            "dog": ["1.png", "2.png"],
        },
    )
    (tmp_path / "loose.png").write_bytes(b"")  # beside the class folders: no class
    result = compute_bias_from_imagefolder(str(tmp_path))
    assert result.counts == (1, 2)
    hidden = [w for w in result.warnings if "hidden file" in w]
    # Four hidden files; torchvision would count the three with an image extension.
    assert hidden and "skipped 4 hidden" in hidden[0] and "count 3 of them" in hidden[0]
    assert any("1 file(s) without an image extension" in w for w in result.warnings)


def test_hidden_class_folder_is_a_class_as_in_torchvision(tmp_path: Path) -> None:
    _tree(tmp_path, {".ipynb_checkpoints": [], "cat": ["1.png"], "dog": ["1.png", "2.png"]})
    result = compute_bias_from_imagefolder(str(tmp_path))
    assert result.classes == (".ipynb_checkpoints", "cat", "dog")
    assert any("'.ipynb_checkpoints' is hidden" in w and "class 0" in w for w in result.warnings)


def test_empty_class_folder_is_warned_and_finite(tmp_path: Path) -> None:
    _tree(tmp_path, {"a": ["1.png", "2.png"], "b": [], "c": ["1.png"]})
    result = compute_bias_from_imagefolder(str(tmp_path))
    assert result.counts == (2, 0, 1)
    assert np.all(np.isfinite(result.bias))
    assert result.bias[1] == pytest.approx(math.log(1e-7))
    assert any("no images: 'b'" in w and "allow_empty=True" in w for w in result.warnings)


def test_classes_reordered_is_warned(tmp_path: Path) -> None:
    _tree(tmp_path, {"a": ["1.png"], "b": ["1.png", "2.png"], "c": ["1.png"]})
    result = compute_bias_from_imagefolder(str(tmp_path), classes=("c", "b", "a"))
    assert result.classes == ("c", "b", "a") and result.counts == (1, 2, 1)
    assert any("differs from torchvision's ImageFolder" in w for w in result.warnings)
    assert "class_to_idx order" not in result.task_reason


def test_positive_other_than_the_last_folder_is_warned(tmp_path: Path) -> None:
    _tree(tmp_path, {"a": ["1.png"], "b": ["1.png", "2.png", "3.png"]})
    plain = compute_bias_from_imagefolder(str(tmp_path))
    assert plain.classes == ("a", "b") and "class_to_idx order" in plain.task_reason
    assert not any("differs from" in w for w in plain.warnings)
    flipped = compute_bias_from_imagefolder(str(tmp_path), positive="a")
    assert flipped.classes == ("b", "a")
    assert flipped.bias.tolist() == [pytest.approx(math.log(1 / 3), rel=1e-15)]
    assert any("differs from torchvision's ImageFolder" in w for w in flipped.warnings)


def test_symlink_loop_is_walked_once(tmp_path: Path) -> None:
    _tree(tmp_path, {"a": ["1.png"], "b": ["1.png"]})
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")
    assert compute_bias_from_imagefolder(str(tmp_path)).counts == (1, 1)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.mkdir(), "has no class folders"),
        (lambda p: (p / "a").mkdir(parents=True), "hold no image files"),
        (lambda p: None, "not found"),
        (lambda p: p.write_text("x"), "is not a folder"),
    ],
)
def test_bad_trees(tmp_path: Path, make: Callable[[Path], None], message: str) -> None:
    root = tmp_path / "root"
    make(root)
    with pytest.raises(DataError, match=message):
        compute_bias_from_imagefolder(str(root))


def test_options_that_do_not_apply(tmp_path: Path) -> None:
    _tree(tmp_path, {"a": ["1.png"], "b": ["1.png"]})
    with pytest.raises(OptionError, match="--weight applies to label columns"):
        compute_bias_from_file(str(tmp_path), input_format="imagefolder", weight="w")
    with pytest.raises(OptionError, match="--num-classes applies to --input-format masks"):
        compute_bias_from_imagefolder(str(tmp_path), num_classes=2)
    with pytest.raises(OptionError, match="one folder"):
        compute_bias_from_file([str(tmp_path), str(tmp_path)], input_format="imagefolder")


def test_cli_json(run: Callable[..., Any], tmp_path: Path) -> None:
    _tree(tmp_path, {"x": ["1.png", "2.png", "3.png"], "y": ["1.jpg"], "z": ["1.png"]})
    out = run("--input-format", "imagefolder", tmp_path, "-f", "json")
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    assert d["classes"] == ["x", "y", "z"] and d["counts"] == [3, 1, 1]
    assert d["source"] == [str(tmp_path)] and d["targets"] == []
    assert d["median_frequency_weights"] is None
    bad = run("--input-format", "imagefolder", tmp_path, "-t", "y")
    assert bad.exit_code == 2 and bad.output.startswith("Error: --target applies")


def test_images_are_counted_not_opened(tmp_path: Path) -> None:
    _tree(tmp_path, {"a": ["1.png"], "b": ["1.png"]})
    (tmp_path / "b" / "broken.jpg").write_bytes(b"not a jpeg at all")
    (tmp_path / "b" / "empty.webp").write_bytes(b"")
    # torchvision's make_dataset lists these two as well; opening them is the loader's job.
    assert compute_bias_from_imagefolder(str(tmp_path)).counts == (1, 3)
