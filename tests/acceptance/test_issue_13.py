"""Acceptance check of issue 13 (vocabulary heads: the unigram prior of a token stream),
written from the issue's text only.

Token files are written with numpy (``tofile`` as nanoGPT does, ``np.save``) and pyarrow;
the counts are recomputed with ``np.bincount`` and the expected loss with PyTorch's
``CrossEntropyLoss`` on the token stream with constant logits equal to the bias.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ._util import ROOT, assert_error, close, command, run, run_json, run_many, softmax

RNG = np.random.default_rng(13)
V = 600


def zipf_tokens(n: int, vocab: int = V, absent: tuple[int, ...] = (7, 100, 599)) -> np.ndarray:
    ranks = np.arange(1, vocab + 1, dtype=float)
    p = 1 / ranks**1.1
    p[list(absent)] = 0.0
    p /= p.sum()
    return RNG.choice(vocab, size=n, p=p)


@pytest.fixture(scope="module")
def token_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    folder = tmp_path_factory.mktemp("i13")
    t = zipf_tokens(200_000)
    t.astype("<u2").tofile(folder / "train.bin")  # nanoGPT's layout: flat little-endian uint16
    t.astype("<u4").tofile(folder / "train32.bin")
    np.save(folder / "train.npy", t.astype(np.int32))
    half = len(t) // 2
    t[:half].astype("<u2").tofile(folder / "a.bin")
    t[half:].astype("<u2").tofile(folder / "b.bin")
    return folder, t


def stream_ce(bias: list[float], tokens: np.ndarray) -> tuple[float, float]:
    """CrossEntropyLoss (mean over the tokens) of constant logits = bias, and the largest
    gradient component; computed with counts (exact: the loss is linear in them)."""
    torch = pytest.importorskip("torch")
    b = torch.tensor(bias, dtype=torch.float64, requires_grad=True)
    counts = torch.as_tensor(np.bincount(tokens, minlength=len(bias)), dtype=torch.float64)
    logits = b.expand(len(bias), len(bias))
    per_class = torch.nn.functional.cross_entropy(logits, torch.arange(len(bias)), reduction="none")
    loss = (per_class * counts).sum() / counts.sum()
    (g,) = torch.autograd.grad(loss, b)
    return float(loss.detach()), float(g.abs().max())


def test_stream_ce_helper_matches_torch_on_the_stream() -> None:
    torch = pytest.importorskip("torch")
    t = zipf_tokens(3000, vocab=50, absent=(3,))
    b = RNG.normal(size=50).tolist()
    logits = torch.tensor(b, dtype=torch.float64).expand(len(t), 50)
    direct = torch.nn.CrossEntropyLoss()(logits, torch.as_tensor(t))
    close(stream_ce(b, t)[0], float(direct), tol=1e-12)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("train.bin", ["--tokens", "uint16"]),
        ("train32.bin", ["--tokens", "uint32"]),
        ("train.npy", ["--task", "tokens"]),
    ],
)
def test_unigram_prior_of_token_files(
    token_files: tuple[Path, np.ndarray], name: str, args: list[str]
) -> None:
    folder, t = token_files
    r = run_json(folder / name, *args)
    counts = np.bincount(t, minlength=V)
    v = int(t.max()) + 1  # default vocabulary: largest id + 1
    assert r["task"] == "tokens"
    assert r["n_samples"] == len(t)
    assert len(r["bias"]) == v
    present = counts[:v] > 0
    b = np.asarray(r["bias"])
    # present tokens: b_k - b_j = log(n_k / n_j) exactly
    lc = np.log(counts[:v][present].astype(float))
    close(b[present] - b[present][0], lc - lc[0], tol=1e-9)
    close(softmax(b)[present], (counts[:v] / counts.sum())[present], tol=1e-5)
    assert np.all(np.isfinite(b))
    absent = int((~present).sum())
    assert any(str(absent) in w for w in r["warnings"]), r["warnings"]  # how many never occur
    close(r["expected_initial_loss"]["zero_bias"], np.log(v), tol=1e-12)
    loss, grad = stream_ce(r["bias"], t)
    close(r["expected_initial_loss"]["recommended"], loss, tol=1e-6)
    assert grad < 1e-6


def test_vocab_size_and_smoothing(token_files: tuple[Path, np.ndarray]) -> None:
    folder, t = token_files
    big_v, a = 640, 0.5
    r = run_json(
        folder / "train.bin", "--tokens", "uint16", "--vocab-size", big_v, "--smoothing", a
    )
    counts = np.bincount(t, minlength=big_v).astype(float)
    n = len(t)
    want = np.log((counts + a) / (n + a * big_v))  # Lidstone: absent get log(A / (N + A V))
    assert len(r["bias"]) == big_v
    close(r["bias"], want, tol=1e-9)
    close(r["expected_initial_loss"]["zero_bias"], np.log(big_v), tol=1e-12)
    p = (counts + a) / (n + a * big_v)
    stream, _ = stream_ce(r["bias"], t)
    # -sum p_k log softmax(b)_k: the unigram cross-entropy
    candidates = [stream, float(-(p * np.log(softmax(want))).sum())]
    assert any(abs(r["expected_initial_loss"]["recommended"] - c) < 1e-9 for c in candidates), (
        r["expected_initial_loss"]["recommended"],
        candidates,
    )


def test_vocab_smaller_than_ids_is_an_error(token_files: tuple[Path, np.ndarray]) -> None:
    folder, t = token_files
    v = 300
    first = int(np.argmax(t >= v))
    message = assert_error(run(folder / "train.bin", "--tokens", "uint16", "--vocab-size", v), 1)
    assert str(int(t[first])) in message, message
    assert str(first) in message or f"{first:,}" in message, message  # its position


def test_ignore_index(tmp_path: Path) -> None:
    t = zipf_tokens(50_000, vocab=200, absent=())
    padded = t.astype(np.int64)
    mask = RNG.random(len(t)) < 0.2
    padded[mask] = -100  # PyTorch's default ignore_index
    other = RNG.random(len(t)) < 0.05
    padded[other & ~mask] = 3  # explicitly ignored below
    np.save(tmp_path / "p.npy", padded)
    r = run_json(tmp_path / "p.npy", "--task", "tokens")
    kept = padded[padded != -100]
    assert r["n_samples"] == len(kept)
    close(softmax(r["bias"]), np.bincount(kept, minlength=200) / len(kept), tol=1e-9)
    r = run_json(
        tmp_path / "p.npy", "--task", "tokens", "--ignore-index", "-100", "--ignore-index", "3"
    )
    kept = padded[(padded != -100) & (padded != 3)]
    assert r["n_samples"] == len(kept)
    b = np.asarray(r["bias"])
    counts = np.bincount(kept, minlength=len(b))
    present = counts > 0
    lc = np.log(counts[present].astype(float))
    close(b[present] - b[present][0], lc - lc[0], tol=1e-9)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_tokenised_list_columns(tmp_path: Path, fmt: str) -> None:
    rows = [
        zipf_tokens(int(RNG.integers(5, 60)), vocab=120, absent=()).tolist() for _ in range(300)
    ]
    for row in rows[::7]:
        row.extend([-100] * 5)  # padding
    ids = np.array([x for row in rows for x in row if x != -100])
    path = tmp_path / f"tok.{fmt}"
    if fmt == "parquet":
        pq.write_table(
            pa.table(
                {"input_ids": pa.array(rows, pa.list_(pa.int32())), "text": ["x"] * len(rows)}
            ),
            path,
        )
    else:
        path.write_text("".join(json.dumps({"input_ids": row}) + "\n" for row in rows))
    r = run_json(path, "-t", "input_ids", "--task", "tokens")
    assert r["n_samples"] == len(ids)
    b = np.asarray(r["bias"])
    assert len(b) == ids.max() + 1
    close(softmax(b), np.bincount(ids, minlength=len(b)) / len(ids), tol=1e-5)


def test_merged_statistics_equal_one_pass(
    token_files: tuple[Path, np.ndarray], tmp_path: Path
) -> None:
    folder, t = token_files
    procs = run_many(
        [
            [folder / "a.bin", "--tokens", "uint16", "--save-stats", tmp_path / "a.json"],
            [folder / "b.bin", "--tokens", "uint16", "--save-stats", tmp_path / "b.json"],
            [folder / "a.bin", folder / "b.bin", "--tokens", "uint16", "-f", "json"],
            [folder / "train.bin", "--tokens", "uint16", "-f", "json"],
        ]
    )
    for proc in procs:
        assert proc.returncode == 0, proc.stderr
    merged = run_json("--from-stats", tmp_path / "a.json", "--from-stats", tmp_path / "b.json")
    both, whole = json.loads(procs[2].stdout), json.loads(procs[3].stdout)
    assert merged["n_samples"] == both["n_samples"] == whole["n_samples"] == len(t)
    close(merged["bias"], whole["bias"], tol=1e-12)
    close(both["bias"], whole["bias"], tol=1e-12)


def test_dask_engine_list_column(tmp_path: Path) -> None:
    pytest.importorskip("dask.dataframe")
    pytest.importorskip("distributed")
    rows = [zipf_tokens(20, vocab=80, absent=()).tolist() for _ in range(400)]
    for i in range(4):
        pq.write_table(
            pa.table({"ids": pa.array(rows[i::4], pa.list_(pa.int64()))}),
            tmp_path / f"p{i}.parquet",
        )
    ids = np.array(rows).ravel()
    r = run_json(tmp_path, "-t", "ids", "--task", "tokens", "--engine", "dask", timeout=300)
    close(softmax(r["bias"]), np.bincount(ids, minlength=len(r["bias"])) / len(ids), tol=1e-5)
    local = run_json(tmp_path, "-t", "ids", "--task", "tokens")
    close(r["bias"], local["bias"], tol=1e-12)


def test_outputs_table_numpy_pytorch(token_files: tuple[Path, np.ndarray], tmp_path: Path) -> None:
    folder, t = token_files
    out = tmp_path / "bias.npy"
    procs = run_many(
        [
            [folder / "train.bin", "--tokens", "uint16", "-f", "json"],
            [folder / "train.bin", "--tokens", "uint16"],
            [folder / "train.bin", "--tokens", "uint16", "-f", "numpy", "-o", out],
            [folder / "train.bin", "--tokens", "uint16", "-f", "pytorch"],
        ]
    )
    for proc in procs:
        assert proc.returncode == 0, proc.stderr
    r = json.loads(procs[0].stdout)
    table = procs[1].stdout
    assert len(table.splitlines()) < 80, "the table summarises instead of printing V rows"
    assert re.search(r"entropy", table, re.I), table
    absent = int((np.bincount(t, minlength=V) == 0).sum())
    assert re.search(rf"\b{absent}\b", table), table
    top = int(np.bincount(t).argmax())
    assert re.search(rf"\b{top}\b", table), table  # the top token is listed
    close(np.load(out), r["bias"], tol=0)
    code = procs[3].stdout
    assert "lm_head" in code, code[:1500]
    assert re.search(r"tied", code, re.I), code[:1500]  # tied-embedding heads need a bias


def test_readme_cites_the_negative_result() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "modded-nanogpt" in readme and "65" in readme


# --------------------------------------------------------------------------- bad input


def test_bad_token_inputs(tmp_path: Path) -> None:
    (tmp_path / "odd.bin").write_bytes(np.arange(10, dtype="<u2").tobytes() + b"\x01")
    (tmp_path / "empty.bin").write_bytes(b"")
    neg = np.array([5, 9, 2, -7, 4, -3], dtype=np.int32)
    neg.tofile(tmp_path / "neg.bin")
    pq.write_table(pa.table({"toks": pa.array([["a", "b"], ["c"]])}), tmp_path / "s.parquet")
    procs = run_many(
        [
            [tmp_path / "odd.bin", "--tokens", "uint16"],
            [tmp_path / "empty.bin", "--tokens", "uint16"],
            [tmp_path / "neg.bin", "--tokens", "int32"],
            [tmp_path / "s.parquet", "-t", "toks", "--task", "tokens"],
        ]
    )
    assert_error(procs[0], 1, "odd.bin")
    assert_error(procs[1], 1, "empty.bin")
    message = assert_error(procs[2], 1, "-7")
    assert "3" in message  # the position of the first negative id
    assert_error(procs[3], 1)


def _peak_rss_mib(args: list[Any]) -> float:
    """Peak RSS of one ``biascalc ARGS`` process (a fresh parent, so RUSAGE_CHILDREN is it)."""
    code = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, *command(), *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip()) / 1024


def test_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    small = RNG.integers(0, 50_000, size=1_000_000).astype("<u2")
    small.tofile(tmp_path / "small.bin")
    big = np.tile(small, 40)  # 40M tokens, 80 MB
    big.tofile(tmp_path / "big.bin")
    del big
    s = _peak_rss_mib([tmp_path / "small.bin", "--tokens", "uint16", "-f", "json"])
    b = _peak_rss_mib([tmp_path / "big.bin", "--tokens", "uint16", "-f", "json"])
    assert b < s + 60, f"peak RSS {b:.0f} MiB for 80 MB of tokens vs {s:.0f} MiB for 2 MB"
