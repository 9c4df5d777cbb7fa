"""The project's customs chain with its partition writes discarded: what reading the landing files, the
rules, the versions and both marts cost before a single file is written.

Information, not a target of issue 7. It runs exactly what the ``polars`` engine runs (the ``customs_marts``
step over the whole range, through :func:`benchmarks.impl_polars.run`), with a store whose
``write_partitions`` only counts the rows it is handed. Its wall time against ``copy_limit`` is a floor
for the ``polars / copy_limit`` ratio: no way of writing the three datasets, however cheap, can take the
chain below it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import cached_property

import polars as pl
from dagster import DagsterInstance

from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.core.storage import PartitionedParquetStore, PartitionWrite
from benchmarks import impl_polars

# "zone/dataset" -> rows handed to write_partitions. Module-level because Dagster builds the step's resource
# (and so its store) anew from its configuration: the lake passed in is not the one the step uses.
ROWS_DISCARDED: Counter[str] = Counter()


class DiscardingStore(PartitionedParquetStore):
    """Reads like the project's store; a partition write only records how many rows it was handed."""

    def write_partitions(
        self, zone: str, dataset: str, column: str, df: pl.DataFrame, values: Sequence[str]
    ) -> list[PartitionWrite]:
        ROWS_DISCARDED[f"{zone}/{dataset}"] += df.height
        per_value: dict[str, int] = {}
        if df.height:
            counts = df.group_by(pl.col(column).cast(pl.String)).len()
            per_value = dict(zip(counts[column].to_list(), counts["len"].to_list(), strict=True))
        return [
            PartitionWrite(value=value, path=self.partition_file(zone, dataset, column, value),
                           rows=per_value.get(value, 0))
            for value in values
        ]


class DiscardingLake(DataLake):
    """The data-lake resource with :class:`DiscardingStore` as its store."""

    @cached_property
    def store(self) -> DiscardingStore:
        return DiscardingStore(self.data_dir)


prepare = impl_polars.prepare


def run(landing_root: str, out_dir: str, instance: DagsterInstance | None = None) -> dict[str, int]:
    """The chain over every landing day; returns the rows it handed over for writing, by dataset."""
    ROWS_DISCARDED.clear()
    impl_polars.run(landing_root, out_dir, instance, lake=DiscardingLake(data_dir=landing_root))
    return dict(ROWS_DISCARDED)
