"""Acceptance check of issue 11 sections 1-2 (Delta tables, Hugging Face folders, polars views,
row filters), written from the issue's text only.

Inputs are written by deltalake, datasets, polars, pandas, dask and Spark; every expected
number is recomputed here from the raw values with numpy.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ._util import assert_error, close, command, logit, run, run_json, run_many, softmax

RNG = np.random.default_rng(11)


def log_prior(labels: np.ndarray) -> tuple[list[Any], np.ndarray]:
    classes, counts = np.unique(labels, return_counts=True)
    return classes.tolist(), np.log(counts / counts.sum())


def assert_multiclass(r: dict[str, Any], labels: np.ndarray) -> None:
    classes, bias = log_prior(labels)
    assert r["classes"] == classes, r["classes"]
    assert r["n_samples"] == len(labels)
    close(softmax(r["bias"]), np.exp(bias))


# --------------------------------------------------------------------------- Delta Lake


@pytest.fixture(scope="module")
def delta_table(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    deltalake = pytest.importorskip("deltalake")
    path = tmp_path_factory.mktemp("i11") / "delta"
    n = 1000

    def frame(seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        return pd.DataFrame(
            {
                "y": rng.choice(4, size=n, p=[0.4, 0.3, 0.2, 0.1]),
                "split": rng.choice(["train", "test"], size=n, p=[0.8, 0.2]),
            }
        )

    deltalake.write_deltalake(str(path), frame(1), partition_by=["split"])
    for seed in (2, 3):
        deltalake.write_deltalake(str(path), frame(seed), mode="append", partition_by=["split"])
    deltalake.write_deltalake(str(path), frame(4), mode="overwrite", partition_by=["split"])
    deltalake.write_deltalake(str(path), frame(5), mode="append", partition_by=["split"])
    deltalake.DeltaTable(str(path)).delete("y = 3")
    live = deltalake.DeltaTable(str(path)).to_pandas()
    assert len(live) < 2 * n  # removed files are still in the folder
    return path, live


def test_delta_current_snapshot_only(delta_table: tuple[Path, pd.DataFrame]) -> None:
    path, live = delta_table
    r = run_json(path, "-t", "y")
    assert_multiclass(r, live["y"].to_numpy())
    assert 3 not in r["classes"]


def test_delta_partition_column_and_where(delta_table: tuple[Path, pd.DataFrame]) -> None:
    path, live = delta_table
    r = run_json(path, "-t", "split")
    close(r["bias"], [logit(np.mean(live["split"] == "train"))])
    r = run_json(path, "-t", "y", "--where", "split == 'train'")
    assert_multiclass(r, live.loc[live["split"] == "train", "y"].to_numpy())
    assert r["where"] == "split == 'train'"


def test_delta_without_the_extra(delta_table: tuple[Path, pd.DataFrame], tmp_path: Path) -> None:
    path, live = delta_table
    blocker = tmp_path / "block" / "deltalake"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('deltalake blocked by the test')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "block"))
    proc = subprocess.run(
        [*command(), str(path), "-t", "y", "-f", "json"], capture_output=True, text=True, env=env
    )
    if proc.returncode == 0:  # the log read with pyarrow: still the live snapshot only
        assert_multiclass(json.loads(proc.stdout), live["y"].to_numpy())
    else:
        assert_error(proc, 1, "delta")


# --------------------------------------------------------------------------- Hugging Face


@pytest.fixture(scope="module")
def hf_folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    names = ["neg", "neu", "pos"]
    features = datasets.Features({"label": datasets.ClassLabel(names=names)})
    train = RNG.choice(3, size=300, p=[0.6, 0.3, 0.1]).tolist()
    test = RNG.choice(3, size=100).tolist()
    folder = tmp_path_factory.mktemp("i11hf")
    ds = datasets.Dataset.from_dict({"label": train}, features=features)
    ds.save_to_disk(str(folder / "one"), max_shard_size="1KB")  # several data-*.arrow files
    dd = datasets.DatasetDict(
        {
            "train": ds,
            "test": datasets.Dataset.from_dict({"label": test}, features=features),
        }
    )
    dd.save_to_disk(str(folder / "dict"))
    return folder, {"names": names, "train": train, "test": test}


def test_hf_dataset_folder(hf_folders: tuple[Path, dict[str, Any]]) -> None:
    folder, raw = hf_folders
    assert len(list((folder / "one").glob("data-*.arrow"))) > 1
    r = run_json(folder / "one", "-t", "label")
    assert r["n_samples"] == 300  # never the JSON metadata as data
    counts = np.bincount(raw["train"], minlength=3)
    assert r["counts"] == counts.tolist()
    assert r["classes"] == raw["names"]  # its features: ClassLabel names
    close(softmax(r["bias"]), counts / counts.sum())


def test_hf_dataset_dict_folder(hf_folders: tuple[Path, dict[str, Any]]) -> None:
    folder, raw = hf_folders
    proc = run(folder / "dict", "-t", "label", timeout=30)
    assert proc.returncode in (1, 2), proc.stderr
    message = assert_error(proc, proc.returncode)
    assert "train" in message and "test" in message, message
    assert "dict/train" in message or "/train" in message, message
    r = run_json(folder / "dict" / "train", "-t", "label")
    assert r["counts"] == np.bincount(raw["train"], minlength=3).tolist()


# --------------------------------------------------------------------------- polars IPC views


def test_polars_ipc_string_view(tmp_path: Path) -> None:
    pl = pytest.importorskip("polars")
    y = RNG.choice(["cat", "dog", "eel"], size=500, p=[0.5, 0.3, 0.2])
    enum = pl.Enum(["eel", "dog", "cat", "yak"])
    frame = pl.DataFrame(
        {"y": y.tolist(), "e": pl.Series(y.tolist(), dtype=enum), "w": RNG.uniform(0.5, 2, 500)}
    )
    frame.write_ipc(tmp_path / "pl.arrow")
    r = run_json(tmp_path / "pl.arrow", "-t", "y")
    assert_multiclass(r, y)
    w = frame["w"].to_numpy()
    r = run_json(tmp_path / "pl.arrow", "-t", "y", "-w", "w")
    sums = np.array([w[y == c].sum() for c in ("cat", "dog", "eel")])
    close(softmax(r["bias"]), sums / sums.sum())
    r = run_json(tmp_path / "pl.arrow", "-t", "e")  # Enum over string_view: declared order
    assert r["classes"] == ["eel", "dog", "cat", "yak"]
    counts = np.bincount(frame["e"].to_physical().to_numpy(), minlength=4)
    assert r["counts"] == counts.tolist()


# dask's to_parquet uses a pandas keyword that pandas 3.1 deprecates: not biascalc's concern
@pytest.mark.filterwarnings("ignore:The inplace keyword:DeprecationWarning")
@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_dask_metadata_folder(tmp_path: Path) -> None:
    dd = pytest.importorskip("dask.dataframe")
    y = RNG.choice(3, size=600)
    frame = dd.from_pandas(pd.DataFrame({"y": y}), npartitions=3)
    frame.to_parquet(str(tmp_path / "dk"), write_metadata_file=True)
    assert (tmp_path / "dk" / "_metadata").exists()
    assert_multiclass(run_json(tmp_path / "dk", "-t", "y"), y)


# --------------------------------------------------------------------------- --where


@pytest.fixture(scope="module")
def split_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    n = 900
    frame = pd.DataFrame(
        {
            "y": RNG.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2]),
            "split": RNG.choice(["train", "valid", "test"], size=n, p=[0.7, 0.1, 0.2]),
            "fold": RNG.integers(0, 5, size=n),
            "score": np.round(RNG.normal(0, 1, n), 4),
            "my col": RNG.choice(["x", "y"], size=n),
            "w": np.round(RNG.uniform(0.1, 2.0, n), 4),
        }
    )
    folder = tmp_path_factory.mktemp("i11w")
    frame.to_csv(folder / "d.csv", index=False)
    frame.to_parquet(folder / "d.parquet", index=False)
    frame.to_json(folder / "d.jsonl", orient="records", lines=True)
    return folder, frame


WHERE_CASES = [
    ("split == 'train'", lambda f: f["split"] == "train"),
    ("split != 'test' and fold <= 2", lambda f: (f["split"] != "test") & (f["fold"] <= 2)),
    ("split in ('train', 'valid')", lambda f: f["split"].isin(["train", "valid"])),
    ("fold not in (0, 4)", lambda f: ~f["fold"].isin([0, 4])),
    ("not (score > 0.5 or score < -0.5)", lambda f: ~((f["score"] > 0.5) | (f["score"] < -0.5))),
    (
        "fold >= 1 and (split == 'test' or score < 0)",
        lambda f: (f["fold"] >= 1) & ((f["split"] == "test") | (f["score"] < 0)),
    ),
]


@pytest.mark.parametrize("name", ["d.csv", "d.parquet", "d.jsonl"])
def test_where_filters_rows(split_data: tuple[Path, pd.DataFrame], name: str) -> None:
    folder, frame = split_data
    calls = [
        [folder / name, "-t", "y", "-w", "w", "--where", e, "-f", "json"] for e, _ in WHERE_CASES
    ]
    for proc, (expr, select) in zip(run_many(calls), WHERE_CASES, strict=True):
        assert proc.returncode == 0, (expr, proc.stderr)
        r = json.loads(proc.stdout)
        rows = frame[select(frame)]
        assert r["n_samples"] == len(rows), expr
        assert r["where"] == expr
        sums = rows.groupby("y")["w"].sum().reindex(["a", "b", "c"]).to_numpy()
        close(softmax(r["bias"]), sums / sums.sum())


def test_where_quoted_column_names(split_data: tuple[Path, pd.DataFrame]) -> None:
    folder, frame = split_data
    want = frame.loc[frame["my col"] == "x", "y"].to_numpy()
    attempts = ["`my col` == 'x'", "col('my col') == 'x'"]
    procs = run_many(
        [[folder / "d.parquet", "-t", "y", "--where", e, "-f", "json"] for e in attempts]
    )
    ok = [p for p in procs if p.returncode == 0]
    assert ok, [p.stderr for p in procs]
    for p in ok:
        assert_multiclass(json.loads(p.stdout), want)


def test_where_in_snippet_headers_and_api(split_data: tuple[Path, pd.DataFrame]) -> None:
    import biascalc

    folder, frame = split_data
    expr = "split == 'train'"
    for fmt in ("python", "pytorch", "keras", "jax"):
        proc = run(folder / "d.csv", "-t", "y", "--where", expr, "-f", fmt)
        assert proc.returncode == 0, proc.stderr
        header = "\n".join(x for x in proc.stdout.splitlines() if x.startswith("#"))
        assert "split" in header and "train" in header, (fmt, header)
    r = biascalc.compute_bias_from_file(str(folder / "d.parquet"), target="y", where=expr)
    assert r.n_samples == int((frame["split"] == "train").sum())


def test_where_is_parsed_never_evaluated(
    split_data: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    folder, _ = split_data
    marker = tmp_path / "pwned"
    bad = [
        (f"__import__('os').system('touch {marker}') == 0", "call"),
        ("len(split) > 3", "call"),
        ("split.upper() == 'TRAIN'", ""),
        ("fold + 1 > 2", ""),
        ("split == y", ""),
        ("[x for x in split]", ""),
    ]
    procs = run_many([[folder / "d.csv", "-t", "y", "--where", e] for e, _ in bad])
    for proc, (expr, needle) in zip(procs, bad, strict=True):
        message = assert_error(proc, 2)
        assert not needle or needle in message.lower(), (expr, message)
    assert not marker.exists()


def test_where_unknown_column_and_type_mismatch(split_data: tuple[Path, pd.DataFrame]) -> None:
    folder, _ = split_data
    procs = run_many(
        [
            [folder / "d.parquet", "-t", "y", "--where", "splitt == 'train'"],
            [folder / "d.parquet", "-t", "y", "--where", "fold == 'two'"],
            [folder / "d.csv", "-t", "y", "--where", "fold == 'two'"],
        ]
    )
    assert procs[0].returncode in (1, 2), procs[0].stderr
    message = assert_error(procs[0], procs[0].returncode, "splitt")
    for column in ("split", "fold", "score"):
        assert column in message
    for proc in procs[1:]:
        assert proc.returncode in (1, 2), proc.stderr
        assert_error(proc, proc.returncode, "fold")


def test_where_hive_partition_column(tmp_path: Path) -> None:
    years = {2022: 200, 2023: 300, 2024: 250}
    parts = {}
    for year, n in years.items():
        (tmp_path / f"year={year}").mkdir()
        parts[year] = RNG.choice(["a", "b", "c"], size=n)
        pd.DataFrame({"y": parts[year]}).to_parquet(
            tmp_path / f"year={year}" / "p.parquet", index=False
        )
    r = run_json(tmp_path, "-t", "y", "--where", "year >= 2023")
    assert_multiclass(r, np.concatenate([parts[2023], parts[2024]]))


def test_where_dask_engine(split_data: tuple[Path, pd.DataFrame]) -> None:
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    folder, frame = split_data
    expr = "split in ('train', 'valid') and fold != 3"
    rows = frame[frame["split"].isin(["train", "valid"]) & (frame["fold"] != 3)]
    for name in ("d.parquet", "d.csv"):
        r = run_json(folder / name, "-t", "y", "--where", expr, "--engine", "dask", timeout=300)
        assert_multiclass(r, rows["y"].to_numpy())


# --------------------------------------------------------------------------- Spark


@pytest.mark.slow
def test_spark_folders_and_where(tmp_path: Path) -> None:
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession

    from biascalc.integrations.spark import compute_bias as spark_bias

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("acceptance-11")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    try:
        y = RNG.choice(3, size=800).tolist()
        split = RNG.choice(["train", "test"], size=800).tolist()
        frame = spark.createDataFrame(list(zip(y, split, strict=True)), "y int, split string")
        frame.repartition(3).write.parquet(str(tmp_path / "pq"))
        assert (tmp_path / "pq" / "_SUCCESS").exists()
        assert list((tmp_path / "pq").glob(".*.crc"))
        ya, sa = np.array(y), np.array(split)
        assert_multiclass(run_json(tmp_path / "pq", "-t", "y"), ya)
        got = spark_bias(spark.read.parquet(str(tmp_path / "pq")), "y", where="split == 'train'")
        close(softmax(got.bias), np.exp(log_prior(ya[sa == "train"])[1]))
    finally:
        spark.stop()
