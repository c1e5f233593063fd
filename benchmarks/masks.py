#!/usr/bin/env python
"""Benchmark ``biascalc --input-format masks`` against the loop a user would write.

Issue #15's target: on 1,500 segmentation masks of 512x512, biascalc takes at most 1.0x
the wall time of the plain Pillow + ``np.bincount`` loop (below, run as its own Python
process), in at most 250 MiB.  Both are fresh processes each round (start-up and imports
included), taking turns, the order rotating each round; the first round is an untimed
warm-up (page cache, bytecode) whose outputs are cross-checked: biascalc's pixel counts
must equal the loop's exactly.

The masks are VOC-like, written once into the data cache (seeded; renamed into place
when complete): palette PNGs (mode P, the VOC colour map) with a background (class 0)
and 2-6 ellipses of classes 1-20, each with the 5-pixel ignore border (255) VOC draws.

    python benchmarks/masks.py                      # 1,500 masks, 5 timed rounds
    python benchmarks/masks.py --quick              # 300 masks, 2 rounds (a smoke run)
    python benchmarks/masks.py --masks 1500 --output docs/benchmarks-masks.md
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from measure import Measurement, machine_info, run_command
from workloads import biascalc_argv

HERE = Path(__file__).resolve().parent
CLASSES = 21  # VOC: background + 20 object classes (BASELINE prints as many)

#: The loop a user writes (the reference): decode each mask, bincount its pixels.
BASELINE = """\
import glob, json, sys
import numpy as np
from PIL import Image
counts = np.zeros(256, np.int64)
for path in sorted(glob.glob(sys.argv[1] + "/*.png")):
    counts += np.bincount(np.asarray(Image.open(path)).ravel(), minlength=256)
print(json.dumps(counts[:21].tolist()))
"""


def _palette() -> list[int]:
    out = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        out += [r, g, b]
    return out


def generate(folder: Path, n: int, size: int, seed: int) -> Path:
    """n VOC-like palette masks of size x size in folder (cached; complete or absent)."""
    if folder.is_dir():
        return folder
    from PIL import Image

    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    palette = _palette()
    for i in range(n):
        mask = np.zeros((size, size), np.uint8)
        for _ in range(int(rng.integers(2, 7))):
            cy, cx = rng.uniform(0, size, 2)
            ry, rx = rng.uniform(size / 20, size / 4, 2)
            d = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
            mask[(d >= 1) & (d < 1 + 5 / min(ry, rx))] = 255
            mask[d < 1] = rng.integers(1, CLASSES)
        im = Image.fromarray(mask, "L").convert("P")
        im.putpalette(palette)
        im.save(tmp / f"{i:05d}.png")
    os.rename(tmp, folder)
    return folder


def _counts_of(tool: str, stdout: str) -> list[int]:
    if tool == "biascalc":
        return list(json.loads(stdout)["counts"])
    return list(json.loads(stdout))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--masks", type=int, default=None, help="number of masks (default 1500)")
    ap.add_argument("--size", type=int, default=512, help="mask side in pixels (default 512)")
    ap.add_argument("--repeat", type=int, default=None, help="timed rounds (default 5)")
    ap.add_argument("--quick", action="store_true", help="300 masks, 2 rounds")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", type=Path, default=HERE / "data")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--output", type=Path, help="also write the report to this file")
    args = ap.parse_args(argv)
    n = args.masks or (300 if args.quick else 1500)
    repeat = args.repeat or (2 if args.quick else 5)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    folder = generate(
        args.data_dir / f"masks_{n}x{args.size}_seed{args.seed}", n, args.size, args.seed
    )
    commands = {
        "biascalc": [
            *biascalc_argv(),
            "--input-format",
            "masks",
            str(folder),
            "--num-classes",
            str(CLASSES),
            "--format",
            "json",
        ],
        "pillow+bincount": [sys.executable, "-c", BASELINE, str(folder)],
    }
    tools = list(commands)
    runs: dict[str, list[Measurement]] = {t: [] for t in tools}
    outputs: dict[str, list[int]] = {}
    for round_ in range(repeat + 1):
        order = tools[round_ % len(tools) :] + tools[: round_ % len(tools)]
        for tool in order:
            m = run_command(commands[tool], capture=round_ == 0, timeout=args.timeout)
            if m.returncode != 0:
                print(f"{tool} failed ({m.returncode}): {m.stderr}", file=sys.stderr)
                return 1
            if round_ == 0:
                outputs[tool] = _counts_of(tool, m.stdout)
            else:
                runs[tool].append(m)
    report = _report(folder, n, args.size, repeat, commands, runs, outputs)
    print(report)
    if args.output is not None:
        tmp = args.output.with_name(args.output.name + ".tmp")
        tmp.write_text(report + "\n", encoding="utf-8")
        os.replace(tmp, args.output)
    return 0


def _report(
    folder: Path,
    n: int,
    size: int,
    repeat: int,
    commands: dict[str, list[str]],
    runs: dict[str, list[Measurement]],
    outputs: dict[str, list[int]],
) -> str:
    wall = {t: statistics.median(m.wall_s for m in ms) for t, ms in runs.items()}
    cpu = {t: statistics.median(m.cpu_s for m in ms) for t, ms in runs.items()}
    rss = {t: max(m.peak_rss_mib for m in ms) for t, ms in runs.items()}
    spread = {t: (min(m.wall_s for m in ms), max(m.wall_s for m in ms)) for t, ms in runs.items()}
    same = outputs["biascalc"] == outputs["pillow+bincount"]
    ratio = wall["biascalc"] / wall["pillow+bincount"]
    size_mib = sum(f.stat().st_size for f in folder.iterdir()) / 2**20
    lines = [
        f"# Masks benchmark ({datetime.date.today().isoformat()})",
        "",
        f"{n:,} VOC-like palette masks of {size}x{size} ({size_mib:.1f} MiB of PNG), "
        f"{repeat} timed rounds after a warm-up; median wall and CPU (user + system), "
        "maximum peak RSS.",
        "",
        "| tool | wall s (min-max) | CPU s | peak RSS MiB |",
        "|---|---|---|---|",
    ]
    for t in runs:
        lo, hi = spread[t]
        lines.append(f"| {t} | {wall[t]:.3f} ({lo:.3f}-{hi:.3f}) | {cpu[t]:.3f} | {rss[t]:.0f} |")
    lines += [
        "",
        f"* biascalc / loop wall time: **{ratio:.2f}x** (target <= 1.0x: "
        f"{'PASS' if ratio <= 1.0 else 'FAIL'})",
        f"* biascalc peak RSS: **{rss['biascalc']:.0f} MiB** (target <= 250 MiB: "
        f"{'PASS' if rss['biascalc'] <= 250 else 'FAIL'})",
        f"* pixel counts of classes 0-{CLASSES - 1}: "
        f"{'identical' if same else '**DIFFERENT**'} "
        f"({sum(outputs['biascalc']):,} pixels counted)",
        "",
        "Commands (F = the masks folder):",
        "",
        "```",
        "biascalc --input-format masks F --num-classes 21 --format json",
        f"python -c '{BASELINE.strip()}' F",
        "```",
        "",
        "Machine:",
        "",
    ]
    lines += [f"* {k}: {v}" for k, v in machine_info().items()]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
