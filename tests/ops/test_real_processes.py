"""The operational paths through the real processes: backfills launched through the webserver's GraphQL
API (as the UI launches them) and run by the daemon, cancelled and finished again, and the landing-zone
sensor ticking in the daemon.

One webserver + daemon pair serves the whole module. The backfill daemon works in 30-second iterations,
so each backfill takes up to a minute here; that is the price of testing the real path.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetMaterialization, DagsterInstance

from alatau_pipeline.comtrade.assets import COMTRADE_POOL
from alatau_pipeline.demo import customs as demo_customs
from alatau_pipeline.demo.seed import csv_bytes, seed_demo
from tests.ops.backfills import (
    BACKFILL_TIMEOUT,
    cancel_backfill,
    get_backfill,
    launch_backfill,
    run_tags,
    wait_backfill_done,
    wait_cancelled,
)
from tests.ops.processes import (
    LOCATION,
    REPOSITORY,
    DagsterProcesses,
    dagster_processes,
    open_instance,
    wait_for,
    write_instance_yaml,
)

SOURCE = "customs_declarations"
CUSTOMS_ASSETS = ("customs_items", "customs_daily")
FIRST_DAY = dt.date(2025, 3, 1)
BACKFILL_DAYS = [(FIRST_DAY + dt.timedelta(days=i)).isoformat() for i in range(30)]  # 03-01 … 03-30
FAULT_RANGE = [(dt.date(2025, 3, 31) + dt.timedelta(days=i)).isoformat() for i in range(5)]  # 03-31 … 04-04
BROKEN_DAY = "2025-04-02"
SENSOR_DAY = "2025-03-15"
COMTRADE_ASSETS = ("comtrade_raw", "trade_flows_monthly")
COMTRADE_MONTHS = ["2025-01-01", "2025-02-01", "2025-03-01"]
# A run id that holds the comtrade pool's one slot, so the Comtrade backfill's run waits in the queue until
# the test has cancelled it, however fast the machine: a state to cancel from that does not depend on
# timing. (Cancelling a running run: tests/ops/test_cancel_running_backfill.py.)
POOL_HOLDER = ("held-by-test", "hold")
# A mart nothing in this module materializes, recorded as last materialized this long ago: stale under its
# freshness policy (due by noon on the 10th of each month) whatever the day the test runs.
STALE_MART = "mirror_trade_monthly"
STALE_AGE = dt.timedelta(days=60)
REEXECUTE_BACKFILL = """
mutation Reexecute($params: ReexecutionParams!) {
  reexecutePartitionBackfill(reexecutionParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on Error { message }
  }
}"""

SENSOR_TICKS = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status ticks(limit: 20) { id status runIds timestamp skipReason } } }
    ... on PythonError { message }
  }
}"""

FRESHNESS = """
query Freshness($keys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $keys) {
    assetKey { path }
    internalFreshnessPolicy { __typename ... on CronFreshnessPolicy { deadlineCron timezone lowerBoundDeltaSeconds } }
    freshnessStatusInfo { freshnessStatus }
  }
}"""

RUNS_BY_TAG = """
query Runs($key: String!, $value: String!) {
  runsOrError(filter: {tags: [{key: $key, value: $value}]}) {
    ... on Runs { results { id status tags { key value } } }
  }
}"""


@pytest.fixture(scope="module")
def dagster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DagsterProcesses]:
    root = tmp_path_factory.mktemp("ops_processes")
    home, data_dir = root / "dagster_home", root / "data"
    write_instance_yaml(home)
    seed_demo(str(data_dir), FIRST_DAY, dt.date(2025, 4, 4), sources=[SOURCE])
    # A file that customs' export broke: not gzip although it says so. Present before the daemon starts,
    # so the sensor's baseline counts it as history.
    _landing(data_dir, BROKEN_DAY, "declarations.csv.gz").write_bytes(b"this is not gzip\n")
    # The sensor ticks every second here (minimum interval); in production once a minute.
    # and the freshness daemon evaluates every 5 s (30 s by default).
    env = {"ALATAU_LANDING_SENSOR_INTERVAL_SECONDS": "1", "FRESHNESS_DAEMON_INTERVAL_SECONDS": "5"}
    with dagster_processes(home, data_dir, env=env) as processes:
        yield processes


@dataclass
class Scenario:
    baseline_ticks: list[dict]
    backfills: dict[str, str]


@pytest.fixture(scope="module")
def scenario(dagster: DagsterProcesses) -> Scenario:
    """Everything the daemon has to do, started at once (the tests then wait for each outcome): the
    backfill daemon works in 30-second iterations, so waiting for one thing after another would cost
    minutes. First the sensor's baseline tick, then a late correction dropped into the landing zone, an
    old materialization of a mart recorded and the comtrade pool's slot held, then three backfills
    launched through the webserver, and the Comtrade one cancelled while its run waits in the queue."""
    wait_for("the sensor's baseline tick", lambda: _sensor_ticks(dagster) or None, timeout=60)
    baseline = _sensor_ticks(dagster)
    # A late correction arrives for a day long past.
    corrections = demo_customs.generate_day(dt.date.fromisoformat(SENSOR_DAY), 7).files
    name, rows = next(iter(corrections.items()))
    _landing(dagster.data_dir, SENSOR_DAY, f"late_{name}").write_bytes(csv_bytes(name, rows))
    with open_instance(dagster.home) as instance:
        _record_old_materialization(instance, STALE_MART, STALE_AGE)
        storage = instance.event_log_storage
        storage.initialize_concurrency_limit_to_default(COMTRADE_POOL)
        assert storage.claim_concurrency_slot(COMTRADE_POOL, *POOL_HOLDER).is_claimed
    backfills = {
        "clean": launch_backfill(dagster, BACKFILL_DAYS, CUSTOMS_ASSETS),
        "faulty": launch_backfill(dagster, FAULT_RANGE, CUSTOMS_ASSETS),
        "cancelled": launch_backfill(dagster, COMTRADE_MONTHS, COMTRADE_ASSETS),
    }
    # The user cancels the Comtrade backfill once its run exists; the run waits in the queue meanwhile
    # (the comtrade pool's slot is held). Cancelled here, so the daemon's iterations that finish the
    # cancellation overlap with the other backfills.
    def queued_run() -> dict | None:
        runs = get_backfill(dagster, backfills["cancelled"])["runs"]
        # A run is NOT_STARTED for a moment, until the daemon has put it in the queue.
        assert not runs or runs[0]["status"] in {"NOT_STARTED", "QUEUED"}, runs
        return runs[0] if runs and runs[0]["status"] == "QUEUED" else None

    wait_for("the Comtrade backfill's run in the queue", queued_run, timeout=BACKFILL_TIMEOUT, interval=1)
    cancel_backfill(dagster, backfills["cancelled"])
    return Scenario(baseline_ticks=baseline, backfills=backfills)


def _record_old_materialization(instance: DagsterInstance, asset: str, age: dt.timedelta) -> None:
    """A materialization of ``asset`` recorded as if it had happened ``age`` ago (outside any run): what the
    event log holds for a mart whose runs stopped that long ago."""
    from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
    from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID

    event = DagsterEvent(
        event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
        job_name=RUNLESS_JOB_NAME,
        event_specific_data=StepMaterializationData(AssetMaterialization(asset_key=asset)),
    )
    when = dt.datetime.now(dt.UTC) - age
    instance.report_dagster_event(event, run_id=RUNLESS_RUN_ID, timestamp=when.timestamp())


def _sensor_ticks(dagster: DagsterProcesses) -> list[dict]:
    selector = {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "sensorName": "landing_zone_sensor"}
    result = dagster.graphql(SENSOR_TICKS, selector=selector)["sensorOrError"]
    assert result["__typename"] == "Sensor", result
    assert result["sensorState"]["status"] == "RUNNING"  # on by default: nobody has to switch it on
    return result["sensorState"]["ticks"]


def _landing(data_dir: Path, day: str, name: str) -> Path:
    return data_dir / "landing" / SOURCE / f"date={day}" / name


def _mart_days(data_dir: Path, mart: str, column: str = "date") -> set[str]:
    return {
        p.parent.name.removeprefix(f"{column}=") for p in (data_dir / "marts" / mart).glob(f"{column}=*/part-0.parquet")
    }


def _reexecute_from_failure(dagster: DagsterProcesses, backfill_id: str) -> dict:
    """"Re-execute → From failure" on a finished backfill, as its page in the UI offers it; waits for the
    new backfill's one run to succeed (the daemon marks the backfill complete an iteration later)."""
    result = dagster.graphql(REEXECUTE_BACKFILL, params={"parentRunId": backfill_id, "strategy": "FROM_FAILURE"})
    result = result["reexecutePartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    rerun_id = result["backfillId"]

    def rerun_succeeded() -> dict | None:
        runs = get_backfill(dagster, rerun_id)["runs"]
        if any(r["status"] in {"FAILURE", "CANCELED"} for r in runs):
            raise AssertionError(f"re-execution failed: {runs}\n{dagster.log_tail()}")
        return get_backfill(dagster, rerun_id) if runs and runs[0]["status"] == "SUCCESS" else None

    return wait_for(f"re-execution backfill {rerun_id}", rerun_succeeded, timeout=BACKFILL_TIMEOUT, interval=1)


def test_landing_sensor_in_the_daemon_runs_a_dropped_file_once(dagster: DagsterProcesses, scenario: Scenario) -> None:
    # The first tick recorded what was already there (the seeded month) as history: no runs.
    assert scenario.baseline_ticks and not any(t["runIds"] for t in scenario.baseline_ticks)

    def ticks() -> list[dict]:
        return _sensor_ticks(dagster)

    def sensor_run() -> dict | None:
        runs = dagster.graphql(RUNS_BY_TAG, key="alatau/trigger", value="landing_sensor")["runsOrError"]["results"]
        assert len(runs) <= 1, runs
        if runs and runs[0]["status"] in {"FAILURE", "CANCELED"}:
            raise AssertionError(f"sensor run failed: {runs[0]}\n{dagster.log_tail()}")
        return runs[0] if runs and runs[0]["status"] == "SUCCESS" else None

    run = wait_for("the sensor's run", sensor_run, timeout=120, interval=1)
    assert run_tags(run)["dagster/partition"] == SENSOR_DAY
    assert SENSOR_DAY in _mart_days(dagster.data_dir, "customs_daily")

    # Once per file: later ticks see nothing new and request nothing more.
    requested_at = max(t["timestamp"] for t in ticks() if t["runIds"])
    wait_for(
        "a later sensor tick",
        lambda: any(t["timestamp"] > requested_at and t["status"] == "SKIPPED" for t in ticks()),
        timeout=60,
    )
    assert sum(len(t["runIds"]) for t in ticks()) == 1


def test_backfill_of_30_days_from_the_ui_is_one_run(dagster: DagsterProcesses, scenario: Scenario) -> None:
    backfill = wait_backfill_done(dagster, scenario.backfills["clean"])
    assert backfill["status"] in {"COMPLETED", "COMPLETED_SUCCESS"}, backfill
    assert backfill["numPartitions"] == 30
    # One run for the 30 partitions (single-run backfill policy), covering the whole range.
    assert len(backfill["runs"]) == 1, backfill["runs"]
    run = backfill["runs"][0]
    assert run["status"] == "SUCCESS"
    tags = run_tags(run)
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        BACKFILL_DAYS[0],
        BACKFILL_DAYS[-1],
    )
    for mart in ("customs_items", "customs_daily"):
        assert set(BACKFILL_DAYS) <= _mart_days(dagster.data_dir, mart), mart
    daily = pl.scan_parquet(str(dagster.data_dir / "marts/customs_daily/**/*.parquet"), hive_partitioning=True)
    per_day = daily.group_by("date").agg(pl.col("stat_value_usd").sum()).collect()
    assert per_day.filter(pl.col("date").cast(pl.String).is_in(BACKFILL_DAYS)).height == 30
    assert per_day["stat_value_usd"].min() > 0

    # The marts' freshness, as the UI shows it: the policy, and the daemon's verdict on the fresh mart.
    def freshness() -> dict | None:
        nodes = dagster.graphql(FRESHNESS, keys=[{"path": ["customs_daily"]}, {"path": ["customs_items"]}])
        nodes = nodes["assetNodes"]
        statuses = [(n["freshnessStatusInfo"] or {}).get("freshnessStatus") for n in nodes]
        return nodes if statuses and all(status == "HEALTHY" for status in statuses) else None

    nodes = wait_for("the freshness daemon's verdict", freshness, timeout=60, interval=1)
    assert len(nodes) == 2
    for node in nodes:
        assert node["internalFreshnessPolicy"] == {
            "__typename": "CronFreshnessPolicy",
            "deadlineCron": "0 8 * * *",
            "timezone": "Asia/Almaty",
            "lowerBoundDeltaSeconds": 7200,
        }


def test_a_stale_mart_shows_as_failing_its_freshness_policy(dagster: DagsterProcesses, scenario: Scenario) -> None:
    # Its last materialization (recorded by the scenario) is 60 days old: the daemon judges the mart stale,
    # and the UI's asset health shows its freshness as degraded.
    def stale() -> dict | None:
        [node] = dagster.graphql(FRESHNESS, keys=[{"path": [STALE_MART]}])["assetNodes"]
        status = (node["freshnessStatusInfo"] or {}).get("freshnessStatus")
        return node if status == "DEGRADED" else None

    node = wait_for(f"the freshness daemon's verdict on {STALE_MART}", stale, timeout=60, interval=1)
    assert node["internalFreshnessPolicy"] == {
        "__typename": "CronFreshnessPolicy",
        "deadlineCron": "0 12 10 * *",
        "timezone": "Asia/Almaty",
        "lowerBoundDeltaSeconds": 9 * 3600,
    }


def test_failed_range_is_rerun_alone_once_the_file_is_fixed(dagster: DagsterProcesses, scenario: Scenario) -> None:
    backfill_id = scenario.backfills["faulty"]
    backfill = wait_backfill_done(dagster, backfill_id)
    assert backfill["status"] in {"FAILED", "COMPLETED_FAILED"}, backfill
    assert [r["status"] for r in backfill["runs"]] == ["FAILURE"]
    # The broken day did not reach the marts; the rest of its range did.
    assert set(FAULT_RANGE) & _mart_days(dagster.data_dir, "customs_daily") == set(FAULT_RANGE) - {BROKEN_DAY}

    # Customs re-delivers the broken file. It keeps the drop's modification time so that this test sees
    # the backfill's re-execution alone (the sensor, tested above, would run a newer file by itself).
    broken = _landing(dagster.data_dir, BROKEN_DAY, "declarations.csv.gz")
    dropped = broken.stat()
    good = demo_customs.generate_day(dt.date.fromisoformat(BROKEN_DAY), 20261125).files["declarations.csv.gz"]
    broken.write_bytes(csv_bytes("declarations.csv.gz", good))
    os.utime(broken, (dropped.st_atime, dropped.st_mtime))

    rerun = _reexecute_from_failure(dagster, backfill_id)
    assert len(rerun["runs"]) == 1
    tags = run_tags(rerun["runs"][0])
    # Only the failed range, not the 30 days backfilled before it: its good days were written but not
    # validated, so they are recomputed and checked with the day that failed.
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        FAULT_RANGE[0],
        FAULT_RANGE[-1],
    )
    assert rerun["numPartitions"] == len(FAULT_RANGE)
    assert set(FAULT_RANGE) <= _mart_days(dagster.data_dir, "customs_daily")


def test_cancelled_backfill_is_finished_by_reexecuting_from_failure(
    dagster: DagsterProcesses, scenario: Scenario
) -> None:
    # The user cancelled it (the scenario) while its one run was waiting in the queue.
    backfill_id = scenario.backfills["cancelled"]
    backfill = wait_cancelled(dagster, backfill_id)
    assert backfill["status"] == "CANCELED", backfill
    assert [r["status"] for r in backfill["runs"]] == ["CANCELED"]
    assert not _mart_days(dagster.data_dir, "trade_flows_monthly", "period")

    # Later, with the pool free again, "Re-execute → From failure" runs what the cancelled backfill did not
    # materialize: here all of it, as one run. ("Resume" is not the way: Dagster 1.13 ends a resumed
    # cancelled asset backfill as failed without a new run; README "Backfills from the UI".)
    with open_instance(dagster.home) as instance:
        instance.event_log_storage.free_concurrency_slot_for_step(*POOL_HOLDER)
    rerun = _reexecute_from_failure(dagster, backfill_id)
    assert len(rerun["runs"]) == 1
    tags = run_tags(rerun["runs"][0])
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        COMTRADE_MONTHS[0],
        COMTRADE_MONTHS[-1],
    )
    assert _mart_days(dagster.data_dir, "trade_flows_monthly", "period") == {m[:7] for m in COMTRADE_MONTHS}
