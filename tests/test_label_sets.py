"""Multilabel sets as real data stores them: list columns (pyarrow, pandas, JSON Lines,
Hugging Face Sequence(ClassLabel)), multi-hot rows, --label-sep text, -t 'tag_*' globs.

Every expected share is recomputed here from the raw rows with Python sets: p_j is the
weighted share of rows whose set contains label j (an empty list counts, a null list is
missing), and the bias is logit(p_j) (BCEWithLogitsLoss's constant minimiser).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import biascalc
from biascalc import compute_bias
from biascalc.errors import DataError, OptionError
from biascalc.stats import LabelStats, StatsSpec
from biascalc.stats.lists import flatten
from tests.conftest import saved_hf_file

RNG = np.random.default_rng(12)
LABELS = ["sports", "news", "tech", "art"]


def _rows(n: int = 300) -> list[list[str] | None]:
    out: list[list[str] | None] = []
    for _ in range(n):
        k = int(RNG.choice(4, p=[0.25, 0.4, 0.25, 0.1]))
        row = RNG.choice(LABELS[:3], k, replace=False).tolist()  # 'art' never appears
        if k == 2 and RNG.random() < 0.3:
            row.append(row[0])  # a repeated label counts once
        out.append(row)
    out[5] = None  # a missing row
    return out


def _expected(
    rows: list[Any], labels: list[Any], w: Any = None
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], int]:
    """Rows containing each label, the weighted share, and the rows used."""
    used = [i for i, r in enumerate(rows) if r is not None]
    weights = np.ones(len(rows)) if w is None else np.asarray(w, dtype=np.float64)
    counts = np.array([sum(lab in set(rows[i]) for i in used) for lab in labels])
    share = np.array(
        [sum(weights[i] for i in used if lab in set(rows[i])) for lab in labels]
    ) / sum(weights[i] for i in used)
    return counts, share, len(used)


def _logit(p: np.ndarray[Any, Any], eps: float = 1e-7) -> np.ndarray[Any, Any]:
    q = np.clip(p, eps, 1 - eps)
    return np.asarray(np.log(q / (1 - q)))


def _check(result: biascalc.BiasResult, rows: list[Any], labels: list[Any], w: Any = None) -> None:
    counts, share, used = _expected(rows, labels, w)
    assert result.task == "multilabel"
    assert result.classes == tuple(labels)
    assert result.outputs == tuple(str(x) for x in labels)
    assert result.counts == tuple(counts.tolist())
    assert result.n_samples == used
    assert result.n_missing == len(rows) - used
    np.testing.assert_allclose(result.priors, share, rtol=1e-12)
    np.testing.assert_allclose(result.bias, _logit(share), rtol=1e-9)


@pytest.mark.parametrize("list_type", ["list", "large_list"])
@pytest.mark.parametrize("fmt", ["parquet", "arrow"])
def test_pyarrow_list_columns(tmp_path: Path, list_type: str, fmt: str) -> None:
    rows = _rows()
    w = RNG.random(len(rows)) + 0.1
    typ = pa.list_(pa.string()) if list_type == "list" else pa.large_list(pa.string())
    table = pa.table({"tags": pa.array(rows, typ), "w": w})
    path = tmp_path / f"labels.{fmt}"
    if fmt == "parquet":
        pq.write_table(table, path, row_group_size=70)
    else:
        with pa.ipc.new_file(path, table.schema) as f:
            f.write_table(table, max_chunksize=70)
    r = biascalc.compute_bias_from_file(str(path), "tags")
    _check(r, rows, sorted(set(LABELS[:3])))
    assert "label set per row" in r.task_reason and "ascending" in r.task_reason
    weighted = biascalc.compute_bias_from_file(str(path), "tags", weight="w")
    _check(weighted, rows, sorted(set(LABELS[:3])), w)
    named = biascalc.compute_bias_from_file(str(path), "tags", classes=LABELS)
    _check(named, rows, LABELS)
    assert any("'art' is never positive" in x for x in named.warnings)
    assert np.isfinite(named.bias).all()


def test_pandas_list_column_and_in_memory(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    rows = [r if r is not None else [] for r in _rows(120)]  # pandas: empty lists, no nulls
    frame = pd.DataFrame({"tags": rows})
    path = tmp_path / "labels.parquet"
    frame.to_parquet(path)
    _check(biascalc.compute_bias_from_file(str(path), "tags"), rows, sorted(set(LABELS[:3])))
    _check(biascalc.compute_bias(frame["tags"]), rows, sorted(set(LABELS[:3])))


def test_integer_label_ids_in_json_lines(tmp_path: Path) -> None:
    rows: list[Any] = [[3, 7], [], [7], None, [3, 3, 12], [12]]
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps({"ids": r}) + "\n" for r in rows), encoding="utf-8")
    r = biascalc.compute_bias_from_file(str(path), "ids")
    _check(r, rows, [3, 7, 12])


@pytest.mark.parametrize("how", ["to_parquet", "save_to_disk"])
def test_sequence_of_class_label(tmp_path: Path, how: str) -> None:
    datasets = pytest.importorskip("datasets")
    names = ["joy", "anger", "fear", "surprise"]  # go_emotions-like; 'surprise' absent
    ids = [RNG.choice(3, int(RNG.integers(0, 3)), replace=False).tolist() for _ in range(200)]
    features = datasets.Features({"labels": datasets.Sequence(datasets.ClassLabel(names=names))})
    ds = datasets.Dataset.from_dict({"labels": ids}, features=features)
    path = saved_hf_file(ds, tmp_path, how)
    r = biascalc.compute_bias_from_file(str(path), "labels")
    as_names = [[names[i] for i in row] for row in ids]
    _check(r, as_names, names)
    assert "ClassLabel" in r.task_reason
    assert any("'surprise' is never positive" in x for x in r.warnings)


def test_fixed_size_multi_hot(tmp_path: Path) -> None:
    hot = (RNG.random((150, 5)) < [0.5, 0.1, 0.3, 0.0, 0.9]).astype(np.float32)
    w = RNG.random(150) + 0.5
    arr = pa.FixedSizeListArray.from_arrays(pa.array(hot.ravel()), 5)
    path = tmp_path / "hot.parquet"
    pq.write_table(pa.table({"y": arr, "w": w}), path)
    r = biascalc.compute_bias_from_file(str(path), "y", weight="w")
    share = np.average(hot, axis=0, weights=w)
    assert r.outputs == tuple(f"y[{j}]" for j in range(5))
    assert r.counts == tuple(hot.sum(axis=0).astype(int).tolist())
    np.testing.assert_allclose(r.bias, _logit(share), rtol=1e-9)
    assert "multi-hot" in r.task_reason
    named = biascalc.compute_bias_from_file(str(path), "y", classes=list("abcde"))
    assert named.outputs == tuple("abcde")
    with pytest.raises(OptionError, match="5 positions"):
        biascalc.compute_bias_from_file(str(path), "y", classes=["a"])


def test_equal_length_0_1_lists_with_repeats_are_multi_hot(tmp_path: Path) -> None:
    rows = [[0, 1, 1], [1, 0, 0], [0, 0, 0], [1, 1, 0]]
    path = tmp_path / "hot.jsonl"
    path.write_text("".join(json.dumps({"y": r}) + "\n" for r in rows), encoding="utf-8")
    r = biascalc.compute_bias_from_file(str(path), "y")
    share = np.mean(rows, axis=0)
    assert r.outputs == ("y[0]", "y[1]", "y[2]")
    np.testing.assert_allclose(r.bias, _logit(share), rtol=1e-9)


@pytest.mark.parametrize(
    ("sep", "text"),
    [
        ("|", "id,y\n1,sports|news\n2,\n3,news\n4,tech | sports|\n"),
        (";", "id,y\n1,sports;news\n2,\n3,news\n4,tech;sports\n"),
        (" ", "id,y\n1,sports news\n2,\n3,news\n4,tech sports\n"),
        (",", 'id,y\n1,"sports,news"\n2,""\n3,news\n4,"tech,sports"\n'),
    ],
    ids=["pipe", "semicolon", "space", "comma-in-quotes"],
)
def test_label_sep(tmp_path: Path, sep: str, text: str) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(text, encoding="utf-8")
    rows = [["sports", "news"], [], ["news"], ["tech", "sports"]]
    r = biascalc.compute_bias_from_file(str(path), "y", label_sep=sep)
    _check(r, rows, ["news", "sports", "tech"])
    assert f"split at {sep!r}" in r.task_reason


def test_joined_labels_without_label_sep_warn(tmp_path: Path) -> None:
    cells = ["a|b", "", "b", "a|c", "", "c|b", "a", ""]
    path = tmp_path / "labels.csv"
    path.write_text("id,y\n" + "".join(f"{i},{c}\n" for i, c in enumerate(cells)), "utf-8")
    r = biascalc.compute_bias_from_file(str(path), "y")
    assert r.task == "multiclass"  # what was asked; the warning says what was meant
    assert any("--label-sep '|'" in x and "3 rows with an empty cell" in x for x in r.warnings)
    plain = tmp_path / "cities.csv"
    plain.write_text("y\n" + "New York\nLos Angeles\nParis\n" * 5, "utf-8")
    assert not biascalc.compute_bias_from_file(str(plain), "y").warnings


def test_glob_targets(tmp_path: Path, run: Any) -> None:
    path = tmp_path / "tags.csv"
    path.write_text("id,tag_b,x,tag_a\n1,1,5,0\n2,0,6,0\n3,1,7,1\n", "utf-8")
    data = json.loads(run(path, "-t", "tag_*", "-f", "json").output)
    assert data["targets"] == ["tag_b", "tag_a"]  # file order
    assert data["counts"] == [2, 1]
    res = run(path, "-t", "lab*")
    assert res.exit_code == 1
    assert res.output.strip() == (
        f"Error: --target 'lab*' matches no column of '{path}'; columns are: id, tag_b, x, tag_a"
    )


def test_saved_statistics_of_list_parts_merge(tmp_path: Path, run: Any) -> None:
    rows = _rows(200)
    parts = [rows[:80], rows[80:]]
    for i, part in enumerate(parts):
        pq.write_table(pa.table({"tags": pa.array(part)}), tmp_path / f"p{i}.parquet")
        res = run(tmp_path / f"p{i}.parquet", "-t", "tags", "--save-stats", tmp_path / f"{i}.json")
        assert res.exit_code == 0, res.output
    merged = run(
        "--from-stats", tmp_path / "0.json", "--from-stats", tmp_path / "1.json", "-f", "json"
    )
    whole = run(tmp_path / "p0.parquet", tmp_path / "p1.parquet", "-t", "tags", "-f", "json")
    a, b = json.loads(merged.output), json.loads(whole.output)
    assert a["bias"] == b["bias"] and a["classes"] == b["classes"] and a["counts"] == b["counts"]
    counts, _, _ = _expected(rows, a["classes"])
    assert a["counts"] == counts.tolist()


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (pa.array([[["a"]], [["b"]]]), "lists of lists"),
        (pa.array([{"a": 1}, {"a": 2}]), "a struct per row"),
        (pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64())), "a map per row"),
        (pa.array([["a", None], ["b"]]), "missing value inside the list on line 2"),
        (pa.array([[0.5, 0.25], [1.0]]), "not all 0 or 1"),
        (
            pa.FixedSizeListArray.from_arrays(pa.array([0.5, 1.0, 0.0, 2.0]), 2),
            "not all 0 or 1",
        ),
    ],
    ids=["list-of-lists", "struct", "map", "null-element", "floats", "multi-hot-not-0-1"],
)
def test_bad_list_inputs_are_one_line(
    tmp_path: Path, run: Any, column: pa.Array, message: str
) -> None:
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"y": column}), path)
    res = run(path, "-t", "y")
    assert res.exit_code == 1
    assert res.output.startswith("Error: ") and res.output.count("\n") == 1
    assert message in res.output and len(res.output) < 400


def test_list_column_refuses_other_tasks(tmp_path: Path) -> None:
    path = tmp_path / "labels.parquet"
    pq.write_table(pa.table({"tags": pa.array([["a"], ["b"]]), "x": [1, 2]}), path)
    with pytest.raises(OptionError, match="multilabel"):
        biascalc.compute_bias_from_file(str(path), "tags", task="multiclass")
    with pytest.raises(OptionError, match="--positive"):
        biascalc.compute_bias_from_file(str(path), "tags", positive="a")
    with pytest.raises(DataError, match="only --target"):
        biascalc.compute_bias_from_file(str(path), ["tags", "x"])


def test_flatten_keeps_null_and_empty_lists_apart() -> None:
    arr = pa.array([["a", "b"], [], None, ["c"]]).slice(1)  # a sliced array: offsets matter
    flat = flatten(arr)
    assert flat.values.to_pylist() == ["c"]
    assert flat.rows.tolist() == [2]
    assert flat.lengths.tolist() == [0, 0, 1]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.lists(st.sampled_from(["a", "b", "c"]), max_size=4)),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 40),
)
def test_any_split_into_batches_gives_the_same_counts(
    rows: list[list[str] | None], size: int
) -> None:
    if all(r is None for r in rows):
        return
    table = pa.table({"t": pa.array(rows, pa.list_(pa.string()))})
    whole = LabelStats(StatsSpec(("t",)))
    whole.update(table)
    parts = LabelStats(StatsSpec(("t",)))
    for batch in table.to_batches(max_chunksize=size):
        part = LabelStats(StatsSpec(("t",)))
        part.update(batch)
        parts = parts.merge(LabelStats.from_dict(part.to_dict()))
    a = whole.columns[0].counts.result()  # type: ignore[union-attr]
    b = parts.columns[0].counts.result()  # type: ignore[union-attr]
    assert a is not None and b is not None
    labels = sorted({x for r in rows if r for x in r})
    counts, _, used = _expected(rows, labels)
    assert a[0] == b[0] == labels
    assert a[1].tolist() == b[1].tolist() == counts.tolist()
    assert whole.n_rows == parts.n_rows == used


@pytest.mark.parametrize(
    "rows",
    [[[0, 1], [1, 0], [0, 1], [1, 0]], [[0], [1], [1], [1]]],
    ids=["two-positions", "one-position"],
)
def test_equal_length_01_lists_without_repeats_are_ambiguous_and_say_so(
    rows: list[list[int]],
) -> None:
    """[[0, 1], [1, 0]] is label sets {0, 1} or 2-position multi-hot vectors; the data cannot
    tell, so the result says which reading it took and how to store the other."""
    result = compute_bias(pa.table({"y": pa.array(rows)}))
    assert result.classes == (0, 1)  # label sets of the ids 0 and 1
    share = [np.mean([v in r for r in rows]) for v in (0, 1)]
    np.testing.assert_allclose(result.priors, share)
    (warning,) = [w for w in result.warnings if "none repeated" in w]
    assert "fixed-size list" in warning
    # Stored as a fixed-size list (as datasets' Sequence(length=K) is), they are positions.
    width = len(rows[0])
    fixed = compute_bias(pa.table({"y": pa.array(rows, pa.list_(pa.int8(), width))}))
    np.testing.assert_allclose(fixed.priors, np.mean(rows, axis=0))
    assert not [w for w in fixed.warnings if "none repeated" in w]


@pytest.mark.parametrize(
    ("rows", "arrow_type"),
    [
        ([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]], pa.list_(pa.float32())),
        ([[True, False], [False, True], [False, True]], pa.list_(pa.bool_())),
    ],
    ids=["float", "bool"],
)
def test_lists_of_float_or_bool_01_are_multi_hot(rows: list[list[Any]], arrow_type: Any) -> None:
    """Hugging Face multilabel sets store multi-hot rows as float lists; a set of floats or
    booleans means nothing, so they are positions even when no value repeats."""
    result = compute_bias(pa.table({"y": pa.array(rows, arrow_type)}))
    p = np.mean(np.asarray(rows, dtype=float), axis=0)
    assert result.outputs == ("y[0]", "y[1]")
    np.testing.assert_allclose(result.bias, np.log(p / (1 - p)), rtol=1e-12)
    assert not [w for w in result.warnings if "none repeated" in w]
