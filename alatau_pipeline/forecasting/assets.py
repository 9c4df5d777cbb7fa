"""Forecasting assets: ``throughput_forecast`` (partition = origin), ``forecast_accuracy`` (partition =
target date scored) with the monitors as asset checks, and ``alatau_zone_outlook``.

Which partitions a run writes:
- ``throughput_forecast`` over one partition D writes origin D. Over a range it writes every origin of
  the range, each exactly as a run of that partition alone would (contracts section 2). Each origin costs
  a few seconds of model fitting, so a years-long range takes a while; the run config
  ``range_origin_step_days`` / ``range_max_origins`` allow a deliberately sparse backfill (the last origin
  and a few earlier ones), whose skipped origins keep what they had.
- ``forecast_accuracy`` writes every date of its range (dates with nothing to score get an empty file).
- ``alatau_zone_outlook`` writes every origin of its range that has a forecast.
"""

import datetime as dt

import polars as pl
import polars.selectors as cs
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetObservation,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from alatau_pipeline.core.metadata import preview_markdown, row_count, table_metadata
from alatau_pipeline.core.partitions import DAILY_PARTITIONS, SINGLE_RUN, partition_keys
from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.core.storage import MARTS_ZONE, REPORTS_ZONE, PartitionedParquetStore
from alatau_pipeline.crossings.assets import THROUGHPUT_MART, crossing_throughput_daily
from alatau_pipeline.forecasting import charts
from alatau_pipeline.forecasting.alerts import alert_webhook, post_alert
from alatau_pipeline.forecasting.config import AccuracyConfig, ForecastConfig, OutlookConfig
from alatau_pipeline.forecasting.models import forecast_origin
from alatau_pipeline.forecasting.outlook import zone_outlook
from alatau_pipeline.forecasting.scoring import rolling_monitors, score
from alatau_pipeline.forecasting.series import history_until, long_history
from alatau_pipeline.reference import crossings

FORECAST_MART = "throughput_forecast"
ACCURACY_MART = "forecast_accuracy"
OUTLOOK_MART = "alatau_zone_outlook"
CHARTS_DIR = (REPORTS_ZONE, "forecasts")
# Dagster records a range run's metadata once per partition of the range: inlined charts (~600 kB) over a
# two-year range would write ~0.5 GB to the event log. Longer runs attach them to one observation instead.
INLINE_CHARTS_MAX_PARTITIONS = 31

_COMMON = {
    "partitions_def": DAILY_PARTITIONS,
    "backfill_policy": SINGLE_RUN,
    "group_name": "forecasting",
    "kinds": {"polars", "parquet"},
}

DESCRIPTIONS = {
    "origin": "last actual date the forecast was made from",
    "target_date": "day forecast",
    "horizon_days": "target_date − origin, days",
    "metric": "tonnes or teu",
    "model": "model chosen for the series by rolling-origin backtest MASE",
    "yhat": "point forecast",
    "lo_80": "80 % interval, lower bound", "hi_80": "80 % interval, upper bound",
    "lo_95": "95 % interval, lower bound", "hi_95": "95 % interval, upper bound",
    "naive_scale": "in-sample MAE of the weekly seasonal-naive forecast (MASE denominator)",
    "backtest_mase": "backtest MASE of the chosen model", "baseline_mase": "backtest MASE of the baseline",
    "actual": "reported value (null where no report came)",
    "error": "actual − yhat", "abs_error": "|actual − yhat|", "ape": "|actual − yhat| / actual (null if 0)",
    "in_80": "actual inside the 80 % interval", "in_95": "actual inside the 95 % interval",
}


def origins_to_forecast(keys: list[str], config: ForecastConfig) -> list[str]:
    """The origins a run over ``keys`` forecasts: the last, then every ``range_origin_step_days`` back."""
    chosen = []
    last = dt.date.fromisoformat(keys[-1])
    present = set(keys)
    for i in range(config.range_max_origins or len(keys)):
        key = (last - dt.timedelta(days=i * config.range_origin_step_days)).isoformat()
        if key not in present:
            break
        chosen.append(key)
    return sorted(chosen)


def _scan(store: PartitionedParquetStore, dataset: str) -> pl.LazyFrame | None:
    if not store.exists(MARTS_ZONE, dataset):
        return None
    return pl.scan_parquet(store.glob_url(MARTS_ZONE, dataset), hive_partitioning=True)


def _throughput(store: PartitionedParquetStore, first: dt.date, last: dt.date) -> pl.DataFrame:
    scan = _scan(store, THROUGHPUT_MART)
    if scan is None:
        raise Failure(description=f"{THROUGHPUT_MART} has no partitions yet: materialize it first")
    return scan.with_columns(pl.col("date").cast(pl.Date)).filter(pl.col("date").is_between(first, last)).collect()


def _previous_forecast(store: PartitionedParquetStore, origin: dt.date, horizon: int) -> pl.DataFrame | None:
    """The most recent stored forecast before ``origin`` whose targets reach into the history up to it."""
    for days_back in range(1, horizon + 1):
        key = (origin - dt.timedelta(days=days_back)).isoformat()
        if store.has_partition(MARTS_ZONE, FORECAST_MART, "origin", key):
            rows = store.read_partition(MARTS_ZONE, FORECAST_MART, "origin", key)
            return rows.filter(pl.col("metric") == "tonnes").with_columns(pl.lit(key).alias("origin"))
    return None


def _latest_stored_origin(store: PartitionedParquetStore) -> str:
    folder = store.path(MARTS_ZONE, FORECAST_MART)
    names = [entry.rstrip("/").rsplit("/", 1)[-1] for entry in store.fs.ls(folder, detail=False)]
    return max((n.split("=", 1)[1] for n in names if n.startswith("origin=")), default="")


def _alert(context: AssetExecutionContext, asset_name: str, failed: list[AssetCheckResult]) -> None:
    """Post the failing monitors to ALATAU_ALERT_WEBHOOK (if set) and log the outcome."""
    if not failed or alert_webhook() is None:
        return
    payload = {
        "source": "alatau_pipeline",
        "asset": asset_name,
        "partition": context.partition_key_range.end if context.has_partition_key_range else None,
        "run_id": context.run.run_id,
        "failed_checks": [
            {"check": r.check_name, "severity": "WARN", "description": r.description,
             "series": (r.metadata.get("failing_series").value if "failing_series" in r.metadata else [])}
            for r in failed
        ],
    }
    delivered = post_alert(payload)
    (context.log.info if delivered else context.log.warning)(
        f"alert for {[r.check_name for r in failed]} {'posted' if delivered else 'NOT delivered'} to the webhook"
    )


@asset(
    **_COMMON,
    deps=[crossing_throughput_daily],
    check_specs=[
        AssetCheckSpec(
            "no_capacity_breach_forecast", asset=FORECAST_MART,
            description="WARN when a tonnes forecast of the latest origin exceeds the crossing's design capacity",
        )
    ],
    description=(
        "Daily forecasts per crossing, direction and metric (tonnes, TEU where reported), horizon_days ahead "
        "from the history up to and including the origin, with 80 % and 95 % intervals; model chosen per "
        "series by rolling-origin backtest MASE among a weekly seasonal-naive baseline and ETS models. A range "
        "run forecasts every origin of the range, as each partition alone would."
    ),
)
def throughput_forecast(context: AssetExecutionContext, config: ForecastConfig, lake: DataLake) -> MaterializeResult:
    store = lake.store
    keys = partition_keys(context)
    origins = origins_to_forecast(keys, config)
    last_origin = dt.date.fromisoformat(origins[-1])
    # A forecast from an origin whose day has not been built yet would silently forecast from older data.
    absent = [o for o in origins if not store.has_partition(MARTS_ZONE, THROUGHPUT_MART, "date", o)]
    if absent:
        raise Failure(description=f"{THROUGHPUT_MART} has no partition for origin(s) {absent}: materialize it first")
    needed_history = config.yearly_min_history_days + config.backtest_windows * config.horizon_days + 7
    first = dt.date.fromisoformat(origins[0]) - dt.timedelta(days=needed_history)
    # Actuals after the latest origin (when backfilling) appear on its charts.
    throughput = _throughput(store, first, last_origin + dt.timedelta(days=config.horizon_days))
    long = long_history(throughput)
    writes, latest, backtest = [], pl.DataFrame(), pl.DataFrame()
    for origin in origins:
        result = forecast_origin(history_until(long, dt.date.fromisoformat(origin)), config)
        latest = result.forecasts.with_columns(pl.lit(origin).alias("origin"))
        backtest = result.backtest
        writes += store.write_partitions(MARTS_ZONE, FORECAST_MART, "origin", latest, [origin])
        context.log.info(f"{FORECAST_MART}: origin {origin}, {latest.height} rows")

    # Charts of the run's latest origin, one per crossing; reports/forecasts/latest/ only ever shows the most
    # recent origin stored, so backfilling an old range does not replace the current charts there.
    chart_files, images = [], {}
    folders = [f"origin={origins[-1]}"] + (["latest"] if origins[-1] >= _latest_stored_origin(store) else [])
    previous = _previous_forecast(store, last_origin, config.horizon_days)
    for code in sorted(set(latest.get_column("crossing_code").to_list())):
        png = charts.crossing_chart(
            code, last_origin,
            throughput.filter(pl.col("crossing_code") == code),
            latest.filter((pl.col("crossing_code") == code) & (pl.col("metric") == "tonnes")),
            previous.filter(pl.col("crossing_code") == code) if previous is not None else None,
        )
        for folder in folders:
            chart_files.append(store.write_bytes(png, *CHARTS_DIR, folder, f"{code}.png"))
        images[code] = png

    capacity = crossings().select("crossing_code", "design_tonnes_per_day")
    breaches = (
        latest.filter(pl.col("metric") == "tonnes")
        .join(capacity, on="crossing_code")
        .filter(pl.col("yhat") > pl.col("design_tonnes_per_day"))
        .group_by("crossing_code", "direction")
        .agg(pl.col("target_date").min().alias("first_breach"), pl.col("yhat").max().alias("max_yhat"),
             pl.col("design_tonnes_per_day").first())
        .sort("crossing_code", "direction")
    ) if latest.height else pl.DataFrame()
    check = AssetCheckResult(
        check_name="no_capacity_breach_forecast",
        passed=breaches.is_empty(),
        severity=AssetCheckSeverity.WARN,
        description=f"{breaches.height} series forecast above design capacity (origin {origins[-1]})",
        metadata={
            "failing_series": MetadataValue.json(
                [f"{r['crossing_code']}|{r['direction']}" for r in breaches.iter_rows(named=True)]
            ),
            "breaches": MetadataValue.md(preview_markdown(breaches, rows=20) if breaches.height else "none"),
        },
    )
    if not check.passed:
        _alert(context, FORECAST_MART, [check])

    metadata = table_metadata(latest, writes, store.url(MARTS_ZONE, FORECAST_MART), DESCRIPTIONS)
    metadata.update({
        "origins_written": MetadataValue.json(origins),
        **row_count(sum(w.rows for w in writes), len(writes)),
        "models_chosen": MetadataValue.json(
            dict(latest.unique(["crossing_code", "direction", "metric"]).group_by("model").len().iter_rows())
            if latest.height else {}
        ),
        "charts": MetadataValue.path(store.url(*CHARTS_DIR, folders[0])),
    })
    heavy = {
        "backtest_mase": MetadataValue.md(preview_markdown(backtest.sort("series", "model"), rows=200)),
        "chart_images": MetadataValue.md(charts.markdown_images(images) if images else "no charts"),
    }
    if len(keys) <= INLINE_CHARTS_MAX_PARTITIONS:
        metadata.update(heavy)
    else:
        context.log_event(AssetObservation(asset_key=context.asset_key, partition=origins[-1], metadata=heavy))
        metadata["chart_images"] = MetadataValue.md(
            f"Range run of {len(keys)} partitions: the charts and backtest of origin {origins[-1]} are on that "
            f"partition's observation (asset Events) and under {store.url(*CHARTS_DIR, 'latest')}."
        )
    return MaterializeResult(metadata=metadata, check_results=[check])


@asset(
    **_COMMON,
    deps=[throughput_forecast, crossing_throughput_daily],
    check_specs=[
        AssetCheckSpec(
            "interval_coverage_80", asset=ACCURACY_MART,
            description="WARN when a series' rolling 28-day coverage of the 80 % interval leaves 0.65–0.95",
        ),
        AssetCheckSpec(
            "mase_at_most_1", asset=ACCURACY_MART,
            description="WARN when a series' rolling 28-day MASE rises above 1 (worse than the in-sample "
            "seasonal-naive error)",
        ),
    ],
    description=(
        "Every forecast whose target date is the partition's day, scored against what was reported: error, "
        "absolute percentage error, inside the 80 % / 95 % intervals. The rolling 28-day monitors (MAPE, "
        "MASE, bias, coverage per series) are shown here and checked."
    ),
)
def forecast_accuracy(context: AssetExecutionContext, config: AccuracyConfig, lake: DataLake) -> MaterializeResult:
    store = lake.store
    keys = partition_keys(context)
    first, last = dt.date.fromisoformat(keys[0]), dt.date.fromisoformat(keys[-1])
    forecasts_scan = _scan(store, FORECAST_MART)
    if forecasts_scan is None:
        forecasts = pl.DataFrame()
    else:
        forecasts = (
            forecasts_scan.with_columns(pl.col("origin").cast(pl.Date))
            .filter(
                pl.col("origin").is_between(first - dt.timedelta(days=config.lookback_days), last)
                & pl.col("target_date").is_between(first, last)
            )
            .collect()
        )
    scored = score(forecasts, _throughput(store, first, last) if forecasts.height else pl.DataFrame())
    writes = store.write_partitions(
        MARTS_ZONE, ACCURACY_MART, "date", scored.with_columns(pl.col("date").cast(pl.String)), keys
    )

    window_start = last - dt.timedelta(days=config.monitor_window_days - 1)
    window = (
        pl.scan_parquet(store.glob_url(MARTS_ZONE, ACCURACY_MART), hive_partitioning=True)
        .with_columns(pl.col("date").cast(pl.Date))
        .filter(pl.col("date").is_between(window_start, last))
        .collect()
    )
    monitors = rolling_monitors(window) if window.height else rolling_monitors(scored)
    judged = monitors.filter(pl.col("scored") >= config.min_scored)
    series = pl.concat_str("crossing_code", "direction", "metric", separator="|")
    coverage_off = judged.filter(~pl.col("coverage_80").is_between(0.65, 0.95)).select(series.alias("s"))["s"]
    mase_high = judged.filter(pl.col("mase") > 1).select(series.alias("s"))["s"]
    checks = [
        AssetCheckResult(
            check_name="interval_coverage_80", passed=coverage_off.is_empty(), severity=AssetCheckSeverity.WARN,
            description=f"{coverage_off.len()} of {judged.height} series outside 0.65–0.95 "
            f"({window_start} … {last})",
            metadata={"failing_series": MetadataValue.json(coverage_off.to_list()), "series_judged": judged.height},
        ),
        AssetCheckResult(
            check_name="mase_at_most_1", passed=mase_high.is_empty(), severity=AssetCheckSeverity.WARN,
            description=f"{mase_high.len()} of {judged.height} series with MASE > 1 ({window_start} … {last})",
            metadata={"failing_series": MetadataValue.json(mase_high.to_list()), "series_judged": judged.height},
        ),
    ]
    _alert(context, ACCURACY_MART, [c for c in checks if not c.passed])

    metadata = table_metadata(scored, writes, store.url(MARTS_ZONE, ACCURACY_MART), DESCRIPTIONS)
    metadata.update({
        "forecasts_scored": int(scored.get_column("actual").is_not_null().sum()) if scored.height else 0,
        "monitor_window": f"{window_start} … {last}",
        "monitors": MetadataValue.md(preview_markdown(monitors.with_columns(cs.float().round(3)),
                                                      rows=100)),
    })
    if judged.height:
        metadata.update({
            "median_mape_pct": float(judged["mape"].median()),
            "median_mase": float(judged["mase"].median()),
            "mean_coverage_80": float(judged["coverage_80"].mean()),
            "mean_coverage_95": float(judged["coverage_95"].mean()),
        })
    return MaterializeResult(metadata=metadata, check_results=checks)


@asset(
    **_COMMON,
    deps=[throughput_forecast],
    description=(
        "Monthly outlook of the Alatau logistics zone (no history of its own): the forecast tonnes of the "
        "feeder crossings (Altynkol rail and Nur Zholy road by default) × low / base / high capture shares, "
        "capped by the zone's planned capacity. Written for every origin of the run that has a forecast, "
        "as a run of that origin alone would write it."
    ),
)
def alatau_zone_outlook(context: AssetExecutionContext, config: OutlookConfig, lake: DataLake) -> MaterializeResult:
    store = lake.store
    keys = partition_keys(context)
    origins = [k for k in keys if store.has_partition(MARTS_ZONE, FORECAST_MART, "origin", k)]
    if not origins:
        context.log.warning("no forecast in the run's range: no outlook written")
        return MaterializeResult(metadata={"origin": "none"})
    forecasts = store.read_partitions(MARTS_ZONE, FORECAST_MART, "origin", origins)
    # Contracts section 2: a range run writes what each origin alone writes, not only its last origin.
    outlook = pl.concat(
        [
            zone_outlook(forecasts.filter(pl.col("origin") == key), config).with_columns(pl.lit(key).alias("origin"))
            for key in origins
        ]
    )
    writes = store.write_partitions(MARTS_ZONE, OUTLOOK_MART, "origin", outlook, origins)
    origin = origins[-1]
    outlook = outlook.filter(pl.col("origin") == origin).drop("origin")
    metadata = table_metadata(outlook, writes, store.url(MARTS_ZONE, OUTLOOK_MART))
    metadata.update({"origin": origin, "feeders": MetadataValue.json(config.feeders)})
    return MaterializeResult(metadata=metadata)
