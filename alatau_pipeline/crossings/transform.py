"""Pure Polars transforms of the crossings chain; the assets read, call these, and write.

Every function takes rows of any number of daily partitions (they carry ``date``), so a single-run
backfill and one-partition runs compute the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from alatau_pipeline.core.rules import REASON, apply_rules, clean_values
from alatau_pipeline.crossings.contract import (
    COLUMN_RULES,
    COLUMNS,
    CROSS_RULES,
    DIRECTIONS_BY_MODE,
    REPORT_KEY,
    THROUGHPUT_SCHEMA,
)
from alatau_pipeline.reference import CUSTOMS_TO_CROSSING_DIRECTION, crossings


@dataclass
class StagedReports:
    staged: pl.DataFrame  # typed rows + date, is_duplicate, is_superseded, _source_file, _line
    quarantined: pl.DataFrame  # original strings (cleaned) + _reason, _source_file, _line, date


def stage(raw: pl.DataFrame) -> StagedReports:
    """Apply the row rules, set conflicting reports aside, flag re-deliveries and superseded reports.

    Two reports of one key with the same ``reported_at`` but different figures cannot be ordered, so
    both are quarantined (``conflicting_duplicate``); the same report delivered twice counts once.
    """
    good, bad = apply_rules(raw, COLUMN_RULES, CROSS_RULES)
    same_time = [*REPORT_KEY, "reported_at"]
    good = good.with_columns((pl.struct(*COLUMNS).n_unique().over(same_time) > 1).alias("_conflict"))
    conflicting = good.filter(pl.col("_conflict")).select("_source_file", "_line")
    conflict_rows = clean_values(raw.join(conflicting, on=["_source_file", "_line"], how="semi"), COLUMNS).with_columns(
        pl.lit("conflicting_duplicate").alias(REASON)
    )
    valid = good.filter(~pl.col("_conflict")).drop("_conflict")
    valid = valid.with_columns(pl.int_range(pl.len()).over(same_time).gt(0).alias("is_duplicate"))
    latest = pl.col("reported_at").filter(~pl.col("is_duplicate")).max().over(REPORT_KEY)
    valid = valid.with_columns((pl.col("reported_at") < latest).alias("is_superseded"))
    quarantined = pl.concat([bad, conflict_rows.select(bad.columns)], how="vertical")
    return StagedReports(staged=valid, quarantined=quarantined)


def current_reports(staged: pl.DataFrame) -> pl.DataFrame:
    """The one report per (date, crossing, direction) that counts: the latest, delivered once."""
    return staged.filter(~pl.col("is_duplicate") & ~pl.col("is_superseded"))


def expected_grid(dates: Sequence[str]) -> pl.DataFrame:
    """Every (date, crossing, direction) that should have a report: crossings open on the date."""
    reference = crossings().with_columns(
        pl.col("mode").replace_strict(
            {m: list(d) for m, d in DIRECTIONS_BY_MODE.items()}, return_dtype=pl.List(pl.String)
        ).alias("direction")
    ).explode("direction")
    days = pl.DataFrame({"date": list(dates)}).with_columns(pl.col("date").str.to_date().alias("_day"))
    return (
        days.join(reference, how="cross")
        .filter(pl.col("opened_on") <= pl.col("_day"))
        .select("date", "crossing_code", "direction")
    )


def declared_tonnes(items: pl.DataFrame) -> pl.DataFrame:
    """Customs net tonnes per date, crossing and crossing direction (IM → CN_TO_KZ, EK → KZ_TO_CN)."""
    if items.is_empty():
        return pl.DataFrame(
            schema={"date": pl.String, "crossing_code": pl.String, "direction": pl.String,
                    "declared_net_tonnes": pl.Float64}
        )
    return (
        items.with_columns(
            pl.col("date").cast(pl.String),
            pl.col("direction").replace_strict(CUSTOMS_TO_CROSSING_DIRECTION, default=None),
        )
        .group_by("date", "crossing_code", "direction")
        .agg((pl.col("net_kg").sum() / 1000).alias("declared_net_tonnes"))
    )


def throughput_daily(
    current: pl.DataFrame, dates: Sequence[str], declared: pl.DataFrame, customs_dates: Sequence[str]
) -> pl.DataFrame:
    """One row per open crossing, direction and day, reported or not; a missing report is not zero.

    ``customs_dates`` are the days whose customs_items partition exists: there, a crossing with no
    items declared 0 t; on other days the declared tonnes are unknown (null).
    """
    reference = crossings().select("crossing_code", "mode", "design_tonnes_per_day")
    reports = current.select(
        pl.col("date").cast(pl.String), "crossing_code", "direction", "trains", "wagons", "trucks", "teu",
        "tonnes", "reported_at",
    )
    # A report for a crossing/direction the grid does not expect (e.g. before its opening date) still counts.
    grid = pl.concat([expected_grid(dates), reports.select("date", "crossing_code", "direction")]).unique()
    declared = declared.with_columns(pl.col("date").cast(pl.String))
    has_customs = pl.col("date").is_in(list(customs_dates))
    return (
        grid.join(reports, on=["date", "crossing_code", "direction"], how="left")
        .join(reference, on="crossing_code", how="left")
        .join(declared, on=["date", "crossing_code", "direction"], how="left")
        .with_columns(
            pl.col("tonnes").is_not_null().alias("reported"),
            (pl.col("tonnes") == 0).fill_null(False).alias("outage"),
            (pl.col("tonnes") / pl.col("design_tonnes_per_day")).alias("capacity_utilization"),
            pl.when(has_customs).then(pl.col("declared_net_tonnes").fill_null(0.0)).alias("declared_net_tonnes"),
        )
        .select("date", *THROUGHPUT_SCHEMA)
        .cast(THROUGHPUT_SCHEMA)
        .sort("date", "crossing_code", "direction")
    )

