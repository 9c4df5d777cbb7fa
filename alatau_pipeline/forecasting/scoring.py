"""Scoring forecasts against what was reported (forecast_accuracy) and the rolling monitors over it."""

from __future__ import annotations

import polars as pl

from alatau_pipeline.forecasting.series import SERIES_KEY

ACCURACY_SCHEMA: dict[str, pl.DataType] = {
    "origin": pl.Date(),
    "crossing_code": pl.String(),
    "direction": pl.String(),
    "metric": pl.String(),
    "horizon_days": pl.Int64(),
    "model": pl.String(),
    "reported": pl.Boolean(),
    "outage": pl.Boolean(),
    "actual": pl.Float64(),
    "yhat": pl.Float64(),
    "lo_80": pl.Float64(),
    "hi_80": pl.Float64(),
    "lo_95": pl.Float64(),
    "hi_95": pl.Float64(),
    "error": pl.Float64(),
    "abs_error": pl.Float64(),
    "ape": pl.Float64(),
    "in_80": pl.Boolean(),
    "in_95": pl.Boolean(),
    "naive_scale": pl.Float64(),
}

MONITOR_SCHEMA: dict[str, pl.DataType] = {
    "crossing_code": pl.String(),
    "direction": pl.String(),
    "metric": pl.String(),
    "scored": pl.Int64(),
    "mape": pl.Float64(),
    "mase": pl.Float64(),
    "bias": pl.Float64(),
    "coverage_80": pl.Float64(),
    "coverage_95": pl.Float64(),
}


def score(forecasts: pl.DataFrame, throughput: pl.DataFrame) -> pl.DataFrame:
    """One row per forecast whose target date is a day of ``throughput``, with the actual beside it.

    ``forecasts``: throughput_forecast rows with ``origin``. ``throughput``: crossing_throughput_daily rows
    with ``date``. The actual is the reported value; where no report came it is null and so are the
    errors (a missing report is not zero). Outage days are scored as reported (zero) but flagged.
    ``ape`` is null where the actual is 0 (undefined).
    """
    metrics = sorted(set(forecasts.get_column("metric").unique().to_list())) if forecasts.height else []
    actual_frames = [
        throughput.select(
            pl.col("date").cast(pl.Date), "crossing_code", "direction", pl.lit(m).alias("metric"),
            "reported", "outage", pl.col(m).cast(pl.Float64).alias("actual"),
        )
        for m in metrics
    ]
    if not actual_frames:
        return pl.DataFrame(schema={"date": pl.Date} | ACCURACY_SCHEMA)
    actuals = pl.concat(actual_frames)
    error = pl.col("actual") - pl.col("yhat")
    return (
        forecasts.with_columns(pl.col("target_date").cast(pl.Date).alias("date"), pl.col("origin").cast(pl.Date))
        .join(actuals, on=["date", *SERIES_KEY], how="inner")
        .with_columns(
            error.alias("error"),
            error.abs().alias("abs_error"),
            pl.when(pl.col("actual") > 0).then(error.abs() / pl.col("actual")).alias("ape"),
            pl.col("actual").is_between(pl.col("lo_80"), pl.col("hi_80")).alias("in_80"),
            pl.col("actual").is_between(pl.col("lo_95"), pl.col("hi_95")).alias("in_95"),
        )
        .select("date", *ACCURACY_SCHEMA)
        .cast(ACCURACY_SCHEMA)
        .sort("date", "origin", *SERIES_KEY)
    )


def rolling_monitors(accuracy: pl.DataFrame) -> pl.DataFrame:
    """Per series over the rows given (the caller picks the window): MAPE (%), MASE, relative bias
    (mean error / mean actual; positive = forecasts too low), and interval coverage.

    Only days with a report and no outage count: an outage is a closure, not a forecast miss.
    """
    scored = accuracy.filter(pl.col("actual").is_not_null() & ~pl.col("outage"))
    if scored.is_empty():
        return pl.DataFrame(schema=MONITOR_SCHEMA)
    return (
        scored.group_by(SERIES_KEY)
        .agg(
            pl.len().cast(pl.Int64).alias("scored"),
            (pl.col("ape").mean() * 100).alias("mape"),
            (pl.col("abs_error") / pl.col("naive_scale")).filter(pl.col("naive_scale") > 0).mean().alias("mase"),
            (pl.col("error").mean() / pl.col("actual").mean()).alias("bias"),
            pl.col("in_80").mean().alias("coverage_80"),
            pl.col("in_95").mean().alias("coverage_95"),
        )
        .select(*MONITOR_SCHEMA)
        .cast(MONITOR_SCHEMA)
        .sort(*SERIES_KEY)
    )
