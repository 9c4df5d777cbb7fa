"""Staging a run's landing partitions: the loop every asset that reads a landing source runs.

Batch by batch: read the landing files (:class:`LandingRangeReader`), apply the domain's ``stage``
function, write the quarantined rows, hand the typed rows to the domain, which writes what it derives
from them (a batch is written while the next one is staged), and count what happened; then fail naming
every partition whose files could not be read. The domain keeps only what is its own: its rules, what
it writes from the typed rows, its counts and the description of its assets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl
from dagster import AssetExecutionContext, MetadataValue

from alatau_pipeline.core.landing import LandingRangeReader
from alatau_pipeline.core.quarantine import QUARANTINE_ZONE, reason_counts, write_quarantine
from alatau_pipeline.core.storage import BackgroundWrites, PartitionedParquetStore, PartitionWriter


class Staged(Protocol):
    """What a domain's ``stage(raw)`` returns: typed rows to keep, and rejected rows with ``_reason``."""

    staged: pl.DataFrame
    quarantined: pl.DataFrame


# use(typed rows of a batch, the batch's partitions, where to write) -> the domain's counts of the batch
UseStaged = Callable[[pl.DataFrame, list[str], PartitionWriter], Mapping[str, int]]


@dataclass
class StagingRun:
    """The outcome of staging a run's partitions, for the assets' metadata."""

    source: str
    reader: LandingRangeReader
    writes: BackgroundWrites
    totals: Counter[str] = field(default_factory=Counter)  # rows_read, rows_quarantined + the domain's counts
    reasons: Counter[str] = field(default_factory=Counter)

    def metadata(self, store: PartitionedParquetStore) -> dict[str, Any]:
        """Where the rows went: the counts, the quarantine's reasons and location, the files read."""
        return {
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
    stage: Callable[[pl.DataFrame], Staged],
    use: UseStaged,
    batches: Iterable[list[str]],
    partitions: int,
) -> StagingRun:
    """Stage ``batches`` of landing partitions of ``source``, quarantining rejected rows.

    ``use(staged, partitions, writer)`` receives each batch's typed rows, writes what the domain keeps of
    them through ``writer`` (every asset of the step selected in this run) and returns its counts of the
    batch, which add up in the run's totals.

    If some partition's files could not be read, the step fails after staging every readable partition,
    naming each bad file (``dagster.Failure``). Nothing of a partition with a bad file is written. The
    readable ones are, but Dagster records the whole range as failed: their checks have not run, so
    re-executing the run after the fix recomputes and validates the whole range (idempotently).
    (Recording the written partitions as materialized was tried: Dagster then never validates them,
    because a re-execution from failure covers only the bad partitions.)
    """
    reader = LandingRangeReader(store, source, columns, log=context.log.error)
    staged_partitions = 0
    with BackgroundWrites(store) as background:
        run = StagingRun(source, reader, background)
        for raw, good_keys in _read_ahead(reader, batches):
            if not good_keys:
                continue
            result = stage(raw)
            write_quarantine(background, source, result.quarantined, columns, good_keys)
            run.totals.update(use(result.staged, good_keys, background))

            run.totals["rows_read"] += raw.height
            run.totals["rows_quarantined"] += result.quarantined.height
            run.reasons.update(reason_counts(result.quarantined))
            staged_partitions += len(good_keys)
            context.log.info(
                f"{source}: {staged_partitions}/{partitions} partitions done "
                f"({good_keys[0]} … {good_keys[-1]}): "
                f"{raw.height} rows read, {result.quarantined.height} quarantined"
            )
            del raw, result  # the next batch is being read meanwhile: hold two batches at most, not three
    reader.raise_for_unreadable()
    return run


def _read_ahead(reader: LandingRangeReader, batches: Iterable[list[str]]) -> Iterator[tuple[pl.DataFrame, list[str]]]:
    """Each batch's landing rows, in order; the next batch is read on a background thread meanwhile.

    Reading (decompressing and parsing CSV) and staging are both mostly Polars work that releases the GIL,
    and each leaves one of the two cores idle at times: overlapping them fills the gaps. One batch is read
    ahead, so memory holds at most one more batch of landing rows.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="landing-reads") as pool:
        ahead: Future[tuple[pl.DataFrame, list[str]]] | None = None
        for batch in batches:
            following = pool.submit(reader.read_batch, batch)
            if ahead is not None:
                yield ahead.result()
            ahead = following
        if ahead is not None:
            yield ahead.result()

