"""Comtrade revises months after their first release: the trailing window of months a scheduled run re-pulls.

``trailing_months(12, today)`` gives the Dagster month keys (``YYYY-MM-01``) of the 12 complete months
before ``today``'s month, oldest first, never before the first monthly partition (2017-01). A monthly
schedule can start one run over that window with :func:`revision_window_tags` (a single-run backfill of the
range); the marts then rewrite only the partitions whose content changed (see ``changes.py``), so a
re-pull of unrevised months costs API calls but leaves their Parquet files untouched.
"""

from __future__ import annotations

import datetime as dt

REVISION_WINDOW_MONTHS = 12
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
_FIRST_MONTH = dt.date(2017, 1, 1)  # start of MONTHLY_PARTITIONS
# Kept here rather than imported from core.partitions, which imports Dagster: the demo runner imports this
# module before it needs Dagster.
ALMATY_TZ = "Asia/Almaty"


def trailing_months(n: int = REVISION_WINDOW_MONTHS, today: dt.date | None = None) -> list[str]:
    """Month keys of the ``n`` complete months before ``today``'s month (Asia/Almaty today if omitted)."""
    if n < 1:
        raise ValueError(f"the revision window needs at least one month, got {n}")
    if today is None:
        from zoneinfo import ZoneInfo

        today = dt.datetime.now(ZoneInfo(ALMATY_TZ)).date()
    year, month = today.year, today.month
    keys: list[str] = []
    for _ in range(n):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        first = dt.date(year, month, 1)
        if first < _FIRST_MONTH:
            break
        keys.append(first.isoformat())
    return sorted(keys)


def revision_window_tags(n: int = REVISION_WINDOW_MONTHS, today: dt.date | None = None) -> dict[str, str]:
    """Run tags that make one run of ``comtrade_job`` cover the trailing window (single-run backfill)."""
    keys = trailing_months(n, today)
    return {RANGE_START_TAG: keys[0], RANGE_END_TAG: keys[-1]}


def demo_month_range(start: dt.date, end: dt.date) -> tuple[str, str]:
    """Month keys the demo runs over: from ``start``'s month to ``end``'s month if ``end`` closes it,
    otherwise to the month before (a month partition exists only once the month is over)."""
    last = end.replace(day=1)
    next_day = end + dt.timedelta(days=1)
    if next_day.month == end.month:  # end is not the last day of its month: that month is incomplete
        last = (last - dt.timedelta(days=1)).replace(day=1)
    first = max(start.replace(day=1), _FIRST_MONTH)
    if last < first:
        last = first
    return first.isoformat(), last.isoformat()
