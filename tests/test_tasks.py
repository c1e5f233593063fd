"""Task detection rules, class order and the reasons given."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from biascalc import compute_bias
from biascalc.errors import DataError, OptionError

#: What task_reason adds when the classes are the data's values, sorted.
DATA_ORDER = "; classes in ascending order, from the data"


@pytest.mark.parametrize(
    ("labels", "task", "reason"),
    [
        ([True, False, True], "binary", "boolean values {False, True}" + DATA_ORDER),
        ([0, 1, 1, 0], "binary", "2 distinct values {0, 1}" + DATA_ORDER),
        (["no", "yes", "yes"], "binary", "2 distinct values {'no', 'yes'}" + DATA_ORDER),
        ([0.5, 1.5, 0.5], "binary", "2 distinct values {0.5, 1.5}" + DATA_ORDER),
        (
            ["a", "b", "c"],
            "multiclass",
            "text labels with 3 distinct values {'a', 'b', 'c'}" + DATA_ORDER,
        ),
        (
            [0, 1, 2, 3, 4, 4],
            "multiclass",
            "integers with 5 distinct values {0, 1, 2, 3, 4} (at most 20)" + DATA_ORDER,
        ),
        ([0.1, 0.37, 2.0], "regression", "non-integral numbers (e.g. 0.1)"),
        (
            list(range(301)),
            "regression",
            "integers with more than 20 distinct values (from 0 to 300)",
        ),
    ],
)
def test_single_column_detection(labels: list[object], task: str, reason: str) -> None:
    r = compute_bias(labels)
    assert (r.task, r.task_reason) == (task, reason)


def test_integral_floats_with_few_values_are_classes() -> None:
    r = compute_bias(np.array([0.0, 1.0, 2.0, 2.0]))
    assert r.task == "multiclass" and r.classes == (0.0, 1.0, 2.0)


def test_class_order_is_ascending() -> None:
    assert compute_bias(["b", "B", "a", "é", "z"]).classes == (
        "B",
        "a",
        "b",
        "z",
        "é",
    )  # code points
    assert compute_bias([10, 2, 33, 2]).classes == (2, 10, 33)  # numeric, not text order
    assert compute_bias([True, False]).classes == (False, True)


def test_classes_option_sets_order_and_adds_classes() -> None:
    r = compute_bias(["b", "a", "a"], classes=["b", "a", "c"])
    assert r.task == "multiclass"
    assert r.classes == ("b", "a", "c")
    assert r.counts == (1, 2, 0)
    assert np.isfinite(r.bias).all()
    assert any("class 'c'" in w for w in r.warnings)


def test_classes_option_with_two_names_means_binary() -> None:
    r = compute_bias(["x", "x", "y"], classes=["y", "x"])
    assert r.task == "binary" and r.classes == ("y", "x")
    assert r.task_reason == "--classes names 2 classes; classes in the order of --classes"


def test_classes_from_the_command_line_are_coerced_to_the_label_type() -> None:
    r = compute_bias([0, 1, 2, 2], classes=["2", "1", "0", "3"])
    assert r.classes == (2, 1, 0, 3)


def test_labels_outside_classes_are_an_error() -> None:
    with pytest.raises(DataError, match=r"not in --classes: \{'c'\}"):
        compute_bias(["a", "b", "c"], classes=["a", "b"])


def test_positive_class_is_last() -> None:
    r = compute_bias(["spam", "ham", "ham"], positive="ham")
    assert r.classes == ("spam", "ham")
    assert r.bias[0] == pytest.approx(np.log(2))


def test_one_class_only_gives_finite_bias_and_warning() -> None:
    r = compute_bias([1, 1, 1])
    assert r.task == "binary" and r.classes == (0, 1)
    assert np.isfinite(r.bias).all() and r.bias[0] > 10
    assert any("only one class" in w for w in r.warnings)
    assert any("clipped" in w for w in r.warnings)
    with pytest.raises(DataError, match="only one class"):
        compute_bias(["cat", "cat"], task="binary")


def test_several_targets() -> None:
    df = pd.DataFrame({"a": [0, 1, 1, 1], "b": [1, 0, 0, 1]})
    assert compute_bias(df).task == "multilabel"
    one_hot = pd.DataFrame({"a": [0, 1, 1], "b": [1, 0, 0]})
    assert compute_bias(one_hot).task == "multiclass"
    df = pd.DataFrame({"a": [0.5, 1, 1], "b": [1, 0, 7]})
    assert compute_bias(df).task == "regression"
    with pytest.raises(DataError, match="hold text"):
        compute_bias(pd.DataFrame({"a": ["x", "y"], "b": [0, 1]}))
    with pytest.raises(DataError, match="only 0 and 1"):
        compute_bias(pd.DataFrame({"a": [0, 2], "b": [0, 1]}), task="multilabel")


def test_options_imply_the_task() -> None:
    r = compute_bias([0, 1, 1], loss="poisson")
    assert r.task == "regression" and r.task_reason == "the loss is a regression loss"
    assert compute_bias([0, 1, 1], loss="cross_entropy").task == "multiclass"
    assert compute_bias(list(range(100)), task="multiclass").classes == tuple(range(100))


def test_incompatible_options_are_usage_errors() -> None:
    with pytest.raises(OptionError):
        compute_bias([0, 1], task="regression", loss="bce")
    with pytest.raises(OptionError):
        compute_bias([0.5, 1.0], task="regression", classes=["a"])
    with pytest.raises(OptionError):
        compute_bias([0, 1, 0], center=True)  # binary: center applies to softmax only
    with pytest.raises(OptionError):
        compute_bias([0, 1], loss="quantile", quantile=1.5)
    with pytest.raises(OptionError):
        compute_bias([0, 1], loss="tweedie", tweedie_power=0.5)


def test_regression_text_is_an_error_naming_the_value() -> None:
    with pytest.raises(DataError, match=r"holds the text 'oops' on line 3"):
        compute_bias(pa.array(["1.5", "oops"]), task="regression")


def test_log_link_domains() -> None:
    with pytest.raises(DataError, match="non-negative labels"):
        compute_bias([1.0, -0.5], loss="poisson")
    with pytest.raises(DataError, match="positive labels"):
        compute_bias([1.0, 0.0], loss="gamma")
    assert compute_bias([0.0, 2.0], loss="tweedie", tweedie_power=1.5).bias[0] == pytest.approx(0.0)


def test_all_missing_is_an_error() -> None:
    with pytest.raises(DataError, match="no rows with a label"):
        compute_bias([None, None, float("nan")])


def test_numbers_with_a_stray_typo_are_an_error_not_classes() -> None:
    prices = [f"{10 + i * 0.37:.2f}" for i in range(300)] + ["12..5"]
    with pytest.raises(DataError, match=r"holds numbers except 1 row\(s\) with text \('12..5'\)"):
        compute_bias(prices)
    with pytest.raises(DataError, match="'abc'"):
        compute_bias(["0", "1"] * 100 + ["abc"])
    # Asked for explicitly, the values are classes; real text classes are not affected.
    assert compute_bias(["0", "1"] * 100 + ["abc"], task="multiclass").classes == ("0", "1", "abc")
    assert compute_bias(["0", "1", "unknown"] * 10).task == "multiclass"


def test_positive_must_name_a_class() -> None:
    with pytest.raises(OptionError, match=r"--positive 'Malignant' is not one of the classes"):
        compute_bias(["benign", "malignant"], positive="Malignant")


def test_text_ordinal_classes_warn_about_their_order() -> None:
    r = compute_bias(["low", "medium", "high", "low"], task="ordinal")
    assert r.classes == ("high", "low", "medium")
    assert any("ordered by code point" in w for w in r.warnings)
    r = compute_bias(
        ["low", "medium", "high", "low"], task="ordinal", classes=["low", "medium", "high"]
    )
    assert not any("ordered by code point" in w for w in r.warnings)
