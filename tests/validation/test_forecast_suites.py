"""The suites of throughput_forecast, forecast_accuracy and alatau_zone_outlook: crafted bad partitions are
caught and block downstream assets; the real forecasting chain's output passes every blocking check."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from dagster import materialize

from alatau_pipeline.core.checks import validation_checks
from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.forecasting.expectations import FORECAST_ACCURACY, SUITES, THROUGHPUT_FORECAST, ZONE_OUTLOOK
from alatau_pipeline.forecasting.models import FORECAST_SCHEMA
from alatau_pipeline.forecasting.outlook import OUTLOOK_SCHEMA
from alatau_pipeline.forecasting.scoring import ACCURACY_SCHEMA
from tests.conftest import range_tags
from tests.forecasting.series import ASSETS, LAST, START, run_config, seed
from tests.validation.harness import assert_blocked, duplicate_first, evaluations, probe_ran, run_checks, set_value

ORIGIN = "2026-03-10"


def forecast_frame(origin: str = ORIGIN, horizons: int = 3) -> pl.DataFrame:
    """Two series (tonnes, TEU) forecast 1…horizons days after the origin, with ordered intervals."""
    start = dt.date.fromisoformat(origin)
    rows = [
        {"crossing_code": "NUR_ZHOLY_ROAD", "direction": "CN_TO_KZ", "metric": metric,
         "target_date": start + dt.timedelta(days=h), "horizon_days": h, "model": "ETS",
         "yhat": 100.0 * scale, "lo_80": 90.0 * scale, "hi_80": 110.0 * scale, "lo_95": 80.0 * scale,
         "hi_95": 120.0 * scale, "naive_scale": 5.0, "backtest_mase": 0.8, "baseline_mase": 1.0,
         "history_days": 90}
        for metric, scale in (("tonnes", 200.0), ("teu", 1.0))
        for h in range(1, horizons + 1)
    ]
    return pl.DataFrame(rows, schema=FORECAST_SCHEMA).with_columns(pl.lit(origin).alias("origin"))


def accuracy_frame(day: str = ORIGIN) -> pl.DataFrame:
    """Forecasts made 1…3 days before ``day`` scored against an actual of 105 (inside both intervals)."""
    target = dt.date.fromisoformat(day)
    rows = [
        {"origin": target - dt.timedelta(days=h), "crossing_code": "NUR_ZHOLY_ROAD", "direction": "CN_TO_KZ",
         "metric": "tonnes", "horizon_days": h, "model": "SeasonalNaive", "reported": True, "outage": False,
         "actual": 105.0, "yhat": 100.0, "lo_80": 90.0, "hi_80": 110.0, "lo_95": 80.0, "hi_95": 120.0,
         "error": 5.0, "abs_error": 5.0, "ape": 5.0 / 105.0, "in_80": True, "in_95": True, "naive_scale": 4.0}
        for h in (1, 2, 3)
    ]
    return pl.DataFrame(rows, schema=ACCURACY_SCHEMA).with_columns(pl.lit(day).alias("date"))


def outlook_frame(origin: str = ORIGIN) -> pl.DataFrame:
    """April's outlook for three scenarios: 28 days covered, the high scenario capped at 28 × 5,000 t."""
    rows = [
        {"month": "2026-04", "scenario": scenario, "capture_share": share, "days_covered": 28,
         "feeder_tonnes": 1e6, "zone_tonnes_uncapped": share * 1e6, "zone_capacity_tonnes": 140_000.0,
         "zone_tonnes": min(share * 1e6, 140_000.0), "capped": share * 1e6 > 140_000.0}
        for scenario, share in (("low", 0.05), ("base", 0.10), ("high", 0.20))
    ]
    return pl.DataFrame(rows, schema=OUTLOOK_SCHEMA).with_columns(pl.lit(origin).alias("origin"))


CASES = [
    (THROUGHPUT_FORECAST, forecast_frame, "duplicate grain", duplicate_first, "grain",
     "expect_compound_columns_to_be_unique(origin, crossing_code, direction, metric, target_date)", None),
    (THROUGHPUT_FORECAST, forecast_frame, "unknown metric", set_value("metric", "kg"), "codes",
     "expect_column_values_to_be_in_set(metric)", "kg"),
    (THROUGHPUT_FORECAST, forecast_frame, "negative forecast", set_value("lo_95", -1.0), "amounts",
     "expect_column_values_to_be_between(lo_95)", -1.0),
    (THROUGHPUT_FORECAST, forecast_frame, "80 % interval above the point", set_value("lo_80", 1e6), "intervals",
     "expect_column_pair_values_a_to_be_greater_than_b(yhat, lo_80)", None),
    (THROUGHPUT_FORECAST, forecast_frame, "95 % inside 80 %", set_value("hi_95", 100.0, row=4), "intervals",
     "expect_column_pair_values_a_to_be_greater_than_b(hi_95, hi_80)", None),
    (THROUGHPUT_FORECAST, forecast_frame, "target not origin + horizon", set_value("horizon_days", 2), "partition",
     "expect_column_pair_values_to_be_equal(horizon_days, _horizon_from_dates)", None),
    (FORECAST_ACCURACY, accuracy_frame, "unknown crossing", set_value("crossing_code", "NOWHERE"), "codes",
     "expect_column_values_to_be_in_set(crossing_code)", "NOWHERE"),
    (FORECAST_ACCURACY, accuracy_frame, "intervals crossed", set_value("lo_95", 95.0), "intervals",
     "expect_column_pair_values_a_to_be_greater_than_b(lo_80, lo_95)", None),
    (FORECAST_ACCURACY, accuracy_frame, "scored on another day", set_value("horizon_days", 7), "partition",
     "expect_column_pair_values_to_be_equal(horizon_days, _horizon_from_dates)", None),
    (FORECAST_ACCURACY, accuracy_frame, "abs_error wrong", set_value("abs_error", 50.0), "consistency",
     "expect_column_values_to_be_between(_error_mismatch)", None),
    (FORECAST_ACCURACY, accuracy_frame, "in_80 contradicts the interval", set_value("in_80", False), "consistency",
     "expect_column_pair_values_to_be_equal(in_80, _in_80_of_values)", None),
    (FORECAST_ACCURACY, accuracy_frame, "negative ape", set_value("ape", -0.1), "amounts",
     "expect_column_values_to_be_between(ape)", -0.1),
    (ZONE_OUTLOOK, outlook_frame, "duplicate grain", duplicate_first, "grain",
     "expect_compound_columns_to_be_unique(origin, month, scenario)", None),
    (ZONE_OUTLOOK, outlook_frame, "no such month", set_value("month", "2026-13"), "codes",
     "expect_column_values_to_match_regex(month)", "2026-13"),
    (ZONE_OUTLOOK, outlook_frame, "above the zone's capacity", set_value("zone_tonnes", 1e7, row=2), "amounts",
     "expect_column_pair_values_a_to_be_greater_than_b(zone_capacity_tonnes, zone_tonnes)", None),
    (ZONE_OUTLOOK, outlook_frame, "more days than the month", set_value("days_covered", 31), "amounts",
     "expect_column_pair_values_a_to_be_greater_than_b(_month_days, days_covered)", None),
    (ZONE_OUTLOOK, outlook_frame, "capped flag wrong", set_value("capped", False, row=2), "consistency",
     "expect_column_pair_values_to_be_equal(capped, _capped_of_values)", None),
]


def test_a_clean_outlook_passes_every_check(lake: DataLake) -> None:
    result = run_checks(lake, ZONE_OUTLOOK, outlook_frame(), [ORIGIN])

    found = evaluations(result, ZONE_OUTLOOK.mart)
    assert found and all(e.passed for e in found.values()), {k: e.description for k, e in found.items()}


@pytest.mark.parametrize(
    ("suite", "frame_of", "mutate", "check", "expectation", "example"),
    [pytest.param(*case[:2], *case[3:], id=f"{case[0].mart}: {case[2]}") for case in CASES],
)
def test_a_partition_breaking_a_blocking_expectation_fails_and_stops_downstream(
    lake: DataLake, suite, frame_of, mutate, check, expectation, example
) -> None:
    result = run_checks(lake, suite, mutate(frame_of()), [ORIGIN])

    assert_blocked(result, lake, suite, [ORIGIN], check, expectation, example)


def test_unknown_intervals_stored_as_null_pass(lake: DataLake) -> None:
    frame = forecast_frame().with_columns(
        pl.when(pl.col("horizon_days") == 1).then(None).otherwise(pl.col(c)).alias(c) for c in ("lo_95", "hi_95")
    )
    result = run_checks(lake, THROUGHPUT_FORECAST, frame, [ORIGIN])

    found = evaluations(result, THROUGHPUT_FORECAST.mart)
    assert all(e.passed for e in found.values()), {k: e.description for k, e in found.items() if not e.passed}


def test_a_forecast_range_that_wrote_only_some_origins_passes_with_a_note(lake: DataLake) -> None:
    days = ["2026-03-08", "2026-03-09", ORIGIN]
    frame = pl.concat([forecast_frame("2026-03-08"), forecast_frame(ORIGIN)])
    result = run_checks(lake, THROUGHPUT_FORECAST, frame, days, skip=["2026-03-09"])

    found = evaluations(result, THROUGHPUT_FORECAST.mart)
    assert all(e.passed for e in found.values()), {k: e.description for k, e in found.items() if not e.passed}
    assert all(probe_ran(lake, THROUGHPUT_FORECAST, d) for d in days)


def test_the_real_forecasting_chain_passes_every_blocking_check(data_dir: Path, lake: DataLake) -> None:
    seed(data_dir)
    checks = [validation_checks(s) for s in SUITES]
    result = materialize([*ASSETS, *checks], resources={"lake": lake},
                         tags=range_tags(START.isoformat(), LAST.isoformat()), run_config=run_config())

    ours = [e for e in result.get_asset_check_evaluations() if e.asset_key.path[-1] in {s.mart for s in SUITES}
            and e.check_name in {c for s in SUITES for c in s.blocking_checks()}]
    assert len(ours) == sum(len(s.blocking_checks()) for s in SUITES)
    assert all(e.passed for e in ours), [(e.asset_key, e.check_name, e.description) for e in ours if not e.passed]
    assert all(e.metadata["rows_validated"].value > 0 for e in ours)
