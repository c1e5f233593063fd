"""Dask: the statistics computed in a real two-process LocalCluster equal the local ones;
the quantile sketch keeps its stated rank-error bound."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import biascalc
from biascalc.errors import DataError, OptionError
from biascalc.quantiles import weighted_quantile
from biascalc.stats.sketch import QuantileSketch

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("dask.distributed")

from biascalc.integrations.dask import (  # noqa: E402
    collect_path_stats,
    collect_stats,
    compute_bias,
)
from tests.layouts import LAYOUTS, Layout  # noqa: E402

RNG = np.random.default_rng(11)
N = 4000
FRAME = pd.DataFrame(
    {
        "clicked": RNG.random(N) < 0.03,
        "y01": RNG.integers(0, 2, N),
        "species": RNG.choice(["cat", "dog", "émeu"], N, p=[0.5, 0.3, 0.2]),
        "stars": RNG.integers(1, 6, N),
        "price": RNG.lognormal(3.0, 1.0, N),
        "visits": RNG.poisson(2.5, N),
        "tag_a": RNG.integers(0, 2, N),
        "tag_b": (RNG.random(N) < 0.1).astype(np.int64),
        "w": RNG.random(N) + 0.05,
        # Declared, unsorted categories with one never used: classes follow the codes.
        "grade": pd.Categorical.from_codes(
            RNG.integers(0, 3, N), categories=["good", "bad", "fair", "unused"]
        ),
    }
)
FRAME.loc[::97, "price"] = np.nan  # missing labels are dropped and counted

CASES = [
    ("clicked", {}),
    ("y01", {"loss": "bce"}),
    ("species", {}),
    ("grade", {}),
    ("stars", {"loss": "cross_entropy"}),
    ("price", {}),
    ("price", {"loss": "gamma"}),
    ("visits", {"loss": "poisson"}),
    (["tag_a", "tag_b"], {}),
    (["price", "visits"], {"loss": "mse"}),
]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def frame(client: Any) -> Any:
    return dd.from_pandas(FRAME, npartitions=11)  # 11 partitions: two levels of merges


def _local(target: str | list[str], weighted: bool, **options: Any) -> biascalc.BiasResult:
    labels = FRAME[target]
    return biascalc.compute_bias(labels, sample_weight=FRAME["w"] if weighted else None, **options)


def _assert_same(got: biascalc.BiasResult, want: biascalc.BiasResult) -> float:
    assert (got.task, got.loss, got.classes, got.counts) == (
        want.task,
        want.loss,
        want.classes,
        want.counts,
    )
    assert (got.n_samples, got.n_missing) == (want.n_samples, want.n_missing)
    np.testing.assert_allclose(got.bias, want.bias, rtol=1e-12, atol=1e-12)
    for a, b in [
        (got.expected_loss_zero_bias, want.expected_loss_zero_bias),
        (got.expected_loss_recommended, want.expected_loss_recommended),
    ]:
        assert a == pytest.approx(b, rel=1e-12, abs=1e-12)
    return float(np.max(np.abs(got.bias - want.bias)))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("target", "options"), CASES, ids=[str(c[0]) for c in CASES])
def test_equals_local(
    frame: Any, target: str | list[str], options: dict[str, Any], weighted: bool
) -> None:
    got = compute_bias(frame, target, weight="w" if weighted else None, **options)
    _assert_same(got, _local(target, weighted, **options))


def test_reads_parquet_with_only_the_needed_columns(client: Any) -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "sample_data" / "fraud_imbalanced.parquet"
    frame = dd.read_parquet(str(path), columns=["is_fraud", "weight"])
    got = compute_bias(frame, "is_fraud", weight="weight")
    want = biascalc.compute_bias_from_file(str(path), "is_fraud", weight="weight")
    _assert_same(got, want)
    assert got.weight == "weight"


def test_statistics_come_back_as_a_small_json_object(frame: Any) -> None:
    stats = collect_stats(frame, "species", weight="w")
    text = json.dumps(stats.to_dict())
    assert len(text) < 2000  # counts of three classes, not the column
    assert stats.n_rows == N


def _cdf_bracket(y: np.ndarray[Any, Any], w: np.ndarray[Any, Any], b: float) -> tuple[float, float]:
    total = w.sum()
    return float(w[y < b].sum() / total), float(w[y <= b].sum() / total)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("loss", "q"), [("mae", 0.5), ("quantile", 0.9), ("quantile", 0.05)])
def test_quantiles_within_the_sketch_bound(frame: Any, loss: str, q: float, weighted: bool) -> None:
    options: dict[str, Any] = {"loss": loss}
    if loss == "quantile":
        options["quantile"] = q
    # A small sketch (k = 64) so that the bound is tested, not just the exact case.
    got = compute_bias(frame, "price", weight="w" if weighted else None, sketch_k=64, **options)
    keep = FRAME["price"].notna().to_numpy()
    y = FRAME["price"].to_numpy()[keep]
    w = FRAME["w"].to_numpy()[keep] if weighted else np.ones(y.size)
    bound = _rank_error(got)
    assert 0 < bound < 3 / 64  # three levels of compression: partitions and two merges
    below, upto = _cdf_bracket(y, w, float(got.bias[0]))
    assert below <= q + bound
    assert upto >= q - bound
    exact = weighted_quantile(y, q, w)
    assert got.bias[0] != exact  # the sketch really is approximate at k = 64
    # The expected loss is within bound * Lipschitz constant * (max - min).
    local = _local("price", weighted, **options)
    spread = float(y.max() - y.min()) * max(q, 1 - q)
    assert abs(got.expected_loss_zero_bias - local.expected_loss_zero_bias) <= bound * spread


def test_huber_within_the_sketch_bound(frame: Any) -> None:
    delta = 5.0
    got = compute_bias(frame, "price", weight="w", sketch_k=64, loss="huber", huber_delta=delta)
    keep = FRAME["price"].notna().to_numpy()
    y, w = FRAME["price"].to_numpy()[keep], FRAME["w"].to_numpy()[keep]
    # The estimating equation's residual is at most 2 delta epsilon (docs/distributed.md).
    residual = np.sum(w * np.clip(y - got.bias[0], -delta, delta)) / w.sum()
    assert abs(residual) <= 2 * delta * _rank_error(got)


def _rank_error(result: biascalc.BiasResult) -> float:
    (note,) = [w for w in result.warnings if "quantile sketch" in w]
    return float(note.split("within ")[1].split(" ")[0]) * 1.01  # the note rounds to 2 digits


def test_missing_column_and_weights(frame: Any) -> None:
    with pytest.raises(OptionError, match="'nope' is not in the data"):
        compute_bias(frame, "nope")
    bad = dd.from_pandas(FRAME.assign(w=-FRAME["w"]), npartitions=3)
    with pytest.raises(DataError, match="sample weights must be finite and non-negative"):
        compute_bias(bad, "y01", weight="w")


# --- the sketch itself (no cluster) -------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 400), min_size=1, max_size=12),
    k=st.integers(2, 40),
    weighted=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_sketch_rank_error_is_within_its_tracked_bound(
    sizes: list[int], k: int, weighted: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    parts = [rng.integers(-50, 50, n).astype(np.float64) * rng.random() for n in sizes]
    weights = [rng.random(n) * 3 if weighted else np.ones(n) for n in sizes]
    sketches = [QuantileSketch.of(y, w, k) for y, w in zip(parts, weights, strict=True)]
    levels = 1
    while len(sketches) > 1:  # a tree with fan-in 3, as the Dask reduction does (fan-in 8)
        sketches = [
            QuantileSketch.merge_all(sketches[i : i + 3]) for i in range(0, len(sketches), 3)
        ]
        levels += 1
    (sketch,) = sketches
    y, w = np.concatenate(parts), np.concatenate(weights)
    assert len(sketch) <= k
    assert sketch.total_weight == pytest.approx(w[w > 0].sum())
    if sketch.total_weight == 0:
        return
    assert sketch.rank_error <= levels / k + 1e-12
    # Measured: the rank of every point (and between points) is within the tracked error.
    probes = np.concatenate([y, sketch.values, sketch.values - 1e-9])
    for x in probes:
        true_le, est_le = w[y <= x].sum(), sketch.weights[sketch.values <= x].sum()
        true_lt, est_lt = w[y < x].sum(), sketch.weights[sketch.values < x].sum()
        assert abs(true_le - est_le) <= sketch.error + 1e-9
        assert abs(true_lt - est_lt) <= sketch.error + 1e-9


def test_sketch_is_exact_when_small_and_serialises() -> None:
    y = np.array([3.0, 1.0, 2.0, 2.0])
    sketch = QuantileSketch.of(y, k=8)
    assert sketch.values.tolist() == [1.0, 2.0, 3.0]
    assert sketch.weights.tolist() == [1.0, 2.0, 1.0]
    assert sketch.error == 0
    back = QuantileSketch.from_dict(json.loads(json.dumps(sketch.to_dict())))
    assert back.values.tolist() == sketch.values.tolist()
    assert back.weights.tolist() == sketch.weights.tolist()
    chained = sketch.merge(QuantileSketch.of(np.array([0.5]), k=8))
    assert chained.values.tolist() == [0.5, 1.0, 2.0, 3.0]


def test_cli_engine_dask(client: Any, run: Any) -> None:
    from pathlib import Path

    path = str(Path(__file__).resolve().parent.parent / "sample_data" / "fraud_imbalanced.parquet")
    args = [path, "-t", "is_fraud", "-w", "weight", "--format", "json"]
    address = client.scheduler.address
    got = run(*args, "--engine", "dask", "--scheduler", address)
    want = run(*args)
    assert got.exit_code == 0, got.output
    assert json.loads(got.output)["bias"] == pytest.approx(json.loads(want.output)["bias"], 1e-12)
    # --where reaches the workers: the rows that pass, counted independently.
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["is_fraud", "amount"]).to_pydict()
    kept = [y for y, a in zip(table["is_fraud"], table["amount"], strict=True) if a > 50]
    filtered = run(*args, "--engine", "dask", "--scheduler", address, "--where", "amount > 50")
    assert filtered.exit_code == 0, filtered.output
    d = json.loads(filtered.output)
    assert (d["where"], d["n_samples"], d["counts"]) == (
        "amount > 50",
        len(kept),
        [kept.count(0), kept.count(1)],
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x.parquet", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler applies to --engine dask"),
        (["--prior", "0.1", "--engine", "dask"], "--engine dask reads PATHs"),
        (["-", "--engine", "dask"], "not standard input"),
    ],
)
def test_cli_engine_usage_errors(run: Any, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_categorical_partitions_keep_the_declared_order(frame: Any) -> None:
    got = compute_bias(frame, "grade")
    codes = FRAME["grade"].cat.codes.to_numpy()
    assert got.classes == tuple(FRAME["grade"].cat.categories)
    assert got.counts == tuple(np.bincount(codes, minlength=4).tolist())


# --- files: every layout the local engine reads, through both engines ---------------


def _read(layout: Layout, engine: str, address: str) -> biascalc.BiasResult | BaseException:
    from biascalc.api import collect_file_stats, result_from_stats

    options = biascalc.BiasOptions()
    args: dict[str, Any] = {"weight": layout.weight, "options": options, **layout.reading}
    try:
        if engine == "local":
            stats, names = collect_file_stats(layout.paths, layout.target, **args)
        else:
            stats, names = collect_path_stats(
                layout.paths, layout.target, scheduler=address, **args
            )
        return result_from_stats(stats, options, source=names)
    except biascalc.BiascalcError as exc:
        return exc


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_every_local_layout_reads_the_same_on_dask(client: Any, tmp_path: Path, name: str) -> None:
    layout = LAYOUTS[name](tmp_path)
    local = _read(layout, "local", client.scheduler.address)
    dask = _read(layout, "dask", client.scheduler.address)
    if layout.error is not None:
        assert isinstance(local, biascalc.BiascalcError), local
        assert type(dask) is type(local)
        assert str(dask) == str(local)
        assert re.search(layout.error, str(local)), str(local)
        return
    assert isinstance(local, biascalc.BiasResult), local
    assert isinstance(dask, biascalc.BiasResult), dask
    a, b = local.to_dict(), dask.to_dict()
    for key in ("bias", "priors", "prior_bias"):
        x, y = a.pop(key), b.pop(key)  # type: ignore[misc]
        if x is None or y is None:
            assert x is y
        else:
            np.testing.assert_allclose(np.array(y, float), np.array(x, float), rtol=1e-9, atol=1e-9)
    losses = a.pop("expected_initial_loss"), b.pop("expected_initial_loss")  # type: ignore[misc]
    for k in ("zero_bias", "recommended"):
        assert losses[1][k] == pytest.approx(losses[0][k], rel=1e-9, abs=1e-9)
    assert a == b  # task, reason, classes, counts, rows, missing, weight sum, warnings


def test_dask_engine_reads_a_mixed_folder_whole(client: Any, tmp_path: Path) -> None:
    # The bug of issue 16: only the Parquet files of a CSV + Parquet folder were read.
    layout = LAYOUTS["mixed-formats-folder"](tmp_path)
    stats, names = collect_path_stats(layout.paths, "y", scheduler=client.scheduler.address)
    assert stats.n_rows == 1500 + 500 + 1
    assert len(names) == 3


def test_list_columns_through_the_dask_engine(client: Any, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from biascalc.api import collect_file_stats, result_from_stats

    rows = [["a", "b"], [], None, ["b"], ["c", "c"]] * 40
    for i in range(3):  # three files: three partial statistics merged on the workers
        pq.write_table(pa.table({"tags": pa.array(rows[i::3])}), tmp_path / f"p{i}.parquet")
    (tmp_path / "joined.csv").write_text("id,y\n1,a|b\n2,\n3,b\n", encoding="utf-8")
    for paths, target, opts in (
        ([str(tmp_path / f"p{i}.parquet") for i in range(3)], "tags", {}),
        ([str(tmp_path / "joined.csv")], "y", {"label_sep": "|"}),
    ):
        options = biascalc.BiasOptions(**opts)
        local, _ = collect_file_stats(paths, target, options=options)
        dask, _ = collect_path_stats(
            paths, target, options=options, scheduler=client.scheduler.address
        )
        _assert_same(result_from_stats(dask, options), result_from_stats(local, options))
    got = result_from_stats(
        collect_path_stats(
            [str(tmp_path / f"p{i}.parquet") for i in range(3)],
            "tags",
            scheduler=client.scheduler.address,
        )[0],
        biascalc.BiasOptions(),
    )
    used = [r for r in rows if r is not None]
    assert got.classes == ("a", "b", "c")
    assert got.counts == tuple(sum(lab in r for r in used) for lab in "abc")


def test_glob_target_on_a_dask_frame(frame: Any) -> None:
    got = compute_bias(frame, "tag_*")
    assert got.targets == ("tag_a", "tag_b")
    _assert_same(got, _local(["tag_a", "tag_b"], False))


def test_where_filters_each_partition(frame: Any) -> None:
    expr = "stars >= 3 and species != 'dog' or clicked == True"
    keep = ((FRAME["stars"] >= 3) & (FRAME["species"] != "dog")) | FRAME["clicked"]
    for target, options in [("species", {}), ("price", {"loss": "mae"})]:
        got = compute_bias(frame, target, weight="w", where=expr, **options)
        want = biascalc.compute_bias(
            FRAME.loc[keep, target], sample_weight=FRAME.loc[keep, "w"], **options
        )
        assert got.where == expr
        if options:  # the median comes from a sketch: checked within its bound elsewhere
            assert (got.n_samples, got.n_missing) == (want.n_samples, want.n_missing)
        else:
            _assert_same(got, want)


def test_where_errors_reach_the_client(frame: Any) -> None:
    with pytest.raises(OptionError, match="which holds number values, with the text 'x'"):
        compute_bias(frame, "species", where="stars == 'x'")
    with pytest.raises(OptionError, match="'nope' is not in the data"):
        compute_bias(frame, "species", where="nope == 1")
    with pytest.raises(OptionError, match="does not allow a function call"):
        compute_bias(frame, "species", where="len(species) == 3")


def test_where_on_paths_with_hive_partitions(client: Any, tmp_path: Any) -> None:
    import pyarrow as pa
    import pyarrow.dataset as pds

    from biascalc.integrations.dask import collect_path_stats

    table = pa.Table.from_pandas(FRAME[["species", "stars", "w"]], preserve_index=False)
    pds.write_dataset(
        table,
        tmp_path / "lake",
        format="parquet",
        partitioning=pds.partitioning(pa.schema([("stars", pa.int64())]), flavor="hive"),
    )
    expr = "stars in (1, 5)"
    stats, _ = collect_path_stats(
        [str(tmp_path / "lake")],
        "species",
        where=expr,
        scheduler=client.scheduler.address,
    )
    keep = FRAME["stars"].isin([1, 5])
    got = biascalc.result_from_stats(stats, biascalc.BiasOptions())
    _assert_same(got, biascalc.compute_bias(FRAME.loc[keep, "species"]))
    assert got.where == expr


def _big_csv(path: Path, rows: int, bad_row: int | None = None) -> list[int]:
    """A CSV of ``rows`` labels whose text column has quoted commas, quotes and line breaks
    (about 34 bytes a row), the label on row ``bad_row`` "inf"; returns the labels."""
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 4, rows).tolist()
    notes = ['"a, b"', '"say ""hi"""', '"two\nlines"', "plain", '"x\r\ny"']
    with path.open("w", newline="") as f:
        f.write("note,label,pad\n")
        lines = [
            f"{notes[i % 5]},{'inf' if i == bad_row else y},{'z' * 20}\n"
            for i, y in enumerate(labels)
        ]
        f.write("".join(lines))
    return labels


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_big_file_is_read_in_pieces_by_all_workers(
    client: Any, tmp_path: Path, kind: str
) -> None:
    """One file bigger than part_bytes is several tasks (CSV byte ranges cut where the
    local engine cuts them, runs of Parquet row groups): the same statistics as one read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from biascalc.api import collect_file_stats
    from biascalc.integrations.dask import _pieces
    from biascalc.readers import open_dataset

    if kind == "csv":
        path = tmp_path / "big.csv"
        labels = _big_csv(path, 1_100_000)  # ~38 MB: two ranges of >= 16 MiB
        part_bytes = 8 << 20
    else:
        path = tmp_path / "big.parquet"
        labels = np.random.default_rng(6).integers(0, 4, 200_000).tolist()
        pq.write_table(pa.table({"label": labels}), path, row_group_size=20_000)
        part_bytes = max(1, path.stat().st_size // 6)
    with open_dataset([str(path)]) as dataset:
        pieces = _pieces(dataset.readers[0], part_bytes)
    assert len(pieces) > 1
    options = biascalc.BiasOptions()
    want, _ = collect_file_stats(path, "label", options=options)
    got, _ = collect_path_stats(
        path, "label", options=options, scheduler=client.scheduler.address, part_bytes=part_bytes
    )
    counts = np.bincount(labels, minlength=4)
    result = biascalc.result_from_stats(got, options)
    assert list(result.counts) == counts.tolist()
    assert got.n_rows == want.n_rows == len(labels)
    m, w = got.columns[0].moments, want.columns[0].moments
    assert m.mean == pytest.approx(np.mean(labels), rel=1e-12)
    assert (m.mean, m.variance) == pytest.approx((w.mean, w.variance), rel=1e-12)


def test_an_error_in_a_later_piece_names_its_line_in_the_file(client: Any, tmp_path: Path) -> None:
    from biascalc.api import collect_file_stats

    path = tmp_path / "bad.csv"
    _big_csv(path, 1_100_000, bad_row=1_000_000)
    options = biascalc.BiasOptions()
    with pytest.raises(DataError) as local:
        collect_file_stats(path, "label", options=options)
    with pytest.raises(DataError) as dask:
        collect_path_stats(
            path,
            "label",
            options=options,
            scheduler=client.scheduler.address,
            part_bytes=8 << 20,
        )
    assert str(dask.value) == str(local.value)
    assert "line" in str(local.value)


def test_lost_integer_categories_are_warned_on_dask_too(client: Any, tmp_path: Path) -> None:
    """Both engines say that a pandas integer categorical lost its categories in Parquet."""
    y = pd.Series(pd.Categorical([3, 1, 3, 1, 3], categories=[5, 3, 1]))
    path = tmp_path / "int_cat.parquet"
    pd.DataFrame({"y": y}).to_parquet(path)
    local = _read(Layout([str(path)], "y"), "local", client.scheduler.address)
    dask = _read(Layout([str(path)], "y"), "dask", client.scheduler.address)
    assert isinstance(local, biascalc.BiasResult) and isinstance(dask, biascalc.BiasResult)
    lost = [w for w in dask.warnings if "pandas categorical of 3 categories" in w]
    assert len(lost) == 1 and lost == [w for w in local.warnings if "pandas categorical" in w]
