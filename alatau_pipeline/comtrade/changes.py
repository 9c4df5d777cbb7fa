"""Writing mart partitions only where their content changed.

Comtrade months are re-pulled for a year after release, and most of them come back unchanged: rewriting
them would churn files readers may be scanning and make every month look new. Each partition's content
is hashed (rows in grain order, columns in schema order) and compared with the file already there; an
unchanged partition is left alone and reported as such in the materialization metadata.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from alatau_pipeline.core.storage import PartitionedParquetStore, PartitionWrite


@dataclass
class ChangeReport:
    writes: list[PartitionWrite] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    hashes: dict[str, str] = field(default_factory=dict)


def content_hash(df: pl.DataFrame, order_by: Sequence[str]) -> str:
    """A hash of a frame's schema and rows, independent of row order."""
    canonical = df.sort(list(order_by)) if df.height else df
    digest = hashlib.sha256(str(list(canonical.schema.items())).encode())
    digest.update(canonical.write_csv().encode())
    return digest.hexdigest()[:16]


def write_changed_partitions(
    store: PartitionedParquetStore,
    zone: str,
    dataset: str,
    column: str,
    df: pl.DataFrame,
    values: Sequence[str],
    order_by: Sequence[str],
) -> ChangeReport:
    """Like ``store.write_partitions`` (every value written, empty ones included), skipping partitions whose
    stored content already equals the new one."""
    unexpected = sorted(set(df.get_column(column).unique().to_list()) - set(values))
    if unexpected:
        raise ValueError(f"{zone}/{dataset}: rows outside the partitions being written ({unexpected[:5]})")
    report = ChangeReport()
    for value in values:
        part = df.filter(pl.col(column) == value).drop(column).sort(list(order_by))
        new_hash = content_hash(part, order_by)
        report.hashes[value] = new_hash
        if store.has_partition(zone, dataset, column, value):
            old = store.read_partition(zone, dataset, column, value)
            if content_hash(old, order_by) == new_hash:
                report.unchanged.append(value)
                continue
        report.writes.append(store.write_partition(zone, dataset, column, value, part))
        report.rewritten.append(value)
    return report
