"""Run the pipeline's jobs over the demo range as real Dagster runs, and summarize what they wrote."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from alatau_pipeline.comtrade.revisions import demo_month_range
from alatau_pipeline.core.storage import MARTS_ZONE, QUARANTINE_ZONE, REPORTS_ZONE, PartitionedParquetStore

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"

# Forecasts are made from each of the demo's last days only: every origin costs a few model fits, and a
# range run forecasts every origin of its range exactly as a run of that partition alone would.
DEMO_FORECAST_ORIGINS = 28


@dataclass(frozen=True)
class DemoRun:
    """One single run of a job over a partition range, optionally limited to some asset groups."""

    job: str
    keys_for: Callable[[dt.date, dt.date], tuple[str, str]]
    groups: tuple[str, ...] | None = None  # None: the job's whole selection
    skip_groups: tuple[str, ...] = ()


def _last_days(start: dt.date, end: dt.date) -> tuple[str, str]:
    first = max(start, end - dt.timedelta(days=DEMO_FORECAST_ORIGINS - 1))
    return first.isoformat(), end.isoformat()


# In the order the demo runs them.
DEMO_JOBS: tuple[DemoRun, ...] = (
    DemoRun("daily_job", lambda start, end: (start.isoformat(), end.isoformat()), skip_groups=("forecasting",)),
    DemoRun("daily_job", _last_days, groups=("forecasting",)),
    # Whole months from the start's month to the last complete one (demo_month_range explains).
    DemoRun("comtrade_job", lambda start, end: demo_month_range(start, end)),
)

# Progress lines (INFO) reach the terminal; Dagster's per-event DEBUG lines stay in the run's log in the UI.
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}

MARTS = (
    "customs_items",
    "customs_daily",
    "crossing_throughput_daily",
    "throughput_forecast",
    "forecast_accuracy",
    "alatau_zone_outlook",
    "trade_flows_monthly",
    "mirror_trade_monthly",
)


def run_demo_jobs(data_dir: str, start: dt.date, end: dt.date, say: Callable[[str], None]) -> bool:
    """Execute each demo job once over its whole range (a single-run backfill), recorded in the instance."""
    os.environ["ALATAU_DATA_DIR"] = data_dir
    from dagster import AssetSelection, DagsterInstance

    from alatau_pipeline.definitions import defs

    instance = DagsterInstance.get()
    graph = defs.resolve_asset_graph()
    ok = True
    for demo_run in DEMO_JOBS:
        first, last = demo_run.keys_for(start, end)
        job = defs.resolve_job_def(demo_run.job)
        selection = None
        what = demo_run.job
        if demo_run.groups or demo_run.skip_groups:
            chosen = AssetSelection.assets(*job.asset_layer.executable_asset_keys)
            if demo_run.groups:
                chosen = chosen & AssetSelection.groups(*demo_run.groups)
            chosen = chosen - AssetSelection.groups(*demo_run.skip_groups)
            selection = sorted(chosen.resolve(graph))
            only = f"only {', '.join(demo_run.groups)}" if demo_run.groups else ""
            skip = f"without {', '.join(demo_run.skip_groups)}" if demo_run.skip_groups else ""
            what += f" ({'; '.join(p for p in (only, skip) if p)})"
        say(f"running {what} over {first} … {last} as one run")
        began = time.monotonic()
        result = job.execute_in_process(
            run_config=QUIET_LOGS,
            instance=instance,
            asset_selection=selection,
            tags={RANGE_START_TAG: first, RANGE_END_TAG: last, "alatau/trigger": "demo"},
            raise_on_error=False,
        )
        status = "succeeded" if result.success else "FAILED"
        say(f"{demo_run.job} {status} in {time.monotonic() - began:.0f} s (run {result.run_id})")
        ok &= result.success
    return ok


def summarize(data_dir: str, say: Callable[[str], None]) -> None:
    store = PartitionedParquetStore(data_dir)
    say("marts (read them with polars.scan_parquet(<path>/**/*.parquet, hive_partitioning=True)):")
    for mart in MARTS:
        if not store.exists(MARTS_ZONE, mart):
            continue
        frame = pl.scan_parquet(store.glob_url(MARTS_ZONE, mart), hive_partitioning=True)
        rows = frame.select(pl.len()).collect().item()
        say(f"  {mart:<28} {rows:>12,} rows   {store.url(MARTS_ZONE, mart)}")
    if store.exists(QUARANTINE_ZONE):
        for source in sorted(os.listdir(store.path(QUARANTINE_ZONE))) if store.is_local else []:
            rows = pl.scan_parquet(store.glob_url(QUARANTINE_ZONE, source)).select(pl.len()).collect().item()
            say(f"  quarantine/{source:<17} {rows:>12,} rows   {store.url('quarantine', source)}")
    say("open the Dagster UI on the same instance: DAGSTER_HOME=$PWD/dagster_home uv run dagster dev -h 127.0.0.1")
    if store.exists(REPORTS_ZONE, "forecasts", "latest"):
        # Forecast charts (one PNG per crossing, latest origin); also inlined in throughput_forecast's metadata.
        say(f"forecast charts: {store.url('reports', 'forecasts', 'latest')}/<CROSSING>.png")
