"""--input-format masks: pixel counts per class id, checked against numpy and torch.

Masks are written with Pillow (modes L, P, 1, I;16) and numpy (.npy); the counts are
recomputed here with numpy from the arrays written, the expected losses with
torch.nn.functional.cross_entropy(ignore_index=...) / binary_cross_entropy_with_logits on
the same pixels, and the median-frequency weights from Eigen & Fergus's definition.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

Image = pytest.importorskip("PIL.Image")

from biascalc import compute_bias_from_file, compute_bias_from_masks  # noqa: E402
from biascalc.errors import DataError, OptionError  # noqa: E402

#: The VOC colour map (bit-interleaved), as VOC's palette PNGs carry it.
VOC_PALETTE = [
    channel
    for i in range(256)
    for channel in (
        sum(((i >> (3 * b)) & 1) << (7 - b) for b in range(8)),
        sum(((i >> (3 * b + 1)) & 1) << (7 - b) for b in range(8)),
        sum(((i >> (3 * b + 2)) & 1) << (7 - b) for b in range(8)),
    )
]


def _masks(k: int, n: int = 5, shape: tuple[int, int] = (19, 23), seed: int = 0) -> list[Any]:
    """n masks with ids 0..k-1 (background-heavy) and ignore pixels 255 at region edges."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a = np.zeros(shape, np.uint8)
        for _ in range(3):
            y, x = rng.integers(0, shape[0] - 4), rng.integers(0, shape[1] - 4)
            a[y : y + rng.integers(2, 9), x : x + rng.integers(2, 9)] = rng.integers(1, k)
        a[rng.random(shape) < 0.08] = 255
        out.append(a)
    return out


def _write(folder: Path, arrays: list[Any], mode: str = "L", suffix: str = ".png") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, a in enumerate(arrays):
        p = folder / f"{i:03d}{suffix}"
        if suffix == ".npy":
            np.save(p, a)
        elif mode == "P":
            im = Image.fromarray(a, "L").convert("P")  # indices = the values
            im.putpalette(VOC_PALETTE)
            im.save(p)
        else:
            Image.fromarray(a).save(p)
        paths.append(p)
    return paths


def _counts(arrays: list[Any], k: int, ignore: tuple[int, ...] = (255,)) -> Any:
    flat = np.concatenate([np.asarray(a, np.int64).ravel() for a in arrays])
    flat = flat[~np.isin(flat, ignore)]
    return np.bincount(flat, minlength=k)


def _torch_ce(arrays: list[Any], bias: Any, ignore: int = 255) -> float:
    torch = pytest.importorskip("torch")
    target = torch.tensor(np.stack(arrays).astype(np.int64))
    k = len(bias)
    logits = (
        torch.tensor(bias, dtype=torch.float64)
        .view(1, k, 1, 1)
        .expand(target.shape[0], k, *target.shape[1:])
    )
    return float(torch.nn.functional.cross_entropy(logits, target, ignore_index=ignore))


@pytest.mark.parametrize("mode", ["L", "P"])
def test_counts_bias_and_loss_match_numpy_and_torch(tmp_path: Path, mode: str) -> None:
    arrays = _masks(k=6)
    _write(tmp_path / "m", arrays, mode)
    result = compute_bias_from_masks(str(tmp_path / "m"), num_classes=6)
    counts = _counts(arrays, 6)
    assert result.counts == tuple(counts.tolist())
    assert result.n_samples == counts.sum()
    assert result.n_missing == sum(int((a == 255).sum()) for a in arrays)
    assert result.task == "multiclass" and result.loss == "cross_entropy"
    assert result.loss_parameters == {"ignore_index": 255}
    np.testing.assert_allclose(result.bias, np.log(counts / counts.sum()), rtol=1e-14)
    assert result.expected_loss_recommended == pytest.approx(
        _torch_ce(arrays, result.bias), rel=1e-12
    )
    assert result.expected_loss_zero_bias == pytest.approx(
        _torch_ce(arrays, np.zeros(6)), rel=1e-12
    )


def test_palette_indices_not_colours_are_the_classes(tmp_path: Path) -> None:
    a = np.array([[0, 1, 1], [15, 15, 255]], np.uint8)
    _write(tmp_path, [a], "P")
    with Image.open(tmp_path / "000.png") as im:
        assert im.mode == "P" and im.getpalette()[3:6] == [128, 0, 0]  # VOC's colour of 1
    result = compute_bias_from_masks(str(tmp_path))
    assert len(result.bias) == 16  # the highest id + 1
    assert result.counts == tuple(_counts([a], 16).tolist())


def test_median_frequency_weights_follow_eigen_fergus(tmp_path: Path) -> None:
    arrays = _masks(k=5, n=7, seed=3)
    arrays[0][:] = 0
    arrays[0][0, :4] = 255
    _write(tmp_path, arrays)
    result = compute_bias_from_masks(str(tmp_path), num_classes=6)
    # freq(c) = pixels of c / pixels (not ignored) of the masks where c is present.
    valid = [a[a != 255].astype(np.int64) for a in arrays]
    freq = []
    for c in range(6):
        where = [v for v in valid if (v == c).any()]
        freq.append(
            sum((v == c).sum() for v in where) / sum(v.size for v in where) if where else None
        )
    median = np.median([f for f in freq if f is not None])
    expected = [None if f is None else median / f for f in freq]
    assert expected[5] is None  # class 5 never occurs
    got = result.median_frequency_weights
    assert got is not None and got[5] is None
    np.testing.assert_allclose(got[:5], expected[:5], rtol=1e-14)
    assert any("no pixels" in w and "{5}" in w for w in result.warnings)


def test_sixteen_bit_masks(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    arrays = [rng.integers(0, 300, (8, 9)).astype(np.uint16) for _ in range(3)]
    arrays[1][0, 0] = 255
    _write(tmp_path, arrays)
    with Image.open(tmp_path / "000.png") as im:
        assert im.mode == "I;16"
    result = compute_bias_from_masks(str(tmp_path), num_classes=300)
    assert result.counts == tuple(_counts(arrays, 300).tolist())
    assert result.n_missing == sum(int((a == 255).sum()) for a in arrays)


def test_npy_arrays_with_a_negative_ignore_value(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    arrays = [rng.integers(-1, 4, (2, 5, 6)).astype(np.int32), rng.integers(0, 4, 7)]
    _write(tmp_path, arrays, suffix=".npy")
    result = compute_bias_from_masks(str(tmp_path), ignore_index=(-1,))
    counts = _counts(arrays, 4, ignore=(-1,))
    assert result.counts == tuple(counts.tolist())
    assert result.loss_parameters["ignore_index"] == -1
    with pytest.raises(
        DataError, match=r"'.*000\.npy' has \d+ pixels of value -1.*--ignore-index -1"
    ):
        compute_bias_from_masks(str(tmp_path))


def test_one_bit_and_boolean_masks_are_ids_0_and_1(tmp_path: Path) -> None:
    a = np.array([[True, False, False], [True, True, False]])
    Image.fromarray(a).save(tmp_path / "a.png")
    with Image.open(tmp_path / "a.png") as im:
        assert im.mode == "1"
    png = compute_bias_from_masks(str(tmp_path / "a.png"), task="binary")
    assert png.task == "binary" and png.counts == (3, 3)
    np.save(tmp_path / "b.npy", a)
    npy = compute_bias_from_masks(str(tmp_path / "b.npy"), loss="bce", task="binary")
    assert npy.counts == (3, 3) and npy.bias.tolist() == [pytest.approx(0.0, abs=1e-15)]


def test_bce_is_one_vs_rest_per_pixel(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    arrays = _masks(k=4, seed=5)
    _write(tmp_path, arrays)
    result = compute_bias_from_masks(str(tmp_path), loss="bce", num_classes=4)
    counts = _counts(arrays, 4)
    p = counts / counts.sum()
    assert result.task == "multilabel" and len(result.bias) == 4
    np.testing.assert_allclose(result.bias, np.log(p / (1 - p)), rtol=1e-13)
    # BCEWithLogitsLoss on one-hot targets of the pixels that are not ignored.
    y = np.concatenate([a.ravel() for a in arrays])
    y = torch.tensor(y[y != 255].astype(np.int64))
    onehot = torch.nn.functional.one_hot(y, 4).double()
    logits = torch.tensor(result.bias).expand_as(onehot)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits, onehot).item()
    assert result.expected_loss_recommended == pytest.approx(expected, rel=1e-12)
    assert "ignore_index" not in result.loss_parameters


def test_focal_is_one_sigmoid_per_class(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    arrays = _masks(k=3, seed=6)
    _write(tmp_path, arrays)
    result = compute_bias_from_masks(str(tmp_path), loss="focal")
    assert result.task == "multilabel" and len(result.bias) == 3
    y = np.concatenate([a.ravel() for a in arrays])
    t = torch.nn.functional.one_hot(torch.tensor(y[y != 255].astype(np.int64)), 3).double()
    x = torch.tensor(result.bias).expand_as(t)
    # Lin et al. 2017, as torchvision.ops.sigmoid_focal_loss writes it (alpha 0.25, gamma 2).
    prob = torch.sigmoid(x)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = prob * t + (1 - prob) * (1 - t)
    loss = (0.25 * t + 0.75 * (1 - t)) * ce * (1 - p_t) ** 2
    assert result.expected_loss_recommended == pytest.approx(loss.mean().item(), rel=1e-10)


def test_num_classes_adds_absent_classes(tmp_path: Path) -> None:
    arrays = _masks(k=3)
    _write(tmp_path, arrays)
    result = compute_bias_from_masks(str(tmp_path), num_classes=8)
    assert len(result.bias) == 8 and np.all(np.isfinite(result.bias))
    assert result.counts[3:] == (0,) * 5
    assert any("5 of the 8 classes have no pixels" in w for w in result.warnings)


def test_class_names_and_several_ignore_values(tmp_path: Path) -> None:
    arrays = _masks(k=3)
    _write(tmp_path, arrays)
    result = compute_bias_from_masks(
        str(tmp_path), classes=("road", "car", "sky"), ignore_index=(0, 255)
    )
    assert result.classes == ("road", "car", "sky")
    counts = _counts(arrays, 3, ignore=(0, 255))
    assert result.counts == tuple(counts.tolist()) and result.counts[0] == 0
    assert result.loss_parameters["ignore_index"] == [0, 255]
    with pytest.raises(OptionError, match="names the classes of the ids 0, 1, 2"):
        compute_bias_from_masks(str(tmp_path), classes=("1", "2", "3"))
    ids = compute_bias_from_masks(str(tmp_path), classes=("0", "1", "2"))
    assert ids.classes == (0, 1, 2)


def test_threads_give_the_same_result(tmp_path: Path) -> None:
    arrays = _masks(k=5, n=23, seed=9)
    _write(tmp_path, arrays)
    one = compute_bias_from_masks(str(tmp_path), threads=1)
    many = compute_bias_from_masks(str(tmp_path), threads=3)
    assert one.counts == many.counts == tuple(_counts(arrays, len(one.bias)).tolist())
    assert one.median_frequency_weights == many.median_frequency_weights


def test_glob_and_recursive_folder(tmp_path: Path) -> None:
    arrays = _masks(k=4, n=4)
    _write(tmp_path / "a", arrays[:2])
    _write(tmp_path / "a" / "deeper", arrays[2:])
    (tmp_path / "a" / "README.txt").write_text("masks")
    (tmp_path / "a" / ".cache").mkdir()
    folder = compute_bias_from_masks(str(tmp_path / "a"))
    assert folder.counts == tuple(_counts(arrays, 4).tolist())
    assert any("skipped 2 file(s)" in w for w in folder.warnings)
    only = compute_bias_from_masks(str(tmp_path / "a" / "deeper" / "*.png"))
    assert only.counts == tuple(_counts(arrays[2:], len(only.bias)).tolist())


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, 20) | st.just(255), min_size=1, max_size=40),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["png", "npy"]),
)
def test_counts_are_numpys_bincount(
    tmp_path_factory: Any, rows: list[list[int]], kind: str
) -> None:
    folder = tmp_path_factory.mktemp("h")
    arrays = [np.array(r, np.uint8).reshape(1, -1) for r in rows]
    _write(folder, arrays, suffix="." + kind)
    if all((a == 255).all() for a in arrays):
        with pytest.raises(DataError, match="no pixels that are not ignored"):
            compute_bias_from_masks(str(folder))
        return
    result = compute_bias_from_masks(str(folder), num_classes=21)
    assert result.counts == tuple(_counts(arrays, 21).tolist())
    assert result.n_missing == sum(int((a == 255).sum()) for a in arrays)


# Bad input: one DataError naming the file and what was found.


def test_rgb_mask_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, _masks(k=3, n=2))
    Image.new("RGB", (4, 4), (128, 0, 0)).save(tmp_path / "001.png")
    with pytest.raises(DataError, match=r"'.*001\.png' is a PNG of mode RGB \(colour\)"):
        compute_bias_from_masks(str(tmp_path))


def test_mixed_modes_are_refused(tmp_path: Path) -> None:
    arrays = _masks(k=3, n=2)
    _write(tmp_path, arrays[:1], "L")
    im = Image.fromarray(arrays[1], "L").convert("P")
    im.save(tmp_path / "001.png")
    with pytest.raises(
        DataError,
        match=r"mixed kinds: '.*000\.png' is a PNG of mode L but '.*001\.png' is a PNG of mode P",
    ):
        compute_bias_from_masks(str(tmp_path))


def test_truncated_png_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, _masks(k=3, n=3, shape=(64, 64)))
    data = (tmp_path / "001.png").read_bytes()
    (tmp_path / "001.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cannot read '.*001\.png' as a PNG mask: .*truncated"):
        compute_bias_from_masks(str(tmp_path), threads=2)


def test_value_above_num_classes_is_refused(tmp_path: Path) -> None:
    arrays = _masks(k=3, n=2)
    arrays[1][0, 0] = 7
    _write(tmp_path, arrays)
    with pytest.raises(DataError, match=r"'.*001\.png' has 1 pixels of value 7.*--num-classes 3"):
        compute_bias_from_masks(str(tmp_path), num_classes=3)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: d.mkdir(), "holds no mask files"),
        (lambda d: (d.mkdir(), (d / "x.txt").write_text("x")), "holds no mask files.*x.txt"),
        (lambda d: (d.mkdir(), np.save(d / "f.npy", np.ones(3))), "holds float64 values"),
        (
            lambda d: (d.mkdir(), Image.new("L", (2, 2)).save(d / "j.png", format="JPEG")),
            "is a JPEG image",
        ),
        (lambda d: (d.mkdir(), (d / "e.png").write_bytes(b"")), "is an empty file"),
        (lambda d: (d.mkdir(), (d / "n.npy").write_bytes(b"\x93NUMPY\x01")), "as a .npy array"),
        (
            lambda d: (d.mkdir(), Image.new("LA", (2, 2)).save(d / "a.png")),
            r"mode LA \(with alpha\)",
        ),
    ],
)
def test_bad_inputs(tmp_path: Path, setup: Callable[[Path], Any], message: str) -> None:
    folder = tmp_path / "masks"
    setup(folder)
    with pytest.raises(DataError, match=message):
        compute_bias_from_masks(str(folder))


def test_options_that_do_not_apply(tmp_path: Path) -> None:
    _write(tmp_path, _masks(k=3, n=1))
    with pytest.raises(OptionError, match="--target applies to label columns"):
        compute_bias_from_file(str(tmp_path), "y", input_format="masks")
    with pytest.raises(OptionError, match="--positive does not apply to masks"):
        compute_bias_from_masks(str(tmp_path), positive=1)
    with pytest.raises(OptionError, match="--sampler does not apply to masks"):
        compute_bias_from_masks(str(tmp_path), sampler="sqrt")
    with pytest.raises(OptionError, match="not --task regression"):
        compute_bias_from_masks(str(tmp_path), task="regression")
    with pytest.raises(OptionError, match="--task binary needs 2 classes"):
        compute_bias_from_masks(str(tmp_path), task="binary", num_classes=3)
    with pytest.raises(OptionError, match="--classes names 2 classes but --num-classes is 3"):
        compute_bias_from_masks(str(tmp_path), classes=("a", "b"), num_classes=3)


def test_table_inputs_refuse_pixel_options(write_csv: Callable[..., Path]) -> None:
    from biascalc import compute_bias_from_counts, compute_bias_from_prior

    path = write_csv({"y": [0, 1, 1]})
    with pytest.raises(OptionError, match="--ignore-index applies to --input-format masks"):
        compute_bias_from_file(str(path), "y", ignore_index=(255,))
    with pytest.raises(OptionError, match=r"--num-classes applies .* not to --counts"):
        compute_bias_from_counts({0: 1, 1: 2}, num_classes=2)
    with pytest.raises(OptionError, match="not to --prior"):
        compute_bias_from_prior(0.1, num_classes=2)


# The command line.


def test_cli_json_and_table(run: Callable[..., Any], tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from .conftest import ROOT

    arrays = _masks(k=4)
    _write(tmp_path / "m", arrays)
    out = run("--input-format", "masks", tmp_path / "m", "--num-classes", "4", "-f", "json")
    assert out.exit_code == 0, out.output
    d = json.loads(out.stdout)
    jsonschema.validate(d, json.loads((ROOT / "docs" / "biascalc-result.schema.json").read_text()))
    assert d["counts"] == _counts(arrays, 4).tolist()
    assert len(d["median_frequency_weights"]) == 4
    table = run("--input-format", "masks", tmp_path / "m", "--ignore-index", "0")
    assert table.exit_code == 0 and "pixels " in table.stdout and "median-freq" in table.stdout
    code = run("--input-format", "masks", tmp_path / "m", "-f", "pytorch")
    assert "CrossEntropyLoss(ignore_index=255)" in code.stdout
    bad = run("--input-format", "masks", tmp_path / "m", "--save-stats", tmp_path / "s.json")
    assert bad.exit_code == 2 and "saves no statistics" in bad.output


def test_installed_command_names_the_bad_file(
    run_installed: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    arrays = _masks(k=3, n=3)
    _write(tmp_path, arrays)
    good = run_installed("--input-format", "masks", tmp_path, "-f", "json")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["counts"] == _counts(arrays, 3).tolist()
    Image.new("RGB", (3, 3)).save(tmp_path / "002.png")
    bad = run_installed("--input-format", "masks", tmp_path)
    assert bad.returncode == 1 and bad.stdout == ""
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "002.png" in lines[0]


def test_missing_pillow_is_one_line(tmp_path: Path) -> None:
    _write(tmp_path, _masks(k=3, n=1))
    code = (
        "import sys; sys.modules['PIL'] = None\n"
        "from biascalc.cli import main\n"
        f"sys.exit(main(['--input-format', 'masks', {str(tmp_path)!r}]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "Error: reading PNG masks needs Pillow: pip install 'biascalc[images]'"
    )


def test_pillow_is_imported_only_for_masks(tmp_path: Path) -> None:
    code = (
        "import sys; from biascalc.cli import main\n"
        "main(['--prior', '0.1'])\n"
        "print('PIL' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert proc.stdout.strip().endswith("False")


def _eigen_fergus(arrays: list[Any], k: int) -> Any:
    """alpha_c = median(freq) / freq(c), freq(c) over the masks where c occurs, by hand."""
    valid = [a[a != 255].astype(np.int64) for a in arrays]
    freq = []
    for c in range(k):
        where = [v for v in valid if (v == c).any()]
        freq.append(sum((v == c).sum() for v in where) / sum(v.size for v in where))
    return np.median(freq) / np.array(freq)


def test_class_weight_median_frequency_weighs_the_loss(tmp_path: Path) -> None:
    """--class-weight median-frequency: the weighted cross-entropy's bias and the loss at
    step 0 as torch's cross_entropy(weight=alpha, ignore_index=255) reports them."""
    torch = pytest.importorskip("torch")
    arrays = _masks(k=5, n=7, seed=3)
    _write(tmp_path, arrays)
    alpha = _eigen_fergus(arrays, 5)
    result = compute_bias_from_masks(str(tmp_path), class_weight="median-frequency")
    np.testing.assert_allclose(result.loss_parameters["class_weight"], alpha, rtol=1e-12)
    # Constant logits minimise the weighted loss at softmax(b) = alpha_k n_k / sum(alpha n).
    counts = _counts(arrays, 5)
    shares = alpha * counts / (alpha * counts).sum()
    np.testing.assert_allclose(np.exp(result.bias) / np.exp(result.bias).sum(), shares, rtol=1e-12)
    target = torch.tensor(np.stack(arrays).astype(np.int64))
    weight = torch.tensor(alpha, dtype=torch.float64)

    def loss(b: Any) -> float:
        logits = torch.tensor(b, dtype=torch.float64).view(1, 5, 1, 1).expand(7, 5, 19, 23)
        return float(
            torch.nn.functional.cross_entropy(logits, target, weight=weight, ignore_index=255)
        )

    assert result.expected_loss_recommended == pytest.approx(loss(result.bias), rel=1e-12)
    assert result.expected_loss_zero_bias == pytest.approx(loss(np.zeros(5)), rel=1e-12)


def test_class_weight_median_frequency_needs_masks_and_present_classes(tmp_path: Path) -> None:
    arrays = _masks(k=5, n=4, seed=1)
    _write(tmp_path / "m", arrays)
    with pytest.raises(DataError, match="undefined for classes with no pixels: \\[5\\]"):
        compute_bias_from_masks(str(tmp_path / "m"), num_classes=6, class_weight="median-frequency")
    labels = tmp_path / "y.csv"
    labels.write_text("y\n0\n1\n1\n")
    with pytest.raises(OptionError, match="needs --input-format masks"):
        compute_bias_from_file(labels, "y", class_weight="median-frequency")
