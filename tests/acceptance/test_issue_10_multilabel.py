"""Acceptance check of issue 10, part 2: list-valued and delimited multilabel columns, written
from the issue's text only.

Files are written by pandas, polars, Hugging Face ``datasets`` and pyarrow; every count,
share and bias is recomputed here from the raw values (numpy), never taken from biascalc.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather
import pyarrow.parquet as pq
import pytest

from ._util import (
    assert_absent_warned,
    assert_error,
    close,
    hf_inputs,
    logit,
    run,
    run_json,
)

RNG = np.random.default_rng(10)


@pytest.mark.parametrize("which", [0, 1])
def test_sequence_classlabel_multilabel(hf_files: tuple[Path, dict[str, Any]], which: int) -> None:
    folder, raw = hf_files
    r = run_json(hf_inputs(folder)[which], "-t", "tags")
    assert r["task"] == "multilabel"
    assert r["outputs"] == raw["tag_names"] or r["classes"] == raw["tag_names"]
    share = np.array([np.mean([k in t for t in raw["tags"]]) for k in range(3)])
    close(r["bias"][:3], logit(share))
    assert len(r["bias"]) == 4  # 'love' never occurs: an output all the same, warned
    assert_absent_warned(r, ["love"])
    assert r["n_samples"] == len(raw["tags"])


# --------------------------------------------------------------------------- 2. list columns

TAGS = [["b", "a"], [], ["c"], None, ["a", "a"], ["a", "c", "b"], ["d", "a"], None, ["b"]]


def list_rows(n: int) -> list[list[str] | None]:
    return [TAGS[i] for i in RNG.integers(0, len(TAGS), size=n)]


def expected_multilabel(rows: list[Any], w: np.ndarray | None = None) -> tuple[list[str], Any]:
    keep = [i for i, r in enumerate(rows) if r is not None]
    names = sorted({x for i in keep for x in rows[i]})
    ww = np.ones(len(keep)) if w is None else w[keep]
    share = [np.sum(ww * np.array([name in rows[i] for i in keep])) / ww.sum() for name in names]
    return names, logit(np.array(share))


@pytest.mark.parametrize("list_type", ["list", "large_list"])
def test_parquet_list_column(tmp_path: Path, list_type: str) -> None:
    rows = list_rows(500)
    w = np.round(RNG.uniform(0.1, 3.0, 500), 6)
    typ = pa.list_(pa.string()) if list_type == "list" else pa.large_list(pa.string())
    pq.write_table(pa.table({"tags": pa.array(rows, type=typ), "w": w}), tmp_path / "l.parquet")
    r = run_json(tmp_path / "l.parquet", "-t", "tags")
    names, bias = expected_multilabel(rows)
    assert r["task"] == "multilabel"
    assert r["classes"] == names
    close(r["bias"], bias)
    assert r["n_missing"] == sum(x is None for x in rows)  # a null list is a missing row
    assert r["n_samples"] == sum(x is not None for x in rows)  # an empty list counts
    r = run_json(tmp_path / "l.parquet", "-t", "tags", "-w", "w")
    close(r["bias"], expected_multilabel(rows, w)[1])


def test_integer_lists_in_arrow_and_jsonl(tmp_path: Path) -> None:
    rows = [[3, 7], [7], [], [11, 3], None, [3]] * 30
    pa.feather.write_feather(
        pa.table({"y": pa.array(rows, pa.list_(pa.int64()))}), tmp_path / "l.arrow"
    )
    with (tmp_path / "l.jsonl").open("w") as f:
        for row in rows:
            f.write(json.dumps({"y": row, "other": 1}) + "\n")
    keep = [r for r in rows if r is not None]
    share = [np.mean([k in r for r in keep]) for k in (3, 7, 11)]
    for name in ("l.arrow", "l.jsonl"):
        r = run_json(tmp_path / name, "-t", "y")
        assert r["task"] == "multilabel"
        assert r["classes"] == [3, 7, 11]
        close(r["bias"], logit(np.array(share)))
        assert r["n_samples"] == len(keep)


def test_fixed_size_multi_hot(tmp_path: Path) -> None:
    hot = (RNG.random((300, 4)) < [0.1, 0.5, 0.7, 0.3]).astype("int8")
    arr = pa.FixedSizeListArray.from_arrays(pa.array(hot.ravel()), 4)
    pq.write_table(pa.table({"y": arr}), tmp_path / "h.parquet")
    r = run_json(tmp_path / "h.parquet", "-t", "y")
    assert r["task"] == "multilabel"
    assert len(r["bias"]) == 4  # one output per position
    close(r["bias"], logit(hot.mean(axis=0)))


def test_label_sep_csv(tmp_path: Path) -> None:
    rows = list_rows(300)
    rows = [r if r is not None else [] for r in rows]
    cells = ["|".join(r) for r in rows]
    pd.DataFrame({"id": range(300), "tags": cells}).to_csv(tmp_path / "t.csv", index=False)
    r = run_json(tmp_path / "t.csv", "-t", "tags", "--label-sep", "|")
    names, bias = expected_multilabel(rows)
    assert r["task"] == "multilabel"
    assert r["classes"] == names
    close(r["bias"], bias)
    assert r["n_samples"] == 300  # with --label-sep an empty cell is a row with no labels
    # ',' inside quotes
    pd.DataFrame({"tags": [",".join(x) for x in rows], "id": range(300)}).to_csv(
        tmp_path / "c.csv", index=False
    )
    r = run_json(tmp_path / "c.csv", "-t", "tags", "--label-sep", ",")
    close(r["bias"], bias)


def test_joined_labels_without_label_sep_are_not_combinations(tmp_path: Path) -> None:
    rows = [r for r in list_rows(400) if r]
    pd.DataFrame({"tags": ["|".join(r) for r in rows]}).to_csv(tmp_path / "t.csv", index=False)
    proc = run(tmp_path / "t.csv", "-t", "tags", "--format", "json")
    if proc.returncode == 0:
        r = json.loads(proc.stdout)
        detected = r["task"] == "multilabel" and ("|" in r["task_reason"])
        warned = any("--label-sep" in w for w in r["warnings"]) or "--label-sep" in proc.stderr
        assert detected or warned, (r["task"], r["task_reason"], r["warnings"])
        if detected:
            close(r["bias"], expected_multilabel(rows)[1])
    else:
        assert_error(proc, proc.returncode, "--label-sep")


def test_one_hot_glob(tmp_path: Path) -> None:
    n = 200
    frame = pd.DataFrame(
        {
            "tag_z": (RNG.random(n) < 0.2).astype(int),
            "id": range(n),
            "tag_a": (RNG.random(n) < 0.6).astype(int),
            "tagless": (RNG.random(n) < 0.5).astype(int),
            "tag_m": (RNG.random(n) < 0.4).astype(int),
        }
    )
    frame.to_csv(tmp_path / "o.csv", index=False)
    r = run_json(tmp_path / "o.csv", "-t", "tag_*")
    assert r["targets"] == ["tag_z", "tag_a", "tag_m"]  # file order
    assert r["task"] == "multilabel"
    close(r["bias"], logit(frame[["tag_z", "tag_a", "tag_m"]].mean().to_numpy()))
    message = assert_error(run(tmp_path / "o.csv", "-t", "nope_*"), 1, "nope_*")
    for column in frame.columns:
        assert column in message


# --------------------------------------------------------------------------- mergeable


@pytest.fixture(scope="module")
def two_parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    folder = tmp_path_factory.mktemp("i10parts")
    rows_a, rows_b = list_rows(300), list_rows(200)
    for name, rows in (("a", rows_a), ("b", rows_b)):
        pq.write_table(
            pa.table({"tags": pa.array(rows, pa.list_(pa.string()))}),
            folder / f"part-{name}.parquet",
        )
    return folder, rows_a + rows_b


def test_save_and_merge_stats_of_list_columns(two_parts: tuple[Path, list[Any]]) -> None:
    folder, rows = two_parts
    names, bias = expected_multilabel(rows)
    for part in ("a", "b"):
        proc = run(
            folder / f"part-{part}.parquet", "-t", "tags", "--save-stats", folder / f"{part}.json"
        )
        assert proc.returncode == 0, proc.stderr
    merged = run_json("--from-stats", folder / "a.json", "--from-stats", folder / "b.json")
    assert merged["classes"] == names
    close(merged["bias"], bias)
    one_pass = run_json(folder / "part-a.parquet", folder / "part-b.parquet", "-t", "tags")
    close(one_pass["bias"], bias)


def test_dask_engine_list_column(two_parts: tuple[Path, list[Any]]) -> None:
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    folder, rows = two_parts
    names, bias = expected_multilabel(rows)
    r = run_json(
        folder / "part-a.parquet",
        folder / "part-b.parquet",
        "-t",
        "tags",
        "--engine",
        "dask",
        timeout=300,
    )
    assert r["classes"] == names
    close(r["bias"], bias)


@pytest.mark.slow
def test_spark_engine_list_column(two_parts: tuple[Path, list[Any]]) -> None:
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    from biascalc.integrations.spark import compute_bias as spark_bias

    folder, rows = two_parts
    names, bias = expected_multilabel(rows)
    spark = (
        SparkSession.builder.master("local[1]")
        .appName("acceptance-10")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    try:
        frame = spark.read.parquet(str(folder / "part-a.parquet"), str(folder / "part-b.parquet"))
        r = spark_bias(frame, "tags")
        assert list(r.classes) == names
        close(r.bias, bias)
    finally:
        spark.stop()


# --------------------------------------------------------------------------- formats


def test_formats_name_outputs_in_order(two_parts: tuple[Path, list[Any]]) -> None:
    folder, rows = two_parts
    path = folder / "part-a.parquet"
    names_a, _ = expected_multilabel(rows[:300])
    for fmt in ("pytorch", "keras", "jax", "python", "table"):
        proc = run(path, "-t", "tags", "-f", fmt)
        assert proc.returncode == 0, proc.stderr
        if fmt == "python":
            namespace: dict[str, Any] = {}
            exec(proc.stdout, namespace)
            lists = [v for v in namespace.values() if isinstance(v, list)]
            assert [str(x) for x in names_a] in [[str(x) for x in v] for v in lists], lists
            continue
        # The names appear earlier too (the task reason): look where the outputs are listed.
        start = proc.stdout.find("label  count" if fmt == "table" else "in this order")
        assert start >= 0, (fmt, proc.stdout[:800])
        shown = "\n  {} " if fmt == "table" else "'{}'"  # a table row, or a quoted name
        positions = [proc.stdout.find(shown.format(name), start) for name in names_a]
        assert all(p >= 0 for p in positions), (fmt, proc.stdout[:800])
        assert positions == sorted(positions), (fmt, proc.stdout[:800])


def test_framework_helper_multilabel_from_list(two_parts: tuple[Path, list[Any]]) -> None:
    torch = pytest.importorskip("torch")
    folder, rows = two_parts
    names, bias = expected_multilabel(rows[:300])
    r = run_json(folder / "part-a.parquet", "-t", "tags", "-f", "json")
    layer = torch.nn.Linear(3, len(names), dtype=torch.float64)
    torch.nn.init.zeros_(layer.weight)
    with torch.no_grad():
        layer.bias.copy_(torch.tensor(r["bias"], dtype=torch.float64))
    keep = [x for x in rows[:300] if x is not None]
    target = torch.tensor([[float(n in x) for n in names] for x in keep], dtype=torch.float64)
    logits = layer(torch.zeros(len(keep), 3, dtype=torch.float64))
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    close(loss.item(), r["expected_initial_loss"]["recommended"])
    close(r["bias"], bias)


# --------------------------------------------------------------------------- bad input


def test_bad_list_inputs(tmp_path: Path) -> None:
    nested = pa.array([[["a"]], [["b", "c"]]], pa.list_(pa.list_(pa.string())))
    pq.write_table(pa.table({"y": nested}), tmp_path / "nested.parquet")
    assert_error(run(tmp_path / "nested.parquet", "-t", "y"), 1, "list")
    floats = pa.FixedSizeListArray.from_arrays(pa.array([0.0, 0.5, 1.0, 0.2]), 2)
    pq.write_table(pa.table({"y": floats}), tmp_path / "floats.parquet")
    assert_error(run(tmp_path / "floats.parquet", "-t", "y"), 1)
    struct = pa.array([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    pq.write_table(pa.table({"y": struct}), tmp_path / "struct.parquet")
    assert_error(run(tmp_path / "struct.parquet", "-t", "y"), 1, "struct")
    mapped = pa.array([[("a", 1)], [("b", 2)]], pa.map_(pa.string(), pa.int64()))
    pq.write_table(pa.table({"y": mapped}), tmp_path / "map.parquet")
    assert_error(run(tmp_path / "map.parquet", "-t", "y"), 1, "map")


def test_error_messages_are_capped(tmp_path: Path) -> None:
    fields = {f"field_number_{i}_with_a_long_name": [i] for i in range(400)}
    struct = pa.StructArray.from_arrays([pa.array(v) for v in fields.values()], names=list(fields))
    pq.write_table(pa.table({"y": struct}), tmp_path / "wide.parquet")
    message = assert_error(run(tmp_path / "wide.parquet", "-t", "y"), 1)
    assert len(message) <= 400, len(message)
