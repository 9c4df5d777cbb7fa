"""The customs domain's Dagster definitions."""

from dagster import Definitions

from alatau_pipeline.customs.assets import customs_daily, customs_declarations_staged, customs_items

defs = Definitions(assets=[customs_declarations_staged, customs_items, customs_daily])
