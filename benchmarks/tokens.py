#!/usr/bin/env python
"""Benchmark biascalc's token counting against the NumPy one-liner (issue #13).

The one-liner a user would write for the unigram counts of a nanoGPT ``train.bin`` is
``np.bincount(np.fromfile(f, dtype=np.uint16), minlength=V)``: it reads the whole file
into memory (2 bytes per token) and bincount converts it to int64 (8 more).  biascalc
counts the same file in 8 MiB chunks.  Both run as fresh processes on the same seeded
file, taking turns in every round; the report gives median wall time, CPU time, peak RSS,
the ratio to the one-liner and issue #13's targets (at most 1.2x the one-liner's wall
time, aim below 1x, at most 200 MiB peak), after checking that both give the same counts.

    python benchmarks/tokens.py                        # 200M tokens, 5 timed rounds
    python benchmarks/tokens.py --quick                # 20M tokens, 2 rounds
    python benchmarks/tokens.py --output docs/benchmarks.md   # also record the section
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from measure import Measurement, machine_info, run_command

HERE = Path(__file__).resolve().parent
VOCAB = 50_257
BEGIN, END = "<!-- tokens:begin -->", "<!-- tokens:end -->"
#: The one-liner, verbatim, with the file and V as arguments.
ONE_LINER = (
    "import sys, numpy as np; "
    "np.bincount(np.fromfile(sys.argv[1], dtype=np.uint16), minlength=int(sys.argv[2]))"
)
#: The same, printing the counts, for the correctness check (untimed).
ONE_LINER_CHECK = (
    "import sys, json, numpy as np; "
    "print(json.dumps(np.bincount(np.fromfile(sys.argv[1], dtype=np.uint16), "
    "minlength=int(sys.argv[2])).tolist()))"
)


def _count(text: str) -> int:
    """200000000, 200_000_000, 200M or 500k."""
    text = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    try:
        return int(float(text[:-1]) * scale) if scale > 1 else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a token count: {text!r}") from None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tokens", type=_count, help="tokens in the file (default 200M; --quick 20M)")
    p.add_argument("--vocab", type=int, default=VOCAB, help="vocabulary size (default 50,257)")
    p.add_argument("--repeat", type=int, help="timed rounds (default 5; --quick 2)")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    p.add_argument("--quick", action="store_true", help="20M tokens, 2 rounds")
    p.add_argument("--data-dir", type=Path, default=HERE / "data")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=600)
    p.add_argument("--output", type=Path, help="write the section into FILE (between markers)")
    p.add_argument("--json", type=Path, help="write every measurement as JSON")
    args = p.parse_args(argv)
    args.tokens = args.tokens or (20_000_000 if args.quick else 200_000_000)
    args.repeat = args.repeat or (2 if args.quick else 5)
    return args


def ensure_tokens(path: Path, n: int, vocab: int, seed: int) -> Path:
    """A uint16 file of n Zipf-Mandelbrot ids, p_k ~ 1 / (k + 2.7), ranks permuted over
    the ids (as in a BPE vocabulary); written in 10M-id chunks and renamed into place."""
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weights = 1.0 / (np.arange(vocab) + 2.7)
    cdf = np.cumsum(weights / weights.sum())
    permutation = rng.permutation(vocab).astype(np.uint16)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        for start in range(0, n, 10_000_000):
            size = min(10_000_000, n - start)
            ranks = np.minimum(np.searchsorted(cdf, rng.random(size)), vocab - 1)
            permutation[ranks].tofile(f)
    os.replace(tmp, path)
    return path


@dataclass
class Tool:
    name: str
    argv: list[str]
    runs: list[Measurement] = field(default_factory=list)
    error: str | None = None

    def median(self, attr: str) -> float:
        return statistics.median(getattr(m, attr) for m in self.runs)


def _biascalc() -> str:
    exe = shutil.which("biascalc", path=os.path.dirname(sys.executable))
    if exe is None:
        raise SystemExit("the biascalc command is not installed next to this Python")
    return exe


def tools_for(path: Path, vocab: int) -> list[Tool]:
    return [
        Tool(
            "biascalc",
            [
                _biascalc(),
                str(path),
                "--tokens",
                "uint16",
                "--vocab-size",
                str(vocab),
                "--format",
                "numpy",
                "--no-progress",
            ],
        ),
        Tool("numpy one-liner", [sys.executable, "-c", ONE_LINER, str(path), str(vocab)]),
        Tool("python -c 'import numpy'", [sys.executable, "-c", "import numpy"]),
    ]


def check(path: Path, vocab: int) -> str:
    """Both give the same counts, and biascalc's bias is log of the shares (eps-clipped)."""
    mine = subprocess.run(
        [_biascalc(), str(path), "--tokens", "uint16", "--vocab-size", str(vocab), "-f", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = subprocess.run(
        [sys.executable, "-c", ONE_LINER_CHECK, str(path), str(vocab)],
        capture_output=True,
        text=True,
        check=True,
    )
    d = json.loads(mine.stdout)
    counts = np.asarray(json.loads(theirs.stdout), dtype=np.int64)
    if d["counts"] != counts.tolist():
        return "DIFF: the counts differ"
    expected = np.log(np.maximum(counts / counts.sum(), 1e-7))
    if not np.allclose(d["bias"], expected, rtol=1e-12, atol=0):
        return "DIFF: the bias is not log(max(n_k / N, 1e-7))"
    return "same counts (all 50,257 equal); bias = log(max(n_k / N, eps))"


def run_rounds(tools: list[Tool], repeat: int, warmup: int, timeout: float) -> None:
    for round_no in range(warmup + repeat):
        label = "warm-up" if round_no < warmup else "timed"
        print(f"round {round_no + 1}/{warmup + repeat} ({label})", file=sys.stderr, flush=True)
        shift = round_no % len(tools)
        for tool in tools[shift:] + tools[:shift]:
            if tool.error is not None:
                continue
            m = run_command(tool.argv, capture=False, timeout=timeout)
            if m.returncode != 0:
                tool.error = f"exit {m.returncode}: {m.stderr.splitlines()[-1:] or 'no message'}"
            elif round_no >= warmup:
                tool.runs.append(m)


def render(args: argparse.Namespace, path: Path, tools: list[Tool], verdict: str) -> str:
    machine = machine_info()
    size = path.stat().st_size
    lines = [
        BEGIN,
        "## Token counting",
        "",
        f"`{shlex.join(['python', 'benchmarks/tokens.py', *sys.argv[1:]])}`, "
        f"{datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}: "
        f"{args.tokens:,} uint16 token ids ({size / 2**20:,.0f} MiB, V = {args.vocab:,}, "
        f"Zipf-Mandelbrot, seed {args.seed}), page cache warm, {args.repeat} timed rounds "
        f"after {args.warmup} warm-up, tools taking turns. Check: {verdict}.",
        "",
        "| command | wall (median) | min-max | CPU | peak RSS | wall / one-liner |",
        "|---|--:|--:|--:|--:|--:|",
    ]
    ref = next(t for t in tools if t.name == "numpy one-liner")
    for t in tools:
        if t.error is not None or not t.runs:
            lines.append(f"| {t.name} | error: {t.error} | | | | |")
            continue
        walls = [m.wall_s for m in t.runs]
        ratio = t.median("wall_s") / ref.median("wall_s") if ref.runs else float("nan")
        lines.append(
            f"| {t.name} | {t.median('wall_s'):.3f} s | {min(walls):.3f}-{max(walls):.3f} s | "
            f"{t.median('cpu_s'):.3f} s | {max(m.peak_rss_mib for m in t.runs):.0f} MiB | "
            f"{ratio:.2f}x |"
        )
    mine = next(t for t in tools if t.name == "biascalc")
    if mine.runs and ref.runs:
        ratio = mine.median("wall_s") / ref.median("wall_s")
        rss = max(m.peak_rss_mib for m in mine.runs)
        lines += [
            "",
            "Targets (issue #13): wall time at most 1.2x the one-liner's "
            f"(**{'pass' if ratio <= 1.2 else 'FAIL'}**, {ratio:.2f}x; aim below 1x: "
            f"{'met' if ratio < 1 else 'not met'}); peak RSS at most 200 MiB "
            f"(**{'pass' if rss <= 200 else 'FAIL'}**, {rss:.0f} MiB).",
        ]
    lines += [
        "",
        "Commands: biascalc writes the bias as `.npy` to /dev/null (`--format numpy`); the "
        f'one-liner is `python -c "{ONE_LINER}" FILE {args.vocab}`; `import numpy` is the '
        "start-up floor both pay.",
        "",
        "Machine: " + "; ".join(f"{k}: {v}" for k, v in machine.items() if k != "pandas"),
        END,
    ]
    return "\n".join(lines)


def record(output: Path, section: str) -> None:
    """Replace the section between the markers in ``output`` (or append it), atomically."""
    old = output.read_text(encoding="utf-8") if output.exists() else ""
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    new = (
        pattern.sub(lambda _: section, old)
        if pattern.search(old)
        else (old.rstrip("\n") + ("\n\n" if old else "") + section)
    )
    with tempfile.NamedTemporaryFile(
        "w", dir=output.parent, prefix=f".{output.name}.", suffix=".tmp", delete=False
    ) as tmp:
        tmp.write(new.rstrip("\n") + "\n")
    os.replace(tmp.name, output)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    path = ensure_tokens(
        args.data_dir / f"tokens_{args.tokens}_v{args.vocab}_seed{args.seed}.bin",
        args.tokens,
        args.vocab,
        args.seed,
    )
    verdict = check(path, args.vocab)
    tools = tools_for(path, args.vocab)
    run_rounds(tools, args.repeat, args.warmup, args.timeout)
    section = render(args, path, tools, verdict)
    print(section)
    if args.output is not None:
        record(args.output, section)
    if args.json is not None:
        raw = [{"tool": t.name, "error": t.error, "runs": [vars(m) for m in t.runs]} for t in tools]
        args.json.write_text(json.dumps({"check": verdict, "results": raw}, indent=2))
    return 1 if verdict.startswith("DIFF") or any(t.error for t in tools) else 0


if __name__ == "__main__":
    sys.exit(main())
