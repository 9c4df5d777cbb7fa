"""The two partitionings of contracts section 2, as module constants every domain imports."""

from __future__ import annotations

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    DailyPartitionsDefinition,
    MonthlyPartitionsDefinition,
)

ALMATY_TZ = "Asia/Almaty"

# A daily partition D means records registered (or reported) on D, Almaty time.
DAILY_PARTITIONS = DailyPartitionsDefinition(start_date="2019-01-01", timezone=ALMATY_TZ)
MONTHLY_PARTITIONS = MonthlyPartitionsDefinition(start_date="2017-01-01", timezone=ALMATY_TZ)

# One run may cover any range of partitions (backfills over years run as one run).
SINGLE_RUN = BackfillPolicy.single_run()


def partition_keys(context: AssetExecutionContext) -> list[str]:
    """The partition keys this run covers: one for a normal run, the whole range for a backfill run."""
    return list(context.partition_keys)


def month_key_to_period(month_key: str) -> str:
    """Dagster's month key ``YYYY-MM-01`` as the marts' ``period`` value ``YYYY-MM``."""
    return month_key[:7]
