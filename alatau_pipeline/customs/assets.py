"""Customs assets: staging of the landing files, ``customs_items`` and ``customs_daily``.

All three are daily-partitioned (Asia/Almaty) with a single-run backfill policy: one run may cover any
range of days, processed in month-sized batches, each partition written atomically.
"""


from collections import Counter

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from alatau_pipeline.core.batching import DEFAULT_BATCH_LANDING_BYTES, DEFAULT_BATCH_ROWS, bounded_batches
from alatau_pipeline.core.landing import landing_bytes
from alatau_pipeline.core.metadata import row_count, table_metadata
from alatau_pipeline.core.partitions import DAILY_PARTITIONS, SINGLE_RUN, partition_keys
from alatau_pipeline.core.quarantine import QUARANTINE_ZONE
from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.core.staging import stage_landing
from alatau_pipeline.core.storage import MARTS_ZONE, STAGING_ZONE, BackgroundWrites
from alatau_pipeline.customs import transform
from alatau_pipeline.customs.contract import COLUMN_DESCRIPTIONS, COLUMNS, SOURCE

STAGED_DATASET = "customs_declarations"

_COMMON = {
    "partitions_def": DAILY_PARTITIONS,
    "backfill_policy": SINGLE_RUN,
    "group_name": "customs",
    "kinds": {"polars", "parquet"},
}


@asset(
    **_COMMON,
    description=(
        "Customs declaration items from landing/customs_declarations/date=D/*.csv[.gz], typed and checked "
        "against the landing contract. Rejected rows go to quarantine/customs_declarations/ with a reason; "
        "every version of every declaration is kept here, exact re-deliveries flagged."
    ),
)
def customs_declarations_staged(context: AssetExecutionContext, lake: DataLake) -> MaterializeResult:
    store = lake.store
    keys = partition_keys(context)
    run = stage_landing(
        context,
        store,
        source=SOURCE,
        columns=COLUMNS,
        dataset=STAGED_DATASET,
        stage=transform.stage,
        count=lambda staged: {"rows_duplicate": staged["is_duplicate"].sum(), "rows_staged": staged.height},
        # A month a batch, fewer days when they are busy, so memory stays bounded whatever the volume.
        batches=bounded_batches(keys, lambda key: landing_bytes(store, SOURCE, key), DEFAULT_BATCH_LANDING_BYTES),
        partitions=len(keys),
    )
    return MaterializeResult(
        metadata={**run.metadata(store, COLUMN_DESCRIPTIONS), **row_count(run.totals["rows_staged"], len(keys))}
    )


@asset(
    **_COMMON,
    deps=[customs_declarations_staged],
    description=(
        "Goods items of the current version of every declaration registered on the day (Almaty time); "
        "cancelled declarations contribute nothing. Grain: declaration_id, item_no."
    ),
)
def customs_items(context: AssetExecutionContext, lake: DataLake) -> MaterializeResult:
    store = lake.store
    keys = partition_keys(context)
    totals: Counter[str] = Counter()
    items = pl.DataFrame()

    staged_rows = store.partition_rows(STAGING_ZONE, STAGED_DATASET, "date", keys)
    # Only the count is needed: the footers have it, reading every quarantine file would not.
    totals["rows_quarantined"] = store.count_rows(QUARANTINE_ZONE, SOURCE, "date", keys)
    done = 0
    with BackgroundWrites(store) as background:
        for batch in bounded_batches(keys, lambda key: staged_rows.get(key, 0), DEFAULT_BATCH_ROWS):
            staged = store.read_partitions(STAGING_ZONE, STAGED_DATASET, "date", batch, missing_ok=False)
            items, counts = transform.customs_items(staged)
            background.write_partitions(MARTS_ZONE, "customs_items", "date", items, batch)
            totals["rows_duplicate"] += counts.duplicates
            totals["rows_superseded"] += counts.superseded
            totals["rows_cancelled"] += counts.cancelled
            totals["rows_kept"] += counts.kept
            done += len(batch)
            context.log.info(f"customs_items: {done}/{len(keys)} partitions computed")
    writes = background.writes.get("customs_items", [])
    # Every landing row is accounted for: read = kept + quarantined + duplicates + superseded + cancelled.
    totals["rows_read"] = sum(totals.values())
    return MaterializeResult(
        metadata={
            **table_metadata(items, writes, store.url(MARTS_ZONE, "customs_items"), COLUMN_DESCRIPTIONS),
            **row_count(totals["rows_kept"], len(keys)),
            **{name: int(value) for name, value in totals.items()},
            "accounting": MetadataValue.md(
                "rows_read = rows_kept + rows_quarantined + rows_duplicate + rows_superseded + rows_cancelled "
                "(cancelled: items of a declaration whose current version is cancelled)"
            ),
        }
    )


@asset(
    **_COMMON,
    deps=[customs_items],
    description="Daily customs totals by direction, crossing and HS chapter (hs2).",
)
def customs_daily(context: AssetExecutionContext, lake: DataLake) -> MaterializeResult:
    store = lake.store
    keys = partition_keys(context)
    daily = pl.DataFrame()
    rows = 0

    item_rows = store.partition_rows(MARTS_ZONE, "customs_items", "date", keys)
    with BackgroundWrites(store) as background:
        for batch in bounded_batches(keys, lambda key: item_rows.get(key, 0), DEFAULT_BATCH_ROWS):
            items = store.read_partitions(MARTS_ZONE, "customs_items", "date", batch, missing_ok=False)
            daily = transform.customs_daily(items)
            background.write_partitions(MARTS_ZONE, "customs_daily", "date", daily, batch)
            rows += daily.height
    writes = background.writes.get("customs_daily", [])
    metadata = table_metadata(daily, writes, store.url(MARTS_ZONE, "customs_daily"), COLUMN_DESCRIPTIONS)
    metadata.update(row_count(rows, len(keys)))
    if daily.height:
        metadata["stat_value_usd_last_batch"] = float(daily["stat_value_usd"].sum())
    return MaterializeResult(metadata=metadata)

