"""Run configuration of the forecasting assets (Dagster Config: editable in the launchpad)."""

from __future__ import annotations

from dagster import Config
from pydantic import Field

LEVELS = (80, 95)
SEASON = 7  # weekly rhythm; 364 days = 52 weeks keeps weekdays aligned a year back
YEAR_LAG = 364


class ForecastConfig(Config):
    horizon_days: int = Field(default=28, ge=1, le=92, description="days forecast after the origin")
    backtest_windows: int = Field(
        default=3, ge=1, le=8, description="rolling-origin backtest windows (each horizon_days long)"
    )
    min_model_history_days: int = Field(
        default=56, description="below this many days of history only the seasonal-naive baseline is used"
    )
    yearly_min_history_days: int = Field(
        default=730, description="from this many days of history on, a yearly term is a candidate"
    )
    train_window_days: int = Field(default=364, description="most recent days the ETS models are fitted on")
    range_origin_step_days: int = Field(
        default=1,
        description=(
            "a run over a range of origins forecasts the last origin and, stepping back this many days, "
            "earlier ones; the default 1 forecasts every origin, as if each partition ran alone"
        ),
    )
    range_max_origins: int | None = Field(
        default=None,
        ge=1,
        description=(
            "at most this many origins per range run (unset: all). Setting it (or a step above 1) makes a "
            "quick sparse backfill whose skipped origins keep what they had: not the contract's behaviour"
        ),
    )


class AccuracyConfig(Config):
    lookback_days: int = Field(
        default=92, description="forecast origins this many days before a target date are scored (≥ horizon)"
    )
    monitor_window_days: int = Field(default=28, description="rolling window of the monitors")
    min_scored: int = Field(default=14, description="a series needs this many scored days to be judged")


class OutlookConfig(Config):
    feeders: list[str] = Field(
        default=["ALTYNKOL_RAIL", "NUR_ZHOLY_ROAD"], description="crossings whose flows feed the Alatau zone"
    )
    capture_shares: dict[str, float] = Field(
        default={"low": 0.05, "base": 0.10, "high": 0.20},
        description="share of the feeders' forecast tonnes the zone captures, per scenario",
    )
    planned_capacity_tonnes_per_day: float = Field(
        default=5_000.0, description="the zone's planned handling capacity (caps every scenario)"
    )
