"""The forecasting domain's Dagster definitions."""

from dagster import Definitions

from alatau_pipeline.forecasting.assets import alatau_zone_outlook, forecast_accuracy, throughput_forecast

defs = Definitions(assets=[throughput_forecast, forecast_accuracy, alatau_zone_outlook])
