"""Customs assets: ``customs_items`` and ``customs_daily``, computed from the landing files in one pass.

One step reads each batch of landing files once, applies the contract's row rules (rejected rows go to
quarantine with a reason), resolves versions and duplicates, and writes both marts from the rows in
memory: no intermediate dataset is written and read back. That is where a year's backfill spent its time
(1,460 small files, two datasets read back, and two Dagster events per partition of the intermediate
asset; see ``benchmarks/README.md``). The landing files stay the record of every delivered version.

Both marts are daily-partitioned (Asia/Almaty) with a single-run backfill policy: one run may cover any
range of days, processed in month-sized batches, each partition written atomically. The step can be
subset: ``customs_daily`` alone is recomputed from the stored ``customs_items``.
"""

from collections.abc import Iterator

import polars as pl
from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, MetadataValue, multi_asset

from alatau_pipeline.core.batching import DEFAULT_BATCH_LANDING_BYTES, DEFAULT_BATCH_ROWS, bounded_batches
from alatau_pipeline.core.landing import landing_bytes
from alatau_pipeline.core.metadata import written_table_metadata
from alatau_pipeline.core.partitions import DAILY_PARTITIONS, SINGLE_RUN, partition_keys
from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.core.staging import stage_landing
from alatau_pipeline.core.storage import MARTS_ZONE, BackgroundWrites, PartitionedParquetStore, PartitionWriter
from alatau_pipeline.customs import transform
from alatau_pipeline.customs.contract import COLUMN_DESCRIPTIONS, COLUMNS, SOURCE

CUSTOMS_ITEMS = AssetKey("customs_items")
CUSTOMS_DAILY = AssetKey("customs_daily")

_KINDS = {"polars", "parquet"}


@multi_asset(
    name="customs_marts",
    specs=[
        AssetSpec(
            CUSTOMS_ITEMS,
            kinds=_KINDS,
            description=(
                "Goods items of the current version of every declaration registered on the day (Almaty "
                "time), from landing/customs_declarations/date=D/*.csv[.gz] checked against the landing "
                "contract; rejected rows go to quarantine/customs_declarations/ with a reason. Cancelled "
                "declarations contribute nothing. Grain: declaration_id, item_no."
            ),
        ),
        AssetSpec(
            CUSTOMS_DAILY,
            deps=[CUSTOMS_ITEMS],
            kinds=_KINDS,
            description="Daily customs totals by direction, crossing and HS chapter (hs2).",
        ),
    ],
    partitions_def=DAILY_PARTITIONS,
    backfill_policy=SINGLE_RUN,
    group_name="customs",
    can_subset=True,
)
def customs_marts(context: AssetExecutionContext, lake: DataLake) -> Iterator[MaterializeResult]:
    store = lake.store
    keys = partition_keys(context)
    selected = context.selected_asset_keys
    if CUSTOMS_ITEMS in selected:
        yield from _from_landing(context, store, keys, with_daily=CUSTOMS_DAILY in selected)
    else:
        yield _daily_from_stored_items(context, store, keys)


def _from_landing(
    context: AssetExecutionContext, store: PartitionedParquetStore, keys: list[str], *, with_daily: bool
) -> Iterator[MaterializeResult]:
    """Landing → quarantine + ``customs_items`` (+ ``customs_daily``), batch by batch, nothing read back."""

    def keep(staged: pl.DataFrame, batch: list[str], writer: PartitionWriter) -> dict[str, int]:
        items, counts = transform.customs_items(staged)
        writer.write_partitions(MARTS_ZONE, "customs_items", "date", items, batch)
        if with_daily:
            writer.write_partitions(MARTS_ZONE, "customs_daily", "date", transform.customs_daily(items), batch)
        return {
            "rows_duplicate": counts.duplicates,
            "rows_superseded": counts.superseded,
            "rows_cancelled": counts.cancelled,
            "rows_kept": counts.kept,
        }

    run = stage_landing(
        context,
        store,
        source=SOURCE,
        columns=COLUMNS,
        stage=transform.stage,
        use=keep,
        # A month a batch, fewer days when they are busy, so memory stays bounded whatever the volume.
        batches=bounded_batches(keys, lambda key: landing_bytes(store, SOURCE, key), DEFAULT_BATCH_LANDING_BYTES),
        partitions=len(keys),
    )
    yield MaterializeResult(
        asset_key=CUSTOMS_ITEMS,
        metadata={
            **written_table_metadata(store, run.writes, MARTS_ZONE, "customs_items", COLUMN_DESCRIPTIONS),
            **run.metadata(store),
            # Every landing row is accounted for.
            "accounting": MetadataValue.md(
                "rows_read = rows_kept + rows_quarantined + rows_duplicate + rows_superseded + rows_cancelled "
                "(cancelled: items of a declaration whose current version is cancelled)"
            ),
        },
    )
    if with_daily:
        yield MaterializeResult(asset_key=CUSTOMS_DAILY, metadata=_daily_metadata(store, run.writes))


def _daily_from_stored_items(
    context: AssetExecutionContext, store: PartitionedParquetStore, keys: list[str]
) -> MaterializeResult:
    """``customs_daily`` alone (the step subset to it): recomputed from the stored ``customs_items``."""
    done = 0
    item_rows = store.partition_rows(MARTS_ZONE, "customs_items", "date", keys)
    with BackgroundWrites(store) as background:
        for batch in bounded_batches(keys, lambda key: item_rows.get(key, 0), DEFAULT_BATCH_ROWS):
            items = store.read_partitions(MARTS_ZONE, "customs_items", "date", batch, missing_ok=False)
            background.write_partitions(MARTS_ZONE, "customs_daily", "date", transform.customs_daily(items), batch)
            done += len(batch)
            context.log.info(f"customs_daily: {done}/{len(keys)} partitions computed")
    return MaterializeResult(asset_key=CUSTOMS_DAILY, metadata=_daily_metadata(store, background))


def _daily_metadata(store: PartitionedParquetStore, writes: BackgroundWrites) -> dict[str, object]:
    # The row count comes with the table metadata, from the partition writes.
    metadata = written_table_metadata(store, writes, MARTS_ZONE, "customs_daily", COLUMN_DESCRIPTIONS)
    last = writes.last_frames.get("customs_daily")
    if last is not None and last.height:
        metadata["stat_value_usd_last_batch"] = float(last["stat_value_usd"].sum())
    return metadata
