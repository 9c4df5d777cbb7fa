"""The customs chain materialized with Dagster into a temporary data lake, read back and checked by hand."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest
from dagster import materialize

from alatau_pipeline.customs.assets import customs_marts
from tests.customs.landing_set import DATE, FAULTS, ROWS_READ, write_landing_set

CUSTOMS_ASSETS = [customs_marts]


@pytest.fixture
def materialized(data_dir, lake):
    write_landing_set(data_dir)
    result = materialize(CUSTOMS_ASSETS, resources={"lake": lake}, partition_key=DATE)
    assert result.success
    return result


def _mart(data_dir, name: str) -> pl.DataFrame:
    return pl.read_parquet(data_dir / "marts" / name / "**" / "*.parquet", hive_partitioning=True)


def test_customs_items_keep_current_versions_only(materialized, data_dir):
    items = _mart(data_dir, "customs_items").sort("declaration_id", "item_no")
    keys = list(zip(items["declaration_id"].str.slice(-7), items["item_no"], items["version"], strict=True))
    # D1 both items; D2; D3 cancelled by version 2; D4 restated by version 2 with item 1 only.
    assert keys == [("0000001", 1, 1), ("0000001", 2, 1), ("0000002", 1, 1), ("0000004", 1, 2)]
    d4 = items.filter(pl.col("declaration_id").str.ends_with("0000004")).row(0, named=True)
    assert d4["stat_value_usd"] == 55000.0
    assert (d4["hs6"], d4["hs4"], d4["hs2"]) == ("850760", "8507", "85")
    d2 = items.filter(pl.col("declaration_id").str.ends_with("0000002")).row(0, named=True)
    assert d2["registered_at"].isoformat() == "2026-11-19T19:30:00+00:00"
    assert items.schema["registered_at"] == pl.Datetime("us", "UTC")
    assert items["date"].unique().to_list() == [pl.Series([DATE]).str.to_date()[0]]


def test_customs_daily_totals_worked_by_hand(materialized, data_dir):
    daily = _mart(data_dir, "customs_daily").sort("direction", "crossing_code", "hs2")
    rows = daily.select(
        "direction", "crossing_code", "hs2", "declarations", "items", "stat_value_usd", "net_kg", "gross_kg",
        "containers_teu",
    ).rows()
    assert rows == [
        ("EK", "DOSTYK_RAIL", "26", 1, 1, 110000.0, 58000.0, 60000.0, 0.0),
        ("IM", "ALTYNKOL_RAIL", "85", 1, 1, 55000.0, 2800.0, 3000.0, 1.0),
        ("IM", "NUR_ZHOLY_ROAD", "84", 1, 2, 7000.0, 1350.0, 1500.0, 1.0),
    ]


def test_quarantine_holds_every_rejected_row_with_reason_and_lineage(materialized, data_dir):
    quarantine = pl.read_parquet(data_dir / "quarantine" / "customs_declarations" / f"date={DATE}" / "*.parquet")
    assert all(dtype == pl.String for name, dtype in quarantine.schema.items() if name != "_line")
    by_decl = {
        (decl or "")[-7:]: reason
        for decl, reason in quarantine.select("declaration_id", "_reason").iter_rows()
    }
    for fault_row, reason in FAULTS:
        decl = (fault_row[0] or "")[-7:]
        assert reason in by_decl[decl].split("; "), (decl, by_decl[decl])
    conflicting = quarantine.filter(pl.col("_reason") == "conflicting_duplicate")
    assert sorted(conflicting["gross_kg"].to_list()) == ["1700", "1701"]
    assert set(quarantine["_source_file"]) == {f"landing/customs_declarations/date={DATE}/a.csv"}
    # a.csv: header is line 1, six good rows on lines 2-7, the two conflicting rows on lines 8-9.
    assert sorted(conflicting["_line"].to_list()) == [8, 9]
    assert quarantine.height == len(FAULTS) + 2


def test_every_row_is_accounted_for_in_metadata(materialized):
    events = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in materialized.get_asset_materialization_events()
    }
    items = {k: v.value for k, v in events["customs_items"].items()}
    assert items["rows_read"] == ROWS_READ
    assert (items["rows_kept"], items["rows_quarantined"], items["rows_duplicate"]) == (4, len(FAULTS) + 2, 1)
    assert (items["rows_superseded"], items["rows_cancelled"]) == (3, 1)
    assert items["rows_read"] == sum(
        items[f"rows_{outcome}"] for outcome in ("kept", "quarantined", "duplicate", "superseded", "cancelled")
    )
    assert items["extra_columns_ignored"] == {f"landing/customs_declarations/date={DATE}/b.csv": ["comment"]}
    assert items["files_read"] == 2
    assert items["dagster/row_count"] == items["rows_kept"]
    assert events["customs_daily"]["dagster/row_count"].value == 3
    assert "dagster/column_schema" in events["customs_daily"]
    assert "preview" in events["customs_items"]


def test_marts_read_as_one_table_by_polars_duckdb_and_pandas(materialized, data_dir):
    import duckdb

    glob = str(data_dir / "marts" / "customs_items" / "**" / "*.parquet")
    assert pl.scan_parquet(glob, hive_partitioning=True).select(pl.len()).collect().item() == 4
    count = duckdb.sql(f"select count(*) from read_parquet('{glob}', hive_partitioning=true)").fetchall()
    assert count == [(4,)]
    frame = pd.read_parquet(data_dir / "marts" / "customs_items")
    assert len(frame) == 4 and "date" in frame.columns
    files = list((data_dir / "marts" / "customs_items").rglob("*.parquet"))
    assert all("date" not in pl.read_parquet_schema(f) for f in files)


def test_rerun_replaces_partition_without_appending(materialized, data_dir, lake):
    again = materialize(CUSTOMS_ASSETS, resources={"lake": lake}, partition_key=DATE)
    assert again.success
    assert _mart(data_dir, "customs_items").height == 4
    partition = data_dir / "marts" / "customs_items" / f"date={DATE}"
    assert [p.name for p in partition.iterdir()] == ["part-0.parquet"]


def test_one_step_writes_both_marts_and_no_intermediate_dataset(materialized, data_dir):
    assert sorted(p.name for p in (data_dir / "marts").iterdir()) == ["customs_daily", "customs_items"]
    assert not (data_dir / "staging").exists()
    assert {e.step_key for e in materialized.get_asset_materialization_events()} == {"customs_marts"}


def test_customs_daily_alone_is_recomputed_from_the_stored_items(materialized, data_dir, lake):
    before = _mart(data_dir, "customs_daily")
    items_file = data_dir / "marts" / "customs_items" / f"date={DATE}" / "part-0.parquet"
    items_written = items_file.stat().st_mtime_ns
    (data_dir / "marts" / "customs_daily" / f"date={DATE}" / "part-0.parquet").unlink()

    daily_only = materialize(CUSTOMS_ASSETS, selection=["customs_daily"], resources={"lake": lake}, partition_key=DATE)

    assert daily_only.success
    assert [e.asset_key.to_user_string() for e in daily_only.get_asset_materialization_events()] == ["customs_daily"]
    assert items_file.stat().st_mtime_ns == items_written  # the items were read, not recomputed
    assert _mart(data_dir, "customs_daily").equals(before)
