"""crossing_throughput_daily from hand-made operator reports: missing reports, an outage, a late
correction, quarantined rows, and customs-declared tonnes beside the reported ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from dagster import materialize

from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.crossings.assets import crossing_reports_staged, crossing_throughput_daily
from alatau_pipeline.crossings.contract import COLUMNS
from alatau_pipeline.customs.assets import customs_marts
from alatau_pipeline.demo.crossings import generate_day
from tests.conftest import range_tags, write_landing
from tests.customs.landing_set import HEADER as CUSTOMS_HEADER
from tests.customs.landing_set import row as customs_row

D1, D2 = "2026-11-20", "2026-11-21"
SOURCE = "crossing_reports"


def report(day: str, code: str, direction: str, tonnes: object, at: str = "T07:30:00+05:00", **extra: object):
    values = {"report_date": day, "crossing_code": code, "direction": direction, "trains": "", "wagons": "",
              "trucks": "", "teu": "", "tonnes": tonnes, "reported_at": f"{day}{at}"} | extra
    return [values[c] for c in COLUMNS]


def read_mart(data_dir: Path, mart: str) -> pl.DataFrame:
    return pl.read_parquet(data_dir / "marts" / mart / "**" / "*.parquet", hive_partitioning=True)


def test_throughput_mart_rows_for_every_open_crossing(data_dir: Path, lake: DataLake) -> None:
    write_landing(data_dir, SOURCE, D1, "reports.csv", COLUMNS, [
        report(D1, "NUR_ZHOLY_ROAD", "CN_TO_KZ", "9000", trucks=500, teu="375"),
        report(D1, "NUR_ZHOLY_ROAD", "KZ_TO_CN", "6000", trucks=300),
        report(D1, "DOSTYK_RAIL", "KZ_TO_CN", "0", trains=0, wagons=0),  # outage: closed, reported zero
        report(D1, "DOSTYK_RAIL", "CN_TO_KZ", "-3"),  # quarantined: negative tonnes
        report(D1, "KHORGOS", "CN_TO_KZ", "10"),  # quarantined: unknown crossing
        report(D2, "BAKHTY_ROAD", "KZ_TO_CN", "10"),  # quarantined: another day's report
    ])
    # The late correction: a later file in the same folder with a later reported_at wins.
    write_landing(data_dir, SOURCE, D1, "z_correction.csv", COLUMNS, [
        report(D1, "NUR_ZHOLY_ROAD", "CN_TO_KZ", "9500", at="T11:00:00+05:00", trucks=520, teu="380"),
        report(D1, "NUR_ZHOLY_ROAD", "KZ_TO_CN", "6000", trucks=300),  # the same report again: counts once
    ])
    write_landing(data_dir, SOURCE, D2, "reports.csv", COLUMNS, [report(D2, "NUR_ZHOLY_ROAD", "CN_TO_KZ", "8000")])
    # Customs declared 0.9 t of net weight at Nur Zholy (IM → CN_TO_KZ) on D1 only.
    write_landing(data_dir, "customs_declarations", D1, "a.csv", CUSTOMS_HEADER, [customs_row("0000001")])
    # D2 has no customs partition at all (not in the customs run), so its declared tonnes are null.

    customs = materialize([customs_marts], resources={"lake": lake}, partition_key=D1)
    assert customs.success
    result = materialize(
        [crossing_reports_staged, crossing_throughput_daily], resources={"lake": lake}, tags=range_tags(D1, D2)
    )
    assert result.success
    mart = read_mart(data_dir, "crossing_throughput_daily")
    # 7 two-way crossings and the one-way pipeline, every day, reported or not.
    assert mart.group_by("date").len().sort("date")["len"].to_list() == [15, 15]
    day1 = mart.filter(pl.col("date") == dt.date(2026, 11, 20))

    def at(code: str, direction: str) -> dict:
        return day1.filter((pl.col("crossing_code") == code) & (pl.col("direction") == direction)).row(0, named=True)

    corrected = at("NUR_ZHOLY_ROAD", "CN_TO_KZ")
    assert corrected["tonnes"] == 9500 and corrected["trucks"] == 520 and corrected["reported"]
    assert corrected["capacity_utilization"] == 9500 / 30000
    assert corrected["declared_net_tonnes"] == 0.9
    assert at("NUR_ZHOLY_ROAD", "KZ_TO_CN")["declared_net_tonnes"] == 0.0  # customs day exists, nothing declared
    outage = at("DOSTYK_RAIL", "KZ_TO_CN")
    assert outage["reported"] and outage["outage"] and outage["tonnes"] == 0
    missing = at("DOSTYK_RAIL", "CN_TO_KZ")  # its only report was quarantined: unknown, not zero
    assert not missing["reported"] and missing["tonnes"] is None and missing["capacity_utilization"] is None
    assert not missing["outage"]
    day2 = mart.filter(pl.col("date") == dt.date(2026, 11, 21))
    assert day2["declared_net_tonnes"].null_count() == day2.height  # no customs partition for D2: unknown

    quarantined = pl.read_parquet(data_dir / "quarantine" / SOURCE / "**" / "*.parquet", hive_partitioning=True)
    assert sorted(quarantined["_reason"].to_list()) == [
        "invalid_crossing_code", "report_date_not_folder_date", "tonnes_below_0"]
    staged_meta = result.asset_materializations_for_node("crossing_reports_staged")[0].metadata
    counts = {k: staged_meta[k].value for k in ("rows_read", "rows_kept", "rows_quarantined",
                                                 "rows_duplicate", "rows_superseded")}
    assert counts == {"rows_read": 9, "rows_kept": 4, "rows_quarantined": 3, "rows_duplicate": 1,
                      "rows_superseded": 1}


def test_demo_reports_are_consistent_with_demo_customs(data_dir: Path, lake: DataLake) -> None:
    """Seeded demo days: declared net tonnes stay below the reported tonnes (transit is not declared)."""
    from alatau_pipeline.demo.seed import seed_demo

    seed_demo(str(data_dir), dt.date(2025, 3, 3), dt.date(2025, 3, 9))
    result = materialize(
        [customs_marts, crossing_reports_staged, crossing_throughput_daily],
        resources={"lake": lake}, tags=range_tags("2025-03-03", "2025-03-09"),
    )
    assert result.success
    mart = read_mart(data_dir, "crossing_throughput_daily").filter(pl.col("reported") & ~pl.col("outage"))
    assert mart.height > 90
    share = mart.select((pl.col("declared_net_tonnes") / pl.col("tonnes")).alias("share"))["share"]
    assert share.max() < 1.0 and share.median() > 0.1
    # A late correction always carries a later reported_at than the report it corrects.
    days = [generate_day(dt.date(2025, 3, 3) + dt.timedelta(days=i)) for i in range(60)]
    corrections = [d["corrections.csv"] for d in days if "corrections.csv" in d]
    assert corrections
    for files in (d for d in days if "corrections.csv" in d):
        joined = files["corrections.csv"].join(files["reports.csv"], on=["crossing_code", "direction"])
        assert (joined["reported_at"] > joined["reported_at_right"]).all()


def test_range_run_equals_single_partition_runs(tmp_path: Path) -> None:
    """A single-run backfill over a range writes the same marts as one run per partition."""
    from alatau_pipeline.demo.seed import seed_demo

    marts = {}
    for mode in ("range", "single"):
        root = tmp_path / mode
        seed_demo(str(root), dt.date(2025, 2, 1), dt.date(2025, 2, 3), sources=["crossing_reports"])
        lake = DataLake(data_dir=str(root))
        if mode == "range":
            runs = [{"tags": range_tags("2025-02-01", "2025-02-03")}]
        else:
            runs = [{"partition_key": f"2025-02-0{d}"} for d in (1, 2, 3)]
        for run in runs:
            assert materialize([crossing_reports_staged, crossing_throughput_daily], resources={"lake": lake},
                               **run).success
        marts[mode] = read_mart(root, "crossing_throughput_daily").sort("date", "crossing_code", "direction")
    assert marts["range"].height == 45
    assert marts["range"].equals(marts["single"])
