"""The customs marts' suites as Dagster asset checks: bad partitions are caught and block downstream assets,
clean ones pass, monitors warn without blocking, and reports are written."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import polars as pl
import pytest
from dagster import AssetCheckSeverity, materialize

from alatau_pipeline.core.checks import validation_checks
from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.customs.assets import customs_marts
from alatau_pipeline.customs.contract import CUSTOMS_DAILY_SCHEMA, CUSTOMS_ITEMS_SCHEMA
from alatau_pipeline.customs.expectations import CUSTOMS_DAILY, CUSTOMS_ITEMS, SUITES
from alatau_pipeline.demo.seed import seed_demo
from tests.conftest import range_tags
from tests.validation.harness import (
    assert_blocked,
    duplicate_first,
    evaluations,
    probe_ran,
    run_checks,
    set_value,
)

DAY = "2026-11-02"


def items_frame(day: str = DAY, n: int = 3) -> pl.DataFrame:
    """Clean customs_items rows of one day (registered at 10:00 Almaty = 05:00 UTC)."""
    ddmmyy = dt.date.fromisoformat(day).strftime("%d%m%y")
    at = dt.datetime.fromisoformat(f"{day}T05:00:00+00:00")
    return pl.DataFrame(
        {
            "declaration_id": [f"55207/{ddmmyy}/{i:07d}" for i in range(1, n + 1)],
            "item_no": [1] * n,
            "version": [1] * n,
            "registered_at": [at] * n,
            "direction": ["IM"] * n,
            "procedure": ["40"] * n,
            "tnved": ["8471300000"] * n,
            "hs6": ["847130"] * n,
            "hs4": ["8471"] * n,
            "hs2": ["84"] * n,
            "origin_country": ["CN"] * n,
            "partner_country": ["CN"] * n,
            "crossing_code": ["NUR_ZHOLY_ROAD"] * n,
            "transport_mode": ["30"] * n,
            "gross_kg": [1000.0] * n,
            "net_kg": [900.0] * n,
            "stat_value_usd": [50_000.0] * n,
            "customs_value_kzt": [25_000_000.0] * n,
            "containers_teu": [None, 1.0, 2.0][:n] + [None] * max(0, n - 3),
        },
        schema=CUSTOMS_ITEMS_SCHEMA,
    ).with_columns(pl.lit(day).alias("date"))


def daily_frame(day: str = DAY, value: float = 100_000.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "direction": ["IM", "EK"],
            "crossing_code": ["NUR_ZHOLY_ROAD", "DOSTYK_RAIL"],
            "hs2": ["84", "26"],
            "declarations": [2, 1],
            "items": [3, 1],
            "stat_value_usd": [value, value],
            "customs_value_kzt": [5e7, 5e7],
            "net_kg": [900.0, 60_000.0],
            "gross_kg": [1000.0, 61_000.0],
            "containers_teu": [1.0, None],
        },
        schema=CUSTOMS_DAILY_SCHEMA,
    ).with_columns(pl.lit(day).alias("date"))


# (case, mutation, failing check, expectation named in the message, example value in the metadata)
ITEMS_BREAKAGES = [
    ("duplicate grain", duplicate_first, "grain",
     "expect_compound_columns_to_be_unique(date, declaration_id, item_no)", None),
    ("null grain", set_value("declaration_id", None), "grain",
     "expect_column_values_to_not_be_null(declaration_id)", None),
    ("unknown crossing", set_value("crossing_code", "MOON_ROAD"), "codes",
     "expect_column_values_to_be_in_set(crossing_code)", "MOON_ROAD"),
    ("bad direction", set_value("direction", "XX"), "codes", "expect_column_values_to_be_in_set(direction)", "XX"),
    ("short tnved", set_value("tnved", "84713"), "codes", "expect_column_values_to_match_regex(tnved)", "84713"),
    ("hs6 not of tnved", set_value("hs6", "847150"), "codes", "expect_column_pair_values_to_be_equal(hs6, _tnved_hs6)",
     None),
    ("unknown country", set_value("origin_country", "ZZ"), "codes",
     "expect_column_values_to_be_in_set(origin_country)", "ZZ"),
    ("bad transport mode", set_value("transport_mode", "99"), "codes",
     "expect_column_values_to_be_in_set(transport_mode)", "99"),
    ("bad declaration id", set_value("declaration_id", "1/2/3"), "codes",
     "expect_column_values_to_match_regex(declaration_id)", "1/2/3"),
    ("negative value", set_value("stat_value_usd", -5.0), "amounts",
     "expect_column_values_to_be_between(stat_value_usd)", -5.0),
    ("version 0", set_value("version", 0), "amounts", "expect_column_values_to_be_between(version)", 0),
    ("net above gross", set_value("net_kg", 5000.0), "amounts",
     "expect_column_pair_values_a_to_be_greater_than_b(gross_kg, net_kg)", None),
    ("registered another day", set_value("registered_at", dt.datetime(2026, 11, 2, 20, 0, tzinfo=dt.UTC)),
     "partition", "expect_column_pair_values_to_be_equal(_registered_on, date)", None),
    ("missing column", lambda df: df.drop("containers_teu"), "schema", "expect_column_to_exist(containers_teu)", None),
    ("wrong type", lambda df: df.with_columns(pl.col("net_kg").cast(pl.String)), "schema",
     "expect_column_type(net_kg is Float64, found String)", None),
]

DAILY_BREAKAGES = [
    ("duplicate grain", duplicate_first, "grain",
     "expect_compound_columns_to_be_unique(date, direction, crossing_code, hs2)", None),
    ("unknown crossing", set_value("crossing_code", "NOWHERE"), "codes",
     "expect_column_values_to_be_in_set(crossing_code)", "NOWHERE"),
    ("bad hs2", set_value("hs2", "8A"), "codes", "expect_column_values_to_match_regex(hs2)", "8A"),
    ("more declarations than items", set_value("declarations", 9), "amounts",
     "expect_column_pair_values_a_to_be_greater_than_b(items, declarations)", None),
    ("negative gross", set_value("gross_kg", -1.0), "amounts", "expect_column_values_to_be_between(gross_kg)", -1.0),
    ("net above gross", set_value("net_kg", 2000.0), "amounts",
     "expect_column_pair_values_a_to_be_greater_than_b(gross_kg, net_kg)", None),
    ("null direction", set_value("direction", None), "grain", "expect_column_values_to_not_be_null(direction)", None),
]


@pytest.mark.parametrize(
    ("suite", "frame_of", "mutate", "check", "expectation", "example"),
    [pytest.param(CUSTOMS_ITEMS, items_frame, *case[1:], id=f"items: {case[0]}") for case in ITEMS_BREAKAGES]
    + [pytest.param(CUSTOMS_DAILY, daily_frame, *case[1:], id=f"daily: {case[0]}") for case in DAILY_BREAKAGES],
)
def test_a_partition_breaking_a_blocking_expectation_fails_and_stops_downstream(
    lake: DataLake, suite, frame_of, mutate, check, expectation, example
) -> None:
    result = run_checks(lake, suite, mutate(frame_of()), [DAY])

    assert_blocked(result, lake, suite, [DAY], check, expectation, example)


@pytest.mark.parametrize("suite, frame_of", [(CUSTOMS_ITEMS, items_frame), (CUSTOMS_DAILY, daily_frame)])
def test_a_clean_partition_passes_every_check_and_downstream_runs(lake: DataLake, suite, frame_of) -> None:
    result = run_checks(lake, suite, frame_of(), [DAY])

    found = evaluations(result, suite.mart)
    assert set(found) == {*suite.blocking_checks(), *(m.name for m in suite.monitors)}
    assert all(e.passed for e in found.values()), {k: e.description for k, e in found.items() if not e.passed}
    assert result.success
    assert probe_ran(lake, suite, DAY)
    report = json.loads(lake.store.read_bytes("reports", "validation", suite.mart, f"{DAY}.json"))
    assert report["success"] and report["partitions"]["count"] == 1
    assert report["great_expectations_results"][0]["success"] is True
    assert "<table>" in lake.store.read_bytes("reports", "validation", suite.mart, f"{DAY}.html").decode()


def test_a_backfilled_range_is_validated_together_and_names_the_bad_partition(lake: DataLake) -> None:
    days = ["2026-11-01", "2026-11-02", "2026-11-03"]
    frames = [items_frame(d) for d in days]
    frames[1] = set_value("crossing_code", "MOON_ROAD", row=2)(frames[1])
    result = run_checks(lake, CUSTOMS_ITEMS, pl.concat(frames), days)

    found = evaluations(result, "customs_items")
    codes = found["codes"]
    assert not codes.passed
    assert codes.metadata["partitions"].value == 3
    assert codes.metadata["rows_validated"].value == 9
    crossing = codes.metadata["expect_column_values_to_be_in_set(crossing_code)"].value
    assert "1 unexpected of 9" in crossing and "in partition(s) ['2026-11-02']" in crossing
    assert all(found[c].passed for c in ("schema", "grain", "amounts", "partition", "row_count"))
    assert not any(probe_ran(lake, CUSTOMS_ITEMS, d) for d in days)
    name = "2026-11-01_to_2026-11-03.json"
    report = json.loads(lake.store.read_bytes("reports", "validation", "customs_items", name))
    failed = [e for e in report["expectations"] if not e["success"]]
    assert [(e["expectation"], e["examples"]) for e in failed] == [
        ("expect_column_values_to_be_in_set(crossing_code)", ["MOON_ROAD"])
    ]


def test_a_missing_partition_and_an_implausible_row_count_fail_row_count(lake: DataLake) -> None:
    days = ["2026-11-01", "2026-11-02", "2026-11-03"]
    suite = dataclasses.replace(CUSTOMS_ITEMS, rows_per_partition=(1, 2))
    frame = pl.concat([items_frame("2026-11-01", n=2), items_frame("2026-11-02", n=3)])
    result = run_checks(lake, suite, frame, days, skip=["2026-11-03"])

    row_count = evaluations(result, "customs_items")["row_count"]
    assert not row_count.passed
    assert "['2026-11-03']" in row_count.metadata["expect_partition_file_to_exist"].value
    assert "2026-11-02: 3" in row_count.metadata["expect_partition_row_count_to_be_between(1, 2)"].value
    assert not any(probe_ran(lake, suite, d) for d in days)


def test_monitors_warn_on_an_outlier_day_without_blocking(lake: DataLake) -> None:
    history = [(dt.date(2026, 10, 1) + dt.timedelta(days=i)).isoformat() for i in range(30)]
    frame = pl.concat([daily_frame(d) for d in history[:-1]] + [daily_frame(history[-1], value=5_000_000.0)])
    past = frame.filter(pl.col("date") != history[-1])
    lake.store.write_partitions("marts", "customs_daily", "date", past, history[:-1])

    result = run_checks(lake, CUSTOMS_DAILY, frame, [history[-1]])

    found = evaluations(result, "customs_daily")
    value = found["stat_value_vs_trailing_28d"]
    assert not value.passed and value.severity == AssetCheckSeverity.WARN
    assert value.metadata["flagged"].value == 1
    assert value.metadata["examples"].value[0]["median"] == 200_000.0
    assert found["row_count_vs_trailing_28d"].passed  # same number of rows as usual
    assert result.success  # warnings do not fail the run …
    assert probe_ran(lake, CUSTOMS_DAILY, history[-1])  # … nor stop downstream assets

    # Thresholds are run configuration: a 50× day passes when 100× is allowed.
    relaxed = run_checks(lake, CUSTOMS_DAILY, frame, [history[-1]],
                         thresholds={"stat_value_vs_trailing_28d": {"max_ratio": 100}})
    value = evaluations(relaxed, "customs_daily")["stat_value_vs_trailing_28d"]
    assert value.passed and "[1/100, 100]" in value.metadata["rule"].value


def test_a_partition_with_too_little_history_passes_with_a_note(lake: DataLake) -> None:
    days = ["2026-11-01", "2026-11-02", "2026-11-03"]
    frame = pl.concat([daily_frame("2026-11-01"), daily_frame("2026-11-02"), daily_frame("2026-11-03", 9e9)])
    result = run_checks(lake, CUSTOMS_DAILY, frame, days)

    value = evaluations(result, "customs_daily")["stat_value_vs_trailing_28d"]
    assert value.passed
    assert value.metadata["too_little_history"].value == 3
    assert "fewer than 14 earlier partitions" in value.metadata["note"].value


def test_the_real_customs_chain_on_demo_data_passes_every_blocking_check(data_dir, lake: DataLake) -> None:
    seed_demo(str(data_dir), dt.date(2026, 11, 1), dt.date(2026, 11, 3))
    assets = [customs_marts, *(validation_checks(s) for s in SUITES)]
    result = materialize(assets, resources={"lake": lake}, tags=range_tags("2026-11-01", "2026-11-03"))

    found = result.get_asset_check_evaluations()
    assert len(found) == sum(len(s.blocking_checks()) + len(s.monitors) for s in SUITES)
    assert all(e.passed for e in found), [(e.asset_key, e.check_name, e.description) for e in found if not e.passed]
    assert all(e.metadata["rows_validated"].value > 0 for e in found)
