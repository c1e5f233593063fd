"""Label statistics as JSON: round trips, merging deserialised parts, and the CLI."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from biascalc import BiasOptions
from biascalc.api import compute_bias_from_stats, result_from_stats
from biascalc.errors import DataError
from biascalc.stats import LabelStats
from biascalc.stats.serialize import stats_from_json, stats_to_json
from biascalc.stats.sketch import QuantileSketch, SketchStore

RNG = np.random.default_rng(7)
N = 3000
WEIGHTS = RNG.random(N) + 0.1

# name -> (columns, options); every case carries sample weights.
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "binary": ({"y": RNG.integers(0, 2, N)}, {}),
    "multiclass-text": ({"y": RNG.choice(["cat", "dog", "émeu"], N)}, {}),
    "multilabel": ({"a": RNG.integers(0, 2, N), "b": RNG.integers(0, 2, N)}, {}),
    "regression": ({"y": RNG.gamma(2.0, 3.0, N)}, {"loss": "tweedie", "tweedie_power": 1.5}),
    "regression-median": ({"y": RNG.normal(0, 5, N)}, {"loss": "mae"}),
    "overflowed": ({"y": RNG.integers(0, 500, N)}, {}),  # > 20 integers: counts overflow
}


def _stats(columns: dict[str, Any], options: dict[str, Any], rows: slice) -> LabelStats:
    table = pa.table({**{k: v[rows] for k, v in columns.items()}, "w": WEIGHTS[rows]})
    stats = LabelStats(BiasOptions(**options).stats_spec(list(columns), "w"))
    for batch in table.to_batches(max_chunksize=700):
        stats.update(batch)
    return stats


def _same(a: Any, b: Any) -> None:
    assert a.task == b.task
    assert a.classes == b.classes
    assert a.counts == b.counts
    np.testing.assert_allclose(a.bias, b.bias, rtol=1e-12, atol=1e-12)
    for x, y in [
        (a.expected_loss_recommended, b.expected_loss_recommended),
        (a.expected_loss_zero_bias, b.expected_loss_zero_bias),
        (a.weight_sum, b.weight_sum),
    ]:
        assert x == pytest.approx(y, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_round_trip_is_lossless(case: str) -> None:
    columns, options = CASES[case]
    stats = _stats(columns, options, slice(None))
    back = stats_from_json(stats_to_json(stats))
    assert back.to_dict() == stats.to_dict()
    assert json.loads(json.dumps(stats.to_dict())) == stats.to_dict()
    opts = BiasOptions(**options)
    _same(result_from_stats(back, opts), result_from_stats(stats, opts))
    if case == "overflowed":
        assert back.columns[0].counts is not None and back.columns[0].counts.overflowed


@pytest.mark.parametrize("case", CASES)
def test_merge_of_deserialised_parts_equals_the_whole(case: str) -> None:
    columns, options = CASES[case]
    cuts = [0, 1, 999, 2000, N]  # one part of a single row, uneven sizes
    parts = [
        json.loads(json.dumps(_stats(columns, options, slice(a, b)).to_dict()))
        for a, b in itertools.pairwise(cuts)
    ]
    whole = result_from_stats(_stats(columns, options, slice(None)), BiasOptions(**options))
    _same(compute_bias_from_stats(parts[::-1], **options), whole)


def test_sketch_points_keep_their_error_through_json() -> None:
    sketch = QuantileSketch.of(RNG.normal(size=5000), k=64)
    stats = LabelStats(BiasOptions(loss="mae").stats_spec(["y"]))
    stats.update(pa.record_batch({"y": [1.0, 2.0]}))
    stats.columns[0].store = sketch.to_store()
    back = stats_from_json(stats_to_json(stats)).columns[0].store
    assert isinstance(back, SketchStore)
    assert back.error == sketch.error > 0
    assert back.rank_error == pytest.approx(sketch.rank_error)


def test_statistics_of_other_columns_do_not_merge() -> None:
    a = _stats({"y": np.arange(N) % 2}, {}, slice(None)).to_dict()
    b = _stats({"z": np.arange(N) % 2}, {}, slice(None)).to_dict()
    with pytest.raises(DataError, match="cannot be merged"):
        compute_bias_from_stats([a, b])


def test_cli_save_stats_then_merge(
    run: Callable[..., Any], write_csv: Callable[..., Path], tmp_path: Path
) -> None:
    y = RNG.integers(0, 3, 400).tolist()
    w = (RNG.random(400) + 0.5).round(3).tolist()
    first = write_csv({"y": y[:150], "w": w[:150]}, name="a.csv")
    second = write_csv({"y": y[150:], "w": w[150:]}, name="b.csv")
    whole = write_csv({"y": y, "w": w}, name="all.csv")
    for path, out in [(first, "a.json"), (second, "b.json")]:
        result = run(str(path), "-t", "y", "-w", "w", "--save-stats", str(tmp_path / out))
        assert result.exit_code == 0, result.output
    merged = run(
        "--from-stats",
        str(tmp_path / "a.json"),
        "--from-stats",
        str(tmp_path / "b.json"),
        "--format",
        "json",
    )
    direct = run(str(whole), "-t", "y", "-w", "w", "--format", "json")
    assert merged.exit_code == 0, merged.output
    got, want = json.loads(merged.output), json.loads(direct.output)
    assert got["counts"] == want["counts"]
    np.testing.assert_allclose(got["bias"], want["bias"], rtol=1e-12, atol=1e-12)
    saved = json.loads((tmp_path / "a.json").read_text())
    assert saved["biascalc_stats"] == 1


def test_cli_rejects_files_that_are_not_statistics(run: Callable[..., Any], tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"something": 1}')
    result = run("--from-stats", str(bad))
    assert result.exit_code == 1
    assert "not biascalc statistics" in result.output
