"""The local instance's storage (ops/instance_storage.py) records a range run as Dagster's own SQLite does.

The same single-run backfill of the customs marts (with an asset check, so the planned batch mixes asset
and check events) runs on an instance made from the repository's ``dagster_home/dagster.yaml`` and on
one with Dagster's default SQLite storage; what each recorded, in the run's database and the cross-run
index, must be the same, and the batches must really have been written as batches.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

from dagster import AssetCheckResult, AssetKey, DagsterInstance, asset_check, materialize

from alatau_pipeline.customs.assets import CUSTOMS_ITEMS, customs_marts
from alatau_pipeline.ops.instance_storage import EVENT_BATCH_SIZE, BatchingSqliteEventLogStorage
from tests.conftest import range_tags, write_landing
from tests.customs.landing_set import HEADER, SOURCE, row

REPO_ROOT = Path(__file__).resolve().parents[2]
DAYS = ["2026-11-16", "2026-11-17", "2026-11-18", "2026-11-19", "2026-11-20"]


@asset_check(asset=CUSTOMS_ITEMS)
def items_written() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


def write_days(data_dir: Path, days: list[str] = DAYS) -> None:
    for day in days:
        ddmmyy = f"{day[8:10]}{day[5:7]}{day[2:4]}"
        rows = [
            row(f"000000{n}", declaration_id=f"55207/{ddmmyy}/000000{n}", registered_at=f"{day}T10:00:00+05:00")
            for n in range(1, 4)
        ]
        write_landing(data_dir, SOURCE, day, "a.csv", HEADER, rows)


def _instance(home: Path, *, project_config: bool) -> DagsterInstance:
    home.mkdir(parents=True)
    if project_config:
        shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    else:  # Dagster's default storage: no storage section
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return DagsterInstance.from_config(str(home))


def _range_run(instance: DagsterInstance, lake) -> str:
    result = materialize(
        [customs_marts, items_written],
        resources={"lake": lake},
        instance=instance,
        tags=range_tags(DAYS[0], DAYS[-1]),
    )
    assert result.success
    return result.run_id


def _recorded(instance: DagsterInstance, home: Path, run_id: str) -> dict[str, object]:
    """What the run left in the instance: its events in order, the index's rows, per-partition status."""
    index = sqlite3.connect(home / "history" / "runs" / "index.db")
    try:
        return {
            "run_events": [record.dagster_event.event_type_value for record in instance.all_logs(run_id)
                           if record.dagster_event],
            "index_events": Counter(dict(index.execute(
                "select dagster_event_type, count(*) from event_logs group by 1").fetchall())),
            "index_tags": index.execute("select key, count(*) from asset_event_tags group by 1").fetchall(),
            "asset_records": index.execute(
                "select asset_key, last_run_id = ?, last_materialization_timestamp is not null "
                "from asset_keys order by 1", (run_id,)).fetchall(),
            "check_executions": sorted(index.execute(
                "select asset_key, check_name, execution_status, count(*) from asset_check_executions "
                "group by 1, 2, 3").fetchall()),
            "materialized": {key: sorted(instance.get_materialized_partitions(AssetKey(key)))
                             for key in ("customs_items", "customs_daily")},
        }
    finally:
        index.close()


def test_range_run_is_recorded_as_dagster_records_it_with_batches_in_one_write(tmp_path, data_dir, lake, monkeypatch):
    write_days(data_dir)
    _unset_batch_size(monkeypatch)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "project"))  # dagster.yaml takes its folder from it

    with _instance(tmp_path / "project", project_config=True) as project:
        storage = project.event_log_storage
        assert type(storage) is BatchingSqliteEventLogStorage
        assert os.environ["DAGSTER_EVENT_BATCH_SIZE"] == EVENT_BATCH_SIZE  # batching is on in this process
        batches: list[list[str]] = []
        original = storage.store_event_batch

        def record_batch(events):
            batches.append([event.dagster_event_type.value for event in events])
            return original(events)

        monkeypatch.setattr(storage, "store_event_batch", record_batch)
        project_run = _range_run(project, lake)
        ours = _recorded(project, tmp_path / "project", project_run)

    with _instance(tmp_path / "default", project_config=False) as default:
        assert type(default.event_log_storage).__name__ == "SqliteEventLogStorage"
        default_run = _range_run(default, lake)
        theirs = _recorded(default, tmp_path / "default", default_run)

    assert ours == theirs
    assert ours["materialized"] == {"customs_items": DAYS, "customs_daily": DAYS}
    assert ours["index_events"]["ASSET_MATERIALIZATION"] == 2 * len(DAYS)
    # The planned events (two assets and the check over five days) and each asset's five materializations
    # reached the storage as batches.
    assert Counter(map(frozenset, batches)) == {
        frozenset({"ASSET_MATERIALIZATION_PLANNED", "ASSET_CHECK_EVALUATION_PLANNED"}): 1,
        frozenset({"ASSET_MATERIALIZATION"}): 2,
    }
    assert sorted(map(len, batches)) == [len(DAYS), len(DAYS), 2 * len(DAYS) + 1]


def test_a_failed_batch_write_is_stored_event_by_event_without_duplicates(tmp_path, data_dir, lake, monkeypatch):
    write_days(data_dir)
    _unset_batch_size(monkeypatch)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "project"))

    with _instance(tmp_path / "project", project_config=True) as project:
        storage = project.event_log_storage
        original = storage._store_asset_event_tags
        failures: list[int] = []

        def fail_first_batch(conn, events, event_ids):
            # The index write of the run's planned materializations fails, after their rows in the run's database.
            if len(events) > 1 and not failures:
                failures.append(len(events))
                raise RuntimeError("disk full")
            return original(conn, events, event_ids)

        monkeypatch.setattr(storage, "_store_asset_event_tags", fail_first_batch)
        project_run = _range_run(project, lake)
        ours = _recorded(project, tmp_path / "project", project_run)

    with _instance(tmp_path / "default", project_config=False) as default:
        theirs = _recorded(default, tmp_path / "default", _range_run(default, lake))

    assert failures == [2 * len(DAYS)]  # both assets' planned materializations
    assert ours == theirs  # every event stored once, in the same order


def _unset_batch_size(monkeypatch) -> None:
    # Set first, so that pytest restores the variable's absence after the test (the storage sets it).
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "unset")
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE")


def test_an_explicit_batch_size_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    with _instance(tmp_path / "home", project_config=True) as instance:
        assert type(instance.event_log_storage) is BatchingSqliteEventLogStorage
    assert os.environ["DAGSTER_EVENT_BATCH_SIZE"] == "0"
