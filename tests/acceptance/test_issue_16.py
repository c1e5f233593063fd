"""Acceptance check of issue 16 (the library as training code calls it; the Dask engine on
every layout the local engine reads; path hygiene), written from the issue's text only.

Every expected bias is recomputed here with numpy from the raw labels.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import biascalc

from ._util import assert_error, close, command, logit, run, run_json, run_many, softmax

RNG = np.random.default_rng(16)
P = np.array([0.7, 0.2, 0.1])
Y = np.repeat([0, 1, 2], (70, 20, 10))
RNG.shuffle(Y)
ONE_HOT = np.eye(3)[Y]


def assert_log_prior(bias: Any, p: np.ndarray) -> None:
    """Softmax head at the prior: softmax(b) == p, i.e. b = log p up to a constant."""
    close(softmax(np.asarray(bias, dtype=float)), p)


# --------------------------------------------------------------------------- 1. one-hot


def test_numpy_one_hot_is_multiclass() -> None:
    r = biascalc.compute_bias(ONE_HOT)
    assert r.task == "multiclass", (r.task, r.task_reason)
    assert_log_prior(r.bias, P)
    # not logit(p_k) ([0.85, -1.39, -2.20]): log p_k ([-0.36, -1.61, -2.30])
    close(r.bias, np.log(P), tol=1e-6)
    reason = r.task_reason.lower()
    assert "one-hot" in reason or "one hot" in reason, r.task_reason
    assert "multilabel" in reason, r.task_reason  # how to force multilabel
    forced = biascalc.compute_bias(ONE_HOT, task="multilabel")
    close(forced.bias, logit(P))
    explicit = biascalc.compute_bias(ONE_HOT, task="multiclass")
    close(explicit.bias, np.log(P), tol=1e-6)


def test_not_one_hot_stays_multilabel() -> None:
    two = ONE_HOT.copy()
    two[0] = 1.0  # one row with three 1s
    r = biascalc.compute_bias(two)
    assert r.task == "multilabel"
    close(r.bias, logit(two.mean(axis=0)))
    zero = ONE_HOT.copy()
    zero[1] = 0.0  # one row with no 1
    r = biascalc.compute_bias(zero)
    assert r.task == "multilabel"
    close(r.bias, logit(zero.mean(axis=0)))


def test_keras_to_categorical_and_bias_initializer() -> None:
    keras = pytest.importorskip("keras")
    from biascalc.integrations.keras import bias_initializer

    y = keras.utils.to_categorical(Y, 3)
    r = biascalc.compute_bias(y)
    assert r.task == "multiclass"
    close(r.bias, np.log(P), tol=1e-6)
    init = bias_initializer(y)
    values = np.asarray(keras.ops.convert_to_numpy(init((3,), dtype="float32")), dtype=float)
    close(values, np.log(P), tol=1e-6)


def test_torch_one_hot_tensor_and_init_output_bias() -> None:
    torch = pytest.importorskip("torch")
    from biascalc.integrations.torch import init_output_bias_

    y = torch.nn.functional.one_hot(torch.as_tensor(Y)).float()
    layer = torch.nn.Linear(4, 3)
    init_output_bias_(layer, y)
    close(layer.bias.detach().double().numpy(), np.log(P), tol=1e-6)
    r = biascalc.compute_bias(y)
    assert r.task == "multiclass"
    close(r.bias, np.log(P), tol=1e-6)


def test_several_one_hot_columns_on_the_command_line(tmp_path: Path) -> None:
    frame = pd.DataFrame(ONE_HOT.astype(int), columns=["cat", "dog", "eel"])
    frame.to_csv(tmp_path / "oh.csv", index=False)
    r = run_json(tmp_path / "oh.csv", "-t", "cat", "-t", "dog", "-t", "eel")
    assert r["task"] == "multiclass", (r["task"], r["task_reason"])
    assert_log_prior(r["bias"], P)
    assert r["outputs"] == ["cat", "dog", "eel"]
    r = run_json(tmp_path / "oh.csv", "-t", "cat", "-t", "dog", "-t", "eel", "--task", "multilabel")
    close(r["bias"], logit(P))


# --------------------------------------------------------------------------- tensors


def test_torch_tensors() -> None:
    torch = pytest.importorskip("torch")
    want = biascalc.compute_bias(Y)
    close(biascalc.compute_bias(torch.as_tensor(Y, dtype=torch.int64)).bias, want.bias, tol=1e-12)
    b = (Y == 0).astype(float)
    r = biascalc.compute_bias(torch.as_tensor(b, dtype=torch.float32))
    close(r.bias, [logit(b.mean())])
    reg = RNG.normal(2.0, 1.0, 50)
    w = RNG.uniform(0.5, 2.0, 50)
    r = biascalc.compute_bias(torch.as_tensor(reg), sample_weight=torch.as_tensor(w))
    close(r.bias, [np.average(reg, weights=w)])


def test_jax_arrays_and_array_protocol() -> None:
    jnp = pytest.importorskip("jax.numpy")
    w = RNG.uniform(0.5, 2.0, len(Y))
    r = biascalc.compute_bias(jnp.asarray(Y), sample_weight=jnp.asarray(w))
    sums = np.bincount(Y, weights=w)
    assert_log_prior(r.bias, sums / sums.sum())

    class Wrapped:
        def __init__(self, a: np.ndarray) -> None:
            self.a = a

        def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
            return self.a if dtype is None else self.a.astype(dtype)

    r = biascalc.compute_bias(Wrapped(Y))
    assert_log_prior(r.bias, P)


def test_frameworks_not_imported_when_unused() -> None:
    code = textwrap.dedent(
        """
        import sys, biascalc
        biascalc.compute_bias([0, 1, 1, 2], sample_weight=[1.0, 2.0, 1.0, 1.0])
        biascalc.compute_bias_from_counts({"a": 3, "b": 1})
        print(sorted(m for m in ("torch", "jax", "keras", "tensorflow") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


# --------------------------------------------------------------------------- paths, odd inputs


def test_path_like_inputs(tmp_path: Path) -> None:
    y = RNG.choice(3, size=90)
    for i, part in enumerate(np.array_split(y, 2)):
        pd.DataFrame({"y": part}).to_csv(tmp_path / f"p{i}.csv", index=False)
    counts = np.bincount(y, minlength=3)
    r = biascalc.compute_bias_from_file(tmp_path / "p0.csv", target="y")
    assert r.n_samples == 45
    r = biascalc.compute_bias_from_file([tmp_path / "p0.csv", tmp_path / "p1.csv"], target="y")
    assert_log_prior(r.bias, counts / counts.sum())

    class Custom(os.PathLike[str]):
        def __fspath__(self) -> str:
            return str(tmp_path / "p1.csv")

    assert biascalc.compute_bias_from_file(Custom(), target="y").n_samples == 45


def outcome(y: Any) -> tuple[Any, str | None]:
    """compute_bias(y) -> (result, None) or (None, message of a biascalc error)."""
    try:
        return biascalc.compute_bias(y), None
    except (biascalc.DataError, biascalc.OptionError) as exc:
        return None, str(exc)


def test_polars_lazyframe() -> None:
    pl = pytest.importorskip("polars")
    lazy = pl.DataFrame({"y": Y, "other": np.arange(len(Y))}).lazy()
    r, error = outcome(lazy.select("y"))
    if error is not None:
        assert "LazyFrame" in error or "collect" in error, error
    else:
        assert_log_prior(r.bias, P)


@pytest.mark.parametrize(
    "value", [{"y": [0, 1, 1]}, 3, 2.5, [b"cat", b"dog", b"dog"], b"abc", None]
)
def test_odd_inputs_never_raw_type_error(value: Any) -> None:
    r, error = outcome(value)
    if error is not None:
        assert error.strip()
        assert "\n" not in error.strip()
        return
    # no error: then it must be the right answer
    if isinstance(value, dict):
        close(r.bias, [logit(2 / 3)])
    elif isinstance(value, list):
        assert list(map(str, r.classes)) in (["cat", "dog"], ["b'cat'", "b'dog'"])
        close(r.bias, [logit(2 / 3)])  # two distinct labels: binary, positive the last
    elif value is None:
        pytest.fail(f"{value!r} gave a result {r.bias} instead of an error")
    else:  # a scalar: one row
        assert r.n_samples == 1


def test_sample_weight_message_names_row_index() -> None:
    with pytest.raises(biascalc.DataError) as info:
        biascalc.compute_bias([0, 1, 1, 0], sample_weight=[1.0, 1.0, -2.0, 1.0])
    message = str(info.value)
    assert "sample_weight" in message
    assert "2" in message  # the row index of the bad weight
    assert "line" not in message.lower()


# --------------------------------------------------------------------------- 2. helpers


def test_meta_device_is_refused() -> None:
    torch = pytest.importorskip("torch")
    from biascalc.integrations.torch import init_output_bias_

    layer = torch.nn.Linear(4, 3, device="meta")
    with pytest.raises(Exception, match="meta") as info:
        init_output_bias_(layer, Y)
    assert not isinstance(info.value, TypeError | AttributeError)


def test_sequential_without_bias_names_the_last_linear() -> None:
    torch = pytest.importorskip("torch")
    from biascalc.integrations.torch import init_output_bias_

    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    with pytest.raises(Exception) as info:
        init_output_bias_(model, Y)
    message = str(info.value)
    assert "Linear" in message or "[2]" in message or "'2'" in message, message
    assert "bias=False" not in message, message


@pytest.mark.slow
def test_keras_model_loads_with_only_import_biascalc(tmp_path: Path) -> None:
    pytest.importorskip("keras")
    save = textwrap.dedent(
        f"""
        import os
        os.environ["KERAS_BACKEND"] = "torch"
        import numpy as np, keras
        from biascalc.integrations.keras import bias_initializer
        model = keras.Sequential([keras.Input((4,)),
                                  keras.layers.Dense(3, bias_initializer=bias_initializer(
                                      np.array({Y.tolist()})))])
        model.save({str(tmp_path / "m.keras")!r})
        """
    )
    load = textwrap.dedent(
        f"""
        import os
        os.environ["KERAS_BACKEND"] = "torch"
        import numpy as np, keras, biascalc, sys
        model = keras.models.load_model({str(tmp_path / "m.keras")!r})
        print(keras.ops.convert_to_numpy(model.layers[-1].bias).tolist())
        clone = keras.models.clone_model(model)  # re-runs the initializer from its config
        print(keras.ops.convert_to_numpy(clone.layers[-1].bias).tolist())
        """
    )
    env = dict(os.environ, KERAS_BACKEND="torch")
    subprocess.run([sys.executable, "-c", save], check=True, env=env, capture_output=True)
    out = subprocess.run([sys.executable, "-c", load], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded, cloned = (json.loads(line) for line in out.stdout.strip().splitlines()[-2:])
    close(loaded, np.log(P), tol=1e-6)
    close(cloned, np.log(P), tol=1e-6)


# --------------------------------------------------------------------------- 3. Dask layouts


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=True, dashboard_address=":0"
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def labels(n: int) -> np.ndarray:
    return RNG.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])


def layout(tmp: Path, kind: str) -> tuple[Path, np.ndarray]:
    """Write a folder layout; return (path, all labels it holds)."""
    root = tmp / kind
    root.mkdir()
    parts = [labels(500) for _ in range(3)]
    if kind == "mixed":
        pd.DataFrame({"y": parts[0]}).to_csv(root / "a.csv", index=False)
        pd.DataFrame({"y": parts[1]}).to_parquet(root / "b.parquet", index=False)
        pd.DataFrame({"y": parts[2]}).to_csv(root / "c.csv", index=False)
    elif kind == "hive":
        for year, part in zip((2022, 2023, 2024), parts, strict=True):
            (root / f"year={year}").mkdir()
            pd.DataFrame({"y": part}).to_parquet(root / f"year={year}" / "p.parquet", index=False)
    elif kind == "nested":
        for i, part in enumerate(parts):
            sub = root / f"d{i}" / "inner"
            sub.mkdir(parents=True)
            pd.DataFrame({"y": part}).to_csv(sub / "x.csv", index=False)
    elif kind == "spark":
        for i, part in enumerate(parts):
            pd.DataFrame({"y": part}).to_parquet(root / f"part-0000{i}.parquet", index=False)
            (root / f".part-0000{i}.parquet.crc").write_bytes(b"crc")
        (root / "_SUCCESS").write_bytes(b"")
    elif kind == "semicolon":
        for i, part in enumerate(parts):
            frame = pd.DataFrame({"id": np.arange(500), "y": part, "v": 1.5})
            frame.to_csv(root / f"s{i}.csv", index=False, sep=";")
    return root, np.concatenate(parts)


LAYOUTS = ["mixed", "hive", "nested", "spark", "semicolon"]


def test_dask_engine_same_numbers_as_local(tmp_path: Path, scheduler: str) -> None:
    built = [layout(tmp_path, kind) for kind in LAYOUTS]
    calls: list[list[object]] = []
    for root, _ in built:
        calls.append([root, "-t", "y", "-f", "json"])
        calls.append([root, "-t", "y", "-f", "json", "--engine", "dask", "--scheduler", scheduler])
    procs = run_many(calls)
    for i, (kind, (_, y)) in enumerate(zip(LAYOUTS, built, strict=True)):
        local_proc, dask_proc = procs[2 * i], procs[2 * i + 1]
        assert local_proc.returncode == 0, (kind, local_proc.stderr)
        assert dask_proc.returncode == 0, (kind, dask_proc.stderr[-1500:])
        local, dask = json.loads(local_proc.stdout), json.loads(dask_proc.stdout)
        counts = np.array([(y == c).sum() for c in "abc"])
        for r in (local, dask):
            assert r["n_samples"] == len(y), (kind, r["n_samples"])
            assert r["classes"] == ["a", "b", "c"], kind
            close(r["bias"], np.log(counts / counts.sum()))
        close(dask["bias"], local["bias"], tol=1e-9)
        close(
            dask["expected_initial_loss"]["recommended"],
            local["expected_initial_loss"]["recommended"],
            tol=1e-9,
        )


def test_dask_hive_partition_column_as_target(tmp_path: Path, scheduler: str) -> None:
    root, _ = layout(tmp_path, "hive")
    years = np.repeat([2022, 2023, 2024], 500)
    want = run_json(root, "-t", "year", "--task", "multiclass")
    got = run_json(
        root, "-t", "year", "--task", "multiclass", "--engine", "dask", "--scheduler", scheduler
    )
    assert_log_prior(want["bias"], np.bincount(years - 2022) / len(years))
    close(got["bias"], want["bias"], tol=1e-9)


def test_dask_engine_missing_column_in_one_file(tmp_path: Path, scheduler: str) -> None:
    root = tmp_path / "missing"
    root.mkdir()
    pd.DataFrame({"y": labels(100), "w": 1.0}).to_parquet(root / "a.parquet", index=False)
    pd.DataFrame({"y": labels(100)}).to_parquet(root / "b.parquet", index=False)
    local = run(root, "-t", "y", "-w", "w", "--format", "json")
    dask = run(
        root, "-t", "y", "-w", "w", "--format", "json", "--engine", "dask", "--scheduler", scheduler
    )
    if local.returncode == 0:
        assert dask.returncode == 0, dask.stderr
        close(json.loads(dask.stdout)["bias"], json.loads(local.stdout)["bias"], tol=1e-9)
    else:
        assert_error(local, 1, "w")
        message = assert_error(dask, 1, "w")
        assert "bug" not in message.lower()


# --------------------------------------------------------------------------- 4. path hygiene


def test_same_file_twice_counted_once(tmp_path: Path) -> None:
    y = labels(200)
    folder = tmp_path / "f"
    folder.mkdir()
    pd.DataFrame({"y": y}).to_csv(folder / "x.csv", index=False)
    pd.DataFrame({"y": labels(50)}).to_csv(folder / "z.csv", index=False)
    r = run_json(folder / "x.csv", folder / "x.csv", "-t", "y")
    assert r["n_samples"] == 200
    assert r["warnings"], "a file given twice must be warned about"
    r = run_json(folder, folder / "x.csv", "-t", "y")
    assert r["n_samples"] == 250
    assert any("x.csv" in w for w in r["warnings"]), r["warnings"]


def test_output_dash_is_stdout(tmp_path: Path) -> None:
    pd.DataFrame({"y": Y}).to_csv(tmp_path / "y.csv", index=False)
    proc = run(tmp_path / "y.csv", "-t", "y", "-o", "-", "-f", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "-").exists()
    assert_log_prior(json.loads(proc.stdout)["bias"], P)


def test_class_limit_error_says_what_to_do(tmp_path: Path) -> None:
    n = 1_000_001
    path = tmp_path / "many.csv"
    with path.open("w") as f:
        f.write("y\n")
        f.writelines(f"k{i}\n" for i in range(n))
    message = assert_error(run(path, "-t", "y", timeout=300), 1, "1,000,000")
    assert "--task regression" in message or "--counts" in message, message


def _unprivileged() -> list[str] | None:
    """A command prefix under which permission bits apply, or None where none works.

    As root: drop the capabilities that bypass file permissions (setpriv), so a mode-000
    file is unreadable exactly as for an unprivileged user; otherwise: nothing to drop.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"]
    with tempfile.NamedTemporaryFile() as probe_file:
        Path(probe_file.name).chmod(0o000)
        code = f"open({probe_file.name!r}).close()"
        probe = subprocess.run([*prefix, sys.executable, "-c", code], capture_output=True)
    return prefix if probe.returncode != 0 else None


@pytest.fixture
def public_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="acc16-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for sub in path.rglob("*"):
            sub.chmod(0o755)
        shutil.rmtree(path)


def _run_unprivileged(prefix: list[str], *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*prefix, *command(), *map(str, args)], capture_output=True, text=True, check=False
    )


def test_unreadable_file_and_subfolder(public_dir: Path) -> None:
    prefix = _unprivileged()
    if prefix is None:
        pytest.skip("cannot run as an unprivileged user here")
    pd.DataFrame({"y": Y}).to_csv(public_dir / "f.csv", index=False)
    (public_dir / "f.csv").chmod(0o000)
    proc = _run_unprivileged(prefix, public_dir / "f.csv", "-t", "y")
    message = assert_error(proc, 1, "cannot read", "f.csv", "permission denied")
    assert "Usage:" not in proc.stderr, proc.stderr
    assert message
    folder = public_dir / "data"
    (folder / "locked").mkdir(parents=True)
    pd.DataFrame({"y": Y}).to_csv(folder / "ok.csv", index=False)
    pd.DataFrame({"y": Y}).to_csv(folder / "locked" / "hidden.csv", index=False)
    (folder / "ok.csv").chmod(0o644)
    folder.chmod(0o755)
    (folder / "locked").chmod(0o000)
    proc = _run_unprivileged(prefix, folder, "-t", "y")
    assert_error(proc, 1, "locked")
