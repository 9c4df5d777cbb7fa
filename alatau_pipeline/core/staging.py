"""Staging a run's landing partitions: the loop every ``*_staged`` asset runs, whatever its source.

Batch by batch: read the landing files (:class:`LandingRangeReader`), apply the domain's ``stage``
function, write the quarantined and the staged rows (a batch is written while the next one is staged),
count what happened; then fail naming every partition whose files could not be read. The domain keeps
only what is its own: its rules, its counts and the description of its asset.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl
from dagster import AssetExecutionContext, MetadataValue

from alatau_pipeline.core.landing import LandingRangeReader
from alatau_pipeline.core.metadata import table_metadata
from alatau_pipeline.core.quarantine import QUARANTINE_ZONE, reason_counts, write_quarantine
from alatau_pipeline.core.storage import STAGING_ZONE, BackgroundWrites, PartitionedParquetStore, PartitionWrite


class Staged(Protocol):
    """What a domain's ``stage(raw)`` returns: typed rows to keep, and rejected rows with ``_reason``."""

    staged: pl.DataFrame
    quarantined: pl.DataFrame


@dataclass
class StagingRun:
    """The outcome of staging a run's partitions, for the asset's metadata."""

    source: str
    dataset: str
    reader: LandingRangeReader
    totals: Counter[str] = field(default_factory=Counter)  # rows_read, rows_quarantined + the domain's counts
    reasons: Counter[str] = field(default_factory=Counter)
    writes: list[PartitionWrite] = field(default_factory=list)
    last_staged: pl.DataFrame = field(default_factory=pl.DataFrame)

    def metadata(self, store: PartitionedParquetStore, descriptions: Mapping[str, str]) -> dict[str, Any]:
        return {
            **table_metadata(self.last_staged, self.writes, store.url(STAGING_ZONE, self.dataset), descriptions),
            **{name: int(value) for name, value in self.totals.items()},
            "files_read": self.reader.files_read,
            "quarantine_reasons": MetadataValue.json(dict(self.reasons)),
            "extra_columns_ignored": MetadataValue.json(self.reader.extra_columns),
            "quarantine": MetadataValue.path(store.url(QUARANTINE_ZONE, self.source)),
        }


def stage_landing(
    context: AssetExecutionContext,
    store: PartitionedParquetStore,
    *,
    source: str,
    columns: Sequence[str],
    dataset: str,
    stage: Callable[[pl.DataFrame], Staged],
    count: Callable[[pl.DataFrame], Mapping[str, int]],
    batches: Iterable[list[str]],
    partitions: int,
) -> StagingRun:
    """Stage ``batches`` of landing partitions of ``source`` into ``staging/<dataset>/``.

    ``count(staged)`` adds the domain's own counts of a batch's staged rows to the run's totals. Raises
    ``dagster.Failure`` after staging every readable partition if some partition's files could not be read.
    """
    run = StagingRun(source, dataset, LandingRangeReader(store, source, columns, log=context.log.error))
    staged_partitions = 0
    with BackgroundWrites(store) as background:
        for batch in batches:
            raw, good_keys = run.reader.read_batch(batch)
            if not good_keys:
                continue
            result = stage(raw)
            write_quarantine(background, source, result.quarantined, columns, good_keys)
            background.write_partitions(STAGING_ZONE, dataset, "date", result.staged, good_keys)

            run.totals["rows_read"] += raw.height
            run.totals["rows_quarantined"] += result.quarantined.height
            run.totals.update(count(result.staged))
            run.reasons.update(reason_counts(result.quarantined))
            run.last_staged = result.staged
            staged_partitions += len(good_keys)
            context.log.info(
                f"staged {staged_partitions}/{partitions} partitions ({good_keys[0]} … {good_keys[-1]}): "
                f"{raw.height} rows read, {result.quarantined.height} quarantined"
            )
    run.writes = background.writes.get(dataset, [])
    run.reader.raise_for_unreadable()
    return run
