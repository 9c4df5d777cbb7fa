"""Pure Polars transforms of the customs chain; the assets only read, call these, and write.

Every function works on rows of any number of daily partitions at once (they carry a ``date`` column),
so a single-run backfill and a one-partition run compute the same thing.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass

import polars as pl

from alatau_pipeline.core.rules import REASON, apply_rules, clean_values
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
    """Outcome of staging: typed rows that passed the row rules (all versions) and the quarantined rows.

    Conflicting duplicates are among the quarantined rows, and they also stay in ``staged``, flagged
    ``is_conflicting``: taking them out there would copy every staged row once more, and
    :func:`customs_items` filters the rows anyway.
    """

    # typed contract columns + date, current_version, is_duplicate, is_conflicting, _source_file, _line
    staged: pl.DataFrame
    quarantined: pl.DataFrame  # original strings (cleaned) + _reason, _source_file, _line, date


def stage(raw: pl.DataFrame) -> StagedCustoms:
    """Apply the row rules, quarantine conflicting duplicates, flag exact duplicates, find current versions.

    ``raw`` holds landing rows as strings with ``date``, ``_source_file`` and ``_line``.
    """
    good, bad = apply_rules(raw, COLUMN_RULES, CROSS_RULES)
    key = ["date", *ROW_KEY]
    good = good.with_columns(current_version(good, bad))

    # Two deliveries of one (declaration, version, item) must agree on every value; if they don't,
    # neither can be trusted, so all of them are quarantined. Only rows whose key repeats can conflict,
    # and they are few, so the comparison of whole rows runs on them alone.
    repeated = rows_whose_key_repeats(good, key)
    conflicting = repeated.filter(pl.struct(*COLUMNS).n_unique().over(key) > 1)
    # The same row delivered again (in any file) counts once: the first delivery in file order wins. Only
    # repeated rows can be re-deliveries, so they are told apart among those alone; all deliveries of a
    # conflicting key leave together, so the remaining flags do not change when they do.
    # (is_first_distinct, not a window: a window function over the four-column key costs ~4x as much.)
    delivered_again = repeated.filter(~pl.struct(key).is_first_distinct())["_row"]
    row = pl.int_range(pl.len(), dtype=pl.UInt32)
    staged = good.with_columns(
        row.is_in(delivered_again.implode()).alias("is_duplicate"),
        row.is_in(conflicting["_row"].implode()).alias("is_conflicting"),
    )
    conflict_rows = raw.clear()
    if conflicting.height:
        # Their landing text, found by file and line. The few candidate lines are picked first, so the
        # join hashes a few dozen (file, line) pairs rather than every landing row's.
        candidates = raw.filter(pl.col("_line").is_in(conflicting["_line"].implode()))
        conflict_rows = clean_values(
            candidates.join(conflicting.select("_source_file", "_line"), on=["_source_file", "_line"], how="semi"),
            COLUMNS,
        )
    quarantined = pl.concat([bad, conflict_rows.with_columns(pl.lit("conflicting_duplicate").alias(REASON))])
    return StagedCustoms(staged=staged, quarantined=quarantined)


def rows_whose_key_repeats(rows: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """The rows whose ``key`` occurs more than once, in order, with ``_row``: their position in ``rows``.

    Hashing each key column and combining the hashes costs half of hashing the whole key as one row
    (~0.03 CPU s a year of customs rows), so that picks the candidates: every row whose key repeats has a
    combined hash that repeats. A collision of hashes can only add a row, and the exact test on the few
    candidates leaves it out.
    """
    combined = functools.reduce(operator.xor, (pl.col(name).hash(seed=i) for i, name in enumerate(key)))
    candidates = rows.with_row_index("_row").filter(combined.is_duplicated())
    return candidates.filter(pl.struct(key).is_duplicated())


def current_version(good: pl.DataFrame, bad: pl.DataFrame) -> pl.Series:
    """``current_version`` of each good row: the highest version present of its declaration and day.

    Every row whose id and version parse counts, rejected ones included: a correction whose items were
    all rejected must not let the older version count again. The rejected rows' versions are stacked
    under the good rows' for one window over both (cheaper than a group-by and a join over every row).
    """
    rejected = bad.select(
        "date",
        "declaration_id",
        pl.col("version").cast(pl.Int64, strict=False),
    ).filter(pl.col("declaration_id").str.contains(f"^(?:{DECLARATION_ID_PATTERN})$") & (pl.col("version") >= 1))
    stacked = pl.concat([good.select("date", "declaration_id", "version"), rejected])
    versions = stacked.select(pl.col("version").max().over("date", "declaration_id")).to_series()
    return versions.head(good.height).alias("current_version")


@dataclass
class ItemCounts:
    duplicates: int
    superseded: int
    cancelled: int
    kept: int


def customs_items(staged: pl.DataFrame) -> tuple[pl.DataFrame, ItemCounts]:
    """Current versions only: drop duplicates, superseded versions and cancelled declarations.

    Conflicting duplicates (quarantined by :func:`stage`) are left out and not counted here.
    """
    valid = ~pl.col("is_conflicting")
    unique = valid & ~pl.col("is_duplicate")
    current = unique & (pl.col("version") == pl.col("current_version"))
    # A declaration whose current version is cancelled contributes none of its items. They are few: a
    # membership test against them costs half an anti-join and a sixth of a window over every row. The
    # rows kept are then taken in one filter (each filter copies every column of the rows it keeps).
    declaration = pl.struct("date", "declaration_id")
    cancelled = staged.filter(current & (pl.col("status") == "cancelled")).select(declaration).to_series()
    kept = staged.filter(current & ~declaration.is_in(cancelled.implode()) if cancelled.len() else current)
    # The rows keep the landing files' order (file names, then lines), which is deterministic: sorting
    # a year by (declaration_id, item_no) cost ~0.3 CPU s, a tenth of the chain, for an order the
    # contract does not ask for and one-file partitions gain nothing from (their statistics cover the file).
    items = (
        kept.select(
            "date",
            *(pl.col(name) for name in CUSTOMS_ITEMS_SCHEMA if not name.startswith("hs")),
            pl.col("tnved").str.slice(0, 6).alias("hs6"),
            pl.col("tnved").str.slice(0, 4).alias("hs4"),
            pl.col("tnved").str.slice(0, 2).alias("hs2"),
        )
        .select("date", *CUSTOMS_ITEMS_SCHEMA)
        .cast(CUSTOMS_ITEMS_SCHEMA)
    )
    valid_rows, unique_rows, current_rows = staged.select(
        valid.sum(), unique.sum().alias("unique"), current.sum().alias("current")
    ).row(0)
    counts = ItemCounts(
        duplicates=valid_rows - unique_rows,
        superseded=unique_rows - current_rows,
        cancelled=current_rows - items.height,
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
