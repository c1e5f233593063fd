#!/usr/bin/env python3
"""Regenerate every file in sample_data/ deterministically.

Usage:  python sample_data/make_samples.py

Needs numpy, pandas, pyarrow and scikit-learn (the sklearn datasets used here
are bundled inside the package, so no network access is required).
Running it twice produces byte-identical CSV files.  Parquet files are written
with pyarrow, zstd compression and no pandas index column.
Prints the label statistics quoted in README.md.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine

OUT = Path(__file__).resolve().parent
SEED = 2026


def snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def write(df: pd.DataFrame, stem: str) -> None:
    df = df.reset_index(drop=True)
    df.to_csv(OUT / f"{stem}.csv", index=False, lineterminator="\n")
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata(None)  # drop pandas metadata blob
    pq.write_table(table, OUT / f"{stem}.parquet", compression="zstd")


def breast_cancer() -> pd.DataFrame:
    ds = load_breast_cancer()
    df = pd.DataFrame(ds.data, columns=[snake(c) for c in ds.feature_names])
    df["target"] = ds.target.astype("int64")  # 0 = malignant, 1 = benign
    df["diagnosis"] = np.asarray(ds.target_names)[ds.target].astype(str)
    return df


def wine() -> pd.DataFrame:
    ds = load_wine()
    df = pd.DataFrame(ds.data, columns=[snake(c) for c in ds.feature_names])
    df["target"] = ds.target.astype("int64")
    df["cultivar"] = np.asarray(ds.target_names)[ds.target].astype(str)
    return df


def diabetes() -> pd.DataFrame:
    try:
        ds = load_diabetes(scaled=False)  # raw (unscaled) features, sklearn >= 1.1
    except TypeError:  # older scikit-learn
        ds = load_diabetes()
    df = pd.DataFrame(ds.data, columns=[snake(c) for c in ds.feature_names])
    y = np.asarray(ds.target)
    if np.all(y == np.round(y)):
        y = y.astype("int64")
    df["target"] = y
    return df


def fraud_imbalanced(rng: np.random.Generator) -> pd.DataFrame:
    n, n_pos = 20_000, 200  # exactly 1 % positives
    is_fraud = np.zeros(n, dtype="int64")
    is_fraud[rng.permutation(n)[:n_pos]] = 1
    shift = np.array([1.5, -1.0, 0.5, 0.0])  # positives are shifted on f1..f3
    feats = rng.standard_normal((n, 4)) + is_fraud[:, None] * shift
    # 2 decimals keeps the CSV under ~700 KB (and the Parquet dictionary-encodable)
    feats = np.round(feats, 2) + 0.0  # "+ 0.0" turns -0.0 into 0.0
    amount = np.round(rng.lognormal(mean=3.0 + 0.8 * is_fraud, sigma=1.0), 2)
    amount = np.maximum(amount, 0.01)  # strictly positive
    weight = np.where(is_fraud == 1, 5.0, 1.0)
    df = pd.DataFrame(feats, columns=["f1", "f2", "f3", "f4"])
    df["amount"] = amount
    df["is_fraud"] = is_fraud
    df["weight"] = weight
    return df


def multilabel_tags(rng: np.random.Generator) -> pd.DataFrame:
    n = 5_000
    prevalence = {  # exact positive counts = prevalence * n
        "tag_sports": 0.30,
        "tag_politics": 0.12,
        "tag_tech": 0.05,
        "tag_music": 0.02,
        "tag_science": 0.005,
    }
    df = pd.DataFrame({"text_id": np.arange(1, n + 1, dtype="int64")})
    for col, p in prevalence.items():
        k = round(p * n)
        y = np.zeros(n, dtype="int64")
        y[rng.permutation(n)[:k]] = 1
        df[col] = y
    return df


def stats(
    name: str, df: pd.DataFrame, labels: list[str], kind: str, weight: str | None = None
) -> None:
    print(f"== {name}: {df.shape[0]} rows x {df.shape[1]} columns")
    for col in labels:
        s = df[col]
        if kind == "regression":
            print(
                f"  {col}: mean={s.mean():.6f} std(ddof=0)={s.std(ddof=0):.6f} "
                f"min={s.min()} max={s.max()}"
            )
        else:
            counts = s.value_counts().sort_index()
            parts = ", ".join(f"{k}={v} ({v / len(s):.4%})" for k, v in counts.items())
            print(f"  {col}: {parts}")
    if weight is not None:
        w = df[weight]
        for k, g in df.groupby(labels[0]):
            print(f"  sum({weight}) where {labels[0]}={k}: {w[g.index].sum():g}")
        pos = w[df[labels[0]] == 1].sum() / w.sum()
        print(f"  weighted positive rate: {pos:.6f}")


def main() -> None:
    rng = np.random.default_rng(SEED)

    bc = breast_cancer()
    write(bc, "breast_cancer")
    stats("breast_cancer", bc, ["target", "diagnosis"], "binary")

    wn = wine()
    write(wn, "wine")
    stats("wine", wn, ["target", "cultivar"], "multiclass")

    db = diabetes()
    write(db, "diabetes")
    stats("diabetes", db, ["target"], "regression")

    fr = fraud_imbalanced(rng)
    write(fr, "fraud_imbalanced")
    stats("fraud_imbalanced", fr, ["is_fraud"], "binary", weight="weight")
    stats("fraud_imbalanced", fr, ["amount"], "regression")

    ml = multilabel_tags(rng)
    write(ml, "multilabel_tags")
    stats("multilabel_tags", ml, list(ml.columns[1:]), "multilabel")


if __name__ == "__main__":
    main()
