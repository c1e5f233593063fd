"""--where / where=: the grammar (parsed, never evaluated), the filter in every reader, the
rows it counts, and where it is recorded.  Expected counts come from NumPy masks written
here from the same rows, never from biascalc."""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import biascalc
from biascalc import readers
from biascalc.errors import ColumnNotFoundError, DataError, OptionError
from biascalc.readers import parse_where
from tests.conftest import python_without_pandas

from .conftest import ROOT

RNG = np.random.default_rng(7)
N = 2000
Y = RNG.integers(0, 3, N)
SPLIT = RNG.choice(["train", "test", "val"], N)
FOLD = RNG.integers(0, 5, N)
SCORE = RNG.normal(0.0, 1.0, N)
TABLE = pa.table({"y": Y, "split": SPLIT, "fold": FOLD, "score": SCORE})


def _shares(y: np.ndarray[Any, Any]) -> tuple[int, list[float]]:
    """Rows and the log-priors the cross-entropy bias must equal (classes 0, 1, 2)."""
    counts = np.bincount(y, minlength=3)
    return int(counts.sum()), [math.log(c / counts.sum()) for c in counts]


def _check(result: biascalc.BiasResult, keep: np.ndarray[Any, Any]) -> None:
    n, bias = _shares(Y[keep])
    assert result.n_samples == n
    np.testing.assert_allclose(result.bias, bias, rtol=1e-12)


# -- the grammar -------------------------------------------------------------------------

ACCEPTED = [
    ("split == 'train'", SPLIT == "train"),
    ('split != "test"', SPLIT != "test"),
    ("fold < 2", FOLD < 2),
    ("fold <= 2", FOLD <= 2),
    ("fold > 2", FOLD > 2),
    ("fold >= 2", FOLD >= 2),
    ("2 < fold", FOLD > 2),  # a literal on the left is flipped
    ("1 <= fold < 4", (FOLD >= 1) & (FOLD < 4)),  # chained
    ("fold in (0, 3)", np.isin(FOLD, [0, 3])),
    ("fold not in (0, 3)", ~np.isin(FOLD, [0, 3])),
    ("split in ('train', 'val')", np.isin(SPLIT, ["train", "val"])),
    ("split == 'train' and fold != 3", (SPLIT == "train") & (FOLD != 3)),
    ("split == 'test' or fold == 0", (SPLIT == "test") | (FOLD == 0)),
    ("not (split == 'test' or fold == 0)", ~((SPLIT == "test") | (FOLD == 0))),
    ("not split == 'test'", SPLIT != "test"),
    ("score > -0.5", SCORE > -0.5),
    ("score < 1", SCORE < 1),  # an integer literal against a float column
    ("fold == 2.0", FOLD == 2),  # a float literal against an integer column
    ("col('split') == 'val'", SPLIT == "val"),
    ("(fold == 1) and (split != 'val')", (FOLD == 1) & (SPLIT != "val")),
]


@pytest.mark.parametrize(("expr", "keep"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_each_construct_keeps_the_rows_numpy_keeps(
    expr: str, keep: np.ndarray[Any, Any], write_parquet: Callable[..., Path]
) -> None:
    path = write_parquet(TABLE)
    result = biascalc.compute_bias_from_file(str(path), "y", where=expr)
    _check(result, keep)
    assert result.where == expr
    assert result.to_dict()["where"] == expr


REJECTED = [
    ("len(split) == 5", "a function call (len(split))"),
    ("__import__('os').system('true')", "a function call"),
    ("split.upper() == 'X'", "a function call"),
    ("split.x == 1", "an attribute (split.x)"),
    ("fold + 1 == 2", "arithmetic (fold + 1)"),
    ("fold[0] == 1", "indexing"),
    ("fold == split", "two columns"),
    ("1 == 1", "two literals"),
    ("fold is 1", "the operator Is"),
    ("fold in [x]", "inside 'in (...)'"),
    ("fold in ()", "'in' takes a parenthesised list"),
    ("fold == None", "cannot compare with None"),
    ("fold", "the bare column fold"),
    ("fold ==", "not a valid expression"),
    ("lambda: 1", "a lambda"),
    ("(x := 1) == 1", "an assignment"),
    ("", "is empty"),
    ("   ", "is empty"),
]


@pytest.mark.parametrize(("expr", "words"), REJECTED, ids=[r[0] or "empty" for r in REJECTED])
def test_anything_else_is_a_usage_error_naming_it(expr: str, words: str) -> None:
    with pytest.raises(OptionError) as info:
        parse_where(expr)
    assert words in str(info.value)
    assert "\n" not in str(info.value)


def test_the_expression_is_never_evaluated(
    tmp_path: Path, write_parquet: Callable[..., Path], run: Callable[..., Any]
) -> None:
    marker = tmp_path / "evaluated"
    expr = f"__import__('pathlib').Path({str(marker)!r}).touch() == None"
    result = run(write_parquet(TABLE), "-t", "y", "--where", expr)
    assert result.exit_code == 2
    assert "does not allow a function call" in result.output
    assert not marker.exists()


def test_names_that_are_not_identifiers_use_col(write_parquet: Callable[..., Path]) -> None:
    path = write_parquet(pa.table({"y": Y, "data split": SPLIT, "class": FOLD}))
    got = biascalc.compute_bias_from_file(
        str(path), "y", where="col('data split') == 'train' and col('class') < 2"
    )
    _check(got, (SPLIT == "train") & (FOLD < 2))


def test_an_expression_over_several_lines_is_recorded_on_one() -> None:
    f = parse_where("(split == 'train'\n and fold < 2)")
    assert f.text == "split == 'train' and fold < 2"
    assert f.columns == ("split", "fold")


@settings(max_examples=60, deadline=None)
@given(
    op=st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    value=st.integers(-1, 5),
    negate=st.booleans(),
    joiner=st.sampled_from(["and", "or"]),
    members=st.lists(st.sampled_from(["train", "test", "val", "other"]), min_size=1, max_size=3),
)
def test_filtered_statistics_equal_numpy_on_the_kept_rows(
    op: str, value: int, negate: bool, joiner: str, members: list[str]
) -> None:
    compare = {
        "==": np.equal,
        "!=": np.not_equal,
        "<": np.less,
        "<=": np.less_equal,
        ">": np.greater,
        ">=": np.greater_equal,
    }[op]
    listed = ", ".join(repr(m) for m in members) + ","
    expr = f"fold {op} {value} {joiner} split {'not in' if negate else 'in'} ({listed})"
    left = compare(FOLD, value)
    right = ~np.isin(SPLIT, members) if negate else np.isin(SPLIT, members)
    keep = (left & right) if joiner == "and" else (left | right)
    row_filter = parse_where(expr)
    kept = row_filter.apply(TABLE.to_batches()[0], ["y"])
    assert kept.column("y").to_pylist() == Y[keep].tolist()


# -- every reader, partitions, several files -------------------------------------------


def _write(fmt: str, directory: Path) -> Path:
    if fmt == "csv":
        path = directory / "t.csv"
        pcsv.write_csv(TABLE, path)
    elif fmt == "csv.gz":
        plain = directory / "plain.csv"
        pcsv.write_csv(TABLE, plain)
        path = directory / "t.csv.gz"
        path.write_bytes(gzip.compress(plain.read_bytes()))
    elif fmt == "tsv":
        path = directory / "t.tsv"
        pcsv.write_csv(TABLE, path, pcsv.WriteOptions(delimiter="\t"))
    elif fmt == "parquet":
        path = directory / "t.parquet"
        pq.write_table(TABLE, path, row_group_size=300)
    elif fmt == "jsonl":
        path = directory / "t.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in TABLE.to_pylist()))
    else:
        path = directory / "t.arrow"
        feather.write_feather(TABLE, path, chunksize=300)
    return path


@pytest.mark.parametrize("fmt", ["csv", "csv.gz", "tsv", "parquet", "jsonl", "arrow"])
def test_every_reader_filters(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(readers, "BATCH_ROWS", 256)  # many batches
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 4096)
    path = _write(fmt, tmp_path)
    got = biascalc.compute_bias_from_file(str(path), "y", where="split == 'train' and fold >= 1")
    _check(got, (SPLIT == "train") & (FOLD >= 1))


def test_standard_input_is_filtered(run_installed: Callable[..., Any], tmp_path: Path) -> None:
    text = _write("csv", tmp_path).read_text()
    proc = run_installed("-", "-t", "y", "--where", "fold == 4", "-f", "json", input=text)
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    n, bias = _shares(Y[FOLD == 4])
    assert d["n_samples"] == n and d["where"] == "fold == 4"
    np.testing.assert_allclose(d["bias"], bias, rtol=1e-12)


def test_hive_partition_columns_take_part(tmp_path: Path) -> None:
    import pyarrow.dataset as ds

    ds.write_dataset(
        TABLE,
        tmp_path / "lake",
        format="parquet",
        partitioning=ds.partitioning(pa.schema([("split", pa.string())]), flavor="hive"),
    )
    got = biascalc.compute_bias_from_file(
        str(tmp_path / "lake"), "y", where="split == 'train' and fold != 0"
    )
    _check(got, (SPLIT == "train") & (FOLD != 0))
    # An integer partition key compares with numbers.
    ds.write_dataset(
        TABLE,
        tmp_path / "byfold",
        format="parquet",
        partitioning=ds.partitioning(pa.schema([("fold", pa.int64())]), flavor="hive"),
    )
    got = biascalc.compute_bias_from_file(str(tmp_path / "byfold"), "y", where="fold in (1, 2)")
    _check(got, np.isin(FOLD, [1, 2]))
    with pytest.raises(OptionError, match="compare it with a number"):
        biascalc.compute_bias_from_file(str(tmp_path / "byfold"), "y", where="fold == '1'")


def test_several_files_are_one_filtered_data_set(tmp_path: Path) -> None:
    half = N // 2
    pq.write_table(TABLE.slice(0, half), tmp_path / "a.parquet")
    pcsv.write_csv(TABLE.slice(half), tmp_path / "b.csv")
    got = biascalc.compute_bias_from_file(
        [str(tmp_path / "a.parquet"), str(tmp_path / "b.csv")], "y", where="split != 'val'"
    )
    _check(got, SPLIT != "val")


# -- values: missing, NaN, types ---------------------------------------------------------

MISSING = pa.table(
    {
        "y": [0, 1, 1, 0, 1, 0],
        "x": [1, None, 2, 1, None, 3],
        "s": ["a", "b", None, "a", "a", None],
        "f": [0.5, float("nan"), 1.5, None, 2.5, 0.5],
    }
)
_MISSING_CASES = [
    # Three-valued logic: a comparison with a missing value is unknown; rows pass only if true.
    ("x != 1", [False, False, True, False, False, True]),
    ("not x == 1", [False, False, True, False, False, True]),
    ("x not in (1,)", [False, False, True, False, False, True]),
    ("x in (1, 2)", [True, False, True, True, False, False]),
    ("x == 1 or s == 'a'", [True, False, False, True, True, False]),
    ("x != 1 and s != 'a'", [False, False, False, False, False, False]),
    ("f != 0.5", [False, False, True, False, True, False]),  # NaN and null: unknown
    ("not f < 1", [False, False, True, False, True, False]),
]


@pytest.mark.parametrize(("expr", "keep"), _MISSING_CASES, ids=[c[0] for c in _MISSING_CASES])
def test_missing_values_are_unknown(expr: str, keep: list[bool]) -> None:
    got = parse_where(expr).apply(MISSING.to_batches()[0], ["y"]).column("y").to_pylist()
    want = [y for y, k in zip(MISSING.column("y").to_pylist(), keep, strict=True) if k]
    assert got == want


@pytest.mark.parametrize(
    ("expr", "words"),
    [
        ("fold == '1'", "which holds number values, with the text '1'"),
        ("split == 1", "which holds text values, with the number 1"),
        ("split in ('train', 2)", "with the number 2"),
        ("flag == 1", "compare it with True or False"),
        ("day == 3", "compare it with a quoted date"),
        ("day >= 'yesterday'", "is not a date32[day] value"),
    ],
)
def test_literals_compare_in_the_column_type(
    expr: str, words: str, write_parquet: Callable[..., Path], run: Callable[..., Any]
) -> None:
    import datetime

    path = write_parquet(
        {
            "y": [0, 1],
            "fold": [1, 2],
            "split": ["a", "b"],
            "flag": [True, False],
            "day": [datetime.date(2024, 1, 1), datetime.date(2024, 2, 1)],
        }
    )
    with pytest.raises(OptionError) as info:
        biascalc.compute_bias_from_file(str(path), "y", where=expr)
    assert words in str(info.value)
    assert run(path, "-t", "y", "--where", expr).exit_code == 2


def test_dates_booleans_and_text_columns(write_parquet: Callable[..., Path]) -> None:
    import datetime

    days = [datetime.date(2024, 1, 1) + datetime.timedelta(days=int(d)) for d in FOLD * 40]
    flags = (FOLD % 2 == 0).tolist()
    path = write_parquet(pa.table({"y": Y, "day": days, "flag": flags}))
    cut = np.array([d >= datetime.date(2024, 3, 1) for d in days])
    got = biascalc.compute_bias_from_file(str(path), "y", where="day >= '2024-03-01'")
    _check(got, cut)
    got = biascalc.compute_bias_from_file(str(path), "y", where="flag == True")
    _check(got, FOLD % 2 == 0)


def test_unknown_column_names_it_and_lists_the_columns(
    write_parquet: Callable[..., Path], run: Callable[..., Any]
) -> None:
    path = write_parquet(TABLE)
    with pytest.raises(ColumnNotFoundError) as info:
        biascalc.compute_bias_from_file(str(path), "y", where="splt == 'train'")
    message = str(info.value)
    assert "'splt'" in message and "columns are: y, split, fold, score" in message
    assert "did you mean 'split'?" in message
    assert run(path, "-t", "y", "--where", "splt == 'x'").exit_code == 1


def test_no_row_passing_is_an_error_saying_so(
    write_parquet: Callable[..., Path], run: Callable[..., Any]
) -> None:
    path = write_parquet(TABLE)
    result = run(path, "-t", "y", "--where", "fold > 100")
    assert result.exit_code == 1
    assert result.output == (
        "Error: no rows pass --where 'fold > 100'; check the column's values and the expression\n"
    )


def test_errors_name_the_line_in_the_file_not_among_the_kept_rows(
    write_text: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 64)
    rows = [f"{i % 7}.5,{'keep' if i % 3 == 0 else 'drop'},1" for i in range(200)]
    rows[151] = "oops,keep,1"  # line 153 (header is line 1); 151 % 3 != 0 but forced keep
    rows[90] = "0.5,keep,-1"  # a negative weight on line 92
    path = write_text("price,part,w\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"weight column 'w' has the value -1\.0 on line 92;"):
        biascalc.compute_bias_from_file(str(path), "price", weight="w", where="part == 'keep'")
    rows[90] = "0.5,keep,1"
    path = write_text("price,part,w\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match="holds the text 'oops' on line 153;"):
        biascalc.compute_bias_from_file(str(path), "price", where="part == 'keep'", loss="mse")


# -- where the filter is recorded --------------------------------------------------------


def test_recorded_in_json_schema_table_and_snippets(
    write_parquet: Callable[..., Path], run: Callable[..., Any]
) -> None:
    path = write_parquet(TABLE)
    expr = "split == 'train' and fold != 3"
    d = json.loads(run(path, "-t", "y", "--where", expr, "-f", "json").stdout)
    assert d["where"] == expr and d["n_samples"] == int(((SPLIT == "train") & (FOLD != 3)).sum())
    schema = json.loads((ROOT / "docs" / "biascalc-result.schema.json").read_text())
    assert "where" in schema["required"] and "where" in schema["properties"]
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(d, schema)
    unfiltered = json.loads(run(path, "-t", "y", "-f", "json").stdout)
    assert unfiltered["where"] is None
    jsonschema.validate(unfiltered, schema)
    assert f"where       {expr}" in run(path, "-t", "y", "--where", expr).stdout
    for fmt in ("python", "pytorch", "keras", "jax"):
        out = run(path, "-t", "y", "--where", expr, "-f", fmt).stdout
        assert f'# where: "{expr}"' in out, fmt


def test_a_snippet_header_cannot_be_broken_by_the_expression(
    write_parquet: Callable[..., Path], run: Callable[..., Any]
) -> None:
    path = write_parquet(pa.table({"y": [0, 1, 1], "s": ["a", "b\nimport os", "a"]}))
    expr = "s != 'b\\nimport os' or s == \"x'\""
    out = run(path, "-t", "y", "--where", expr, "-f", "python").stdout
    compile(out, "snippet.py", "exec")
    namespace: dict[str, Any] = {}
    exec(out, namespace)
    # Rows 0 and 2 pass (y = 0, 1): binary, logit(1/2).
    assert namespace["OUTPUT_BIAS"] == [math.log((1 / 2) / (1 - 1 / 2))]
    assert "# where: " in out


def test_saved_statistics_keep_the_filter(
    tmp_path: Path, write_parquet: Callable[..., Path], run: Callable[..., Any]
) -> None:
    path = write_parquet(TABLE)
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    assert run(path, "-t", "y", "--where", "fold < 2", "--save-stats", a).exit_code == 0
    assert run(path, "-t", "y", "--where", "fold < 2", "--save-stats", b).exit_code == 0
    assert run(path, "-t", "y", "--save-stats", c).exit_code == 0
    assert json.loads(a.read_text())["spec"]["where"] == "fold < 2"
    d = json.loads(run("--from-stats", a, "--from-stats", b, "-f", "json").stdout)
    assert d["where"] == "fold < 2" and d["n_samples"] == 2 * int((FOLD < 2).sum())
    mixed = run("--from-stats", a, "--from-stats", c)
    assert mixed.exit_code == 1
    assert "filtered by no --where cannot be merged" in mixed.output


def test_where_needs_data(run: Callable[..., Any]) -> None:
    result = run("--prior", "0.1", "--where", "x == 1")
    assert result.exit_code == 2
    assert "--where" in result.output


def test_filtering_does_not_import_pandas(tmp_path: Path) -> None:
    """pyarrow.scalar / pyarrow.array import pandas (0.9 s); the filter builds literals
    without them, so a filtered read costs no more start-up than an unfiltered one."""
    import datetime

    path = tmp_path / "t.parquet"
    days = [datetime.date(2024, 1, 1) + datetime.timedelta(days=int(d)) for d in FOLD]
    pq.write_table(TABLE.append_column("day", pa.array(days)), path)
    expr = (
        "split in ('train', 'val') and fold not in (1,) and score > -0.5 and "
        "day >= '2024-01-02' or not split == 'test'"
    )
    out = python_without_pandas(
        "import biascalc\n"
        f"r = biascalc.compute_bias_from_file({str(path)!r}, 'y', where={expr!r})\n"
        "print(r.n_samples)\n"
    )
    keep = (np.isin(SPLIT, ["train", "val"]) & (FOLD != 1) & (SCORE > -0.5) & (FOLD >= 1)) | (
        SPLIT != "test"
    )
    assert int(out) == int(keep.sum())


def test_files_rejected_by_their_partition_values_are_not_read(tmp_path: Path) -> None:
    # The test folder's file would be an error if read (text in a regression target).
    (tmp_path / "lake" / "split=train").mkdir(parents=True)
    (tmp_path / "lake" / "split=test").mkdir(parents=True)
    (tmp_path / "lake" / "split=train" / "p.csv").write_text("price,fold\n1.5,0\n2.5,1\n4.0,1\n")
    (tmp_path / "lake" / "split=test" / "p.csv").write_text("price,fold\noops,0\n")
    lake = str(tmp_path / "lake")
    got = biascalc.compute_bias_from_file(lake, "price", where="split == 'train'", loss="mse")
    assert got.n_samples == 3 and got.bias[0] == pytest.approx((1.5 + 2.5 + 4.0) / 3)
    # A filter that also needs a stored column reads the file, and its error is reported.
    with pytest.raises(DataError, match="holds the text 'oops' on line 2"):
        biascalc.compute_bias_from_file(
            lake, "price", where="split == 'test' or fold == 1", loss="mse"
        )
