"""How to find a Delta table's live files: the deltalake package, or a log replay in pyarrow.

Issue 11 left the choice open; this script measured it.  It writes a real table with
deltalake (``--commits`` commits: appends, with an overwrite every 10th commit and a
checkpoint every ``--checkpoint-every``), then times, each in a fresh process (so import
costs count), over ``--repeat`` rounds:

- ``deltalake``: ``DeltaTable(path)``, ``get_add_actions()``, ``file_uris()`` (what
  biascalc.readers._delta does);
- ``replay``: reading every ``_delta_log/*.json`` commit with ``pyarrow.json`` and
  applying its ``add`` / ``remove`` actions in order.  This replay is the simplest one
  that can be correct for tables *without* checkpoints: it ignores checkpoints,
  ``_last_checkpoint``, log compaction, deletion vectors, column mapping and protocol
  checks, all of which a real reader needs;
- ``biascalc``: the whole command on the table (``-t y -f json``), for scale.

Both lookups are checked to return the same live set (the replay only when no
checkpoint was written and the old commits were not cleaned up).  Wall and CPU time
(user + system of the child) are printed as a Markdown table.

    python benchmarks/delta_log.py                      # 200 commits, no checkpoints
    python benchmarks/delta_log.py --commits 1000 --checkpoint-every 100
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DELTALAKE = """
import sys, deltalake, pyarrow as pa
t = deltalake.DeltaTable(sys.argv[1])
pa.table(t.get_add_actions(flatten=False))
print(len(t.file_uris()))
"""

REPLAY = """
import os, sys, urllib.parse, pyarrow.json as pj
log = os.path.join(sys.argv[1], "_delta_log")
live = set()
for name in sorted(f for f in os.listdir(log) if f.endswith(".json")):
    actions = pj.read_json(os.path.join(log, name)).to_pylist()
    for a in actions:
        if a.get("remove"):
            live.discard(urllib.parse.unquote(a["remove"]["path"]))
        if a.get("add"):
            live.add(urllib.parse.unquote(a["add"]["path"]))
print(len(live))
"""


def build(path: str, commits: int, rows: int, checkpoint_every: int) -> None:
    import numpy as np
    import pyarrow as pa
    from deltalake import DeltaTable, write_deltalake

    rng = np.random.default_rng(0)
    for i in range(commits):
        table = pa.table(
            {
                "y": rng.integers(0, 2, rows),
                "split": rng.choice(["train", "test"], rows),
            }
        )
        mode = "overwrite" if i and i % 10 == 0 else "append"
        write_deltalake(path, table, mode=mode, partition_by=["split"])
        if checkpoint_every and (i + 1) % checkpoint_every == 0:
            DeltaTable(path).create_checkpoint()


def timed(command: list[str]) -> tuple[float, float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--rows", type=int, default=1000, help="rows per commit")
    parser.add_argument("--checkpoint-every", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp(prefix="biascalc-delta-")
    try:
        path = os.path.join(folder, "table")
        start = time.perf_counter()
        build(path, args.commits, args.rows, args.checkpoint_every)
        print(
            f"table: {args.commits} commits of {args.rows} rows, checkpoint every "
            f"{args.checkpoint_every or 'never'}; built in {time.perf_counter() - start:.1f} s\n"
        )
        biascalc = shutil.which("biascalc", path=os.path.dirname(sys.executable)) or "biascalc"
        commands = {
            "deltalake": [sys.executable, "-c", DELTALAKE, path],
            "replay": [sys.executable, "-c", REPLAY, path],
            "biascalc": [biascalc, path, "-t", "y", "-f", "json"],
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        results: dict[str, tuple[list[float], list[float], str]] = {}
        for _ in range(args.repeat):
            for name, command in commands.items():
                wall, cpu, out = timed(command)
                walls, cpus, _ = results.setdefault(name, ([], [], out))
                walls.append(wall)
                cpus.append(cpu)
                results[name] = (walls, cpus, out)
        live = {name: results[name][2] for name in ("deltalake", "replay")}
        print("| lookup | median wall s | median CPU s | live files |")
        print("|---|---|---|---|")
        for name, (walls, cpus, out) in results.items():
            files = out if name in live else ""
            print(
                f"| {name} | {statistics.median(walls):.3f} | {statistics.median(cpus):.3f} "
                f"| {files} |"
            )
        if not args.checkpoint_every and live["deltalake"] != live["replay"]:
            print("\nthe two lookups disagree", file=sys.stderr)
            return 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
