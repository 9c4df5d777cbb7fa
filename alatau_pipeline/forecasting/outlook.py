"""The Alatau logistics zone's monthly outlook. The zone has no history of its own: its flows are the
forecast tonnes of the crossings that feed it times a capture share per scenario, capped by its planned
capacity."""

from __future__ import annotations

import polars as pl

from alatau_pipeline.forecasting.config import OutlookConfig

OUTLOOK_SCHEMA: dict[str, pl.DataType] = {
    "month": pl.String(),
    "scenario": pl.String(),
    "capture_share": pl.Float64(),
    "days_covered": pl.Int64(),
    "feeder_tonnes": pl.Float64(),
    "zone_tonnes_uncapped": pl.Float64(),
    "zone_capacity_tonnes": pl.Float64(),
    "zone_tonnes": pl.Float64(),
    "capped": pl.Boolean(),
}


def zone_outlook(forecasts: pl.DataFrame, config: OutlookConfig) -> pl.DataFrame:
    """Monthly zone tonnes per scenario from one origin's forecasts (both directions of every feeder).

    A month is only as complete as the horizon: ``days_covered`` says how many of its days are forecast,
    and the capacity cap is the planned daily capacity times those days.
    """
    feeders = forecasts.filter(pl.col("crossing_code").is_in(config.feeders) & (pl.col("metric") == "tonnes"))
    daily = feeders.group_by("target_date").agg(pl.col("yhat").sum().alias("feeder_tonnes"))
    monthly = daily.group_by(pl.col("target_date").dt.strftime("%Y-%m").alias("month")).agg(
        pl.len().cast(pl.Int64).alias("days_covered"), pl.col("feeder_tonnes").sum()
    )
    scenarios = pl.DataFrame(
        {"scenario": list(config.capture_shares), "capture_share": list(config.capture_shares.values())}
    )
    uncapped = pl.col("feeder_tonnes") * pl.col("capture_share")
    capacity = pl.col("days_covered") * config.planned_capacity_tonnes_per_day
    return (
        monthly.join(scenarios, how="cross")
        .with_columns(uncapped.alias("zone_tonnes_uncapped"), capacity.alias("zone_capacity_tonnes"))
        .with_columns(
            pl.min_horizontal("zone_tonnes_uncapped", "zone_capacity_tonnes").alias("zone_tonnes"),
            (pl.col("zone_tonnes_uncapped") > pl.col("zone_capacity_tonnes")).alias("capped"),
        )
        .select(*OUTLOOK_SCHEMA)
        .cast(OUTLOOK_SCHEMA)
        .sort("month", "capture_share")
    )
