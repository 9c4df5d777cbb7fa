"""The operations' Dagster definitions: schedules and the landing-zone sensor."""

from dagster import Definitions

from alatau_pipeline.ops.schedules import all_schedules
from alatau_pipeline.ops.sensors import landing_zone_sensor

defs = Definitions(schedules=all_schedules(), sensors=[landing_zone_sensor])
