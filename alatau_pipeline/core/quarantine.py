"""Quarantine: rejected rows, kept as Parquet under ``quarantine/<source>/date=YYYY-MM-DD/``.

Every original column as a string, plus ``_reason``, ``_source_file`` and ``_line`` (contracts section 4).
Each partition of a run is rewritten, an empty one included, so a re-run never leaves stale rejects.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from alatau_pipeline.core.storage import QUARANTINE_ZONE, PartitionWriter

LINEAGE_COLUMNS = ("_reason", "_source_file", "_line")


def quarantine_frame(rows: pl.DataFrame, columns: Sequence[str], partition_column: str = "date") -> pl.DataFrame:
    """Normalize rejected rows to the quarantine schema (strings, lineage columns, partition column)."""
    schema = {c: pl.String for c in columns} | {"_reason": pl.String, "_source_file": pl.String, "_line": pl.Int64}
    if rows.is_empty():
        return pl.DataFrame(schema=schema | {partition_column: pl.String})
    return rows.select(
        *[pl.col(c).cast(pl.String) for c in columns],
        pl.col("_reason").cast(pl.String),
        pl.col("_source_file").cast(pl.String),
        pl.col("_line").cast(pl.Int64),
        pl.col(partition_column).cast(pl.String),
    )


def write_quarantine(
    writer: PartitionWriter,
    source: str,
    rows: pl.DataFrame,
    columns: Sequence[str],
    dates: Sequence[str],
) -> None:
    """Replace the quarantine partitions ``dates`` of ``source`` with ``rows`` (which carry ``date``)."""
    writer.write_partitions(QUARANTINE_ZONE, source, "date", quarantine_frame(rows, columns), dates)


def reason_counts(rows: pl.DataFrame) -> dict[str, int]:
    """How many rejected rows carry each reason (a row with two reasons counts under both)."""
    if rows.is_empty():
        return {}
    counts = (
        rows.select(pl.col("_reason").str.split("; ").alias("reason"))
        .explode("reason")
        .group_by("reason")
        .len()
        .sort("len", descending=True)
    )
    return dict(zip(counts["reason"].to_list(), counts["len"].to_list(), strict=True))
