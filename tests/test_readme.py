"""The README's console examples run, and print what the README shows.

Every ```console block is a list of `$ command` lines, each followed by the output it
shows.  Each command runs in a shell (from a scratch folder that sees sample_data/ and
examples/), must exit 0, and must print the shown lines in that order; a line of "..."
(or one starting with "# ...") stands for lines the README leaves out.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```console\n(.*?)```", README, flags=re.S)


def examples(block: str) -> list[tuple[str, list[str]]]:
    """The (command, shown output) pairs of one console block."""
    out: list[tuple[str, list[str]]] = []
    lines = block.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            command = line[2:]
            while command.endswith("\\"):
                i += 1
                command = command[:-1] + lines[i].strip()
            out.append((command, []))
        elif out:
            out[-1][1].append(line)
        i += 1
    return out


def test_readme_has_console_examples() -> None:
    assert sum(len(examples(b)) for b in BLOCKS) >= 8


@pytest.mark.parametrize("block", BLOCKS, ids=[examples(b)[0][0][:60] for b in BLOCKS])
def test_readme_block(block: str, tmp_path: Path) -> None:
    """The commands of a block run in order in one folder (a later one may read a file)."""
    for name in ("sample_data", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    for command, expected in examples(block):
        check_example(command, expected, tmp_path)


def check_example(command: str, expected: list[str], tmp_path: Path) -> None:
    if "jax" in command:
        pytest.importorskip("jax")
    if "examples/train.py" in command:
        pytest.importorskip("torch")
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.setdefault("KERAS_BACKEND", "torch")
    proc = subprocess.run(
        command,
        shell=True,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    actual = proc.stdout.splitlines()
    position = 0
    for line in expected:
        if line.strip() in ("...", "") or line.startswith("# ..."):
            continue
        try:
            position = actual.index(line, position) + 1
        except ValueError:
            pytest.fail(f"README line not printed (in order): {line!r}\n--- actual:\n{proc.stdout}")
