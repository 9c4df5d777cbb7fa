"""A small crossing series for the forecasting tests: one road series with a weekly rhythm, a missing
report and a two-day outage, and the run configuration that forecasts it quickly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from alatau_pipeline.crossings.assets import crossing_reports_staged, crossing_throughput_daily
from alatau_pipeline.crossings.contract import COLUMNS
from alatau_pipeline.forecasting.assets import alatau_zone_outlook, forecast_accuracy, throughput_forecast
from tests.conftest import write_landing

START = dt.date(2026, 1, 1)
DAYS = 90  # 2026-01-01 … 2026-03-31
LAST = START + dt.timedelta(days=DAYS - 1)
WEEKLY = np.array([1.08, 1.10, 1.08, 1.06, 1.04, 0.82, 0.62])
ASSETS = [crossing_reports_staged, crossing_throughput_daily, throughput_forecast, forecast_accuracy,
          alatau_zone_outlook]


def seed(data_dir: Path, shift_after: dt.date | None = None) -> None:
    """One road series (Nur Zholy, China → Kazakhstan), tonnes and TEU, with a weekly rhythm and noise;
    a missing report on day 40 and a two-day outage on days 50–51. Optionally tripled from a date on."""
    rng = np.random.default_rng(7)
    for i in range(DAYS):
        day = START + dt.timedelta(days=i)
        if i == 40:
            continue
        level = 0.0 if i in (50, 51) else 20_000 * WEEKLY[day.weekday()] * rng.lognormal(0, 0.03)
        if shift_after and day >= shift_after:
            level *= 3
        values = {"report_date": day.isoformat(), "crossing_code": "NUR_ZHOLY_ROAD", "direction": "CN_TO_KZ",
                  "trains": "", "wagons": "", "trucks": round(level / 18), "teu": f"{level / 24:.1f}",
                  "tonnes": f"{level:.1f}", "reported_at": f"{day + dt.timedelta(days=1)}T08:00:00+05:00"}
        write_landing(data_dir, "crossing_reports", day.isoformat(), "reports.csv", COLUMNS,
                      [[values[c] for c in COLUMNS]])


def run_config() -> dict:
    return {"ops": {
        "throughput_forecast": {"config": {
            "horizon_days": 28, "backtest_windows": 2, "range_origin_step_days": 28, "range_max_origins": 3,
        }},
        "forecast_accuracy": {"config": {"min_scored": 14}},
    }}
