"""The schedules, the landing-zone sensor and the freshness policies, evaluated with Dagster's test APIs."""

import datetime as dt
import os
from pathlib import Path
from zoneinfo import ZoneInfo

from dagster import (
    DagsterInstance,
    RunRequest,
    SensorResult,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
)

from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.definitions import defs
from alatau_pipeline.ops.freshness import DAILY_MART_FRESHNESS, MART_FRESHNESS
from alatau_pipeline.ops.schedules import daily_job_schedule
from alatau_pipeline.ops.sensors import landing_zone_sensor

ALMATY = ZoneInfo("Asia/Almaty")


def _drop(data_dir: Path, source: str, date: str, name: str, mtime: float) -> Path:
    path = data_dir / "landing" / source / f"date={date}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("declaration_id\n")
    # Explicit modification times: the sensor's cursor orders files by them.
    os.utime(path, (mtime, mtime))
    return path


def _evaluate(data_dir: Path, cursor: str | None) -> SensorResult | SkipReason:
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(
            instance=instance, cursor=cursor, resources={"lake": DataLake(data_dir=str(data_dir))}
        )
        result = landing_zone_sensor(context)
    return result


def test_daily_schedule_runs_yesterday_at_six_almaty() -> None:
    schedule = defs.get_repository_def().get_schedule_def("daily_job_schedule")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "Asia/Almaty"
    assert schedule.job_name == "daily_job"
    # 06:00 Almaty on the 25th is 01:00 UTC on the 25th: the partition is the 24th, Almaty's yesterday.
    for tick in (dt.datetime(2026, 11, 25, 6, tzinfo=ALMATY), dt.datetime(2026, 11, 25, 1, tzinfo=dt.UTC)):
        request = daily_job_schedule(build_schedule_context(scheduled_execution_time=tick))
        assert isinstance(request, RunRequest)
        assert request.partition_key == "2026-11-24"
        assert request.tags["alatau/trigger"] == "schedule"
    # Through the schedule's own evaluation path, which resolves the partition against the job.
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(
            instance=instance,
            scheduled_execution_time=dt.datetime(2026, 1, 1, 6, tzinfo=ALMATY),
            repository_def=defs.get_repository_def(),
        )
        data = schedule.evaluate_tick(context)
    assert [r.partition_key for r in data.run_requests] == ["2025-12-31"]


def test_comtrade_schedule_repulls_the_trailing_twelve_months_as_one_run() -> None:
    repo = defs.get_repository_def()
    schedule = repo.get_schedule_def("comtrade_monthly_schedule")
    assert schedule.job_name == "comtrade_job"
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 3 10 * *", "Asia/Almaty")
    with DagsterInstance.ephemeral() as instance:
        context = build_schedule_context(
            instance=instance,
            scheduled_execution_time=dt.datetime(2026, 11, 10, 3, tzinfo=ALMATY),
            repository_def=repo,
        )
        data = schedule.evaluate_tick(context)
    assert data.skip_message is None
    [request] = data.run_requests
    # Twelve complete months before November 2026, as one single-run backfill of the range.
    assert request.partition_key is None
    assert request.tags["dagster/asset_partition_range_start"] == "2025-11-01"
    assert request.tags["dagster/asset_partition_range_end"] == "2026-10-01"
    assert request.tags["alatau/source"] == "comtrade"  # one such run at a time (dagster.yaml)


def test_landing_sensor_baselines_then_runs_each_new_file_once(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _drop(data_dir, "customs_declarations", "2026-11-01", "declarations.csv.gz", 1_000)

    # First evaluation: existing files are history (backfills), not runs.
    first = _evaluate(data_dir, None)
    assert isinstance(first, SensorResult) and not first.run_requests
    cursor = first.cursor

    assert isinstance(_evaluate(data_dir, cursor), SkipReason)

    # Two sources drop files for the same day: one run of that partition; another day: its own run.
    _drop(data_dir, "customs_declarations", "2026-11-20", "declarations.csv.gz", 2_000)
    _drop(data_dir, "crossing_reports", "2026-11-20", "report.csv", 2_000)
    _drop(data_dir, "customs_declarations", "2026-11-19", "declarations.csv", 2_001)
    _drop(data_dir, "customs_declarations", "2026-11-19", "notes.txt", 2_002)  # not a landing file
    second = _evaluate(data_dir, cursor)
    assert isinstance(second, SensorResult)
    assert [r.partition_key for r in second.run_requests] == ["2026-11-19", "2026-11-20"]
    assert "customs_declarations/declarations.csv.gz" in second.run_requests[1].tags["alatau/landing_files"]
    assert isinstance(_evaluate(data_dir, second.cursor), SkipReason)

    # A late correction in an old folder, written in the same second as the last file seen: still new.
    _drop(data_dir, "customs_declarations", "2026-11-01", "corrections.csv", 2_001)
    third = _evaluate(data_dir, second.cursor)
    assert isinstance(third, SensorResult)
    assert [r.partition_key for r in third.run_requests] == ["2026-11-01"]
    run_keys = {r.run_key for r in [*second.run_requests, *third.run_requests]}
    assert len(run_keys) == 3
    assert isinstance(_evaluate(data_dir, third.cursor), SkipReason)


def test_landing_sensor_leaves_today_to_the_schedule(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _drop(data_dir, "customs_declarations", "2026-11-01", "a.csv", 1_000)
    cursor = _evaluate(data_dir, None).cursor
    today = dt.datetime.now(ALMATY).date()
    _drop(data_dir, "customs_declarations", today.isoformat(), "a.csv", 3_000)
    _drop(data_dir, "customs_declarations", (today - dt.timedelta(days=1)).isoformat(), "a.csv", 3_000)
    result = _evaluate(data_dir, cursor)
    assert isinstance(result, SensorResult)
    # Today is no partition yet (06:00 tomorrow runs it); yesterday is.
    assert [r.partition_key for r in result.run_requests] == [(today - dt.timedelta(days=1)).isoformat()]
    assert isinstance(_evaluate(data_dir, result.cursor), SkipReason)


def test_landing_sensor_on_an_empty_lake(tmp_path: Path) -> None:
    result = _evaluate(tmp_path / "nothing", None)
    assert isinstance(result, SensorResult) and not result.run_requests
    assert isinstance(_evaluate(tmp_path / "nothing", result.cursor), SkipReason)


def test_every_mart_in_the_code_location_declares_freshness() -> None:
    repo = defs.get_repository_def()
    specs = {
        key.to_user_string(): spec
        for assets_def in repo.assets_defs_by_key.values()
        for key, spec in assets_def.specs_by_key.items()
    }
    marts = {
        "customs_items", "customs_daily", "crossing_throughput_daily", "trade_flows_monthly",
        "mirror_trade_monthly", "throughput_forecast", "forecast_accuracy", "alatau_zone_outlook",
    }
    assert marts <= set(specs)
    assert set(MART_FRESHNESS) == marts
    for name in marts:
        assert specs[name].freshness_policy == MART_FRESHNESS[name], name
    assert specs["customs_daily"].freshness_policy == DAILY_MART_FRESHNESS
    assert DAILY_MART_FRESHNESS.deadline_cron == "0 8 * * *"
    assert DAILY_MART_FRESHNESS.timezone == "Asia/Almaty"
    # Staging is no mart: no promise made about it.
    assert specs["crossing_reports_staged"].freshness_policy is None
