"""The forecasting chain as Dagster runs over real landing files: throughput → forecasts → accuracy and
monitors → zone outlook; marts read back, charts written, the alert posted to a webhook on loopback."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from dagster import AssetCheckSeverity, materialize
from pytest_httpserver import HTTPServer

from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.crossings.assets import crossing_reports_staged, crossing_throughput_daily
from alatau_pipeline.forecasting.alerts import ALERT_WEBHOOK_ENV
from alatau_pipeline.forecasting.assets import alatau_zone_outlook, throughput_forecast
from tests.conftest import range_tags
from tests.forecasting.series import ASSETS, DAYS, LAST, START, run_config, seed


def read(data_dir: Path, mart: str) -> pl.DataFrame:
    return pl.read_parquet(data_dir / "marts" / mart / "**" / "*.parquet", hive_partitioning=True)


def checks(result, node: str) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations() if e.asset_key.path[-1] == node}


def test_range_run_forecasts_scores_and_charts(data_dir: Path, lake: DataLake,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALERT_WEBHOOK_ENV, raising=False)
    seed(data_dir)
    result = materialize(ASSETS, resources={"lake": lake}, tags=range_tags(START.isoformat(), LAST.isoformat()),
                         run_config=run_config())
    assert result.success

    forecasts = read(data_dir, "throughput_forecast")
    # A sparse range run (run config) forecasts the last origin and two more at 28-day steps back; nothing else.
    origins = sorted({str(o) for o in forecasts["origin"].to_list()})
    assert origins == ["2026-02-03", "2026-03-03", "2026-03-31"]
    assert sorted(p.name for p in (data_dir / "marts" / "throughput_forecast").iterdir()) == [
        f"origin={o}" for o in origins]
    latest = forecasts.filter(pl.col("origin").cast(pl.String) == "2026-03-31")
    assert latest.group_by("metric").len().sort("metric").rows() == [("teu", 28), ("tonnes", 28)]
    assert latest["target_date"].min() == dt.date(2026, 4, 1) and latest["horizon_days"].max() == 28
    assert (latest["lo_95"] <= latest["lo_80"]).all() and (latest["lo_80"] <= latest["yhat"]).all()
    assert (latest["yhat"] <= latest["hi_80"]).all() and (latest["hi_80"] <= latest["hi_95"]).all()
    # 34 days of history at the first origin: the seasonal-naive baseline alone.
    first = forecasts.filter(pl.col("origin").cast(pl.String) == "2026-02-03")
    assert set(first["model"].to_list()) == {"SeasonalNaive"}
    # The outage and the missing report were not read as zero traffic: no forecast near zero.
    assert latest.filter(pl.col("metric") == "tonnes")["yhat"].min() > 5_000

    accuracy = read(data_dir, "forecast_accuracy")
    assert accuracy["date"].min() == dt.date(2026, 2, 4) and accuracy["date"].max() == dt.date(2026, 3, 31)
    assert accuracy.filter(pl.col("date") == dt.date(2026, 2, 10))["origin"].to_list() == [dt.date(2026, 2, 3)] * 2
    missing = accuracy.filter(pl.col("date") == START + dt.timedelta(days=40))
    assert missing["actual"].null_count() == 2 and missing["abs_error"].null_count() == 2
    outage = accuracy.filter((pl.col("date") == START + dt.timedelta(days=50)) & (pl.col("metric") == "tonnes"))
    assert outage["outage"].to_list() == [True] and outage["actual"].to_list() == [0.0]
    assert outage["ape"].to_list() == [None]
    # Every date of the range has a partition, an empty one where nothing was forecast for it.
    assert len(list((data_dir / "marts" / "forecast_accuracy").iterdir())) == DAYS

    evaluations = checks(result, "forecast_accuracy")
    assert set(evaluations) == {"interval_coverage_80", "mase_at_most_1"}
    assert evaluations["mase_at_most_1"].passed and evaluations["mase_at_most_1"].metadata["series_judged"].value == 2
    assert checks(result, "throughput_forecast")["no_capacity_breach_forecast"].passed

    charts = sorted(p.name for p in (data_dir / "reports" / "forecasts" / "latest").iterdir())
    assert charts == ["NUR_ZHOLY_ROAD.png"]
    assert (data_dir / "reports" / "forecasts" / "latest" / "NUR_ZHOLY_ROAD.png").read_bytes()[:4] == b"\x89PNG"
    # A 90-partition range: charts and backtest go on one observation of the last origin, not 90 copies.
    (observation,) = result.asset_observations_for_node("throughput_forecast")
    assert observation.partition == "2026-03-31"
    assert "data:image/png;base64," in observation.metadata["chart_images"].value
    assert "| NUR_ZHOLY_ROAD|CN_TO_KZ|tonnes |" in observation.metadata["backtest_mase"].value

    outlooks = read(data_dir, "alatau_zone_outlook")
    # Every origin of the range that has a forecast gets its outlook, as a run of that origin alone would.
    assert sorted({str(o) for o in outlooks["origin"].to_list()}) == origins
    outlook = outlooks.filter(pl.col("origin").cast(pl.String) == "2026-03-31")
    assert set(outlook["scenario"].to_list()) == {"low", "base", "high"}
    assert outlook["days_covered"].sum() == 28 * 3  # April, 28 days, per scenario
    base = outlook.filter(pl.col("scenario") == "base").row(0, named=True)
    tonnes = latest.filter(pl.col("metric") == "tonnes")["yhat"].sum()
    assert base["feeder_tonnes"] == pytest.approx(tonnes)
    assert base["zone_tonnes"] == pytest.approx(min(0.10 * tonnes, 28 * 5_000.0))


def test_failing_monitors_post_an_alert(data_dir: Path, lake: DataLake, httpserver: HTTPServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Traffic triples from 2026-03-04 on: the forecasts of origin 2026-03-03 miss, MASE and coverage
    fail, the forecast now exceeds Nur Zholy's capacity — and the webhook receives the alerts."""
    httpserver.expect_request("/alert", method="POST").respond_with_data("ok")
    monkeypatch.setenv(ALERT_WEBHOOK_ENV, httpserver.url_for("/alert"))
    seed(data_dir, shift_after=dt.date(2026, 3, 4))
    result = materialize(ASSETS, resources={"lake": lake}, tags=range_tags(START.isoformat(), LAST.isoformat()),
                         run_config=run_config())
    assert result.success  # monitors warn, they do not fail the run
    accuracy_checks = checks(result, "forecast_accuracy")
    assert not accuracy_checks["mase_at_most_1"].passed
    assert not accuracy_checks["interval_coverage_80"].passed
    assert accuracy_checks["mase_at_most_1"].severity == AssetCheckSeverity.WARN
    breach = checks(result, "throughput_forecast")["no_capacity_breach_forecast"]
    assert not breach.passed

    posted = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert [p["asset"] for p in posted] == ["throughput_forecast", "forecast_accuracy"]
    assert posted[0]["failed_checks"][0]["series"] == ["NUR_ZHOLY_ROAD|CN_TO_KZ"]
    failed = {c["check"]: c for c in posted[1]["failed_checks"]}
    assert set(failed) == {"mase_at_most_1", "interval_coverage_80"}
    assert "NUR_ZHOLY_ROAD|CN_TO_KZ|tonnes" in failed["mase_at_most_1"]["series"]
    assert posted[1]["partition"] == LAST.isoformat()


def test_one_partition_run_attaches_the_charts(data_dir: Path, lake: DataLake,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The daily run: one origin, forecast from the history up to and including it, charts inline."""
    monkeypatch.delenv(ALERT_WEBHOOK_ENV, raising=False)
    seed(data_dir)
    assert materialize(ASSETS[:2], resources={"lake": lake},
                       tags=range_tags(START.isoformat(), LAST.isoformat())).success
    result = materialize([throughput_forecast], resources={"lake": lake}, partition_key="2026-03-20",
                         run_config={"ops": {"throughput_forecast": {"config": {"horizon_days": 7}}}})
    assert result.success
    forecasts = read(data_dir, "throughput_forecast")
    assert forecasts["target_date"].min() == dt.date(2026, 3, 21) and forecasts["horizon_days"].max() == 7
    meta = result.asset_materializations_for_node("throughput_forecast")[0].metadata
    assert "data:image/png;base64," in meta["chart_images"].value
    # Actuals after the origin are already there (a past origin): the chart shows them beside the forecast.
    assert (data_dir / "reports" / "forecasts" / "origin=2026-03-20" / "NUR_ZHOLY_ROAD.png").exists()


def test_backfilling_an_older_origin_keeps_the_latest_charts(data_dir: Path, lake: DataLake,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALERT_WEBHOOK_ENV, raising=False)
    seed(data_dir)
    assert materialize(ASSETS[:2], resources={"lake": lake},
                       tags=range_tags(START.isoformat(), LAST.isoformat())).success
    config = {"ops": {"throughput_forecast": {"config": {"horizon_days": 7}}}}
    for origin in ("2026-03-20", "2026-03-10"):
        assert materialize([throughput_forecast], resources={"lake": lake}, partition_key=origin,
                           run_config=config).success
    charts = data_dir / "reports" / "forecasts"
    assert (charts / "origin=2026-03-10" / "NUR_ZHOLY_ROAD.png").exists()
    assert (charts / "latest" / "NUR_ZHOLY_ROAD.png").read_bytes() == (
        charts / "origin=2026-03-20" / "NUR_ZHOLY_ROAD.png").read_bytes()


def test_range_of_origins_equals_each_origin_alone(tmp_path: Path) -> None:
    """Contracts section 2: a single-run backfill of forecast origins gives the marts each partition alone gives
    (the forecasts, and the zone outlook drawn from them)."""
    origins = [(LAST - dt.timedelta(days=i)).isoformat() for i in (2, 1, 0)]
    config = {"ops": {"throughput_forecast": {"config": {"backtest_windows": 1}}}}
    tables = {}
    for mode in ("range", "alone"):
        data_dir = tmp_path / mode
        seed(data_dir)
        lake = DataLake(data_dir=str(data_dir))
        assert materialize([crossing_reports_staged, crossing_throughput_daily], resources={"lake": lake},
                           tags=range_tags(START.isoformat(), LAST.isoformat())).success
        single = [{"dagster/partition": o} for o in origins]
        runs = [range_tags(origins[0], origins[-1])] if mode == "range" else single
        for tags in runs:
            assert materialize([throughput_forecast, alatau_zone_outlook], resources={"lake": lake}, tags=tags,
                               run_config=config, partition_key=tags.get("dagster/partition")).success
        for mart in ("throughput_forecast", "alatau_zone_outlook"):
            frame = read(data_dir, mart)
            tables[mode, mart] = frame.sort(frame.columns)
    for mart in ("throughput_forecast", "alatau_zone_outlook"):
        assert sorted({str(o) for o in tables["range", mart]["origin"].to_list()}) == origins
        assert tables["range", mart].equals(tables["alone", mart])
