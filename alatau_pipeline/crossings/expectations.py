"""Expectation suite of ``crossing_throughput_daily`` (contracts section 4), validated as asset checks.

Picked up by ``alatau_pipeline.validation`` through ``SUITES``; declaring a suite costs no GX import.
"""

from __future__ import annotations

import polars as pl

from alatau_pipeline.core.partitions import DAILY_PARTITIONS
from alatau_pipeline.core.suites import MartSuite, TrailingMonitor, between, equal, in_set, non_negative
from alatau_pipeline.crossings.contract import DIRECTIONS, DIRECTIONS_BY_MODE, THROUGHPUT_SCHEMA
from alatau_pipeline.reference import crossing_codes

MART = "crossing_throughput_daily"
# Never null; the metrics are null where no report came (a missing report is unknown, not zero).
REQUIRED = frozenset({"mode", "reported", "outage", "design_tonnes_per_day"})
reported = pl.col("reported")

CROSSING_THROUGHPUT_DAILY = MartSuite(
    mart=MART,
    partitions_def=DAILY_PARTITIONS,
    partition_column="date",
    schema=THROUGHPUT_SCHEMA,
    grain=("crossing_code", "direction"),
    required=REQUIRED,
    derived={
        "_has_tonnes": pl.col("tonnes").is_not_null(),
        "_zero_tonnes": (pl.col("tonnes") == 0).fill_null(False),
        "_utilization_error": (
            pl.col("capacity_utilization") - pl.col("tonnes") / pl.col("design_tonnes_per_day")
        ).abs(),
    },
    expectations=[
        in_set("crossing_code", crossing_codes()),
        in_set("direction", DIRECTIONS),
        in_set("mode", DIRECTIONS_BY_MODE),
        *non_negative("trains", "wagons", "trucks", "teu", "tonnes", "capacity_utilization", "declared_net_tonnes"),
        *non_negative("design_tonnes_per_day"),
        # reported ⇔ tonnes known; outage ⇔ reported zero tonnes; utilization = tonnes / design capacity.
        equal("reported", "_has_tonnes", check="consistency"),
        equal("outage", "_zero_tonnes", check="consistency"),
        between("_utilization_error", None, 1e-9, check="consistency"),
    ],
    # One row per open crossing and direction: at most every crossing in both directions.
    rows_per_partition=(1, 2 * len(crossing_codes())),
    monitors=[
        TrailingMonitor(
            "tonnes_vs_trailing_28d", pl.col("tonnes").sum(),
            "reported tonnes per crossing and direction against their trailing 28-day median (outage days, "
            "reported closures, are not judged)",
            by=("crossing_code", "direction"), where=reported & ~pl.col("outage"),
        ),
        TrailingMonitor(
            "reported_vs_declared_tonnes",
            pl.col("tonnes").sum() / pl.col("declared_net_tonnes").sum(),
            "reported tonnes ÷ customs-declared net tonnes per crossing and direction (transit and tare make "
            "it > 1) against its trailing 28-day median; days declaring under 250 t are too lumpy to judge",
            by=("crossing_code", "direction"),
            where=reported & (pl.col("declared_net_tonnes") >= 250),
            # A day's declarations are lumpy (one ore train is thousands of tonnes): the usual daily ratio
            # swings about 2× around its median on the demo corridor, so only 4× is "far".
            max_ratio=4.0,
        ),
        TrailingMonitor(
            "unreported_vs_trailing_28d", (~reported).sum() + 1,
            "crossings × directions without a report (+1, so a usual zero can be compared) against the "
            "trailing 28-day median",
        ),
    ],
)

SUITES = (CROSSING_THROUGHPUT_DAILY,)
