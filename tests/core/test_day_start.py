"""day_start_utc: the Almaty day a timestamp falls on, judged once per day instead of once per row."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from alatau_pipeline.core.partitions import ALMATY_TZ, day_start_utc


@pytest.mark.parametrize("shift_days", [0, -1, 1])
def test_day_bounds_agree_with_converting_every_timestamp(shift_days: int) -> None:
    # Every 17 minutes of 2019–2026, Kazakhstan's change from UTC+6 to UTC+5 on 2024-03-01 included,
    # each labelled with its own Almaty day (shift 0) or a neighbouring one (all must then be off).
    instants = pl.datetime_range(
        dt.datetime(2019, 1, 1), dt.datetime(2026, 12, 31), "17m", time_unit="us", time_zone="UTC", eager=True
    )
    frame = pl.DataFrame({"registered_at": instants}).with_columns(
        pl.col("registered_at").dt.convert_time_zone(ALMATY_TZ).dt.date().dt.offset_by(f"{shift_days}d")
        .cast(pl.String).alias("date")
    )
    converted = frame.select(
        pl.col("registered_at").dt.convert_time_zone(ALMATY_TZ).dt.date() == pl.col("date").str.to_date()
    ).to_series()
    bounded = frame.select(
        pl.col("registered_at").is_between(day_start_utc(), day_start_utc(days_later=1), closed="left")
    ).to_series()
    assert bounded.equals(converted)
    assert bounded.all() if shift_days == 0 else not bounded.any()


def test_the_day_of_the_change_to_utc_plus_5_is_25_hours_long() -> None:
    days = pl.DataFrame({"date": ["2024-02-29", "2024-03-01", "2024-03-02"]})
    bounds = days.select(day_start_utc().alias("start"), day_start_utc(days_later=1).alias("end"))
    hours = ((bounds["end"] - bounds["start"]).dt.total_minutes() / 60).to_list()
    assert hours == [25.0, 24.0, 24.0]
    assert bounds["start"][1] == dt.datetime(2024, 2, 29, 19, tzinfo=dt.UTC)
