"""Write a synthetic nanoGPT-style ``train.bin``: uint16 token ids, no header.

The ids follow a Zipf-Mandelbrot law over GPT-2's vocabulary of 50,257 tokens (the
frequency of the k-th most common token is proportional to 1 / (k + 2.7)), with the ranks
assigned to ids by a fixed random permutation, as a BPE vocabulary does not sort its ids
by frequency.  nanoGPT's ``data/openwebtext/prepare.py`` writes its files the same way:
``np.memmap(filename, dtype=np.uint16, mode="w+")`` filled with the token ids.

    python examples/make_tokens.py train.bin [N]
"""

from __future__ import annotations

import sys

import numpy as np

VOCAB = 50_257


def main(path: str, n: int = 1_000_000, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    weights = 1.0 / (np.arange(VOCAB) + 2.7)
    ranks = rng.choice(VOCAB, size=n, p=weights / weights.sum())
    ids = rng.permutation(VOCAB)[ranks].astype(np.uint16)
    ids.tofile(path)
    print(f"wrote {n:,} uint16 token ids (vocabulary {VOCAB:,}) to {path}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
