"""Crossings assets: staging of the operators' daily reports and ``crossing_throughput_daily``.

Both are daily-partitioned (Asia/Almaty) with a single-run backfill policy: one run may cover any range
of days, processed in month-sized batches, each partition written atomically.
"""

from collections import Counter

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from alatau_pipeline.core.batching import partition_batches
from alatau_pipeline.core.metadata import row_count, table_metadata, written_table_metadata
from alatau_pipeline.core.partitions import DAILY_PARTITIONS, SINGLE_RUN, partition_keys
from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.core.staging import stage_landing
from alatau_pipeline.core.storage import MARTS_ZONE, STAGING_ZONE, PartitionWriter
from alatau_pipeline.crossings import transform
from alatau_pipeline.crossings.contract import COLUMN_DESCRIPTIONS, COLUMNS, SOURCE
from alatau_pipeline.customs.assets import CUSTOMS_ITEMS

STAGED_DATASET = "crossing_reports"
THROUGHPUT_MART = "crossing_throughput_daily"

_COMMON = {
    "partitions_def": DAILY_PARTITIONS,
    "backfill_policy": SINGLE_RUN,
    "group_name": "crossings",
    "kinds": {"polars", "parquet"},
}


@asset(
    **_COMMON,
    description=(
        "Crossing operators' daily reports from landing/crossing_reports/date=D/*.csv[.gz], typed and checked "
        "against the landing contract (3.2). Rejected rows go to quarantine/crossing_reports/ with a reason; "
        "every valid report is kept, re-deliveries and reports superseded by a later reported_at flagged."
    ),
)
def crossing_reports_staged(context: AssetExecutionContext, lake: DataLake) -> MaterializeResult:
    store = lake.store
    keys = partition_keys(context)

    def keep(staged: pl.DataFrame, batch: list[str], writer: PartitionWriter) -> dict[str, int]:
        writer.write_partitions(STAGING_ZONE, STAGED_DATASET, "date", staged, batch)
        return {
            "rows_duplicate": int(staged["is_duplicate"].sum()),
            "rows_superseded": int(staged["is_superseded"].sum()),
            "rows_kept": transform.current_reports(staged).height,
        }

    run = stage_landing(
        context,
        store,
        source=SOURCE,
        columns=COLUMNS,
        stage=transform.stage,
        use=keep,
        batches=partition_batches(keys),
        partitions=len(keys),
    )
    return MaterializeResult(
        metadata={
            **written_table_metadata(store, run.writes, STAGING_ZONE, STAGED_DATASET, COLUMN_DESCRIPTIONS),
            **run.metadata(store),
            **row_count(run.totals["rows_read"] - run.totals["rows_quarantined"], len(keys)),
            "accounting": MetadataValue.md(
                "rows_read = rows_kept + rows_quarantined + rows_duplicate + rows_superseded"
            ),
        }
    )


@asset(
    **_COMMON,
    deps=[crossing_reports_staged, CUSTOMS_ITEMS],
    description=(
        "One row per open crossing, direction and day, reported or not (reported=false and null metrics "
        "where no report came: a missing report is not zero traffic), with capacity utilization and the "
        "customs-declared net tonnes beside it. Grain: crossing_code, direction."
    ),
)
def crossing_throughput_daily(context: AssetExecutionContext, lake: DataLake) -> MaterializeResult:
    store = lake.store
    keys = partition_keys(context)
    writes = []
    totals: Counter[str] = Counter()
    daily = pl.DataFrame()
    for batch in partition_batches(keys):
        staged = store.read_partitions(STAGING_ZONE, STAGED_DATASET, "date", batch, missing_ok=False)
        customs_dates = [d for d in batch if store.has_partition(MARTS_ZONE, "customs_items", "date", d)]
        items = store.read_partitions(MARTS_ZONE, "customs_items", "date", customs_dates)
        daily = transform.throughput_daily(
            transform.current_reports(staged), batch, transform.declared_tonnes(items), customs_dates
        )
        writes += store.write_partitions(MARTS_ZONE, THROUGHPUT_MART, "date", daily, batch)
        totals["rows"] += daily.height
        totals["rows_not_reported"] += int((~daily.get_column("reported")).sum())
        totals["rows_outage"] += int(daily.get_column("outage").sum())
        totals["days_without_customs"] += len(batch) - len(customs_dates)
        context.log.info(f"{THROUGHPUT_MART}: {len(writes)}/{len(keys)} partitions written")
    metadata = table_metadata(daily, writes, store.url(MARTS_ZONE, THROUGHPUT_MART), COLUMN_DESCRIPTIONS)
    metadata.update({name: int(value) for name, value in totals.items()})
    metadata.update(row_count(totals["rows"], len(keys)))
    return MaterializeResult(metadata=metadata)
