"""Expectation suites of ``throughput_forecast`` and ``forecast_accuracy`` (contracts section 4) and of the
project's own ``alatau_zone_outlook``, validated as asset checks beside the domain's forecast monitors.

Picked up by ``alatau_pipeline.validation`` through ``SUITES``; declaring a suite costs no GX import.
"""

from __future__ import annotations

import polars as pl

from alatau_pipeline.core.partitions import DAILY_PARTITIONS
from alatau_pipeline.core.suites import (
    MartSuite,
    TrailingMonitor,
    at_least,
    at_most,
    between,
    equal,
    in_set,
    matches,
    non_negative,
    ordered,
)
from alatau_pipeline.crossings.contract import DIRECTIONS
from alatau_pipeline.forecasting.models import BASELINE, ETS, ETS_YEARLY, FORECAST_SCHEMA
from alatau_pipeline.forecasting.outlook import OUTLOOK_SCHEMA
from alatau_pipeline.forecasting.scoring import ACCURACY_SCHEMA
from alatau_pipeline.forecasting.series import SERIES_KEY
from alatau_pipeline.reference import crossing_codes

METRICS = ("tonnes", "teu")
MODELS = (BASELINE, ETS, ETS_YEARLY)
MAX_HORIZON = 92  # ForecastConfig.horizon_days is at most 92
INTERVAL = ("lo_95", "lo_80", "yhat", "hi_80", "hi_95")
# Every crossing × direction × metric, each with up to MAX_HORIZON target days (or origins scored).
MAX_ROWS = 2 * len(crossing_codes()) * len(METRICS) * MAX_HORIZON

_codes = [
    in_set("crossing_code", crossing_codes()),
    in_set("direction", DIRECTIONS),
    in_set("metric", METRICS),
    in_set("model", MODELS),
]

THROUGHPUT_FORECAST = MartSuite(
    mart="throughput_forecast",
    partitions_def=DAILY_PARTITIONS,
    partition_column="origin",
    schema=FORECAST_SCHEMA,
    grain=(*SERIES_KEY, "target_date"),
    # An interval from too few residuals is stored as null (unknown); the ordering is judged where known.
    required=frozenset({"horizon_days", "model"}),
    derived={"_horizon_from_dates": (pl.col("target_date") - pl.col("origin").str.to_date()).dt.total_days()},
    expectations=[
        *_codes,
        *non_negative(*INTERVAL, "naive_scale", "backtest_mase", "baseline_mase"),
        *at_least(1, "history_days"),
        *ordered(*INTERVAL),
        # Targets lie after the origin (the partition), horizon_days apart.
        between("horizon_days", 1, MAX_HORIZON, check="partition"),
        equal("horizon_days", "_horizon_from_dates"),
    ],
    rows_per_partition=(0, MAX_ROWS),
    # A sparse range run (run config range_origin_step_days) forecasts only some origins of its range.
    missing_partitions_ok=True,
    monitors=[
        TrailingMonitor(
            "forecast_level_vs_trailing_28d", pl.col("yhat").mean() + 1.0,
            "mean point forecast per series against its median over the trailing 28 origins",
            by=SERIES_KEY,
        ),
    ],
)

actual, yhat = pl.col("actual"), pl.col("yhat")

FORECAST_ACCURACY = MartSuite(
    mart="forecast_accuracy",
    partitions_def=DAILY_PARTITIONS,
    partition_column="date",
    schema=ACCURACY_SCHEMA,
    grain=("origin", *SERIES_KEY),
    # Where no report came the actual, and so every error, is unknown.
    required=frozenset({"horizon_days", "model", "reported", "outage"}),
    derived={
        "_horizon_from_dates": (pl.col("date").str.to_date() - pl.col("origin")).dt.total_days(),
        "_error_mismatch": (pl.col("error") - (actual - yhat)).abs()
        + (pl.col("abs_error") - (actual - yhat).abs()).abs(),
        "_in_80_of_values": actual.is_between(pl.col("lo_80"), pl.col("hi_80")),
        "_in_95_of_values": actual.is_between(pl.col("lo_95"), pl.col("hi_95")),
    },
    expectations=[
        *_codes,
        *non_negative("actual", *INTERVAL, "abs_error", "ape", "naive_scale"),
        *ordered(*INTERVAL),
        # The partition is the target date scored: origin + horizon_days.
        between("horizon_days", 1, MAX_HORIZON, check="partition"),
        equal("horizon_days", "_horizon_from_dates"),
        between("_error_mismatch", None, 1e-6, check="consistency"),
        equal("in_80", "_in_80_of_values", check="consistency"),
        equal("in_95", "_in_95_of_values", check="consistency"),
    ],
    rows_per_partition=(0, MAX_ROWS),
    # No trailing monitors of its own: how many forecasts a day scores depends on which origins a backfill
    # wrote, and one day's errors are noisy; the domain's rolling 28-day coverage and MASE checks
    # (interval_coverage_80, mase_at_most_1) are this mart's statistical monitors.
)

ZONE_OUTLOOK = MartSuite(
    mart="alatau_zone_outlook",
    partitions_def=DAILY_PARTITIONS,
    partition_column="origin",
    schema=OUTLOOK_SCHEMA,
    grain=("month", "scenario"),
    derived={
        "_month_days": (pl.col("month") + "-01").str.to_date("%Y-%m-%d", strict=False).dt.month_end().dt.day(),
        "_capped_of_values": pl.col("zone_tonnes_uncapped") > pl.col("zone_capacity_tonnes"),
    },
    expectations=[
        matches("month", r"\d{4}-(0[1-9]|1[0-2])"),
        # Scenario names and shares are OutlookConfig's to choose; a share is a share.
        between("capture_share", 0, 1),
        between("days_covered", 1, 31),
        at_most("days_covered", "_month_days"),
        *non_negative("feeder_tonnes", "zone_tonnes_uncapped", "zone_capacity_tonnes", "zone_tonnes"),
        # Capped by the zone's capacity: never above it, nor above the uncapped figure.
        at_most("zone_tonnes", "zone_capacity_tonnes"),
        at_most("zone_tonnes", "zone_tonnes_uncapped"),
        equal("capped", "_capped_of_values", check="consistency"),
    ],
    # Written only for origins that have a forecast (sparse backfills skip some).
    missing_partitions_ok=True,
)

SUITES = (THROUGHPUT_FORECAST, FORECAST_ACCURACY, ZONE_OUTLOOK)
