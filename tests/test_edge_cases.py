"""Edge cases found in review: each once gave a wrong number or a crash."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from biascalc import (
    BiasOptions,
    DataError,
    LabelStats,
    OptionError,
    compute_bias,
    compute_bias_from_prior,
    compute_bias_from_stats,
)
from biascalc.api import collect


def test_small_integer_types_spanning_their_range() -> None:
    r = compute_bias(np.array([-100, 100, 0, 0], dtype=np.int8))
    assert r.task == "multiclass" and r.classes == (-100, 0, 100) and r.counts == (1, 2, 1)


def test_decimal_weights(run: Callable[..., Any], tmp_path: Path) -> None:
    import decimal

    path = tmp_path / "dw.parquet"
    weights = pa.array(
        [decimal.Decimal(x) for x in ("1.00", "3.00", "1.00", "1.00")], pa.decimal128(5, 2)
    )
    pq.write_table(pa.table({"y": [0, 1, 1, 0], "w": weights}), path)
    result = run(path, "-t", "y", "-w", "w", "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert '"weight_sum": 6.0' in result.stdout


def test_statistics_collected_for_different_options_do_not_merge() -> None:
    a = collect(
        BiasOptions(loss="mse").stats_spec(["y"]), [pa.record_batch({"y": [0.0, 0.0, 1.0]})]
    )
    b = collect(BiasOptions().stats_spec(["y"]), [pa.record_batch({"y": [1.0, 1.0, 0.0]})])
    with pytest.raises(DataError, match="collected for different options"):
        compute_bias_from_stats([a.to_dict(), b.to_dict()])


def test_a_loss_the_saved_statistics_cannot_serve_is_a_clear_error() -> None:
    s = collect(BiasOptions(loss="mse").stats_spec(["y"]), [pa.record_batch({"y": [0.5, 1.5]})])
    for loss in ("mae", "huber", "tweedie"):
        with pytest.raises(DataError, match="collect them again with --loss"):
            compute_bias_from_stats([LabelStats.from_dict(s.to_dict())], loss=loss)


def test_class_options_are_never_silently_ignored() -> None:
    with pytest.raises(OptionError, match="apply to classification, but the task is regression"):
        compute_bias([0.5, 1.5, 2.5], positive=1)
    with pytest.raises(OptionError, match="do not apply to multilabel"):
        compute_bias(np.array([[0, 1], [1, 1], [0, 0]]), classes=["x", "y"])
    r = compute_bias_from_prior(0.2, classes=["no", "yes"], positive="yes")
    assert r.classes == ("no", "yes")
    with pytest.raises(OptionError, match="give the positive class's rate"):
        compute_bias_from_prior(0.2, classes=["no", "yes"], positive="no")
    with pytest.raises(OptionError, match="not one of the classes"):
        compute_bias_from_prior(0.2, classes=["no", "yes"], positive="maybe")


def test_weights_that_overflow_are_an_error() -> None:
    with pytest.raises(DataError, match="more than the largest"):
        compute_bias([0, 1, 1], sample_weight=[1e308] * 3)
    r = compute_bias([0, 1, 1], sample_weight=[1e300] * 3)
    assert r.bias[0] == pytest.approx(math.log(2))


def test_small_positive_means_are_not_clipped_under_a_log_link() -> None:
    y = [1e-12, 1e-10, 2e-12]
    r = compute_bias(y, loss="gamma")
    assert r.bias[0] == pytest.approx(math.log(np.mean(y)), rel=1e-12)
    assert r.warnings == ()


def test_class_weights_of_zero_for_every_present_class() -> None:
    with pytest.raises(OptionError, match="weight 0 to every class present"):
        compute_bias([0, 0, 1, 2], class_weight={0: 0, 1: 0, 2: 0})
