"""The I/O limit in the marts' layout: read the same landing files once and write their rows as one
Parquet file per day, through the project's atomic partition writer, nothing else.

Not a target of issue 7 (that is ``copy_limit``, one file): it shows what the contract's layout (a file
per partition, each written beside and renamed into place) costs before any rule runs. The customs
step writes three such datasets (quarantine, ``customs_items``, ``customs_daily``).
"""

from __future__ import annotations

import glob

import polars as pl

from alatau_pipeline.core.batching import DEFAULT_BATCH_LANDING_BYTES, bounded_batches
from alatau_pipeline.core.landing import landing_bytes
from alatau_pipeline.core.storage import BackgroundWrites, PartitionedParquetStore
from alatau_pipeline.customs.contract import SOURCE


def run(landing_root: str, out_dir: str) -> None:
    files = sorted(glob.glob(f"{landing_root}/landing/{SOURCE}/date=*/*.csv*"))
    days = sorted({file.split("date=")[1][:10] for file in files})
    landing = PartitionedParquetStore(landing_root)
    store = PartitionedParquetStore(out_dir)
    # The customs step's batches: a month, fewer days when they are busy.
    batches = bounded_batches(days, lambda day: landing_bytes(landing, SOURCE, day), DEFAULT_BATCH_LANDING_BYTES)
    with BackgroundWrites(store) as background:
        for month in batches:
            month_files = [f for f in files if f.split("date=")[1][:10] in month]
            rows = pl.scan_csv(month_files, infer_schema=False, include_file_paths="_file").collect()
            rows = rows.with_columns(pl.col("_file").str.extract(r"date=(\d{4}-\d{2}-\d{2})").alias("date"))
            background.write_partitions("copy", SOURCE, "date", rows.drop("_file"), month)
