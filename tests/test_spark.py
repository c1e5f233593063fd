"""Spark (local[2]): statistics aggregated by Spark equal the local computation;
percentile_approx results stay within the stated rank-error bound."""

from __future__ import annotations

import math
import shutil
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import biascalc
from biascalc.errors import DataError, OptionError

if shutil.which("java") is None:
    pytest.skip("Spark needs Java", allow_module_level=True)
pytest.importorskip("pyspark")

from biascalc.integrations.spark import (
    DEFAULT_ACCURACY,
    DEFAULT_GRID,
    collect_stats,
    compute_bias,
)

# pyspark imports pandas for its own converters and warns that it does not support pandas 3;
# biascalc's Spark path uses no pandas.
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas")

RNG = np.random.default_rng(5)
N = 3000
COLUMNS: dict[str, list[Any]] = {
    "clicked": (RNG.random(N) < 0.05).tolist(),
    "y01": RNG.integers(0, 2, N).tolist(),
    "species": RNG.choice(["cat", "dog", "émeu"], N).tolist(),
    "stars": RNG.integers(1, 6, N).tolist(),
    "count": RNG.integers(0, 300, N).tolist(),  # > 20 distinct integers: regression
    "half": (RNG.integers(0, 2, N) + 0.5).tolist(),  # two non-integral values: binary
    "price": RNG.lognormal(3.0, 1.0, N).tolist(),
    "visits": RNG.poisson(2.5, N).tolist(),
    "tag_a": RNG.integers(0, 2, N).tolist(),
    "tag_b": (RNG.random(N) < 0.1).astype(int).tolist(),
    "w": (RNG.random(N) + 0.05).tolist(),
}
for i in range(0, N, 97):  # missing labels: null and NaN
    COLUMNS["price"][i] = None if i % 2 else math.nan
    COLUMNS["species"][i] = None
SCHEMA = (
    "clicked boolean, y01 long, species string, stars int, count long, half double, "
    "price double, visits long, tag_a long, tag_b long, w double"
)

CASES = [
    ("clicked", {}),
    ("y01", {"loss": "bce"}),
    ("species", {}),
    ("stars", {}),
    ("count", {}),
    ("half", {}),
    ("price", {}),
    ("price", {"loss": "tweedie", "tweedie_power": 1.5}),
    ("visits", {"loss": "poisson"}),
    (["tag_a", "tag_b"], {}),
]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        session = (
            SparkSession.builder.master("local[2]")
            .appName("biascalc-tests")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
            .config("spark.driver.memory", "512m")
            .getOrCreate()
        )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def frame(spark: Any) -> Any:
    rows = list(zip(*COLUMNS.values(), strict=True))
    return spark.createDataFrame(rows, SCHEMA).repartition(3).cache()


def _local(target: str | list[str], weighted: bool, **options: Any) -> biascalc.BiasResult:
    import pyarrow as pa

    names = target if isinstance(target, list) else [target]
    table = pa.table({n: COLUMNS[n] for n in names}, schema=None)
    return biascalc.compute_bias(table, sample_weight=COLUMNS["w"] if weighted else None, **options)


def _assert_same(got: biascalc.BiasResult, want: biascalc.BiasResult) -> None:
    assert (got.task, got.loss, got.classes, got.counts) == (
        want.task,
        want.loss,
        want.classes,
        want.counts,
    )
    assert (got.n_samples, got.n_missing) == (want.n_samples, want.n_missing)
    # Which non-integral value is quoted as the example depends on the row order.
    assert got.task_reason.split(" (e.g.")[0] == want.task_reason.split(" (e.g.")[0]
    np.testing.assert_allclose(got.bias, want.bias, rtol=1e-12, atol=1e-12)
    for a, b in [
        (got.expected_loss_zero_bias, want.expected_loss_zero_bias),
        (got.expected_loss_recommended, want.expected_loss_recommended),
    ]:
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12)
    assert (got.weight_sum is None) == (want.weight_sum is None)
    assert (got.weight_sum or 0) == pytest.approx(want.weight_sum or 0, rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("target", "options"), CASES, ids=[str(c[0]) for c in CASES])
def test_equals_local(
    frame: Any, target: str | list[str], options: dict[str, Any], weighted: bool
) -> None:
    got = compute_bias(frame, target, weight="w" if weighted else None, **options)
    _assert_same(got, _local(target, weighted, **options))


def test_moments_equal_local(frame: Any) -> None:
    from biascalc import BiasOptions, LabelStats, StatsSpec

    got = collect_stats(frame, "price", weight="w", options=BiasOptions(loss="mse"))
    local = LabelStats(StatsSpec(("price",), "w", "never"))
    import pyarrow as pa

    local.update(pa.table({"price": COLUMNS["price"], "w": COLUMNS["w"]}))
    a, b = got.columns[0].moments, local.columns[0].moments
    assert (a.minimum, a.maximum) == (b.minimum, b.maximum)
    assert a.mean == pytest.approx(b.mean, rel=1e-12)
    assert a.m2 == pytest.approx(b.m2, rel=1e-12)


BOUND = 1 / DEFAULT_ACCURACY + 0.5 / DEFAULT_GRID


@pytest.mark.parametrize(("loss", "q"), [("mae", 0.5), ("quantile", 0.9), ("quantile", 0.1)])
def test_quantiles_within_the_stated_bound(frame: Any, loss: str, q: float) -> None:
    options: dict[str, Any] = {"loss": loss} | ({"quantile": q} if loss == "quantile" else {})
    got = compute_bias(frame, "price", **options)
    y = np.array([v for v in COLUMNS["price"] if v is not None and not math.isnan(v)])
    b = float(got.bias[0])
    assert np.mean(y < b) <= q + BOUND
    assert np.mean(y <= b) >= q - BOUND
    assert any(f"{BOUND:.2g}" in w for w in got.warnings)


def test_huber_residual_within_the_stated_bound(frame: Any) -> None:
    delta = 5.0
    got = compute_bias(frame, "price", loss="huber", huber_delta=delta)
    y = np.array([v for v in COLUMNS["price"] if v is not None and not math.isnan(v)])
    residual = np.mean(np.clip(y - got.bias[0], -delta, delta))
    assert abs(residual) <= 2 * delta * BOUND


def test_errors(spark: Any, frame: Any) -> None:
    with pytest.raises(OptionError, match="weighted quantiles"):
        compute_bias(frame, "price", weight="w", loss="mae")
    with pytest.raises(OptionError, match="'nope' is not in the data"):
        compute_bias(frame, "nope")
    bad = spark.createDataFrame(
        [(1.0, 1.0), (float("inf"), 1.0), (0.0, -2.0)], "y double, w double"
    )
    with pytest.raises(DataError, match="infinite value"):
        compute_bias(bad, "y")
    with pytest.raises(DataError, match=r"weight column 'w' has the value -2\.0"):
        compute_bias(bad, "y", weight="w")
    text = spark.createDataFrame([("1.5",), ("two",)], "y string")
    with pytest.raises(DataError, match="holds the text 'two'"):
        compute_bias(text, "y", loss="mse")
    empty = spark.createDataFrame([(None,)], "y double")
    with pytest.raises(DataError, match="no rows with a label"):
        compute_bias(empty, "y")


def _kept(expr_keep: list[bool], target: str) -> Any:
    import pyarrow as pa

    return pa.table({target: [v for v, k in zip(COLUMNS[target], expr_keep, strict=True) if k]})


def test_where_is_a_spark_filter_with_the_readers_semantics(frame: Any) -> None:
    import pyarrow as pa

    from biascalc.readers import parse_where

    # price holds nulls and NaN: unknown, so those rows never pass a price comparison.
    expr = "stars >= 3 and price != 20.0 or species in ('émeu',)"
    got = compute_bias(frame, "y01", where=expr)
    table = pa.table({n: COLUMNS[n] for n in ("stars", "price", "species", "y01")})
    price = np.array([math.nan if v is None else v for v in COLUMNS["price"]], dtype=float)
    species = np.array([s if s is not None else "" for s in COLUMNS["species"]])
    keep = ((np.array(COLUMNS["stars"]) >= 3) & ~np.isnan(price) & (price != 20.0)) | (
        species == "émeu"
    )
    want = biascalc.compute_bias(_kept(keep.tolist(), "y01"))
    _assert_same(got, want)
    assert got.where == expr
    # The same rows as the readers' own filter on the same table.
    assert got.n_samples == parse_where(expr).apply(table).num_rows


def test_where_errors(frame: Any) -> None:
    with pytest.raises(OptionError, match="which holds text values, with the number 1"):
        compute_bias(frame, "y01", where="species == 1")
    with pytest.raises(OptionError, match="'nope' is not in the data"):
        compute_bias(frame, "y01", where="nope == 1")
    with pytest.raises(OptionError, match="does not allow arithmetic"):
        compute_bias(frame, "y01", where="stars + 1 == 2")


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_spark_output_folders_are_read_as_their_part_files(
    frame: Any, tmp_path: Any, fmt: str
) -> None:
    out = str(tmp_path / "out")
    writer = frame.select("species", "stars").write
    if fmt == "csv":
        writer.option("header", True).csv(out)
    else:
        getattr(writer, fmt)(out)
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert "_SUCCESS" in names and any(n.endswith(".crc") for n in names)
    got = biascalc.compute_bias_from_file(out, "stars")
    values, counts = np.unique(np.array(COLUMNS["stars"]), return_counts=True)
    assert got.classes == tuple(values.tolist()) and got.counts == tuple(counts.tolist())
    got = biascalc.compute_bias_from_file(out, "stars", where="species == 'dog'")
    dog = np.array(COLUMNS["stars"])[np.array(COLUMNS["species"], dtype=object) == "dog"]
    assert got.n_samples == dog.size


def test_token_arrays_are_counted_by_spark(spark: Any) -> None:
    """--task tokens on an array<int> column: Spark's counts equal a local count."""
    rng = np.random.default_rng(21)
    seqs = [rng.integers(0, 40, rng.integers(0, 30)).tolist() for _ in range(200)]
    for s in seqs[::9]:
        s.extend([-100, -100])  # padding
    frame = spark.createDataFrame([(s,) for s in seqs], "input_ids array<int>").repartition(3)
    flat = np.array([i for s in seqs for i in s])
    r = compute_bias(frame, "input_ids", task="tokens", vocab_size=40)
    local = biascalc.compute_bias(flat, task="tokens", vocab_size=40)
    kept = flat[flat != -100]
    assert r.counts == tuple(np.bincount(kept, minlength=40).tolist()) == local.counts
    assert r.n_samples == kept.size and r.n_missing == int((flat == -100).sum())
    assert r.bias.tolist() == local.bias.tolist()
    split = spark.createDataFrame(
        [([1, 2], "train"), ([2, 2], "valid"), ([3], "train")], "x array<int>, split string"
    )
    assert compute_bias(split, "x", task="tokens", where="split == 'train'").counts == (0, 1, 1, 1)
    nested = spark.createDataFrame([([[1, 2], [3]],), ([[3, 3]],)], "x array<array<long>>")
    assert compute_bias(nested, "x", task="tokens").counts == (0, 1, 1, 3)
    words = spark.createDataFrame([(["a", "b"],)], "x array<string>")
    with pytest.raises(DataError, match="holds array<string> values; --task tokens needs"):
        compute_bias(words, "x", task="tokens")
    bad = spark.createDataFrame([([1, -7, -7],)], "x array<int>")
    with pytest.raises(DataError, match=r"token id -7 in column 'x' \(2 times\) is negative"):
        compute_bias(bad, "x", task="tokens")
