"""The suites of crossing_throughput_daily, trade_flows_monthly and mirror_trade_monthly as asset checks:
each family of blocking expectations catches a crafted bad partition and stops downstream assets; clean
partitions pass (daily and monthly keys, a monthly range as one run)."""

from __future__ import annotations

import polars as pl
import pytest

from alatau_pipeline.comtrade.expectations import MIRROR_TRADE_MONTHLY, TRADE_FLOWS_MONTHLY
from alatau_pipeline.comtrade.parse import TRADE_FLOWS_SCHEMA, mirror_trade
from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.crossings.contract import THROUGHPUT_SCHEMA
from alatau_pipeline.crossings.expectations import CROSSING_THROUGHPUT_DAILY
from alatau_pipeline.crossings.transform import expected_grid
from alatau_pipeline.reference import crossings
from tests.validation.harness import assert_blocked, duplicate_first, evaluations, probe_ran, run_checks, set_value

DAY = "2026-11-02"
MONTH_KEY, MONTH = "2026-09-01", "2026-09"


def throughput_frame(day: str = DAY) -> pl.DataFrame:
    """Every open crossing and direction of the day, reported, with consistent derived columns."""
    reference = crossings().select("crossing_code", "mode", "design_tonnes_per_day")
    return (
        expected_grid([day])
        .join(reference, on="crossing_code")
        .with_columns(
            pl.lit(True).alias("reported"),
            pl.lit(False).alias("outage"),
            pl.when(pl.col("mode") == "rail").then(pl.lit(10)).alias("trains"),
            pl.when(pl.col("mode") == "rail").then(pl.lit(550)).alias("wagons"),
            pl.when(pl.col("mode") == "road").then(pl.lit(300)).alias("trucks"),
            pl.lit(40.0).alias("teu"),
            pl.lit(5000.0).alias("tonnes"),
            (5000.0 / pl.col("design_tonnes_per_day")).alias("capacity_utilization"),
            pl.lit(2000.0).alias("declared_net_tonnes"),
            pl.lit(f"{day}T03:00:00+00:00").str.to_datetime(time_zone="UTC").alias("reported_at"),
        )
        .select("date", *THROUGHPUT_SCHEMA)
        .cast(THROUGHPUT_SCHEMA)
        .sort("crossing_code", "direction")
    )


def flows_frame(period: str = MONTH) -> pl.DataFrame:
    rows = [
        ("KAZ", "CHN", "M", "847130", 1.2e6, 1.2e6, None, 50_000.0, 900.0, "u", 52_000.0, 398, 156),
        ("KAZ", "CHN", "X", "260300", 9.0e6, None, 9.0e6, 4.7e6, 4.7e6, "kg", 4.8e6, 398, 156),
        ("CHN", "KAZ", "X", "847130", 1.5e6, None, 1.5e6, 60_000.0, 1000.0, "u", 61_000.0, 156, 398),
        ("CHN", "KAZ", "M", "260300", 8.0e6, 8.0e6, None, 4.5e6, 4.5e6, "kg", 4.6e6, 156, 398),
    ]
    columns = ["reporter_iso", "partner_iso", "flow_code", "hs6", "primary_value_usd", "cif_usd", "fob_usd",
               "net_kg", "qty", "qty_unit", "gross_kg", "reporter_code", "partner_code"]
    return (
        pl.DataFrame(rows, schema=columns, orient="row")
        .with_columns(pl.lit(period).alias("period"), pl.lit(True).alias("is_reported"))
        .select(list(TRADE_FLOWS_SCHEMA))
        .cast(TRADE_FLOWS_SCHEMA)
    )


def mirror_frame(period: str = MONTH) -> pl.DataFrame:
    # The domain's own transform, over a month where one flow has no mirror (coverage exporter_only).
    flows = flows_frame(period)
    wheat = flows.filter((pl.col("reporter_iso") == "KAZ") & (pl.col("flow_code") == "X")).with_columns(
        hs6=pl.lit("100199")
    )
    return mirror_trade(pl.concat([flows, wheat]), 0.05)


CASES = [
    (CROSSING_THROUGHPUT_DAILY, throughput_frame, [DAY], "duplicate grain", duplicate_first, "grain",
     "expect_compound_columns_to_be_unique(date, crossing_code, direction)", None),
    (CROSSING_THROUGHPUT_DAILY, throughput_frame, [DAY], "unknown crossing", set_value("crossing_code", "NOWHERE"),
     "codes", "expect_column_values_to_be_in_set(crossing_code)", "NOWHERE"),
    (CROSSING_THROUGHPUT_DAILY, throughput_frame, [DAY], "bad direction", set_value("direction", "EAST"), "codes",
     "expect_column_values_to_be_in_set(direction)", "EAST"),
    (CROSSING_THROUGHPUT_DAILY, throughput_frame, [DAY], "mode missing", set_value("mode", None), "schema",
     "expect_column_values_to_not_be_null(mode)", None),
    (CROSSING_THROUGHPUT_DAILY, throughput_frame, [DAY], "negative tonnes", set_value("tonnes", -3.0), "amounts",
     "expect_column_values_to_be_between(tonnes)", -3.0),
    (CROSSING_THROUGHPUT_DAILY, throughput_frame, [DAY], "reported without tonnes", set_value("tonnes", None),
     "consistency", "expect_column_pair_values_to_be_equal(reported, _has_tonnes)", None),
    (CROSSING_THROUGHPUT_DAILY, throughput_frame, [DAY], "utilization off", set_value("capacity_utilization", 0.9),
     "consistency", "expect_column_values_to_be_between(_utilization_error)", None),
    (CROSSING_THROUGHPUT_DAILY, throughput_frame, [DAY], "too many rows",
     lambda df: pl.concat([df, df.with_columns(pl.col("crossing_code") + "_X")]), "row_count",
     "expect_partition_row_count_to_be_between(1, 16)", "2026-11-02: 30"),
    (TRADE_FLOWS_MONTHLY, flows_frame, [MONTH_KEY], "duplicate grain", duplicate_first, "grain",
     "expect_compound_columns_to_be_unique(period, reporter_iso, partner_iso, flow_code, hs6)", None),
    (TRADE_FLOWS_MONTHLY, flows_frame, [MONTH_KEY], "unknown flow", set_value("flow_code", "RX"), "codes",
     "expect_column_values_to_be_in_set(flow_code)", "RX"),
    (TRADE_FLOWS_MONTHLY, flows_frame, [MONTH_KEY], "short hs6", set_value("hs6", "8471"), "codes",
     "expect_column_values_to_match_regex(hs6)", "8471"),
    (TRADE_FLOWS_MONTHLY, flows_frame, [MONTH_KEY], "foreign reporter", set_value("reporter_iso", "USA"), "codes",
     "expect_column_values_to_be_in_set(reporter_iso)", "USA"),
    (TRADE_FLOWS_MONTHLY, flows_frame, [MONTH_KEY], "negative value", set_value("primary_value_usd", -1.0),
     "amounts", "expect_column_values_to_be_between(primary_value_usd)", -1.0),
    (TRADE_FLOWS_MONTHLY, flows_frame, [MONTH_KEY], "net above gross", set_value("net_kg", 1e9), "amounts",
     "expect_column_pair_values_a_to_be_greater_than_b(gross_kg, net_kg)", None),
    (MIRROR_TRADE_MONTHLY, mirror_frame, [MONTH_KEY], "exporter is importer", set_value("importer_iso", "CHN"),
     "codes", "expect_column_values_to_be_in_set(_exporter_is_importer)", None),
    (MIRROR_TRADE_MONTHLY, mirror_frame, [MONTH_KEY], "bad coverage", set_value("coverage", "neither"), "codes",
     "expect_column_values_to_be_in_set(coverage)", "neither"),
    (MIRROR_TRADE_MONTHLY, mirror_frame, [MONTH_KEY], "fob above cif", set_value("import_fob_est_usd", 1e12),
     "amounts", "expect_column_pair_values_a_to_be_greater_than_b(import_cif_usd, import_fob_est_usd)", None),
    (MIRROR_TRADE_MONTHLY, mirror_frame, [MONTH_KEY], "wrong gap", set_value("gap_usd", 123.0), "consistency",
     "expect_column_values_to_be_between(_gap_error)", None),
    (MIRROR_TRADE_MONTHLY, mirror_frame, [MONTH_KEY], "wrong log ratio", set_value("log_ratio", 5.0),
     "consistency", "expect_column_values_to_be_between(_log_ratio_error)", None),
    (MIRROR_TRADE_MONTHLY, mirror_frame, [MONTH_KEY], "coverage contradicts values",
     lambda df: df.with_columns(pl.lit("both").alias("coverage")), "consistency",
     "expect_column_pair_values_to_be_equal(coverage, _coverage_of_values)", None),
]


@pytest.mark.parametrize(
    ("suite", "frame_of", "keys", "mutate", "check", "expectation", "example"),
    [pytest.param(*case[:3], *case[4:], id=f"{case[0].mart}: {case[3]}") for case in CASES],
)
def test_a_partition_breaking_a_blocking_expectation_fails_and_stops_downstream(
    lake: DataLake, suite, frame_of, keys, mutate, check, expectation, example
) -> None:
    result = run_checks(lake, suite, mutate(frame_of()), keys)

    assert_blocked(result, lake, suite, keys, check, expectation, example)


@pytest.mark.parametrize(
    ("suite", "frame", "keys"),
    [
        (CROSSING_THROUGHPUT_DAILY, pl.concat([throughput_frame("2026-11-01"), throughput_frame(DAY)]),
         ["2026-11-01", DAY]),
        (TRADE_FLOWS_MONTHLY, pl.concat([flows_frame("2026-08"), flows_frame(MONTH)]), ["2026-08-01", MONTH_KEY]),
        (MIRROR_TRADE_MONTHLY, pl.concat([mirror_frame("2026-08"), mirror_frame(MONTH)]), ["2026-08-01", MONTH_KEY]),
    ],
    ids=lambda v: v.mart if hasattr(v, "mart") else "",
)
def test_clean_partitions_pass_every_check_and_downstream_runs(lake: DataLake, suite, frame, keys) -> None:
    result = run_checks(lake, suite, frame, keys)

    found = evaluations(result, suite.mart)
    assert set(found) == {*suite.blocking_checks(), *(m.name for m in suite.monitors)}
    assert all(e.passed for e in found.values()), {k: e.description for k, e in found.items() if not e.passed}
    assert all(e.metadata["rows_validated"].value == frame.height for e in found.values())
    assert all(probe_ran(lake, suite, key) for key in keys)
    # Reports are named after the partitions as the mart's paths spell them.
    first, last = (suite.partition_value(k) for k in (keys[0], keys[-1]))
    assert lake.store.exists("reports", "validation", suite.mart, f"{first}_to_{last}.html")


def test_reported_tonnes_far_from_declared_warn_without_blocking(lake: DataLake) -> None:
    days = [f"2026-10-{d:02d}" for d in range(1, 31)]
    history = pl.concat([throughput_frame(d) for d in days[:-1]])
    lake.store.write_partitions("marts", CROSSING_THROUGHPUT_DAILY.mart, "date", history, days[:-1])
    # On the last day Nur Zholy reports ten times its usual tonnes against the same declarations.
    today = set_value("tonnes", 50_000.0, row=0)(throughput_frame(days[-1])).with_columns(
        (pl.col("tonnes") / pl.col("design_tonnes_per_day")).alias("capacity_utilization")
    )
    result = run_checks(lake, CROSSING_THROUGHPUT_DAILY, today, [days[-1]])

    found = evaluations(result, CROSSING_THROUGHPUT_DAILY.mart)
    far = found["reported_vs_declared_tonnes"]
    assert not far.passed
    assert far.metadata["flagged"].value == 1
    assert far.metadata["examples"].value[0]["crossing_code"] == today["crossing_code"][0]
    assert not found["tonnes_vs_trailing_28d"].passed
    assert found["unreported_vs_trailing_28d"].passed
    assert result.success and probe_ran(lake, CROSSING_THROUGHPUT_DAILY, days[-1])
