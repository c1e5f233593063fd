"""Fixtures shared by the acceptance checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest


@pytest.fixture(scope="module")
def hf_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    datasets = pytest.importorskip("datasets")
    rng = np.random.default_rng(1010)
    names = ["neg", "neu", "pos", "other"]
    tag_names = ["joy", "anger", "fear", "love"]
    n = 240
    label = rng.choice(3, size=n, p=[0.5, 0.2, 0.3]).tolist()  # 'other' never occurs
    spam = rng.choice(2, size=n, p=[0.8, 0.2]).tolist()
    tags = [sorted(set(rng.choice(3, size=rng.integers(0, 3)).tolist())) for _ in range(n)]
    features = datasets.Features(
        {
            "label": datasets.ClassLabel(names=names),
            "spam": datasets.ClassLabel(names=["ham", "spam"]),
            "tags": datasets.Sequence(datasets.ClassLabel(names=tag_names)),
        }
    )
    ds = datasets.Dataset.from_dict({"label": label, "spam": spam, "tags": tags}, features=features)
    folder = tmp_path_factory.mktemp("i10hf")
    datasets.disable_progress_bars()
    ds.to_parquet(str(folder / "hf.parquet"))
    ds.save_to_disk(str(folder / "saved"))
    raw = {"names": names, "tag_names": tag_names, "label": label, "spam": spam, "tags": tags}
    return folder, raw
