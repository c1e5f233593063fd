"""--task tokens: token files (.bin, .npy, stdin) counted against a brute-force count and
checked against PyTorch's CrossEntropyLoss with constant logits equal to the bias."""

from __future__ import annotations

import collections
import io
import itertools
import json
import math
import subprocess
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import biascalc.readers._tokens as token_reader
from biascalc import compute_bias
from biascalc.api import compute_bias_from_file, compute_bias_from_stats
from biascalc.errors import DataError, OptionError
from biascalc.stats.tokens import TokenSpec, TokenStats

from .conftest import _installed_command
from .test_cli import SCHEMA

EPS = 1e-7


def zipf_ids(n: int, vocab: int, seed: int = 0) -> np.ndarray:
    """Token ids with a web-text-like long tail; some ids of the vocabulary never occur."""
    rng = np.random.default_rng(seed)
    return np.minimum(rng.zipf(1.2, size=n) - 1, vocab - 1)


def write_bin(path: Path, ids: Any, dtype: str) -> Path:
    """A nanoGPT-style train.bin: the ids as flat little-endian integers, no header."""
    np.asarray(ids).astype(dtype).tofile(path)
    return path


def brute_force(ids: list[int], vocab: int, ignore: tuple[int, ...] = (-100,)) -> np.ndarray:
    """Counts per id, one token at a time."""
    counter = collections.Counter(i for i in ids if i not in ignore)
    return np.array([counter.get(k, 0) for k in range(vocab)], dtype=np.int64)


def expected_bias(counts: np.ndarray, smoothing: float = 0.0) -> np.ndarray:
    n, v = counts.sum(), counts.size
    if smoothing:
        return np.log((counts + smoothing) / (n + smoothing * v))
    return np.log(np.maximum(counts / n, EPS))


def torch_loss_and_grad(stream: np.ndarray, bias: np.ndarray, ignore: int = -100) -> Any:
    """PyTorch's CrossEntropyLoss (float64, mean) of the stream under constant logits = bias,
    and its gradient with respect to that one shared bias vector."""
    torch = pytest.importorskip("torch")
    b = torch.tensor(bias, dtype=torch.float64, requires_grad=True)
    targets = torch.from_numpy(stream.astype(np.int64))
    logits = b.unsqueeze(0).expand(targets.numel(), -1)
    loss = torch.nn.CrossEntropyLoss(ignore_index=ignore)(logits, targets)
    loss.backward()
    return float(loss.detach()), b.grad.numpy()


# ---- counts and the bias ------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint16", "uint32", "int32", "int64"])
def test_bin_counts_match_a_brute_force_count(tmp_path: Path, dtype: str) -> None:
    ids = zipf_ids(20_000, 500, seed=1)
    path = write_bin(tmp_path / "train.bin", ids, dtype)
    r = compute_bias_from_file(str(path), tokens=dtype, vocab_size=500)
    counts = brute_force(ids.tolist(), 500)
    assert r.task == "tokens" and r.loss == "cross_entropy"
    assert r.counts == tuple(counts.tolist())
    assert r.n_samples == 20_000 and r.n_missing == 0
    np.testing.assert_allclose(r.bias, expected_bias(counts), rtol=1e-13)
    assert r.tokens is not None and r.tokens.dtype == dtype
    assert r.tokens.n_absent == int((counts == 0).sum()) > 0


def test_recommended_loss_is_torch_cross_entropy_and_the_gradient_vanishes(
    tmp_path: Path,
) -> None:
    # Every id occurs, so nothing is clipped: softmax(bias) is exactly the unigram.
    ids = np.concatenate([np.arange(300), zipf_ids(10_000, 300, seed=2)])
    np.random.default_rng(3).shuffle(ids)
    r = compute_bias_from_file(str(write_bin(tmp_path / "t.bin", ids, "uint16")), tokens="uint16")
    value, grad = torch_loss_and_grad(ids, r.bias)
    assert r.expected_loss_recommended == pytest.approx(value, rel=1e-12)
    assert np.abs(grad).max() < 1e-12
    p = np.bincount(ids) / ids.size
    assert r.expected_loss_recommended == pytest.approx(-(p * np.log(p)).sum(), rel=1e-12)
    assert r.expected_loss_zero_bias == pytest.approx(math.log(300), rel=1e-15)
    zero, _ = torch_loss_and_grad(ids, np.zeros(300))
    assert r.expected_loss_zero_bias == pytest.approx(zero, rel=1e-12)
    assert r.tokens is not None and r.tokens.entropy == pytest.approx(value, rel=1e-12)


def test_absent_tokens_are_clipped_to_eps_and_torch_agrees(tmp_path: Path) -> None:
    ids = zipf_ids(8_000, 1500, seed=4)
    r = compute_bias_from_file(
        str(write_bin(tmp_path / "t.bin", ids, "int32")), tokens="int32", vocab_size=1500
    )
    counts = np.bincount(ids, minlength=1500)
    absent = int((counts == 0).sum())
    clipped = int((counts / counts.sum() < EPS).sum())
    assert absent > 100
    np.testing.assert_allclose(r.bias, expected_bias(counts), rtol=1e-13)
    value, grad = torch_loss_and_grad(ids, r.bias)
    assert r.expected_loss_recommended == pytest.approx(value, rel=1e-12)
    # softmax(b) - p: only the eps floors of the absent ids move the optimum.
    assert np.abs(grad).max() < 2 * absent * EPS
    summary = [w for w in r.warnings if "never occur" in w]
    assert len(summary) == 1
    assert f"{clipped:,} of 1,500 classes" in summary[0] and f"({absent:,} of" in summary[0]


@pytest.mark.parametrize("alpha", [1.0, 0.01])
def test_smoothing_gives_absent_tokens_lidstone_estimates(tmp_path: Path, alpha: float) -> None:
    v = 1200
    ids = zipf_ids(8_000, v, seed=5)
    path = write_bin(tmp_path / "t.bin", ids, "uint16")
    r = compute_bias_from_file(str(path), tokens="uint16", vocab_size=v, smoothing=alpha)
    counts = np.bincount(ids, minlength=v)
    n = counts.sum()
    assert (counts == 0).sum() > 100
    np.testing.assert_allclose(r.bias, np.log((counts + alpha) / (n + alpha * v)), rtol=1e-13)
    assert r.bias[counts == 0] == pytest.approx(math.log(alpha / (n + alpha * v)), rel=1e-13)
    assert r.loss_parameters == {"smoothing": alpha}
    assert not any("clipped" in w for w in r.warnings)
    value, grad = torch_loss_and_grad(ids, r.bias)
    assert r.expected_loss_recommended == pytest.approx(value, rel=1e-12)
    # The gradient is smoothed minus empirical shares, at most A V / (N + A V).
    assert np.abs(grad).max() <= alpha * v / (n + alpha * v)


def test_ignore_index_matches_torch_ignore_index(tmp_path: Path) -> None:
    ids = zipf_ids(10_000, 200, seed=6).astype(np.int64)
    ids[::7] = -100
    path = write_bin(tmp_path / "labels.bin", ids, "int64")
    r = compute_bias_from_file(str(path), tokens="int64", vocab_size=200)
    ignored = int((ids == -100).sum())
    assert r.n_missing == ignored and r.n_samples == ids.size - ignored
    assert r.counts == tuple(brute_force(ids.tolist(), 200).tolist())
    value, _ = torch_loss_and_grad(ids, r.bias)
    assert r.expected_loss_recommended == pytest.approx(value, rel=1e-12)


def test_a_padding_id_inside_the_vocabulary_can_be_ignored(tmp_path: Path) -> None:
    ids = zipf_ids(5_000, 100, seed=7)
    ids[-500:] = 99  # padding with the last id
    path = write_bin(tmp_path / "t.bin", ids, "uint16")
    r = compute_bias_from_file(str(path), tokens="uint16", vocab_size=100, ignore_index=[99, -1])
    expected = brute_force(ids.tolist(), 100, ignore=(99, -1))
    assert r.counts == tuple(expected.tolist())
    assert r.n_missing == int((ids == 99).sum())
    value, _ = torch_loss_and_grad(ids, r.bias, ignore=99)
    assert r.expected_loss_recommended == pytest.approx(value, rel=1e-12)


def test_default_vocab_is_the_largest_id_plus_one_with_a_warning(tmp_path: Path) -> None:
    path = write_bin(tmp_path / "t.bin", [0, 5, 5, 2], "uint16")
    r = compute_bias_from_file(str(path), tokens="uint16")
    assert len(r.bias) == 6 and r.counts == (1, 0, 1, 0, 0, 2)
    assert r.tokens is not None and r.tokens.vocab_size_from == "largest id + 1"
    assert any("--vocab-size not given" in w and "6" in w for w in r.warnings)
    # Few absent ids still get one warning that says how many never occur.
    assert [w for w in r.warnings if "clipped" in w] == [
        f"3 of 6 classes have a share below eps = 1e-07 (3 of them never occur): their bias "
        f"is clipped to log(eps) = {math.log(1e-7)!r} so it is finite; for --task tokens, "
        "--smoothing A gives them log((n_k + A) / (N + A V)) instead"
    ]
    r = compute_bias_from_file(str(path), tokens="uint16", vocab_size=6)
    assert not any("--vocab-size" in w for w in r.warnings)


# ---- .npy, chunks, stdin, memory ----------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda ids: ids.astype(np.uint16),
        lambda ids: ids.astype(">i4"),  # big-endian
        lambda ids: np.asfortranarray(ids.astype(np.int64).reshape(40, -1)),
        lambda ids: ids.astype(np.uint32).reshape(8, 5, -1),
    ],
    ids=["uint16", "big-endian-int32", "fortran-2d-int64", "3d-uint32"],
)
def test_npy_dtype_and_shape_come_from_the_file(tmp_path: Path, make: Callable[..., Any]) -> None:
    ids = zipf_ids(4_000, 300, seed=8)
    array = make(ids)
    np.save(tmp_path / "ids.npy", array)
    r = compute_bias_from_file(str(tmp_path / "ids.npy"), task="tokens", vocab_size=300)
    assert r.counts == tuple(brute_force(array.reshape(-1).tolist(), 300).tolist())
    assert r.n_samples == 4_000


def test_counts_do_not_depend_on_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = zipf_ids(3_001, 400, seed=9)
    path = write_bin(tmp_path / "t.bin", ids, "uint16")
    np.save(tmp_path / "t.npy", ids.astype(np.int32))
    whole = compute_bias_from_file(str(path), tokens="uint16", vocab_size=400)
    for chunk in (1, 3, 500, 2047):
        monkeypatch.setattr(token_reader, "CHUNK_IDS", chunk)
        for p, tokens in ((path, "uint16"), (tmp_path / "t.npy", None)):
            r = compute_bias_from_file(str(p), tokens=tokens, task="tokens", vocab_size=400)
            assert r.counts == whole.counts
            assert r.bias.tolist() == whole.bias.tolist()


def test_counting_streams_in_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 48 MB file counted in chunks of 256k ids stays near the chunk size (not the file)."""
    ids = np.tile(np.arange(50_000, dtype=np.uint16), 480)  # 24M ids
    path = write_bin(tmp_path / "big.bin", ids, "uint16")
    monkeypatch.setattr(token_reader, "CHUNK_IDS", 1 << 18)
    tracemalloc.start()
    try:
        r = compute_bias_from_file(str(path), tokens="uint16", vocab_size=50_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.counts == (480,) * 50_000
    # Two 0.5 MiB read buffers, two 2 MiB int64 buffers, O(V) vectors (a few of 0.4 MB).
    assert peak < 12 << 20, peak


def test_stdin_stream_is_counted_without_a_header(tmp_path: Path) -> None:
    ids = zipf_ids(3_000, 100, seed=10)
    path = write_bin(tmp_path / "t.bin", ids, "uint32")
    data = path.read_bytes()
    proc = subprocess.run(
        [*_installed_command(), "-", "--tokens", "uint32", "--vocab-size", "100", "-f", "json"],
        input=data,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["counts"] == brute_force(ids.tolist(), 100).tolist()
    assert d["source"] == ["<stdin>"]
    proc = subprocess.run(
        [*_installed_command(), "-", "--tokens", "uint32"],
        input=data + b"\x01",
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.decode().startswith("Error: '<stdin>' has 12,001 bytes, not a multiple of 4")


def test_in_memory_ids_of_any_shape() -> None:
    ids = zipf_ids(2_000, 50, seed=11).reshape(20, 100)
    r = compute_bias(ids, task="tokens", vocab_size=50)
    assert r.counts == tuple(brute_force(ids.reshape(-1).tolist(), 50).tolist())
    torch = pytest.importorskip("torch")
    again = compute_bias(torch.from_numpy(ids), task="tokens", vocab_size=50)
    assert again.bias.tolist() == r.bias.tolist()
    with pytest.raises(DataError, match="must be integers"):
        compute_bias([[0.5, 1.0]], task="tokens")
    with pytest.raises(DataError, match=r"token id 7 at index \(1, 0\)"):
        compute_bias([[1, 2], [7, 0]], task="tokens", vocab_size=5)


# ---- merging ------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(-1, 60), min_size=1, max_size=300),
    st.lists(st.integers(0, 300), max_size=4),
)
def test_any_split_merges_to_the_whole(ids: list[int], cuts: list[int]) -> None:
    spec = TokenSpec("tokens", None, (-1,))
    whole = TokenStats(spec)
    whole.add(np.array(ids, dtype=np.int32))
    bounds = [0, *sorted(c % (len(ids) + 1) for c in cuts), len(ids)]
    merged = TokenStats(spec)
    for a, b in itertools.pairwise(bounds):
        part = TokenStats(spec)
        part.add(np.array(ids[a:b], dtype=np.int32))
        merged = merged.merge(TokenStats.from_dict(json.loads(json.dumps(part.to_dict()))))
    n = max([i for i in ids if i >= 0], default=-1) + 1
    assert merged.counts[:n].tolist() == brute_force(ids, n, ignore=(-1,)).tolist()
    assert merged.counts.tolist() == whole.counts.tolist()
    assert (
        (merged.n_seen, merged.n_ignored)
        == (whole.n_seen, whole.n_ignored)
        == (
            len(ids),
            ids.count(-1),
        )
    )


def test_save_stats_parts_merge_to_the_whole(tmp_path: Path, run: Callable[..., Any]) -> None:
    ids = zipf_ids(9_000, 700, seed=12)
    parts = np.array_split(ids, 3)
    for i, part in enumerate(parts):
        write_bin(tmp_path / f"part{i}.bin", part, "uint16")
        result = run(
            tmp_path / f"part{i}.bin", "--tokens", "uint16", "--save-stats", tmp_path / f"s{i}.json"
        )
        assert result.exit_code == 0, result.output
    whole = run(*[tmp_path / f"part{i}.bin" for i in range(3)], "--tokens", "uint16", "-f", "json")
    merged = run(
        *[a for i in range(3) for a in ("--from-stats", tmp_path / f"s{i}.json")], "-f", "json"
    )
    assert merged.exit_code == 0, merged.output
    w, m = json.loads(whole.stdout), json.loads(merged.stdout)
    assert m["bias"] == w["bias"] and m["counts"] == w["counts"]
    assert m["counts"] == np.bincount(ids).tolist()
    assert m["task"] == "tokens" and m["n_samples"] == 9_000
    # A vocabulary given at merge time is checked against the ids counted.
    small = run(*[a for i in range(3) for a in ("--from-stats", tmp_path / f"s{i}.json")],
                "--vocab-size", "10")  # fmt: skip
    assert small.exit_code == 1
    assert f"hold id {int(ids.max()):,}, which is not below --vocab-size 10" in small.output


def test_token_and_label_statistics_do_not_merge(write_csv: Callable[..., Path]) -> None:
    from biascalc.api import collect_file_stats

    stats, _ = collect_file_stats(str(write_csv({"y": [0, 1, 1]})), "y")
    tokens = TokenStats(TokenSpec("tokens"))
    tokens.add(np.array([1, 2], dtype=np.int64))
    with pytest.raises(DataError, match="cannot be merged with label statistics"):
        compute_bias_from_stats([tokens.to_dict(), stats.to_dict()])
    other = TokenStats(TokenSpec("tokens", None, (0,)))
    with pytest.raises(DataError, match="--ignore-index"):
        tokens.merge(other)
    bad = tokens.to_dict()
    bad["counts"] = [5, 5]
    with pytest.raises(DataError, match="malformed token statistics"):
        TokenStats.from_dict(bad)


# ---- output -------------------------------------------------------------------------


def test_table_summarises_the_vocabulary(tmp_path: Path, run: Callable[..., Any]) -> None:
    ids = zipf_ids(20_000, 1500, seed=13)
    path = write_bin(tmp_path / "train.bin", ids, "uint16")
    out = run(path, "--tokens", "uint16", "--vocab-size", "1500").stdout
    counts = np.bincount(ids, minlength=1500)
    p = counts[counts > 0] / ids.size
    assert "tokens      20,000 counted, 0 ignored (--ignore-index -100)" in out
    assert f"vocabulary  1,500 ids (--vocab-size); {int((counts == 0).sum()):,} never occur" in out
    shown = next(line for line in out.splitlines() if line.startswith("entropy     "))
    assert shown.endswith(" nats per token (unigram)")
    assert float(shown.split()[1]) == pytest.approx(float(-(p * np.log(p)).sum()), rel=1e-13)
    top = np.argsort(-counts, kind="stable")[:10]
    rows = [line.split() for line in out.splitlines() if line.startswith("  ") and "%" in line]
    assert [int(r[0]) for r in rows] == top.tolist()
    assert [int(r[1].replace(",", "")) for r in rows] == counts[top].tolist()
    assert len(out.splitlines()) < 40  # a summary, not 1,500 rows


def test_json_has_full_vectors_and_matches_the_schema(
    tmp_path: Path, run: Callable[..., Any]
) -> None:
    ids = zipf_ids(5_000, 300, seed=14)
    path = write_bin(tmp_path / "train.bin", ids, "uint16")
    d = json.loads(run(path, "--tokens", "uint16", "--vocab-size", "300", "-f", "json").stdout)
    assert len(d["bias"]) == len(d["counts"]) == len(d["priors"]) == len(d["classes"]) == 300
    assert d["classes"] == list(range(300))
    np.testing.assert_allclose(
        d["bias"], expected_bias(np.bincount(ids, minlength=300)), rtol=1e-13
    )
    assert d["tokens"]["vocab_size"] == 300 and d["tokens"]["n_tokens"] == 5_000
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(d, SCHEMA)


def test_numpy_and_pytorch_outputs(tmp_path: Path, run: Callable[..., Any]) -> None:
    torch = pytest.importorskip("torch")
    ids = zipf_ids(5_000, 2_000, seed=15)
    path = write_bin(tmp_path / "train.bin", ids, "uint16")
    args = (path, "--tokens", "uint16", "--vocab-size", "2000")
    npy = run(*args, "-o", tmp_path / "bias.npy")
    assert npy.exit_code == 0, npy.output
    bias = np.load(tmp_path / "bias.npy")
    np.testing.assert_allclose(bias, expected_bias(np.bincount(ids, minlength=2000)), rtol=1e-13)
    code = run(*args, "-f", "pytorch").stdout
    assert "lm_head.bias = torch.nn.Parameter(torch.zeros(2000))" in code  # the tied-head note
    assert max(len(line) for line in code.splitlines()) <= 100
    head = torch.nn.Linear(8, 2000)
    exec(code, {"lm_head": head})
    assert head.bias.detach().numpy().tolist() == pytest.approx(bias.astype(np.float32).tolist())
    tied = torch.nn.Linear(8, 2000, bias=False)
    with pytest.raises(ValueError, match="bias=False needs one added"):
        exec(code, {"lm_head": tied})
    custom = run(*args, "-f", "pytorch", "--layer", "model.out").stdout
    assert "model.out.bias.copy_(output_bias)" in custom


# ---- bad input ----------------------------------------------------------------------


def test_bad_token_files_get_one_line(
    tmp_path: Path,
    run: Callable[..., Any],
    run_installed: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "odd.bin").write_bytes(b"\x01\x00\x02")
    (tmp_path / "empty.bin").write_bytes(b"")
    write_bin(tmp_path / "neg.bin", [1, 2, -3, 4, -5], "int32")
    write_bin(tmp_path / "big.bin", [1, 2, 3, 70, 80], "uint16")
    np.save(tmp_path / "float.npy", np.array([1.0, 2.0]))
    np.save(tmp_path / "empty.npy", np.zeros((0, 3), dtype=np.int32))
    np.save(tmp_path / "ok.npy", np.array([1, 2], dtype=np.int32))
    (tmp_path / "labels.csv").write_text("y\n1\n")
    np.save(tmp_path / "trunc.npy", np.arange(10, dtype=np.int32))
    (tmp_path / "trunc.npy").write_bytes((tmp_path / "trunc.npy").read_bytes()[:-5])
    cases: list[tuple[list[str], int, str]] = [
        (["odd.bin", "--tokens", "uint16"], 1,
         "'odd.bin' has 3 bytes, not a multiple of 2 (the size of one uint16 id)"),
        (["empty.bin", "--tokens", "uint16"], 1, "'empty.bin' is empty; it holds no token ids"),
        (["neg.bin", "--tokens", "int32"], 1,
         "token id -3 at token 2 (byte 8) of 'neg.bin' is negative and not an --ignore-index "
         "value (-100)"),
        (["big.bin", "--tokens", "uint16", "--vocab-size", "50"], 1,
         "token id 70 at token 3 (byte 6) of 'big.bin' is not below --vocab-size 50"),
        (["big.bin", "--tokens", "uint32"], 1, "not a multiple of 4"),
        (["big.bin", "--task", "tokens"], 2, "say their integer type with --tokens"),
        (["big.bin", "--tokens", "uint16", "--task", "binary"], 2,
         "--tokens uint16 reads a token file, which is --task tokens, not binary"),
        (["float.npy", "--task", "tokens"], 1, "holds float64 values; token ids must be integers"),
        (["empty.npy", "--task", "tokens"], 1, "holds an empty array (0, 3)"),
        (["ok.npy", "--tokens", "uint16"], 2, "holds int32 ids (its header says so)"),
        (["ok.npy", "--task", "tokens", "--ignore-index", "1", "--ignore-index", "2"], 1,
         "all 2 token positions are --ignore-index values (1, 2)"),
        (["ok.npy", "--vocab-size", "5"], 2, "--vocab-size applies to --task tokens only"),
        (["ok.npy", "--task", "tokens", "--smoothing", "-1"], 2,
         "--smoothing must be a non-negative number"),
        (["labels.csv", "--tokens", "uint16"], 2, "'labels.csv' is a table, not raw token ids"),
        (["ok.npy", "labels.csv", "--task", "tokens"], 2, "not both"),
        (["trunc.npy", "--task", "tokens"], 1,
         "'trunc.npy' is truncated: its header promises 10 ids of int32 (40 bytes) but 35"),
    ]  # fmt: skip
    for args, code, message in cases:
        result = run(*args)
        assert result.exit_code == code, (args, result.output)
        assert message in result.output, (args, result.output)
    # The installed command: one line on stderr, nothing on stdout, no traceback.
    for args, code, message in cases[:3]:
        proc = run_installed(*args, cwd=tmp_path)
        assert proc.returncode == code and proc.stdout == ""
        assert proc.stderr.splitlines() == [proc.stderr.strip()]
        assert proc.stderr.startswith("Error: ") and message in proc.stderr


def test_the_first_bad_id_is_named_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = np.zeros(1000, dtype=np.int64)
    ids[[700, 900]] = [12, 99]
    ids[[300]] = -100  # ignored, not an error
    path = write_bin(tmp_path / "t.bin", ids, "int64")
    monkeypatch.setattr(token_reader, "CHUNK_IDS", 64)
    with pytest.raises(DataError, match=r"token id 12 at token 700 \(byte 5,600\) of"):
        compute_bias_from_file(str(path), tokens="int64", vocab_size=10)
    with pytest.raises(DataError, match="beyond 16,777,215"):
        compute_bias_from_file(
            str(write_bin(tmp_path / "w.bin", [1, 1 << 30], "int64")), tokens="int64"
        )


def test_option_conflicts() -> None:
    with pytest.raises(OptionError, match="do not apply to --task tokens"):
        compute_bias([1, 2], task="tokens", classes=[0, 1, 2])
    with pytest.raises(OptionError, match="--vocab-size must be a whole number"):
        compute_bias([1, 2], task="tokens", vocab_size=0)
    with pytest.raises(OptionError, match="does not fit --task tokens"):
        compute_bias([1, 2], task="tokens", loss="bce")
    with pytest.raises(OptionError, match="--sampler does not apply to --task tokens"):
        compute_bias([1, 2], task="tokens", sampler="balanced")
    with pytest.raises(OptionError, match="--ignore-index takes whole numbers"):
        compute_bias([1, 2], task="tokens", ignore_index=[1.5])  # type: ignore[list-item]


def test_pytorch_snippet_of_a_plain_task_keeps_its_default_layer() -> None:
    from biascalc.render import render

    code = render(compute_bias([0, 1, 1]), "pytorch")
    assert isinstance(code, str) and "layer.bias.copy_" in code and "lm_head" not in code
    assert io.StringIO(code).readline().startswith("# Output-layer bias")


# ---- tokenised list columns -----------------------------------------------------------


def _sequences(seed: int, n: int = 120, vocab: int = 90) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    rows = [zipf_ids(int(rng.integers(0, 40)), vocab, seed + i).tolist() for i in range(n)]
    for row in rows[::6]:
        row.extend([-100] * 4)  # padding
    return rows


@pytest.mark.parametrize("writer", ["pyarrow", "pandas", "jsonl", "datasets"])
def test_list_columns_count_every_element(
    tmp_path: Path, writer: str, run: Callable[..., Any]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _sequences(31)
    path = tmp_path / ("t.jsonl" if writer == "jsonl" else "t.parquet")
    if writer == "pyarrow":
        pq.write_table(pa.table({"input_ids": pa.array(rows, pa.list_(pa.int32()))}), path)
    elif writer == "pandas":
        pd = pytest.importorskip("pandas")
        pd.DataFrame({"input_ids": rows, "text": ["x"] * len(rows)}).to_parquet(path)
    elif writer == "jsonl":
        path.write_text("".join(json.dumps({"input_ids": r}) + "\n" for r in rows))
    else:
        datasets = pytest.importorskip("datasets")
        datasets.Dataset.from_dict({"input_ids": rows}).to_parquet(str(path))
    flat = [i for r in rows for i in r]
    d = json.loads(run(path, "-t", "input_ids", "--task", "tokens", "-f", "json").stdout)
    n = max(i for i in flat if i >= 0) + 1
    assert d["counts"] == brute_force(flat, n).tolist()
    assert d["n_samples"] == sum(i != -100 for i in flat)
    assert d["n_missing"] == flat.count(-100)
    value, _ = torch_loss_and_grad(np.array(flat), np.array(d["bias"]))
    assert d["expected_initial_loss"]["recommended"] == pytest.approx(value, rel=1e-12)


def test_list_column_edge_cases(tmp_path: Path, run: Callable[..., Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    nested = pa.array([[[1, 2], [3]], None, [[]], [[3, 3]]], pa.list_(pa.list_(pa.int64())))
    pq.write_table(pa.table({"x": nested, "split": ["a", "a", "b", "b"]}), tmp_path / "n.parquet")
    r = compute_bias_from_file(str(tmp_path / "n.parquet"), "x", task="tokens")
    assert r.counts == (0, 1, 1, 3)
    assert any("1 rows of 'x' hold no token ids (null)" in w for w in r.warnings)
    r = compute_bias_from_file(
        str(tmp_path / "n.parquet"), "x", task="tokens", where="split == 'b'"
    )
    assert r.counts == (0, 0, 0, 2)
    pq.write_table(pa.table({"y": pa.array([4, None, 4, 1], pa.int16())}), tmp_path / "p.parquet")
    assert compute_bias_from_file(str(tmp_path / "p.parquet"), task="tokens").counts == (
        0,
        1,
        0,
        0,
        2,
    )
    pq.write_table(pa.table({"t": pa.array([["a", "b"], ["c"]])}), tmp_path / "s.parquet")
    pq.write_table(
        pa.table({"t": pa.array([[1, None]], pa.list_(pa.int64()))}), tmp_path / "z.parquet"
    )
    pq.write_table(pa.table({"t": pa.array([[1], [2, 9]])}), tmp_path / "v.parquet")
    cases = [
        ("s.parquet", [], "column 't' holds list<element: string> values; --task tokens needs"),
        ("z.parquet", [], "token id missing (null) in row 0, element 1 of column 't'"),
        ("v.parquet", ["--vocab-size", "5"], "token id 9 in row 1, element 1 of column 't'"),
    ]
    for name, extra, message in cases:
        result = run(tmp_path / name, "-t", "t", "--task", "tokens", *extra)
        assert result.exit_code == 1 and message in result.output, result.output
    result = run(tmp_path / "v.parquet", "-t", "t", "--task", "tokens", "-w", "t")
    assert result.exit_code == 2 and "without --weight" in result.output


def test_dask_engine_counts_list_columns_like_the_local_engine(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    import pyarrow as pa
    import pyarrow.parquet as pq

    from biascalc.integrations.dask import collect_path_stats
    from biascalc.options import BiasOptions

    rows = _sequences(41, n=200)
    for i in range(3):
        pq.write_table(pa.table({"ids": pa.array(rows[i::3])}), tmp_path / f"p{i}.parquet")
    opts = BiasOptions(task="tokens")
    stats, names = collect_path_stats([str(tmp_path)], "ids", options=opts)
    local = compute_bias_from_file(str(tmp_path), "ids", task="tokens")
    assert isinstance(stats, TokenStats) and len(names) == 3
    flat = [i for r in rows for i in r]
    assert stats.counts.tolist() == brute_force(flat, len(stats.counts)).tolist()
    assert compute_bias_from_stats([stats.to_dict()]).bias.tolist() == local.bias.tolist()


def test_dask_dataframe_of_token_lists() -> None:
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    import pyarrow as pa

    from biascalc.integrations.dask import compute_bias as dask_compute_bias

    rows = _sequences(51, n=150)
    ids = pd.Series(rows, dtype=pd.ArrowDtype(pa.list_(pa.int64())))  # Arrow-backed lists
    frame = dd.from_pandas(pd.DataFrame({"ids": ids}), npartitions=5)
    r = dask_compute_bias(frame, "ids", task="tokens", vocab_size=90)
    local = compute_bias(np.array([i for row in rows for i in row]), task="tokens", vocab_size=90)
    assert r.counts == local.counts and r.bias.tolist() == local.bias.tolist()


def test_token_column_of_a_headerless_csv(tmp_path: Path) -> None:
    """--no-header reaches the token reader too: column 1 of a file without a header."""
    from click.testing import CliRunner

    from biascalc.cli import cli

    ids = [3, 1, 3, 0, 3, 1, 2]
    (tmp_path / "ids.csv").write_text("".join(f"{i}\n" for i in ids))
    result = CliRunner().invoke(
        cli, [str(tmp_path / "ids.csv"), "--no-header", "-t", "1", "--task", "tokens", "-f", "json"]
    )
    assert result.exit_code == 0, result.output
    counts = np.bincount(ids, minlength=4)
    assert json.loads(result.stdout)["n_samples"] == counts.sum()
    assert json.loads(result.stdout)["bias"] == pytest.approx(
        np.log(counts / counts.sum()).tolist()
    )
