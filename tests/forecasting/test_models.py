"""Forecast models on known series with known answers (short series: statsforecast fits fast)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from alatau_pipeline.forecasting.config import ForecastConfig
from alatau_pipeline.forecasting.models import BASELINE, ETS, ETS_YEARLY, candidates, forecast_origin
from alatau_pipeline.forecasting.series import history_until, long_history

START = dt.date(2025, 1, 6)  # a Monday
PATTERN = np.array([100.0, 120.0, 130.0, 125.0, 110.0, 60.0, 40.0])
CONFIG = ForecastConfig(horizon_days=28, backtest_windows=2)


def series(code: str, values: list[float | None], start: dt.date = START) -> pl.DataFrame:
    return pl.DataFrame({
        "crossing_code": code, "direction": "CN_TO_KZ", "metric": "tonnes",
        "ds": [start + dt.timedelta(days=i) for i in range(len(values))], "y": values,
    }, schema_overrides={"y": pl.Float64})


def last_day(frame: pl.DataFrame) -> dt.date:
    return frame["ds"].max()


def test_pure_weekly_pattern_is_forecast_exactly() -> None:
    values = [float(PATTERN[i % 7]) for i in range(140)]
    history = history_until(series("A", values), START + dt.timedelta(days=139))
    forecasts = forecast_origin(history, CONFIG).forecasts
    expected = [PATTERN[(140 + i) % 7] for i in range(28)]
    assert np.allclose(forecasts["yhat"].to_numpy(), expected, atol=1e-6)
    assert forecasts["target_date"].min() == START + dt.timedelta(days=140)


def test_weekly_pattern_with_tiny_noise_is_forecast_almost_exactly() -> None:
    rng = np.random.default_rng(3)
    values = [float(PATTERN[i % 7] + rng.normal(0, 0.01)) for i in range(140)]
    forecasts = forecast_origin(history_until(series("A", values), START + dt.timedelta(days=139)), CONFIG).forecasts
    expected = np.array([PATTERN[(140 + i) % 7] for i in range(28)])
    assert np.max(np.abs(forecasts["yhat"].to_numpy() - expected)) < 0.1


def test_intervals_cover_at_about_their_nominal_rate() -> None:
    """20 series of a weekly pattern plus Gaussian noise: 560 future days scored against the intervals."""
    frames, futures = [], []
    for s in range(20):
        rng = np.random.default_rng(100 + s)
        values = [float(PATTERN[i % 7] + rng.normal(0, 10)) for i in range(168)]
        frames.append(series(f"S{s}", values[:140]))
        futures.append(series(f"S{s}", values[140:], START + dt.timedelta(days=140)))
    result = forecast_origin(history_until(pl.concat(frames), START + dt.timedelta(days=139)), CONFIG)
    joined = result.forecasts.join(
        pl.concat(futures).rename({"ds": "target_date"}), on=["crossing_code", "direction", "metric", "target_date"]
    )
    assert joined.height == 560
    coverage = joined.select(
        pl.col("y").is_between(pl.col("lo_80"), pl.col("hi_80")).mean().alias("c80"),
        pl.col("y").is_between(pl.col("lo_95"), pl.col("hi_95")).mean().alias("c95"),
    ).row(0, named=True)
    assert 0.72 <= coverage["c80"] <= 0.88
    assert 0.90 <= coverage["c95"] <= 0.99
    # The backtest result is there for every series, and the chosen model is the best one.
    best = result.backtest.sort("mase").group_by("series", maintain_order=True).first()
    assert best["chosen"].all() and best.height == 20


def test_short_histories_follow_the_rules() -> None:
    assert candidates(30, CONFIG) == [BASELINE]
    assert candidates(100, CONFIG) == [BASELINE, ETS]
    assert candidates(729, CONFIG) == [BASELINE, ETS]
    assert candidates(730, CONFIG) == [BASELINE, ETS, ETS_YEARLY]
    # Three weeks of history: the seasonal-naive baseline alone, repeating the last week.
    values = [float(PATTERN[i % 7]) * 2 for i in range(21)]
    forecasts = forecast_origin(history_until(series("A", values), START + dt.timedelta(days=20)), CONFIG).forecasts
    assert set(forecasts["model"].to_list()) == {BASELINE}
    assert forecasts["yhat"].head(7).to_list() == [float(v) * 2 for v in PATTERN]


def test_yearly_term_is_a_candidate_from_two_years_on() -> None:
    day = np.arange(760)
    values = (1000 + 300 * np.sin(2 * np.pi * day / 364) + 50 * PATTERN[day % 7] / 100).tolist()
    result = forecast_origin(history_until(series("Y", values), START + dt.timedelta(days=759)), CONFIG)
    assert set(result.backtest["model"].to_list()) == {BASELINE, ETS, ETS_YEARLY}
    # A strong yearly wave: the yearly term wins the backtest.
    assert result.backtest.filter(pl.col("chosen"))["model"].to_list() == [ETS_YEARLY]


def test_missing_days_and_outages_are_not_zeros() -> None:
    """Mart rows → series: not-reported and outage days are missing, filled from the same weekday."""
    days = [START + dt.timedelta(days=i) for i in range(21)]
    tonnes = [float(PATTERN[i % 7]) for i in range(21)]
    reported = [i != 9 for i in range(21)]  # day 9 (a Wednesday) never reported
    tonnes[9] = None
    tonnes[16] = 0.0  # the next Wednesday the crossing was closed
    mart = pl.DataFrame({
        "date": days, "crossing_code": "A", "direction": "CN_TO_KZ", "reported": reported,
        "outage": [t == 0.0 for t in tonnes], "tonnes": tonnes, "teu": [None] * 21,
    }, schema_overrides={"teu": pl.Float64})
    long = long_history(mart)
    assert long["metric"].unique().to_list() == ["tonnes"]  # no TEU ever reported: no TEU series
    history = history_until(long, days[-1])
    assert history.filter(pl.col("ds") == days[9])["y"].to_list() == [130.0]
    assert history.filter(pl.col("ds") == days[16])["y"].to_list() == [130.0]
    assert history["observed"].sum() == 19
    forecasts = forecast_origin(history, CONFIG).forecasts
    assert forecasts["yhat"].min() == 40.0
