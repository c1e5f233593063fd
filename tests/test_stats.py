"""Streaming statistics: exactness, mergeability and invariance properties."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

from biascalc import BiasOptions, LabelStats, StatsSpec, compute_bias, result_from_stats
from biascalc.errors import DataError
from biascalc.stats import Moments

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


def stats_of(batches: list[pa.RecordBatch], spec: StatsSpec) -> LabelStats:
    s = LabelStats(spec)
    for b in batches:
        s.update(b)
    return s


def test_moments_match_numpy() -> None:
    rng = np.random.default_rng(1)
    y, w = rng.normal(3, 2, 1000), rng.uniform(0, 2, 1000)
    m = Moments.of(y, w)
    assert m.mean == pytest.approx(np.average(y, weights=w), rel=1e-14)
    assert m.variance == pytest.approx(np.cov(y, aweights=w, bias=True), rel=1e-12)
    assert (m.minimum, m.maximum) == (y.min(), y.max())


def test_mean_of_huge_values_does_not_overflow() -> None:
    y = np.full(10, 1e308)
    assert Moments.of(y).mean == 1e308
    assert Moments.of(np.array([1e308, -1e308])).mean == 0.0
    parts = Moments.of(np.array([1.7e308])).merge(Moments.of(np.array([1.7e308])))
    assert parts.mean == 1.7e308
    r = compute_bias(np.array([1e308, 1e308, 1e308]), task="regression")
    assert r.bias[0] == 1e308


def test_missing_labels_are_dropped_and_counted() -> None:
    spec = StatsSpec(("y",))
    s = stats_of([pa.record_batch({"y": pa.array([1.0, None, float("nan"), 2.5])})], spec)
    assert (s.n_rows, s.n_missing) == (2, 2)


def test_weights_are_validated() -> None:
    spec = StatsSpec(("y",), "w")
    for bad in ([1.0, -1.0], [1.0, float("nan")], [1.0, float("inf")], [1.0, None]):
        with pytest.raises(DataError, match="weight"):
            stats_of([pa.record_batch({"y": [0, 1], "w": pa.array(bad, pa.float64())})], spec)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(finite, min_size=1, max_size=60),
    st.lists(st.integers(min_value=1, max_value=59), max_size=5),
)
def test_any_split_into_batches_gives_the_same_moments(
    values: list[float], cuts: list[int]
) -> None:
    y = np.array(values)
    bounds = sorted({c for c in cuts if c < len(y)})
    pieces = np.split(y, bounds)
    spec = StatsSpec(("y",), classes="never")
    whole = stats_of([pa.record_batch({"y": y})], spec).columns[0].moments
    # Folding batch by batch, and merging separately built partial statistics.
    folded = stats_of([pa.record_batch({"y": p}) for p in pieces], spec).columns[0].moments
    merged = LabelStats(spec)
    for p in pieces:
        merged = merged.merge(stats_of([pa.record_batch({"y": p})], spec))
    scale = max(1.0, float(np.max(np.abs(y))))
    for m in (folded, merged.columns[0].moments):
        assert m.mean == pytest.approx(whole.mean, abs=1e-12 * scale)
        assert m.m2 == pytest.approx(whole.m2, rel=1e-9, abs=1e-9 * scale * scale)


labels = st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=2, max_size=80)


@settings(max_examples=60, deadline=None)
@given(labels, st.randoms(use_true_random=False))
def test_row_order_does_not_matter(y: list[str], rnd: object) -> None:
    shuffled = list(y)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    a, b = compute_bias(y), compute_bias(shuffled)
    np.testing.assert_allclose(a.bias, b.bias, rtol=0, atol=1e-12)
    assert a.classes == b.classes and a.counts == b.counts


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0, 1, 2]), st.integers(min_value=0, max_value=4)),
        min_size=1,
        max_size=40,
    )
)
def test_integer_weights_equal_duplicated_rows(rows: list[tuple[int, int]]) -> None:
    if sum(w for _, w in rows) == 0:
        return
    y = [label for label, _ in rows]
    w = [weight for _, weight in rows]
    duplicated = [label for label, weight in rows for _ in range(weight)]
    options = {"task": "multiclass", "classes": [0, 1, 2]}
    a = compute_bias(y, sample_weight=w, **options)
    b = compute_bias(duplicated, **options)
    np.testing.assert_allclose(a.bias, b.bias, rtol=0, atol=1e-12)
    assert a.expected_loss_recommended == pytest.approx(b.expected_loss_recommended, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(st.integers(min_value=1, max_value=10_000), st.integers(min_value=1, max_value=10_000))
def test_sigmoid_of_bias_is_the_positive_share(neg: int, pos: int) -> None:
    r = compute_bias(np.repeat([0, 1], [neg, pos]))
    assert special.expit(r.bias[0]) == pytest.approx(pos / (neg + pos), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=1000), min_size=3, max_size=12))
def test_softmax_of_bias_is_the_priors(counts: list[int]) -> None:
    y = np.repeat(np.arange(len(counts)), counts)
    r = compute_bias(y, task="multiclass")
    np.testing.assert_allclose(special.softmax(r.bias), np.array(counts) / sum(counts), rtol=1e-12)


def test_merge_of_partitions_equals_whole_for_classes() -> None:
    options = BiasOptions()
    spec = options.stats_spec(["y"])
    parts = [pa.record_batch({"y": ["x", "y", "y"]}), pa.record_batch({"y": ["z", "y", None]})]
    left, right = stats_of(parts[:1], spec), stats_of(parts[1:], spec)
    merged = result_from_stats(left.merge(right), options)
    whole = result_from_stats(stats_of(parts, spec), options)
    assert merged.to_dict() == whole.to_dict()
    assert merged.counts == (1, 3, 1) and merged.n_missing == 1


def test_int_and_float_parts_merge() -> None:
    spec = StatsSpec(("y",), classes="always")
    s = stats_of(
        [pa.record_batch({"y": pa.array([0, 1, 1])}), pa.record_batch({"y": pa.array([0.0, 1.0])})],
        spec,
    )
    counted = s.columns[0].counts.result()  # type: ignore[union-attr]
    assert counted is not None
    assert counted[0] == [0.0, 1.0] and counted[1].tolist() == [2, 3]


def test_mixed_text_and_numbers_across_parts_is_an_error() -> None:
    spec = StatsSpec(("y",), classes="always")
    with pytest.raises(DataError, match="holds integer values in one part"):
        stats_of([pa.record_batch({"y": [0, 1]}), pa.record_batch({"y": ["a", "b"]})], spec)


def test_class_limit_overflow_is_reported() -> None:
    spec = StatsSpec(("y",), classes="always", class_limit=10)
    s = stats_of([pa.record_batch({"y": [str(i) for i in range(50)]})], spec)
    with pytest.raises(DataError, match="more than 10 distinct values, biascalc's limit"):
        result_from_stats(s, BiasOptions(task="multiclass"))


def test_entropy_is_the_recommended_bce_loss() -> None:
    r = compute_bias([0] * 7 + [1] * 3)
    p = 0.3
    assert r.expected_loss_recommended == pytest.approx(
        -(p * math.log(p) + (1 - p) * math.log(1 - p)), rel=1e-12
    )


def test_value_store_beyond_its_cap_becomes_a_sketch_with_a_stated_bound() -> None:
    from biascalc.stats.sketch import SketchStore

    rng = np.random.default_rng(5)
    y = rng.lognormal(size=20_000)
    spec = StatsSpec(("y",), classes="never", keep_values=True, max_values=3_000)
    s = stats_of([pa.record_batch({"y": part}) for part in np.array_split(y, 20)], spec)
    store = s.columns[0].store
    assert isinstance(store, SketchStore) and store.size <= 3_000
    bound = store.rank_error
    assert 0 < bound < 0.02
    r = result_from_stats(s, BiasOptions(task="regression", loss="mae"))
    # The median's rank is within the bound: the share of labels below it is 0.5 +- bound.
    below = float(np.mean(y < r.bias[0]))
    assert abs(below - 0.5) <= bound + 1 / y.size
    assert any("quantile sketch" in w for w in r.warnings)


def test_dictionary_coded_text_counts_like_plain_text() -> None:
    rng = np.random.default_rng(9)
    words = pa.array([f"w{i}" for i in range(50)])
    other = pa.array([f"w{i}" for i in range(25, 75)])
    batches, plain = [], []
    for dictionary in (words, words, words, other, words):  # shared, then a new dictionary
        codes = rng.integers(0, len(dictionary), 200)
        batch = pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), dictionary)
        batches.append(pa.record_batch({"y": batch}))
        plain.append(pa.record_batch({"y": batch.cast(pa.string())}))
    spec = StatsSpec(("y",), classes="always")
    coded = stats_of(batches, spec).columns[0].counts.result()  # type: ignore[union-attr]
    expected = stats_of(plain, spec).columns[0].counts.result()  # type: ignore[union-attr]
    assert coded is not None and expected is not None
    assert coded[0] == expected[0]
    np.testing.assert_array_equal(coded[1], expected[1])


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=-300, max_value=300), st.floats(0.0, 50.0)),
        min_size=1,
        max_size=200,
    ),
    st.sampled_from(["int8", "int16", "int64", "uint16", "bool"]),
    st.booleans(),
)
def test_integer_moments_from_counts_match_the_rows(
    rows: list[tuple[int, float]], dtype: str, weighted: bool
) -> None:
    """Small-span integers take their moments from the class counts (one bincount):
    the same mean, variance, min, max and transform means as numpy over the rows."""
    values = np.array([v for v, _ in rows])
    if dtype == "bool":
        values = values > 0
    elif dtype.startswith("uint"):
        values = np.abs(values)
    values = values.astype(dtype)
    w = np.array([x for _, x in rows]) if weighted else np.ones(len(rows))
    if w.sum() == 0:
        w[0] = 1.0
    columns = {"y": pa.array(values), **({"w": pa.array(w)} if weighted else {})}
    stats = LabelStats(StatsSpec(("y",), "w" if weighted else None, extra_means=("pow:1.5",)))
    stats.update(pa.record_batch(columns))
    m = stats.columns[0].moments
    y = values.astype(np.float64)
    mean = np.average(y, weights=w)
    assert m.weight == pytest.approx(w.sum(), rel=1e-12)
    assert m.mean == pytest.approx(mean, rel=1e-12, abs=1e-12)
    assert m.variance == pytest.approx(np.average((y - mean) ** 2, weights=w), rel=1e-9, abs=1e-9)
    assert (m.minimum, m.maximum) == (y.min(), y.max())
    expected = np.average(np.power(np.maximum(y, 0.0), 1.5), weights=w)
    assert stats.columns[0].extra.mean("pow:1.5") == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_integer_labels_wider_than_the_dense_span_still_get_their_moments() -> None:
    y = np.array([0, 1 << 40, 5, 7], dtype=np.int64)
    stats = LabelStats(StatsSpec(("y",)))
    stats.update(pa.record_batch({"y": pa.array(y)}))
    m = stats.columns[0].moments
    assert m.mean == pytest.approx(y.astype(float).mean(), rel=1e-15)
    assert m.variance == pytest.approx(y.astype(float).var(), rel=1e-12)


def test_value_store_joins_its_parts_once() -> None:
    from biascalc.stats import ValueStore

    store = ValueStore()
    store.add(np.array([3.0, 1.0]), None)
    store.add(np.array([2.0]), np.array([0.5]))
    y, w = store.arrays()
    assert y.tolist() == [3.0, 1.0, 2.0] and w is not None and w.tolist() == [1.0, 1.0, 0.5]
    again, _ = store.arrays()
    assert again is y and len(store.values) == 1  # joined once, kept joined
    store.add(np.array([4.0]), None)
    assert store.arrays()[0].tolist() == [3.0, 1.0, 2.0, 4.0]
