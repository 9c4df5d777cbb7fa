"""A range of partitions in one run gives the same marts as one run per partition."""

from __future__ import annotations

import datetime as dt
import shutil

import polars as pl
from dagster import materialize

from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.customs.assets import customs_marts
from alatau_pipeline.demo.seed import seed_demo
from tests.conftest import range_tags

CUSTOMS_ASSETS = [customs_marts]
DAYS = [dt.date(2026, 2, 14) + dt.timedelta(days=i) for i in range(5)]  # spans Chinese New Year 2026


def _table(root, zone: str, name: str) -> pl.DataFrame:
    frame = pl.read_parquet(root / zone / name / "**" / "*.parquet", hive_partitioning=True)
    return frame.sort(frame.columns)


def test_single_run_backfill_equals_per_partition_runs(tmp_path):
    single, per_partition = tmp_path / "single", tmp_path / "per_partition"
    seed_demo(str(single), DAYS[0], DAYS[-1], sources=["customs_declarations"])
    shutil.copytree(single / "landing", per_partition / "landing")

    one_run = materialize(
        CUSTOMS_ASSETS,
        resources={"lake": DataLake(data_dir=str(single))},
        tags=range_tags(DAYS[0].isoformat(), DAYS[-1].isoformat()),
    )
    assert one_run.success
    # One run materialized every partition of the range.
    partitions = sorted(
        e.partition for e in one_run.get_asset_materialization_events() if e.asset_key.path == ["customs_items"]
    )
    assert partitions == [d.isoformat() for d in DAYS]
    for day in DAYS:
        assert materialize(
            CUSTOMS_ASSETS, resources={"lake": DataLake(data_dir=str(per_partition))}, partition_key=day.isoformat()
        ).success

    for zone, name in [
        ("marts", "customs_items"),
        ("marts", "customs_daily"),
        ("quarantine", "customs_declarations"),
    ]:
        left, right = _table(single, zone, name), _table(per_partition, zone, name)
        assert left.height > 0
        assert left.equals(right), f"{zone}/{name} differs between a single run and per-partition runs"
    items = _table(single, "marts", "customs_items")
    assert items["date"].n_unique() == len(DAYS)


def test_range_with_days_without_files_stages_them_empty(data_dir, lake):
    from tests.customs.landing_set import write_landing_set

    write_landing_set(data_dir, "2026-11-20")  # 2026-11-19 and 2026-11-21 have no landing files
    result = materialize(CUSTOMS_ASSETS, resources={"lake": lake}, tags=range_tags("2026-11-19", "2026-11-21"))
    assert result.success
    items = _table(data_dir, "marts", "customs_items")
    assert items.height == 4 and items["date"].unique().cast(pl.String).to_list() == ["2026-11-20"]
    written = sorted(p.parent.name for p in (data_dir / "marts" / "customs_items").rglob("*.parquet"))
    assert written == ["date=2026-11-19", "date=2026-11-20", "date=2026-11-21"]
