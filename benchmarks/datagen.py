"""Seeded benchmark data sets, generated once into a cache directory.

Each data set has ``rows`` rows and 11 columns:

* ``f0`` .. ``f7``: float64 features, standard normal, rounded to 4 decimals;
* ``label``: int64 0/1, about 3 % positives (an imbalanced binary label);
* ``token``: a string label over a 100,000-word vocabulary with Zipf-Mandelbrot
  frequencies p_k ~ 1 / (k + 2.7), the shape of word frequencies in text
  (Mandelbrot 1953; Piantadosi 2014, "Zipf's word frequency law in natural language");
* ``target``: float64, log-normal rounded to 2 decimals like a price (mean != median,
  so ``mse`` and ``mae`` give different biases).

Rounding keeps the CSV near 90 bytes a row (455 MB for 5M rows, the size measured in
issue #5); full-precision floats would double it and make every CSV reader look slower.

Rows are generated in chunks of at most 1,000,000 with a generator seeded by
``(seed, chunk index)``, so memory stays bounded for any ``rows`` and a chunk does not
depend on the chunk size of any other run.  Each chunk is appended to the CSV
(``pyarrow.csv.CSVWriter``) and written as one Parquet row group (default settings:
snappy compression, dictionary encoding).  Files are written under a temporary name and
renamed when complete, so an interrupted run never leaves a truncated file in the cache.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

__all__ = ["CHUNK_ROWS", "VOCABULARY", "DataSet", "ensure_dataset"]

CHUNK_ROWS = 1_000_000
VOCABULARY = 100_000
POSITIVE_RATE = 0.03
N_FEATURES = 8
ZIPF_EXPONENT = 1.0
ZIPF_OFFSET = 2.7


@dataclass(frozen=True)
class DataSet:
    """A generated data set: its files and a summary written next to them."""

    rows: int
    seed: int
    csv: Path
    parquet: Path
    csv_bytes: int
    parquet_bytes: int
    positives: int
    distinct_tokens: int
    seconds: float  # generation time
    cached: bool = False  # True when the files were already there


def _token_probabilities() -> npt.NDArray[np.float64]:
    ranks = np.arange(1, VOCABULARY + 1, dtype=np.float64)
    weights: npt.NDArray[np.float64] = (ranks + ZIPF_OFFSET) ** -ZIPF_EXPONENT
    probabilities: npt.NDArray[np.float64] = weights / weights.sum()
    return probabilities


def _chunk(
    rows: int, seed: int, index: int, cdf: npt.NDArray[np.float64], vocab: pa.Array
) -> tuple[pa.Table, npt.NDArray[np.intp]]:
    rng = np.random.default_rng([seed, index])
    columns: dict[str, pa.Array] = {
        f"f{j}": pa.array(np.round(rng.standard_normal(rows), 4)) for j in range(N_FEATURES)
    }
    columns["label"] = pa.array((rng.random(rows) < POSITIVE_RATE).astype(np.int64))
    # Inverse-CDF sampling: one searchsorted over 100k cumulative probabilities.
    token_ids = np.minimum(np.searchsorted(cdf, rng.random(rows), side="right"), VOCABULARY - 1)
    columns["token"] = vocab.take(pa.array(token_ids))
    columns["target"] = pa.array(np.round(rng.lognormal(mean=3.0, sigma=1.0, size=rows), 2))
    return pa.table(columns), token_ids


def _stem(rows: int, seed: int) -> str:
    return f"bench_{rows}_seed{seed}"


def ensure_dataset(data_dir: Path, rows: int, seed: int = 0, *, log: bool = True) -> DataSet:
    """Return the data set of ``rows`` rows, generating it unless it is already cached."""
    data_dir.mkdir(parents=True, exist_ok=True)
    stem = _stem(rows, seed)
    csv_path = data_dir / f"{stem}.csv"
    parquet_path = data_dir / f"{stem}.parquet"
    meta_path = data_dir / f"{stem}.json"
    if csv_path.exists() and parquet_path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        return DataSet(
            rows=rows,
            seed=seed,
            csv=csv_path,
            parquet=parquet_path,
            csv_bytes=csv_path.stat().st_size,
            parquet_bytes=parquet_path.stat().st_size,
            positives=int(meta["positives"]),
            distinct_tokens=int(meta["distinct_tokens"]),
            seconds=float(meta["seconds"]),
            cached=True,
        )

    if log:
        print(f"generating {rows:,} rows into {data_dir} ...", flush=True)
    start = time.perf_counter()
    cdf = np.cumsum(_token_probabilities())
    vocab = pa.array([f"tok{k}" for k in range(VOCABULARY)])
    token_counts = np.zeros(VOCABULARY, dtype=np.int64)
    positives = 0
    tmp_csv = csv_path.with_suffix(".csv.tmp")
    tmp_parquet = parquet_path.with_suffix(".parquet.tmp")
    csv_writer: pa_csv.CSVWriter | None = None
    parquet_writer: pq.ParquetWriter | None = None
    try:
        for index, offset in enumerate(range(0, rows, CHUNK_ROWS)):
            n = min(CHUNK_ROWS, rows - offset)
            table, token_ids = _chunk(n, seed, index, cdf, vocab)
            if csv_writer is None or parquet_writer is None:
                csv_writer = pa_csv.CSVWriter(
                    tmp_csv, table.schema, write_options=pa_csv.WriteOptions(quoting_style="needed")
                )
                parquet_writer = pq.ParquetWriter(tmp_parquet, table.schema)
            csv_writer.write_table(table)
            parquet_writer.write_table(table, row_group_size=CHUNK_ROWS)
            token_counts += np.bincount(token_ids, minlength=VOCABULARY)
            positives += int(pc.sum(table["label"]).as_py())
    finally:
        if csv_writer is not None:
            csv_writer.close()
        if parquet_writer is not None:
            parquet_writer.close()
    os.replace(tmp_csv, csv_path)
    os.replace(tmp_parquet, parquet_path)
    seconds = time.perf_counter() - start
    data = DataSet(
        rows=rows,
        seed=seed,
        csv=csv_path,
        parquet=parquet_path,
        csv_bytes=csv_path.stat().st_size,
        parquet_bytes=parquet_path.stat().st_size,
        positives=positives,
        distinct_tokens=int(np.count_nonzero(token_counts)),
        seconds=seconds,
    )
    summary = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(data).items()}
    del summary["cached"]
    meta_path.write_text(json.dumps(summary, indent=2) + "\n")
    if log:
        print(
            f"  {seconds:.1f} s: CSV {data.csv_bytes / 2**20:,.0f} MiB, "
            f"Parquet {data.parquet_bytes / 2**20:,.0f} MiB",
            flush=True,
        )
    return data
