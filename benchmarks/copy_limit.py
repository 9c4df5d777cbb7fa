"""The I/O limit: read the same landing files once and write them once as Parquet, nothing else."""

from __future__ import annotations

import glob
from pathlib import Path

import polars as pl

from alatau_pipeline.customs.contract import SOURCE


def run(landing_root: str, out_dir: str) -> None:
    """Issue 7's limit: Polars ``scan_csv`` → ``sink_parquet``, with Polars' defaults (zstd)."""
    copy(landing_root, out_dir)


def copy(landing_root: str, out_dir: str, **sink_options: object) -> None:
    files = sorted(glob.glob(f"{landing_root}/landing/{SOURCE}/date=*/*.csv*"))
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    frames = [pl.scan_csv(f, infer_schema=False) for f in files]
    pl.concat(frames, how="diagonal").sink_parquet(f"{out_dir}/copy.parquet", **sink_options)
