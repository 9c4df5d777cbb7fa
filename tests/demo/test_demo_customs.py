"""The demo generator: deterministic, realistic, with faults, and never overwriting a landing file."""

from __future__ import annotations

import datetime as dt

import polars as pl

from alatau_pipeline.core.landing import decode_landing_bytes, parse_landing_csv
from alatau_pipeline.customs import transform
from alatau_pipeline.customs.contract import COLUMNS
from alatau_pipeline.demo.customs import generate_day
from alatau_pipeline.demo.seed import seed_demo


def _staged(day: dt.date):
    frames = [
        rows.with_columns(pl.lit(day.isoformat()).alias("date"), pl.lit(name).alias("_source_file"),
                          pl.int_range(pl.len()).cast(pl.Int64).alias("_line") + 2)
        for name, rows in generate_day(day).files.items()
    ]
    return transform.stage(pl.concat(frames))


def test_same_seed_same_files_and_existing_files_are_never_overwritten(tmp_path):
    day = dt.date(2025, 6, 3)
    first = seed_demo(str(tmp_path / "a"), day, day, sources=["customs_declarations"])
    seed_demo(str(tmp_path / "b"), day, day, sources=["customs_declarations"])
    names = sorted(p.split("/")[-1] for p in first.written)
    assert names == ["corrections.csv", "declarations.csv.gz"]
    for name in names:
        path = f"landing/customs_declarations/date={day}/{name}"
        assert (tmp_path / "a" / path).read_bytes() == (tmp_path / "b" / path).read_bytes()

    target = tmp_path / "a" / f"landing/customs_declarations/date={day}/declarations.csv.gz"
    target.write_bytes(b"dropped by customs, not to be touched")
    again = seed_demo(str(tmp_path / "a"), day, day, sources=["customs_declarations"])
    assert again.written == [] and len(again.skipped_existing) == 2
    assert target.read_bytes() == b"dropped by customs, not to be touched"


def test_files_parse_under_the_landing_contract(tmp_path):
    day = dt.date(2025, 6, 3)
    seed_demo(str(tmp_path), day, day, sources=["customs_declarations"])
    for path in (tmp_path / "landing" / "customs_declarations").rglob("*.csv*"):
        frame, extra = parse_landing_csv(path.name, decode_landing_bytes(path.name, path.read_bytes()), COLUMNS)
        assert frame.height > 0 and extra == []


def test_a_day_is_realistic_and_carries_every_kind_of_trouble():
    staged = _staged(dt.date(2025, 6, 3))  # a Tuesday
    items, counts = transform.customs_items(staged.staged)
    assert 2000 < items.height < 6000  # thousands of items a day
    reasons = set(staged.quarantined["_reason"].str.split("; ").explode().to_list())
    assert len(reasons) >= 6
    passed = staged.staged.filter(~pl.col("is_conflicting")).height  # conflicting rows are quarantined
    assert 0.005 < staged.quarantined.height / (passed + staged.quarantined.height) < 0.05
    assert counts.superseded > 0 and counts.cancelled > 0 and counts.duplicates > 0

    by_direction = items.group_by("direction", "hs2").agg(pl.col("stat_value_usd").sum())
    top_export = by_direction.filter(pl.col("direction") == "EK").sort("stat_value_usd", descending=True)["hs2"]
    top_import = by_direction.filter(pl.col("direction") == "IM").sort("stat_value_usd", descending=True)["hs2"]
    assert set(top_export.head(3)) <= {"27", "26", "74", "72", "10", "12", "28", "79"}
    assert set(top_import.head(3)) <= {"84", "85", "87", "39", "61", "62", "64", "73"}
    assert set(items["crossing_code"]) >= {"DOSTYK_RAIL", "ALTYNKOL_RAIL", "NUR_ZHOLY_ROAD", "ALASHANKOU_PIPELINE"}


def test_weekly_rhythm_and_chinese_new_year_dip():
    def volume(day: dt.date) -> int:
        return sum(rows.height for rows in generate_day(day).files.values())

    tuesday, sunday = dt.date(2025, 6, 3), dt.date(2025, 6, 8)
    assert volume(sunday) < 0.75 * volume(tuesday)
    spring_festival, three_weeks_later = dt.date(2026, 2, 18), dt.date(2026, 3, 11)  # both Wednesdays
    assert volume(spring_festival) < 0.5 * volume(three_weeks_later)
