"""Scoring forecasts against actuals, and the rolling monitors, worked out by hand."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from alatau_pipeline.forecasting.scoring import rolling_monitors, score

D = dt.date(2026, 3, 10)


def forecast(origin_offset: int, yhat: float, lo80: float, hi80: float, lo95: float, hi95: float,
             target: dt.date = D) -> dict:
    return {"origin": target - dt.timedelta(days=origin_offset), "crossing_code": "NUR_ZHOLY_ROAD",
            "direction": "CN_TO_KZ", "metric": "tonnes", "target_date": target, "horizon_days": origin_offset,
            "model": "ETS", "yhat": yhat, "lo_80": lo80, "hi_80": hi80, "lo_95": lo95, "hi_95": hi95,
            "naive_scale": 50.0}


def actual(day: dt.date, tonnes: float | None, outage: bool = False) -> dict:
    return {"date": day, "crossing_code": "NUR_ZHOLY_ROAD", "direction": "CN_TO_KZ",
            "reported": tonnes is not None, "outage": outage, "tonnes": tonnes}


def test_scoring_by_hand() -> None:
    forecasts = pl.DataFrame([
        forecast(1, 1000, 950, 1050, 900, 1100),   # actual 1080: error +80, ape 0.074.., outside 80, inside 95
        forecast(7, 1200, 1000, 1400, 900, 1500),  # error −120, ape 0.111.., inside both
        forecast(3, 500, 450, 550, 400, 600, target=D + dt.timedelta(days=1)),  # no report that day
        forecast(3, 500, 450, 550, 400, 600, target=D + dt.timedelta(days=2)),  # outage: actual 0
    ])
    throughput = pl.DataFrame([actual(D, 1080.0), actual(D + dt.timedelta(days=1), None),
                               actual(D + dt.timedelta(days=2), 0.0, outage=True)])
    scored = score(forecasts, throughput).sort("date", "horizon_days")
    first, second, missing, outage = scored.iter_rows(named=True)
    assert (first["horizon_days"], first["error"], first["abs_error"]) == (1, 80.0, 80.0)
    assert first["ape"] == pytest.approx(80 / 1080)
    assert (first["in_80"], first["in_95"]) == (False, True)
    assert (second["error"], second["ape"], second["in_80"], second["in_95"]) == (-120.0, pytest.approx(120 / 1080),
                                                                                  True, True)
    assert missing["reported"] is False and missing["actual"] is None
    assert missing["abs_error"] is None and missing["in_80"] is None
    assert outage["actual"] == 0.0 and outage["ape"] is None and outage["outage"] is True

    monitors = rolling_monitors(scored).row(0, named=True)
    # Only the two reported, open days count.
    assert monitors["scored"] == 2
    assert monitors["mape"] == pytest.approx((80 / 1080 + 120 / 1080) / 2 * 100)
    assert monitors["mase"] == pytest.approx((80 / 50 + 120 / 50) / 2)
    assert monitors["bias"] == pytest.approx(((80 - 120) / 2) / 1080)
    assert (monitors["coverage_80"], monitors["coverage_95"]) == (0.5, 1.0)
