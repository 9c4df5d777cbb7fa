"""Cheap per-partition facts read from stored Parquet: schemas, row counts, small aggregates.

Validation and monitors need them for many partitions (a backfill's range plus 28 days of history), so
they are read from Parquet footers and with column projection, never by loading whole partitions.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from alatau_pipeline.core.storage import PartitionedParquetStore

KEY = "_partition"
VALUE = "value"


def existing_files(
    store: PartitionedParquetStore, zone: str, dataset: str, column: str, keys: Sequence[str]
) -> dict[str, str]:
    """Partition key → file, for the keys whose partition file exists."""
    return {
        key: store.partition_file(zone, dataset, column, key)
        for key in keys
        if store.has_partition(zone, dataset, column, key)
    }


def file_schema(store: PartitionedParquetStore, file: str) -> dict[str, pl.DataType]:
    if store.is_local:
        return dict(pl.read_parquet_schema(file))
    with store.fs.open(file, "rb") as handle:
        return dict(pl.read_parquet_schema(handle))


def partition_aggregates(
    store: PartitionedParquetStore,
    zone: str,
    dataset: str,
    column: str,
    keys: Sequence[str],
    value: pl.Expr,
    *,
    by: Sequence[str] = (),
    where: pl.Expr | None = None,
    fill_empty: float | None = None,
    source: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per (partition key, *by) with ``value`` aggregated over that partition's rows.

    Missing partitions have no row. Without ``by``, a partition with no (matching) rows gets
    ``fill_empty`` (e.g. 0 for a count). ``source``: the rows of these partitions already read (by
    :func:`read_columns`, with the columns this aggregate needs), so several aggregates share one read.
    """
    files = existing_files(store, zone, dataset, column, keys)
    schema = {KEY: pl.String, **{b: pl.String for b in by}, VALUE: pl.Float64}
    if not files:
        return pl.DataFrame(schema=schema)
    if not by and where is None and value.meta.eq(pl.len()):
        return _footer_counts(store, zone, dataset, column, list(files), fill_empty).cast(schema)
    key_of_file = pl.DataFrame({"_file": list(files.values()), KEY: list(files)})
    if source is not None:
        frame = source.lazy()
    elif store.is_local:
        # One scan over every file; the projection reads only the columns the aggregate needs.
        frame = pl.scan_parquet(list(files.values()), include_file_paths="_file", hive_partitioning=False)
    else:
        frame = pl.concat(
            [store.read_partition(zone, dataset, column, key).with_columns(pl.lit(f).alias("_file"))
             for key, f in files.items()],
            how="diagonal_relaxed",
        ).lazy()
    if where is not None:
        frame = frame.filter(where)
    aggregated = (
        frame.group_by("_file", *by)
        .agg(value.cast(pl.Float64).alias(VALUE))
        .collect()
        .join(key_of_file, on="_file")
        .drop("_file")
    )
    if not by and fill_empty is not None:
        aggregated = key_of_file.drop("_file").join(aggregated, on=KEY, how="left").with_columns(
            pl.col(VALUE).fill_null(fill_empty)
        )
    return aggregated.select(KEY, *by, VALUE).cast(schema).sort(KEY, *by)


def read_columns(
    store: PartitionedParquetStore, zone: str, dataset: str, column: str, keys: Sequence[str], columns: Sequence[str]
) -> pl.DataFrame | None:
    """``columns`` of every row of the existing partitions ``keys`` (local store), with the ``_file`` each
    row came from, as :func:`partition_aggregates` scans them; None where that function reads otherwise."""
    files = existing_files(store, zone, dataset, column, keys)
    if not files or not store.is_local:
        return None
    scan = pl.scan_parquet(list(files.values()), include_file_paths="_file", hive_partitioning=False)
    return scan.select(*columns, "_file").collect()


def _footer_counts(
    store: PartitionedParquetStore, zone: str, dataset: str, column: str, keys: list[str], fill_empty: float | None
) -> pl.DataFrame:
    """``pl.len()`` per partition from the Parquet footers; like a scan, an empty partition has no row
    unless ``fill_empty`` is given."""
    counts = store.partition_rows(zone, dataset, column, keys)
    rows = [(key, float(n) if n else fill_empty) for key, n in counts.items() if n or fill_empty is not None]
    return pl.DataFrame(rows, schema={KEY: pl.String, VALUE: pl.Float64}, orient="row").sort(KEY)


def row_counts(
    store: PartitionedParquetStore, zone: str, dataset: str, column: str, keys: Sequence[str]
) -> dict[str, int | None]:
    """Rows per partition key; None where the partition file does not exist."""
    found = store.partition_rows(zone, dataset, column, keys)
    return {key: found.get(key) for key in keys}
