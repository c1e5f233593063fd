"""The code formats (python, pytorch, keras, jax) and numpy, without the frameworks.

The safety claim: labels, column and file names are data.  The python format is checked
structurally (its AST holds nothing but assignments of literals) and by running it with no
builtins at all; in the other formats data may only appear in comments, so their code
lines must not change when the labels do.  Hostile labels go end to end through real CSV
and Parquet files and the command line.  The frameworks themselves are exercised in
test_frameworks.py.
"""

from __future__ import annotations

import ast
import io
import math
import tempfile
from collections.abc import Callable
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biascalc import BiasResult, DataError, OptionError, compute_bias, compute_bias_from_file
from biascalc.render import render
from biascalc.render.code import is_dotted_name, render_python, render_pytorch
from biascalc.render.numpy import render_numpy

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
CODE_FORMATS = ("python", "pytorch", "keras", "jax")

HOSTILE = [
    "__import__('os').system('echo pwned')",
    "'); __import__('os').system('echo pwned'); ('",
    '"""; import os; """',
    "x\nimport os\nos.system('echo pwned')",
    "line\r\nbreak",
    "back\\slash\\",
    "\\n not a newline",
    "tab\there",
    "# not a comment",
    "\u2028line separator\u2029",
    "trojan \u202e)'nwp'(metsys.so\u202c",
    "caf\u00e9 \u65e5\u672c \U0001f525",
    "nul\x00byte",
    "{braces} and %s",
    "-*- coding: utf-7 -*-",
    "+AAo-import os",
]


def exec_python(snippet: str) -> dict[str, Any]:
    """Run a python-format snippet with no builtins: pure assignments need none."""
    tree = ast.parse(snippet)
    for node in tree.body:
        assert isinstance(node, ast.Assign), ast.dump(node)
        assert [type(t) for t in node.targets] == [ast.Name]
        ast.literal_eval(node.value)  # raises unless the value is a plain literal
    namespace: dict[str, Any] = {"__builtins__": {}}
    # Compiled from bytes, so a coding declaration in the text would take effect.
    exec(compile(snippet.encode("utf-8"), "<snippet>", "exec"), namespace)
    namespace.pop("__builtins__")
    return namespace


def code_lines(snippet: str) -> list[str]:
    """The lines that are not comments: the only place code can run."""
    return [line for line in snippet.splitlines() if not line.lstrip().startswith("#")]


def check_round_trip(result: BiasResult, **context: Any) -> dict[str, Any]:
    namespace = exec_python(render_python(result, **context))
    assert namespace["OUTPUT_BIAS"] == result.bias.tolist()  # exactly, not approximately
    if result.classes is None:
        assert set(namespace) == {"OUTPUT_BIAS"}
    else:
        assert set(namespace) == {"OUTPUT_BIAS", "CLASSES"}
        assert namespace["CLASSES"] == list(result.classes)
        assert [type(c) for c in namespace["CLASSES"]] == [type(c) for c in result.classes]
    return namespace


# ----------------------------------------------------------------------------- python format


@pytest.mark.parametrize(
    ("name", "target", "options"),
    [
        ("breast_cancer.csv", ["diagnosis"], {}),
        ("breast_cancer.parquet", ["target"], {}),
        ("wine.parquet", ["cultivar"], {}),
        ("wine.csv", ["target"], {"center": True}),
        ("diabetes.csv", ["target"], {}),
        ("diabetes.csv", ["target"], {"loss": "huber", "huber_delta": 5.0}),
        ("fraud_imbalanced.csv", ["is_fraud"], {"weight": "weight"}),
        ("fraud_imbalanced.parquet", ["amount"], {"loss": "poisson"}),
        ("multilabel_tags.csv", ["tag_sports", "tag_tech", "tag_science"], {}),
    ],
)
def test_python_format_round_trips_sample_data(
    name: str, target: list[str], options: dict[str, Any]
) -> None:
    result = compute_bias_from_file(str(SAMPLE / name), target, **options)
    check_round_trip(result)
    check_round_trip(result, unicode=False)


def test_python_format_header_names_the_provenance() -> None:
    result = compute_bias_from_file(
        str(SAMPLE / "fraud_imbalanced.csv"), "is_fraud", weight="weight"
    )
    lines = render_python(result).splitlines()
    assert lines[0] == "# Output-layer bias computed by biascalc 0.1.0."
    assert lines[1].startswith("# Generated code")
    header = "\n".join(lines[:-2])
    for text in ("fraud_imbalanced.csv", "'is_fraud'", "'weight'", "'binary'", "'bce'"):
        assert text in header
    assert "rows: 20000" in header
    assert f"{result.expected_loss_recommended:.6g} with this bias" in header
    assert "logit of class 1" in header


def test_label_types_keep_their_type() -> None:
    check_round_trip(compute_bias([True, False, False]))
    check_round_trip(compute_bias([3, 1, 2, 2], task="multiclass"))
    check_round_trip(compute_bias([0.5, 1.5, 1.5], task="binary"))
    check_round_trip(compute_bias([0, 1, 1], classes=[0, 1, 2], task="multiclass"))


def test_numpy_scalars_and_infinite_labels_are_literals() -> None:
    result = compute_bias([0, 1, 1])
    numpy_labels: Any = (np.int64(0), np.float64(math.inf))
    weird = replace(result, classes=numpy_labels)
    assert exec_python(render_python(weird))["CLASSES"] == [0, math.inf]
    assert "CLASSES = [0, 1e999]" in render_python(weird)
    with pytest.raises(DataError, match="literal"):
        render_python(replace(result, classes=(0, math.nan)))


def test_many_outputs_are_wrapped_one_per_line() -> None:
    labels = [f"class_{i:02d}" for i in range(40) for _ in range(i + 1)]
    result = compute_bias(labels)
    snippet = render_python(result)
    check_round_trip(result)
    assert max(len(line) for line in code_lines(snippet)) <= 88
    for fmt in CODE_FORMATS:
        compile(render(result, fmt), fmt, "exec")
        assert max(len(line) for line in code_lines(str(render(result, fmt)))) <= 100


def test_non_finite_bias_is_refused_by_code_formats_and_kept_by_numpy() -> None:
    result = replace(compute_bias([0, 0, 1]), bias=np.array([math.nan]))
    for fmt in CODE_FORMATS:
        with pytest.raises(DataError, match="non-finite"):
            render(result, fmt)
    loaded = np.load(io.BytesIO(render_numpy(result)))
    assert math.isnan(loaded[0])


# ------------------------------------------------------------------------------- hostile data


def _hostile_result(labels: list[str]) -> BiasResult:
    """Hostile class labels, and hostile names in every place the header shows."""
    y = [label for i, label in enumerate(labels) for _ in range(i + 1)]
    result = compute_bias(y, task="multiclass" if len(labels) > 2 else "binary")
    return replace(
        result,
        targets=tuple(labels[:2]),
        weight=labels[-1],
        source=tuple(labels[-2:]),
    )


def test_hostile_labels_and_names_round_trip_and_never_run() -> None:
    result = _hostile_result(HOSTILE)
    for unicode in (True, False):
        check_round_trip(result, unicode=unicode)
    ascii_snippet = render_python(result, unicode=False)
    assert ascii_snippet.isascii()
    # PEP 263: a "coding:" comment on line 1 or 2 would change how the file decodes.
    for fmt in CODE_FORMATS:
        assert "coding" not in "".join(str(render(result, fmt)).splitlines()[:2])
    # The other formats carry data only in comments: their code is the code of a benign result.
    benign = replace(
        result,
        classes=tuple(f"c{i}" for i in range(len(HOSTILE))),
        targets=("a", "b"),
        weight="w",
        source=("s",),
    )
    for fmt in ("pytorch", "keras", "jax"):
        hostile_code = code_lines(str(render(result, fmt, layer="model.head")))
        assert hostile_code == code_lines(str(render(benign, fmt, layer="model.head")))
        compile(str(render(result, fmt)).encode("utf-8"), fmt, "exec")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_hostile_labels_end_to_end_through_files_and_the_cli(
    fmt: str, tmp_path: Path, run: Callable[..., Result]
) -> None:
    labels = [label for label in HOSTILE if "\x00" not in label or fmt == "parquet"]
    y = [label for i, label in enumerate(labels) for _ in range(i + 1)]
    column = "y\n'); __import__('os')#"
    path = tmp_path / f"\"'labels\n{fmt}.{fmt}"
    table = pa.table({column: y})
    if fmt == "csv":
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    out = run(path, "-t", column, "--format", "python")
    assert out.exit_code == 0, out.output
    namespace = exec_python(out.output)
    assert namespace["CLASSES"] == sorted(labels)
    assert len(namespace["OUTPUT_BIAS"]) == len(labels)
    assert repr(str(path)) in out.output


label_text = st.text(
    alphabet=st.characters(codec="utf-8"),  # Arrow strings are valid UTF-8: no surrogates
    min_size=1,
    max_size=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(labels=st.lists(label_text, min_size=2, max_size=5, unique=True), name=label_text)
def test_any_label_round_trips_through_parquet(labels: list[str], name: str) -> None:
    y = [label for i, label in enumerate(labels) for _ in range(i + 1)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "labels.parquet"
        pq.write_table(pa.table({name: y}), path)
        result = compute_bias_from_file(str(path), name, task="multiclass")
    assert list(result.classes or ()) == sorted(labels)
    assert result.targets == (name,)
    for unicode in (True, False):
        check_round_trip(result, unicode=unicode)
    benign = replace(result, classes=tuple(range(len(labels))), targets=("y",))
    assert code_lines(render_pytorch(result)) == code_lines(render_pytorch(benign))


@settings(max_examples=40, deadline=None)
@given(labels=st.lists(label_text, min_size=2, max_size=4, unique=True))
def test_any_label_survives_csv_as_read(labels: list[str]) -> None:
    # CSV reads "1" as a number and "" or "NA" as missing; whatever biascalc read must
    # come back exactly from the snippet.
    y = [label for i, label in enumerate(labels) for _ in range(i + 2)]
    with tempfile.TemporaryDirectory() as folder:
        import pyarrow.csv as pcsv

        path = Path(folder) / "labels.csv"
        pcsv.write_csv(pa.table({"y": y}), path)
        try:
            result = compute_bias_from_file(str(path), "y")
        except DataError:
            return  # e.g. every label read as missing; nothing to render
    check_round_trip(result)


def test_loss_hint_only_when_the_framework_loss_is_exact() -> None:
    result = compute_bias([0, 0, 0, 1])
    assert "torch.nn.BCEWithLogitsLoss()" in render_pytorch(result)
    # A parameter the hint cannot spell: no hint, but the header still shows it.
    weighted = replace(result, loss_parameters={"pos_weight": [3.0], "note": "x\ny"})
    snippet = render_pytorch(weighted)
    assert "BCEWithLogitsLoss" not in snippet
    assert "loss: 'bce' {'pos_weight': [3.0], 'note': 'x\\ny'}" in snippet
    centered = compute_bias(["a", "b", "b", "c"], center=True)
    assert "torch.nn.CrossEntropyLoss()" in render_pytorch(centered)


@pytest.mark.skipif(
    "outputs" not in {f.name for f in fields(BiasResult)}, reason="BiasResult has no outputs"
)
def test_output_names_are_quoted_and_capped() -> None:
    base = compute_bias([0, 1, 2, 2, 3], task="multiclass")
    hostile = replace(base, task="ordinal", outputs=("> x\nimport os", "> '", "> \u2028"))
    hostile = replace(hostile, bias=np.array([0.5, -0.5, -1.0]))
    snippet = render_python(hostile)
    assert "# Outputs, in order: '> x\\nimport os', \"> '\", '> \\u2028'" in snippet
    exec_python(snippet)
    many = replace(hostile, outputs=tuple(f"> {i}" for i in range(30)), bias=np.zeros(30))
    assert "... (10 more)" in render_python(many)


# ---------------------------------------------------------------------------- pytorch, layer


@pytest.mark.parametrize("layer", ["layer", "model.head", "net.layers_3.out"])
def test_pytorch_uses_the_layer_name(layer: str) -> None:
    snippet = render_pytorch(compute_bias([0, 1, 1]), layer=layer)
    assert f"    {layer}.bias.copy_(output_bias)" in snippet
    assert "with torch.no_grad():" in snippet
    compile(snippet, "pytorch", "exec")


@pytest.mark.parametrize("layer", ["", "a b", "x;import os", "model.", "1x", "class", "a.(b)"])
def test_pytorch_refuses_a_layer_that_is_not_a_name(layer: str) -> None:
    assert not is_dotted_name(layer)
    with pytest.raises(OptionError, match="layer"):
        render_pytorch(compute_bias([0, 1, 1]), layer=layer)


def test_cli_layer_option(run: Callable[..., Result]) -> None:
    data = SAMPLE / "breast_cancer.csv"
    out = run(data, "-t", "target", "--format", "pytorch", "--layer", "model.classifier")
    assert out.exit_code == 0
    assert "model.classifier.bias.copy_(output_bias)" in out.output
    bad = run(data, "-t", "target", "--format", "pytorch", "--layer", "x; rm")
    assert bad.exit_code == 2


def test_keras_and_jax_name_their_use() -> None:
    result = compute_bias_from_file(str(SAMPLE / "fraud_imbalanced.csv"), "amount", loss="poisson")
    keras_snippet = str(render(result, "keras"))
    assert 'keras.layers.Dense(1, activation="exponential", bias_initializer=output_bias)' in (
        keras_snippet
    )
    assert "keras.losses.Poisson()" in keras_snippet
    jax_snippet = str(render(result, "jax"))
    assert "output_bias = jnp.asarray([" in jax_snippet
    assert "bias_init=lambda key, shape, dtype=jnp.float32: output_bias.astype(dtype)" in (
        jax_snippet
    )


# ------------------------------------------------------------------------------------- numpy


def test_numpy_format_through_the_cli(tmp_path: Path, run: Callable[..., Result]) -> None:
    out_file = tmp_path / "bias.npy"
    labels = SAMPLE / "multilabel_tags.parquet"
    out = run(labels, "-t", "tag_sports", "-t", "tag_music", "--format", "numpy", "-o", out_file)
    assert out.exit_code == 0, out.output
    loaded = np.load(out_file, allow_pickle=False)
    expected = compute_bias_from_file(str(labels), ["tag_sports", "tag_music"]).bias
    assert loaded.dtype == np.float64
    assert loaded.tolist() == expected.tolist()


def test_numpy_format_bytes() -> None:
    result = compute_bias(["a", "b", "b", "c"])
    data = render_numpy(result)
    assert isinstance(data, bytes)
    assert data.startswith(b"\x93NUMPY")
    assert np.load(io.BytesIO(data)).tolist() == result.bias.tolist()


def test_reports_name_a_few_files_of_a_big_data_set(tmp_path: Path) -> None:
    """A folder of 6 files: the table and the snippets name 3 and count the rest; the JSON
    keeps every file."""
    import json

    from biascalc import compute_bias_from_file
    from biascalc.render import render

    for i in range(6):
        (tmp_path / f"part-{i}.csv").write_text("y\n0\n1\n1\n")
    result = compute_bias_from_file(str(tmp_path), "y")
    assert len(result.source) == 6
    table = str(render(result, "table"))
    (line,) = [x for x in table.splitlines() if x.startswith("source")]
    assert line.endswith(" and 3 more files") and line.count("part-") == 3
    code = str(render(result, "python"))
    (comment,) = [x for x in code.splitlines() if x.startswith("# source:")]
    assert comment.endswith(" and 3 more files") and comment.count("part-") == 3
    assert len(json.loads(str(render(result, "json")))["source"]) == 6


def test_mask_snippets_count_pixels(tmp_path: Path) -> None:
    image = pytest.importorskip("PIL.Image")
    from biascalc import compute_bias_from_masks
    from biascalc.render import render

    mask = np.zeros((4, 5), np.uint8)
    mask[0, :2], mask[1, 0] = 1, 255
    image.fromarray(mask).save(tmp_path / "m.png")
    code = str(render(compute_bias_from_masks(str(tmp_path)), "python"))
    assert "# pixels: 19 used, 1 ignored" in code.splitlines()
