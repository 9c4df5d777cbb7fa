"""Daily series to forecast, built from crossing_throughput_daily.

A series is (crossing_code, direction, metric). Days without a report and outage days (the crossing
reported zero: closed) are missing values, never zeros: a model fed the zeros would learn a traffic
collapse that is really an absence of information or a closure.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

METRICS = ("tonnes", "teu")
SERIES_KEY = ("crossing_code", "direction", "metric")


def long_history(throughput: pl.DataFrame) -> pl.DataFrame:
    """Mart rows → one row per series and day: ``y`` (null where unknown or closed) and ``observed``."""
    rows = throughput.with_columns(pl.col("date").cast(pl.Date))
    frames = []
    for metric in METRICS:
        frames.append(
            rows.select(
                "crossing_code",
                "direction",
                pl.lit(metric).alias("metric"),
                pl.col("date").alias("ds"),
                pl.when(pl.col("reported") & ~pl.col("outage")).then(pl.col(metric)).cast(pl.Float64).alias("y"),
            )
        )
    long = pl.concat(frames)
    # A metric a crossing never reports (TEU of a pipeline) is not a series.
    has_values = pl.col("y").is_not_null().any().over(SERIES_KEY)
    return long.filter(has_values).sort(*SERIES_KEY, "ds")


def history_until(long: pl.DataFrame, origin: dt.date) -> pl.DataFrame:
    """Every series' days from its first observed value up to and including ``origin``, gap-free.

    Missing days are filled for model fitting from the same weekday's neighbouring observations
    (forward, then backward within the weekday), which keeps the weekly shape; ``observed`` says
    which values are real, and only those are used to score backtests.
    """
    part = long.filter(pl.col("ds") <= origin)
    first = part.filter(pl.col("y").is_not_null()).group_by(SERIES_KEY).agg(pl.col("ds").min().alias("first"))
    if first.is_empty():
        return part.with_columns(pl.lit(False).alias("observed")).clear()
    grid = (
        first.with_columns(pl.date_ranges("first", pl.lit(origin), interval="1d").alias("ds"))
        .explode("ds")
        .drop("first")
    )
    filled = (
        grid.join(part, on=[*SERIES_KEY, "ds"], how="left")
        .with_columns(pl.col("y").is_not_null().alias("observed"), pl.col("ds").dt.weekday().alias("_wd"))
        .sort(*SERIES_KEY, "ds")
        .with_columns(pl.col("y").forward_fill().backward_fill().over([*SERIES_KEY, "_wd"]))
        .drop("_wd")
    )
    return filled
