"""Many classes (a vocabulary of text labels): the vectorised path gives the same numbers
and the same text as a value-by-value computation.

Expected classes, counts and shares come from ``collections.Counter`` and ``sorted`` on
the raw labels; biases and losses from the formulas written here with NumPy; JSON text
from the standard library's ``json.dumps``; Python literals from ``repr``.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st

from biascalc import BiasResult, compute_bias, compute_bias_from_file
from biascalc._literals import Numbers, float_texts, json_text, str_literals
from biascalc.render import render
from biascalc.render.code import _wrap

#: Labels that sort differently by UTF-16 unit, by byte or by locale than by code point.
ODD = ["Z", "a", "\u00e9", "e\u0301", "\uffff", "\U0001f525", "\x7f", " x", "a b", "\u65e5"]


def long_tail_labels(n_rows: int, n_classes: int, seed: int) -> list[str]:
    """Zipf-like labels: a few frequent classes, many with the same small count."""
    rng = random.Random(seed)
    names = [f"tok{i}" for i in range(n_classes - len(ODD))] + ODD
    weights = [1.0 / (k + 1) for k in range(n_classes)]
    rng.shuffle(names)
    return rng.choices(names, weights=weights, k=n_rows)


def expected(labels: list[str], weights: list[float] | None) -> dict[str, Any]:
    """Classes, counts, shares, bias and losses computed value by value."""
    rows = Counter(labels)
    mass: dict[str, float] = defaultdict(float)
    for label, w in zip(labels, weights or [1.0] * len(labels), strict=True):
        mass[label] += w
    classes = sorted(rows)  # Python's string order: by code point
    total = math.fsum(mass.values())
    priors = np.array([mass[c] / total for c in classes])
    q = priors / priors.sum()
    return {
        "classes": classes,
        "counts": [rows[c] for c in classes],
        "priors": priors,
        "bias": np.log(q),
        "zero_bias": math.log(len(classes)),
        "recommended": -math.fsum((priors * np.log(q)).tolist()),
    }


def check(result: BiasResult, want: dict[str, Any], weighted: bool) -> None:
    assert result.task == "multiclass"
    assert list(result.classes or ()) == want["classes"]
    assert list(result.outputs) == want["classes"]
    assert list(result.counts or ()) == want["counts"]
    got_priors = np.array(result.priors)
    if weighted:
        np.testing.assert_allclose(got_priors, want["priors"], rtol=1e-12)
    else:  # count / N: one division, exact
        assert got_priors.tolist() == want["priors"].tolist()
    np.testing.assert_allclose(result.bias, want["bias"], rtol=1e-12, atol=1e-12)
    assert result.expected_loss_zero_bias == pytest.approx(want["zero_bias"], rel=1e-12)
    assert result.expected_loss_recommended == pytest.approx(want["recommended"], rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fmt", ["csv", "parquet", "polars"])
def test_many_text_classes_match_a_counter(tmp_path: Path, fmt: str, weighted: bool) -> None:
    labels = long_tail_labels(60_000, 6_000, seed=len(fmt) + weighted)
    rng = np.random.default_rng(7)
    weights = rng.uniform(0.1, 3.0, len(labels)).tolist() if weighted else None
    columns: dict[str, Any] = {"y": labels, **({"w": weights} if weights else {})}
    path = tmp_path / f"labels.{'csv' if fmt == 'csv' else 'parquet'}"
    if fmt == "csv":
        pd = pytest.importorskip("pandas")
        pd.DataFrame(columns).to_csv(path, index=False)
    elif fmt == "parquet":  # several row groups: several dictionaries to merge
        pq.write_table(pa.table(columns), path, row_group_size=7_000)
    else:
        pl = pytest.importorskip("polars")  # large_string, one dictionary per page
        pl.DataFrame(columns).write_parquet(path, row_group_size=9_000)
    result = compute_bias_from_file(path, target="y", weight="w" if weighted else None)
    check(result, expected(labels, weights), weighted)


def test_class_order_is_code_point_order_in_every_reader(tmp_path: Path) -> None:
    labels = [label for i, label in enumerate(ODD) for _ in range(i + 1)]
    want = sorted(set(labels))
    assert want != sorted(set(labels), key=lambda s: s.encode("utf-16-be"))  # a real test
    path = tmp_path / "odd.parquet"
    pq.write_table(pa.table({"y": labels}), path)
    assert list(compute_bias_from_file(path, target="y").classes or ()) == want
    assert list(compute_bias(labels).classes or ()) == want
    pl = pytest.importorskip("polars")
    pl.DataFrame({"y": labels}).write_csv(tmp_path / "odd.csv")
    assert list(compute_bias_from_file(tmp_path / "odd.csv", target="y").classes or ()) == want


@pytest.mark.parametrize(
    "labels",
    [
        [-3, 7, 0, 2**40, -(2**40), 5, 5, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61],
        [0.5, -1.25, 3, 1e-300, -0.0, 2.5, 2.5, 1e300],
        [True, False, False],
    ],
)
def test_numbers_and_booleans_are_ordered_numerically(labels: list[Any]) -> None:
    result = compute_bias(labels, task="multiclass")
    assert list(result.classes or ()) == sorted(set(labels))


def test_json_text_is_the_standard_encoder_s(tmp_path: Path, run: Callable[..., Result]) -> None:
    labels = long_tail_labels(30_000, 3_000, seed=3)
    path = tmp_path / "labels.parquet"
    pq.write_table(pa.table({"y": labels}), path)
    result = compute_bias_from_file(path, target="y")
    d = result.to_dict()
    assert result.to_json(indent=None) == json.dumps(d, ensure_ascii=False, allow_nan=False)
    fields = [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in d.items()]
    text = "{\n" + ",\n".join(fields) + "\n}\n"
    out = run(path, "-t", "y", "-f", "json")
    assert out.exit_code == 0
    assert out.output == text
    assert [float(s) for s in json.loads(text)["bias"]] == result.bias.tolist()


def test_python_and_table_formats_for_many_classes(tmp_path: Path) -> None:
    labels = [*long_tail_labels(30_000, 3_000, seed=4), "it's", "back\\slash"]
    result = compute_bias(labels)
    namespace: dict[str, Any] = {}
    exec(str(render(result, "python")), namespace)
    assert namespace["CLASSES"] == list(result.classes or ())
    assert namespace["OUTPUT_BIAS"] == result.bias.tolist()
    table = str(render(result, "table"))
    first = sorted(set(labels))[:20]
    lines = table.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("  class"))
    rows = lines[head + 1 : head + 21]
    assert all(row.startswith(f"  {c!r} ") for row, c in zip(rows, first, strict=True))
    assert f"... {len(set(labels)) - 20:,} more classes" in table


def _reference_wrap(before: str, items: list[str], after: str) -> list[str]:
    """The layout of packed lists, item by item: a row takes an item while it fits."""
    rows, row = [], "   "
    for item in items:
        if len(row) + len(item) + 2 > 88 and row.strip():
            rows.append(row)
            row = "   "
        row += f" {item},"
    return [f"{before}[", *rows, row, f"]{after}"]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 120), min_size=1001, max_size=1400), st.integers(0, 9))
def test_packed_rows_are_the_greedy_layout(lengths: list[int], seed: int) -> None:
    items = ["x" * n for n in lengths]
    random.Random(seed).shuffle(items)
    assert _wrap("V = ", items, ")") == _reference_wrap("V = ", items, ")")


finite = st.floats(allow_nan=False, allow_infinity=False)
pool_floats = st.lists(finite, min_size=1, max_size=8).flatmap(
    lambda pool: st.lists(st.sampled_from([*pool, -0.0, 0.0, 5e-324]), min_size=60, max_size=300)
)


@settings(max_examples=60, deadline=None)
@given(st.one_of(pool_floats, st.lists(finite, min_size=60, max_size=300)))
def test_float_texts_are_repr_and_round_trip(values: list[float]) -> None:
    texts = float_texts(values)
    assert texts == [repr(v) for v in values]
    assert [float(t) for t in texts] == values
    signs = [math.copysign(1, v) for v in values]
    assert [math.copysign(1, float(t)) for t in texts] == signs
    numbers = Numbers(np.array(values))
    assert numbers.to_list() == values
    assert json_text(numbers) == json.dumps(values)


any_float = st.one_of(finite, st.sampled_from([math.inf, -math.inf, math.nan]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(any_float, st.sampled_from([0.5, -0.0])), min_size=60, max_size=300))
def test_numbers_write_non_finite_as_null_or_refuse_them(values: list[float]) -> None:
    nulls = [v if math.isfinite(v) else None for v in values]
    numbers = Numbers(np.array(values), null_non_finite=True)
    assert numbers.to_list() == nulls
    assert json_text(numbers, {}) == json.dumps(nulls)
    if nulls != values or any(v != v for v in values):
        with pytest.raises(ValueError, match="JSON compliant"):
            Numbers(np.array(values)).json()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=60, max_size=300), st.integers(1, 5))
def test_numbers_of_integers_are_json_dumps(values: list[int], repeat: int) -> None:
    values = values * repeat
    numbers = Numbers.of(values, int)
    assert isinstance(numbers, Numbers)
    assert numbers.to_list() == values
    assert numbers.json() == json.dumps(values)
    assert Numbers.of([2**70, 1], int) == [2**70, 1]  # beyond 64 bits: plain ints


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(
        st.lists(st.text(max_size=6), min_size=60, max_size=200),
        st.lists(st.text(alphabet=st.characters(max_codepoint=127), max_size=6), min_size=60),
        st.lists(st.integers(-(2**70), 2**70), min_size=60, max_size=200),
        st.lists(st.one_of(st.integers(), finite, st.booleans(), st.none()), min_size=60),
    )
)
def test_json_text_is_json_dumps(values: list[Any]) -> None:
    assert json_text(values) == json.dumps(values, ensure_ascii=False, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=6), max_size=100))
def test_str_literals_are_repr_and_ascii(values: list[str]) -> None:
    got = str_literals(values)
    if got is not None:
        assert got == [repr(v) for v in values] == [ascii(v) for v in values]
    elif values:
        assert any(repr(v) != "'" + v + "'" or ascii(v) != repr(v) for v in values)


def test_non_finite_floats_are_refused_like_json_dumps() -> None:
    values = [0.5] * 100 + [math.nan]
    with pytest.raises(ValueError, match="JSON compliant"):
        json.dumps(values, allow_nan=False)
    with pytest.raises(ValueError, match="JSON compliant"):
        json_text(values)
    with pytest.raises(ValueError, match="JSON compliant"):
        json_text(Numbers(np.array(values)))


def test_a_clipped_class_is_named_in_its_warning() -> None:
    labels = [f"c{i}" for i in range(30) for _ in range(i + 1)]
    result = compute_bias(labels, classes=[*sorted(set(labels)), "never"])
    share = 0.0
    warning = f"class 'never' has share {share!r}; clipped to {1e-7!r} so its bias is finite"
    assert warning in result.warnings
    assert result.bias[-1] == pytest.approx(math.log(1e-7))


def _results() -> list[BiasResult]:
    vocabulary = compute_bias(long_tail_labels(5_000, 500, seed=5))
    k = len(vocabulary.bias)
    return [
        compute_bias([0, 0, 1]),
        compute_bias([0.5, 1.5, 2.5], loss="mae"),
        compute_bias(["a", "b", "b"], task="multiclass", sample_weight=[0.5, 1.0, 2.0]),
        compute_bias([[1, 0], [0, 1], [1, 1]], task="multilabel"),
        vocabulary,
        replace(vocabulary, bias=np.where(np.arange(k) % 7 == 0, -np.inf, vocabulary.bias)),
        replace(vocabulary, prior_bias=np.full(k, np.nan), counts=tuple(range(k))),
    ]


@pytest.mark.parametrize("result", _results(), ids=lambda r: r.task)
def test_to_json_is_json_dumps_of_to_dict(result: BiasResult) -> None:
    d = result.to_dict()
    assert result.to_json(indent=None) == json.dumps(d, ensure_ascii=False, allow_nan=False)
    fields = [f"    {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in d.items()]
    assert result.to_json(indent=4) == "{\n" + ",\n".join(fields) + "\n}"
    assert json.loads(result.to_json()) == d
