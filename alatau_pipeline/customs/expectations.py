"""Expectation suites of the customs marts (contracts section 4), validated as Dagster asset checks.

Picked up by ``alatau_pipeline.validation`` through ``SUITES``; declaring a suite costs no GX import.
"""

from __future__ import annotations

import polars as pl

from alatau_pipeline.core.partitions import ALMATY_TZ, DAILY_PARTITIONS
from alatau_pipeline.core.storage import MARTS_ZONE
from alatau_pipeline.core.suites import (
    MartSuite,
    QuarantineShareMonitor,
    TrailingMonitor,
    at_least,
    at_most,
    equal,
    in_set,
    matches,
    non_negative,
)
from alatau_pipeline.customs.contract import (
    COLUMN_RULES,
    CUSTOMS_DAILY_SCHEMA,
    CUSTOMS_ITEMS_SCHEMA,
    SOURCE,
    TRANSPORT_MODES,
)
from alatau_pipeline.reference import crossing_codes
from alatau_pipeline.reference.countries import ISO_ALPHA2

DIRECTIONS = ("IM", "EK")
DECLARATION_ID = next(rule.pattern for rule in COLUMN_RULES if rule.name == "declaration_id") or ""

CUSTOMS_ITEMS = MartSuite(
    mart="customs_items",
    partitions_def=DAILY_PARTITIONS,
    partition_column="date",
    schema=CUSTOMS_ITEMS_SCHEMA,
    grain=("declaration_id", "item_no"),
    nullable=frozenset({"containers_teu"}),
    derived={
        # The partition is the registration day in Almaty; hs codes are prefixes of the TN VED code.
        "_registered_on": pl.col("registered_at").dt.convert_time_zone(ALMATY_TZ).dt.date().cast(pl.String),
        "_tnved_hs6": pl.col("tnved").str.slice(0, 6),
        "_tnved_hs4": pl.col("tnved").str.slice(0, 4),
        "_tnved_hs2": pl.col("tnved").str.slice(0, 2),
    },
    expectations=[
        matches("declaration_id", DECLARATION_ID),
        in_set("direction", DIRECTIONS),
        matches("procedure", r"\d{2}"),
        matches("tnved", r"\d{10}"),
        matches("hs6", r"\d{6}"),
        matches("hs4", r"\d{4}"),
        matches("hs2", r"\d{2}"),
        equal("hs6", "_tnved_hs6", check="codes"),
        equal("hs4", "_tnved_hs4", check="codes"),
        equal("hs2", "_tnved_hs2", check="codes"),
        in_set("origin_country", ISO_ALPHA2),
        in_set("partner_country", ISO_ALPHA2),
        in_set("crossing_code", crossing_codes()),
        in_set("transport_mode", TRANSPORT_MODES),
        *at_least(1, "item_no", "version"),
        *non_negative("gross_kg", "net_kg", "stat_value_usd", "customs_value_kzt", "containers_teu"),
        at_most("net_kg", "gross_kg"),
        equal("_registered_on", "date", check="partition"),
    ],
    # The busiest demo day has ~4,000 items; a day above 200,000 means duplicated or runaway input.
    rows_per_partition=(0, 200_000),
    monitors=[
        TrailingMonitor(
            "row_count_vs_trailing_28d", pl.len(), "items of the day against the trailing 28 days' median"
        ),
        QuarantineShareMonitor(
            "quarantine_share", source=SOURCE, kept_zone=MARTS_ZONE, kept_dataset="customs_items",
            description=(
                "share of the day's rows quarantined, of those quarantined or kept as items, against its "
                "trailing 28-day median"
            ),
        ),
    ],
)

CUSTOMS_DAILY = MartSuite(
    mart="customs_daily",
    partitions_def=DAILY_PARTITIONS,
    partition_column="date",
    schema=CUSTOMS_DAILY_SCHEMA,
    grain=("direction", "crossing_code", "hs2"),
    nullable=frozenset({"containers_teu"}),
    expectations=[
        in_set("direction", DIRECTIONS),
        in_set("crossing_code", crossing_codes()),
        matches("hs2", r"\d{2}"),
        *at_least(1, "declarations", "items"),
        at_most("declarations", "items"),
        *non_negative("stat_value_usd", "customs_value_kzt", "net_kg", "gross_kg", "containers_teu"),
        at_most("net_kg", "gross_kg"),
    ],
    # At most one row per direction × crossing × HS chapter.
    rows_per_partition=(0, len(DIRECTIONS) * len(crossing_codes()) * 99),
    monitors=[
        TrailingMonitor("row_count_vs_trailing_28d", pl.len(), "rows of the day against the trailing 28 days' median"),
        TrailingMonitor(
            "stat_value_vs_trailing_28d", pl.col("stat_value_usd").sum(),
            "statistical value of the day (USD) against the trailing 28 days' median",
        ),
    ],
)

SUITES = (CUSTOMS_ITEMS, CUSTOMS_DAILY)
