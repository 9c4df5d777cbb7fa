"""Materialization metadata every asset shows: counts, column schema, a preview, where the data is."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from dagster import MetadataValue, TableColumn, TableSchema

from alatau_pipeline.core.storage import BackgroundWrites, PartitionedParquetStore, PartitionWrite

_TYPE_NAMES = {
    pl.String: "string",
    pl.Int64: "int64",
    pl.Int32: "int32",
    pl.Float64: "float64",
    pl.Boolean: "bool",
    pl.Date: "date",
}


def column_schema(schema: Mapping[str, pl.DataType], descriptions: Mapping[str, str] | None = None) -> TableSchema:
    descriptions = descriptions or {}
    return TableSchema(
        columns=[
            TableColumn(name=name, type=_type_name(dtype), description=descriptions.get(name))
            for name, dtype in schema.items()
        ]
    )


def _type_name(dtype: pl.DataType) -> str:
    for base, name in _TYPE_NAMES.items():
        if dtype == base:
            return name
    return str(dtype).lower()


def preview_markdown(df: pl.DataFrame, rows: int = 10) -> str:
    """A small Markdown table of the first rows (the UI renders it under the materialization)."""
    head = df.head(rows)
    if not head.width:
        return "_no columns_"
    lines = [
        "| " + " | ".join(head.columns) + " |",
        "| " + " | ".join("---" for _ in head.columns) + " |",
    ]
    for row in head.iter_rows():
        lines.append("| " + " | ".join("" if v is None else str(v) for v in row) + " |")
    if not head.height:
        lines.append("| " + " | ".join("" for _ in head.columns) + " |")
    return "\n".join(lines)


def row_count(rows: int, partitions: int) -> dict[str, int]:
    """The row count of a run, under the right name.

    The UI reads ``dagster/row_count`` as the row count of the partition it is attached to, and Dagster
    copies a range run's metadata to every partition of the range: a range run reports ``rows_in_run``.
    """
    return {"dagster/row_count": rows} if partitions == 1 else {"rows_in_run": rows}


def table_metadata(
    df: pl.DataFrame,
    writes: Sequence[PartitionWrite],
    location: str,
    descriptions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Standard metadata of a partitioned Parquet asset written through the storage layer.

    A range run's metadata is copied by Dagster onto every partition of the range, so it carries no
    preview: a table of one batch's first rows would be shown on hundreds of partitions it does not
    describe (and storing its copies cost ~5 % of each of those materialization events).
    """
    metadata: dict[str, Any] = {
        **row_count(sum(w.rows for w in writes), len(writes)),
        "dagster/column_schema": column_schema(df.schema, descriptions),
        "partitions_written": len(writes),
        "location": MetadataValue.path(location),
    }
    if len(writes) == 1:
        metadata["preview"] = MetadataValue.md(preview_markdown(df))
    else:
        metadata["empty_partitions"] = sum(1 for w in writes if w.rows == 0)
    return metadata


def written_table_metadata(
    store: PartitionedParquetStore,
    writes: BackgroundWrites,
    zone: str,
    dataset: str,
    descriptions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """:func:`table_metadata` of what a step wrote of ``dataset`` through ``writes``."""
    return table_metadata(
        writes.last_frames.get(dataset, pl.DataFrame()),
        writes.writes.get(dataset, []),
        store.url(zone, dataset),
        descriptions,
    )
