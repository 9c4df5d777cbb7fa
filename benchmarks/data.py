"""Landing data for the benchmarks: N customs items written by the project's own demo generator."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from alatau_pipeline.core.landing import LANDING_ZONE
from alatau_pipeline.core.storage import PartitionedParquetStore
from alatau_pipeline.customs.contract import SOURCE
from alatau_pipeline.demo import customs as demo_customs
from alatau_pipeline.demo.calendar import WEEKDAY_FACTOR, growth_factor, holiday_factor
from alatau_pipeline.demo.seed import DEFAULT_SEED, csv_bytes

# At most a year of daily partitions, so the 365-partition backfill reads the same landing files as the
# transforms.
DAYS = 365
FIRST_DAY = dt.date(2025, 1, 1)


@dataclass(frozen=True)
class LandingSet:
    dates: list[str]
    items: int  # landing rows written (every file, faults and corrections included)
    files: int


def days_for(items: int) -> int:
    """Days of landing data for ``items``: the demo's daily volume, at least a month and at most a year
    (so 200k items span ~12 weeks and 1M or more a full year of daily partitions)."""
    return max(30, min(DAYS, round(items / demo_customs.BASE_ITEMS_PER_DAY)))


def day_range(first: dt.date = FIRST_DAY, days: int = DAYS) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range(days)]


def items_per_day_for(items: int, days: list[dt.date]) -> int:
    """The generator's base volume that yields about ``items`` over ``days`` (it scales each day by the
    weekday, holiday and growth factors, and adds ~5 % correction rows)."""
    expected = sum(WEEKDAY_FACTOR[d.weekday()] * holiday_factor(d) * growth_factor(d) for d in days)
    return max(1, round(items / 1.05 / expected))


def write_landing(data_dir: str, items: int, days: list[dt.date] | None = None) -> LandingSet:
    """Write about ``items`` landing rows of customs declarations below ``data_dir`` (overwriting)."""
    days = days or day_range()
    per_day = items_per_day_for(items, days)
    store = PartitionedParquetStore(data_dir)
    rows = files = 0
    for day in days:
        generated = demo_customs.generate_day(day, DEFAULT_SEED, items_per_day=per_day)
        for name, frame in generated.files.items():
            store.write_bytes(csv_bytes(name, frame), LANDING_ZONE, SOURCE, f"date={day.isoformat()}", name)
            rows += frame.height
            files += 1
    return LandingSet(dates=[d.isoformat() for d in days], items=rows, files=files)
