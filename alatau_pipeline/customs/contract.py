"""The customs declarations landing contract (contracts 3.1) as column rules, and the marts' schemas."""

from __future__ import annotations

import polars as pl

from alatau_pipeline.core.partitions import day_start_utc
from alatau_pipeline.core.rules import ColumnRule
from alatau_pipeline.reference import crossing_codes
from alatau_pipeline.reference.countries import ISO_ALPHA2

SOURCE = "customs_declarations"

TRANSPORT_MODES = frozenset({"10", "20", "30", "40", "50", "71", "72", "80", "90"})

COLUMN_RULES: tuple[ColumnRule, ...] = (
    ColumnRule("declaration_id", pattern=r"\d{5,8}/\d{6}/\d{7}"),
    ColumnRule("version", "int", minimum=1),
    ColumnRule("item_no", "int", minimum=1),
    ColumnRule("registered_at", "timestamp"),
    ColumnRule("status", allowed=frozenset({"released", "cancelled"})),
    ColumnRule("direction", allowed=frozenset({"IM", "EK"})),
    ColumnRule("procedure", pattern=r"\d{2}"),
    ColumnRule("tnved", pattern=r"\d{10}"),
    ColumnRule("origin_country", allowed=ISO_ALPHA2),
    ColumnRule("partner_country", allowed=ISO_ALPHA2),
    ColumnRule("crossing_code", allowed=crossing_codes()),
    ColumnRule("transport_mode", allowed=TRANSPORT_MODES),
    ColumnRule("gross_kg", "decimal", minimum=0),
    ColumnRule("net_kg", "decimal", minimum=0),
    ColumnRule("stat_value_usd", "decimal", minimum=0),
    ColumnRule("customs_value_kzt", "decimal", minimum=0),
    ColumnRule("containers_teu", "decimal", required=False, minimum=0),
)

COLUMNS: tuple[str, ...] = tuple(rule.name for rule in COLUMN_RULES)

# Rules across columns, on typed values (a row whose values did not parse already has its reason).
CROSS_RULES: tuple[tuple[str, pl.Expr], ...] = (
    ("net_kg_exceeds_gross_kg", pl.col("net_kg") > pl.col("gross_kg")),
    (
        "registered_at_not_on_partition_date",
        ~pl.col("registered_at").is_between(day_start_utc(), day_start_utc(days_later=1), closed="left"),
    ),
)

# The grain of a landing row, and the columns that must agree for two deliveries of it to be "the same".
ROW_KEY = ("declaration_id", "version", "item_no")

CUSTOMS_ITEMS_SCHEMA: dict[str, pl.DataType] = {
    "declaration_id": pl.String(),
    "item_no": pl.Int64(),
    "version": pl.Int64(),
    "registered_at": pl.Datetime("us", "UTC"),
    "direction": pl.String(),
    "procedure": pl.String(),
    "tnved": pl.String(),
    "hs6": pl.String(),
    "hs4": pl.String(),
    "hs2": pl.String(),
    "origin_country": pl.String(),
    "partner_country": pl.String(),
    "crossing_code": pl.String(),
    "transport_mode": pl.String(),
    "gross_kg": pl.Float64(),
    "net_kg": pl.Float64(),
    "stat_value_usd": pl.Float64(),
    "customs_value_kzt": pl.Float64(),
    "containers_teu": pl.Float64(),
}

CUSTOMS_DAILY_SCHEMA: dict[str, pl.DataType] = {
    "direction": pl.String(),
    "crossing_code": pl.String(),
    "hs2": pl.String(),
    "declarations": pl.Int64(),
    "items": pl.Int64(),
    "stat_value_usd": pl.Float64(),
    "customs_value_kzt": pl.Float64(),
    "net_kg": pl.Float64(),
    "gross_kg": pl.Float64(),
    "containers_teu": pl.Float64(),
}

COLUMN_DESCRIPTIONS = {
    "declaration_id": "customs office / DDMMYY / serial",
    "item_no": "goods item number within the declaration",
    "version": "the declaration's current (highest) version",
    "registered_at": "registration time, UTC",
    "direction": "IM import into Kazakhstan, EK export from Kazakhstan",
    "procedure": "customs procedure code (2 digits)",
    "tnved": "TN VED EAEU commodity code (10 digits)",
    "hs6": "HS subheading: first 6 digits of tnved",
    "hs4": "HS heading: first 4 digits of tnved",
    "hs2": "HS chapter: first 2 digits of tnved",
    "crossing_code": "border crossing (crossings reference)",
    "transport_mode": "transport mode code at the border (2 digits)",
    "gross_kg": "gross weight, kg",
    "net_kg": "net weight, kg",
    "stat_value_usd": "statistical value, US dollars",
    "customs_value_kzt": "customs value, tenge",
    "containers_teu": "containers, TEU",
    "declarations": "distinct declarations",
    "items": "goods items",
}
