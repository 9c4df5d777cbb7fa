"""Pure Polars transforms of the customs chain; the assets only read, call these, and write.

Every function works on rows of any number of daily partitions at once (they carry a ``date`` column),
so a single-run backfill and a one-partition run compute the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from alatau_pipeline.core.rules import REASON, apply_rules
from alatau_pipeline.customs.contract import (
    COLUMN_RULES,
    COLUMNS,
    CROSS_RULES,
    CUSTOMS_DAILY_SCHEMA,
    CUSTOMS_ITEMS_SCHEMA,
    ROW_KEY,
)

DECLARATION_ID_PATTERN = COLUMN_RULES[0].pattern


@dataclass
class StagedCustoms:
    """Outcome of staging: typed valid rows (all versions) and the quarantined rows."""

    staged: pl.DataFrame  # typed contract columns + date, current_version, is_duplicate, _source_file, _line
    quarantined: pl.DataFrame  # original strings + _reason, _source_file, _line, date


def stage(raw: pl.DataFrame) -> StagedCustoms:
    """Apply the row rules, set conflicting duplicates aside, flag exact duplicates, find current versions.

    ``raw`` holds landing rows as strings with ``date``, ``_source_file`` and ``_line``.
    """
    good, bad = apply_rules(raw, COLUMN_RULES, CROSS_RULES)

    # Two deliveries of one (declaration, version, item) must agree on every value; if they don't,
    # neither can be trusted, so all of them are quarantined.
    key = ["date", *ROW_KEY]
    good = good.with_columns(
        (pl.struct(*COLUMNS).n_unique().over(key) > 1).alias("_conflict"),
    )
    conflicting = good.filter(pl.col("_conflict")).select("_source_file", "_line")
    conflict_rows = raw.join(conflicting, on=["_source_file", "_line"], how="semi").with_columns(
        pl.lit("conflicting_duplicate").alias(REASON)
    )
    valid = good.filter(~pl.col("_conflict")).drop("_conflict")
    # The same row delivered again (in any file) counts once: the first delivery in file order wins.
    # (is_first_distinct, not a window: a window function over the four-column key costs ~4x as much.)
    valid = valid.with_columns((~pl.struct(key).is_first_distinct()).alias("is_duplicate"))

    staged = valid.join(current_versions(raw), on=["date", "declaration_id"], how="left")
    quarantined = pl.concat([bad, conflict_rows.select(bad.columns)], how="vertical")
    return StagedCustoms(staged=staged, quarantined=quarantined)


def current_versions(raw: pl.DataFrame) -> pl.DataFrame:
    """Highest version present per declaration and day, over every row whose id and version parse.

    A row rejected for another fault still proves that its version exists: a correction whose items were
    all rejected must not let the older version count again.
    """
    version = pl.col("version").cast(pl.Int64, strict=False)
    return (
        raw.filter(pl.col("declaration_id").str.contains(f"^(?:{DECLARATION_ID_PATTERN})$") & (version >= 1))
        .group_by("date", "declaration_id")
        .agg(version.max().alias("current_version"))
    )


@dataclass
class ItemCounts:
    staged: int
    duplicates: int
    superseded: int
    cancelled: int
    kept: int


def customs_items(staged: pl.DataFrame) -> tuple[pl.DataFrame, ItemCounts]:
    """Current versions only: drop duplicates, superseded versions and cancelled declarations."""
    unique = staged.filter(~pl.col("is_duplicate"))
    current = unique.filter(pl.col("version") == pl.col("current_version"))
    cancelled_mask = (pl.col("status") == "cancelled").any().over("date", "declaration_id")
    current = current.with_columns(cancelled_mask.alias("_cancelled"))
    kept = current.filter(~pl.col("_cancelled"))
    items = (
        kept.with_columns(
            pl.col("tnved").str.slice(0, 6).alias("hs6"),
            pl.col("tnved").str.slice(0, 4).alias("hs4"),
            pl.col("tnved").str.slice(0, 2).alias("hs2"),
        )
        .select("date", *CUSTOMS_ITEMS_SCHEMA)
        .cast(CUSTOMS_ITEMS_SCHEMA)
        .sort("date", "declaration_id", "item_no")
    )
    counts = ItemCounts(
        staged=staged.height,
        duplicates=staged.height - unique.height,
        superseded=unique.height - current.height,
        cancelled=current.height - kept.height,
        kept=items.height,
    )
    return items, counts


def customs_daily(items: pl.DataFrame) -> pl.DataFrame:
    """Daily totals by direction, crossing and HS chapter."""
    return (
        items.group_by("date", "direction", "crossing_code", "hs2")
        .agg(
            pl.col("declaration_id").n_unique().alias("declarations"),
            pl.len().alias("items"),
            pl.col("stat_value_usd").sum(),
            pl.col("customs_value_kzt").sum(),
            pl.col("net_kg").sum(),
            pl.col("gross_kg").sum(),
            pl.col("containers_teu").sum(),
        )
        .select("date", *CUSTOMS_DAILY_SCHEMA)
        .cast(CUSTOMS_DAILY_SCHEMA)
        .sort("date", "direction", "crossing_code", "hs2")
    )
