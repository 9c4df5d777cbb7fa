"""The crossing-reports landing contract (contracts 3.2) as column rules, and the mart's schema."""

from __future__ import annotations

import polars as pl

from alatau_pipeline.core.rules import ColumnRule
from alatau_pipeline.reference import crossing_codes

SOURCE = "crossing_reports"
DIRECTIONS = ("CN_TO_KZ", "KZ_TO_CN")

# Which directions a crossing of each mode is expected to report. The pipelines (Atasu–Alashankou oil,
# Central Asia–China gas) only carry flows into China, so a pipeline has no CN_TO_KZ row to be "missing".
DIRECTIONS_BY_MODE: dict[str, tuple[str, ...]] = {
    "rail": DIRECTIONS,
    "road": DIRECTIONS,
    "pipeline": ("KZ_TO_CN",),
}

COLUMN_RULES: tuple[ColumnRule, ...] = (
    ColumnRule("report_date", "date"),
    ColumnRule("crossing_code", allowed=crossing_codes()),
    ColumnRule("direction", allowed=frozenset(DIRECTIONS)),
    ColumnRule("trains", "int", required=False, minimum=0),
    ColumnRule("wagons", "int", required=False, minimum=0),
    ColumnRule("trucks", "int", required=False, minimum=0),
    ColumnRule("teu", "decimal", required=False, minimum=0),
    ColumnRule("tonnes", "decimal", minimum=0),
    ColumnRule("reported_at", "timestamp"),
)

COLUMNS: tuple[str, ...] = tuple(rule.name for rule in COLUMN_RULES)
METRIC_COLUMNS = ("trains", "wagons", "trucks", "teu", "tonnes")

CROSS_RULES: tuple[tuple[str, pl.Expr], ...] = (
    ("report_date_not_folder_date", pl.col("report_date") != pl.col("date").str.to_date()),
)

# One report covers this key; the latest reported_at among the reports of a key is the current one.
REPORT_KEY = ("date", "crossing_code", "direction")

THROUGHPUT_SCHEMA: dict[str, pl.DataType] = {
    "crossing_code": pl.String(),
    "direction": pl.String(),
    "mode": pl.String(),
    "reported": pl.Boolean(),
    "outage": pl.Boolean(),
    "trains": pl.Int64(),
    "wagons": pl.Int64(),
    "trucks": pl.Int64(),
    "teu": pl.Float64(),
    "tonnes": pl.Float64(),
    "design_tonnes_per_day": pl.Float64(),
    "capacity_utilization": pl.Float64(),
    "declared_net_tonnes": pl.Float64(),
    "reported_at": pl.Datetime("us", "UTC"),
}

COLUMN_DESCRIPTIONS = {
    "report_date": "day the report covers (Almaty)",
    "crossing_code": "border crossing (crossings reference)",
    "direction": "CN_TO_KZ or KZ_TO_CN",
    "mode": "rail, road or pipeline (crossings reference)",
    "reported": "a report came for this crossing, direction and day; false means unknown, not zero",
    "outage": "reported, with zero tonnes: the crossing was closed that day",
    "trains": "trains (rail), null where not reported",
    "wagons": "wagons (rail), null where not reported",
    "trucks": "trucks (road), null where not reported",
    "teu": "containers, TEU, null where not reported",
    "tonnes": "tonnes crossed, null where not reported",
    "design_tonnes_per_day": "design capacity of the crossing, tonnes per day",
    "capacity_utilization": "tonnes / design_tonnes_per_day",
    "declared_net_tonnes": "customs items' net_kg / 1000 for the same date, crossing and direction "
    "(null when the customs_items partition of the day does not exist)",
    "reported_at": "UTC time of the report that counts (the latest one), UTC",
    "is_duplicate": "the same report delivered again (counted once)",
    "is_superseded": "a later report for the same key replaces this one",
}
