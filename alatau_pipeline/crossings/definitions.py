"""The crossings domain's Dagster definitions."""

from dagster import Definitions

from alatau_pipeline.crossings.assets import crossing_reports_staged, crossing_throughput_daily

defs = Definitions(assets=[crossing_reports_staged, crossing_throughput_daily])
