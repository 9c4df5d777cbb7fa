"""The two partitionings of contracts section 2, as module constants every domain imports."""

from __future__ import annotations

import polars as pl
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


def day_start_utc(date_column: str = "date", days_later: int = 0) -> pl.Expr:
    """When the Almaty day named by a ``YYYY-MM-DD`` string column begins, as a UTC instant (per row).

    ``start(D) <= t < start(D + 1)`` says exactly what ``t.convert_time_zone(ALMATY_TZ).date() == D``
    says (a test checks every 17 minutes of 2019–2026, Kazakhstan's change to UTC+5 on 2024-03-01
    included), but the time-zone arithmetic runs once per distinct day instead of once per row: a
    month of customs rows is ~80k rows over ~31 days, and per row it cost six times as much.
    """
    day = pl.col(date_column).first().str.to_datetime("%Y-%m-%d", time_unit="us")
    if days_later:
        day = day.dt.offset_by(f"{days_later}d")
    return day.dt.replace_time_zone(ALMATY_TZ).dt.convert_time_zone("UTC").over(date_column)


def month_key_to_period(month_key: str) -> str:
    """Dagster's month key ``YYYY-MM-01`` as the marts' ``period`` value ``YYYY-MM``."""
    return month_key[:7]
