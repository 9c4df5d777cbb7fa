from dagster import Definitions

from alatau_pipeline.customs.assets import customs_marts

defs = Definitions(assets=[customs_marts])
