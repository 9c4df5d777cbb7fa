"""The validation machinery itself: broken suites fail loudly (never pass), one GX context per process, a
range validated in batches finds what one call finds, and the quarantine-share monitor."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from alatau_pipeline.core import validation
from alatau_pipeline.core.checks import validate_mart
from alatau_pipeline.core.monitors import evaluate
from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.core.suites import Expect, MartSuite, in_set, matches, not_null
from alatau_pipeline.core.validation import ValidationMachineryError, run_expectations
from alatau_pipeline.customs.expectations import CUSTOMS_ITEMS
from tests.validation.harness import evaluations, probe_ran, run_checks, set_value
from tests.validation.test_customs_validation import DAY, items_frame


def test_a_suite_naming_a_column_the_mart_lacks_is_refused_when_declared() -> None:
    with pytest.raises(ValueError, match=r"customs_items references column\(s\) not in its schema: \['crosing_code'\]"):
        dataclasses.replace(CUSTOMS_ITEMS, expectations=[in_set("crosing_code", ["DOSTYK_RAIL"])])


def test_the_bridge_refuses_expectations_on_columns_the_frame_lacks() -> None:
    with pytest.raises(ValidationMachineryError, match=r"not in the data: \['crossing_code'\]"):
        run_expectations(pl.DataFrame({"a": [1]}), [in_set("crossing_code", ["X"])], "broken")


@pytest.mark.parametrize(
    "broken",
    [
        matches("crossing_code", "(["),  # GX raises while computing it
        Expect("codes", "ExpectColumnValuesToBeInSet", {"column": "crossing_code"}),  # no value_set
        Expect("codes", "ExpectColumnValuesToBeSpotless", {"column": "crossing_code"}),  # no such expectation
    ],
    ids=["regex that does not compile", "missing argument", "unknown expectation"],
)
def test_an_expectation_that_cannot_run_fails_the_check_step_and_blocks_downstream(lake: DataLake, broken) -> None:
    suite = dataclasses.replace(CUSTOMS_ITEMS, expectations=[*CUSTOMS_ITEMS.expectations, broken])
    result = run_checks(lake, suite, items_frame(), [DAY])

    assert not result.success
    failures = [e for e in result.all_events if e.is_step_failure]
    assert [e.step_key for e in failures] == ["customs_items_validation"]
    error = failures[0].event_specific_data.error
    assert error.cause.cls_name == "ValidationMachineryError"
    assert "customs_items_suite" in error.cause.message
    assert not any(e.passed for e in evaluations(result, "customs_items").values())
    assert not probe_ran(lake, suite, DAY)


def test_one_gx_context_per_process() -> None:
    frame = items_frame()
    run_expectations(frame, [in_set("direction", ["IM", "EK"])], "first")
    misses = validation._batch_definition.cache_info().misses
    run_expectations(frame, [in_set("direction", ["IM"])], "second")
    assert validation._batch_definition.cache_info().misses == misses == 1


def test_a_range_validated_in_several_gx_calls_finds_what_one_call_finds(lake: DataLake) -> None:
    days = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    frames = [items_frame(d) for d in days]
    frames[0] = set_value("crossing_code", "MOON_ROAD", row=1)(frames[0])
    frames[3] = set_value("crossing_code", "SUN_ROAD", row=2)(frames[3])
    lake.store.write_partitions("marts", "customs_items", "date", pl.concat(frames), days)

    whole = validate_mart(lake.store, CUSTOMS_ITEMS, days)
    batched = validate_mart(lake.store, CUSTOMS_ITEMS, days, max_rows=3)  # one partition per GX call

    assert len(whole.gx_results) == 1 and len(batched.gx_results) == 4
    assert [dataclasses.asdict(o) for o in batched.outcomes] == [dataclasses.asdict(o) for o in whole.outcomes]
    crossing = next(o for o in whole.outcomes if o.expectation == "expect_column_values_to_be_in_set(crossing_code)")
    assert (crossing.unexpected_count, crossing.element_count) == (2, 12)
    assert sorted(crossing.examples) == ["MOON_ROAD", "SUN_ROAD"]
    page = lake.store.read_bytes("reports", "validation", "customs_items", "2026-11-01_to_2026-11-04.html").decode()
    assert "expect_column_values_to_be_in_set(crossing_code)" in page and "MOON_ROAD" in page


def test_quarantine_share_well_above_usual_warns_and_short_history_passes_with_a_note(lake: DataLake) -> None:
    monitor = next(m for m in CUSTOMS_ITEMS.monitors if m.name == "quarantine_share")
    days = [f"2026-10-{d:02d}" for d in range(1, 21)]
    store = lake.store
    for day in days:
        bad_rows = 40 if day == days[-1] else 2  # 2 % usually, 29 % on the last day
        store.write_partition("quarantine", "customs_declarations", "date", day, pl.DataFrame({"x": ["r"] * bad_rows}))
        store.write_partition("marts", "customs_items", "date", day, pl.DataFrame({"x": ["k"] * 98}))

    judged = evaluate(monitor, store, CUSTOMS_ITEMS, days[-1:])
    assert not judged.passed
    assert judged.metadata["flagged"] == 1
    assert judged.metadata["examples"][0]["_partition"] == days[-1]

    early = evaluate(monitor, store, CUSTOMS_ITEMS, days[3:4])
    assert early.passed and early.metadata["too_little_history"] == 1
    assert "passed without judging" in early.metadata["note"]


def test_monthly_history_is_counted_in_months() -> None:
    from alatau_pipeline.comtrade.expectations import TRADE_FLOWS_MONTHLY
    from alatau_pipeline.core.monitors import history_keys

    span = history_keys(TRADE_FLOWS_MONTHLY.partitions_def, ["2026-09-01"], 12)
    assert [TRADE_FLOWS_MONTHLY.partition_value(k) for k in (span[0], span[-2], span[-1])] == [
        "2025-09", "2026-08", "2026-09"
    ]
    assert isinstance(TRADE_FLOWS_MONTHLY, MartSuite)


CONTRACT_MARTS = {
    "customs_items", "customs_daily", "crossing_throughput_daily", "trade_flows_monthly", "mirror_trade_monthly",
    "throughput_forecast", "forecast_accuracy",
}
# Marts the project writes beyond the contract's, validated all the same.
PROJECT_MARTS = {"alatau_zone_outlook"}


def test_every_mart_has_blocking_checks_in_the_code_location() -> None:
    from alatau_pipeline.definitions import defs
    from alatau_pipeline.validation.definitions import discover_suites

    assert {s.mart for s in discover_suites()} == CONTRACT_MARTS | PROJECT_MARTS
    graph = defs.resolve_asset_graph()
    blocking = {key.asset_key.path[-1] for key in graph.asset_check_keys if key.name == "grain"}
    assert blocking == CONTRACT_MARTS | PROJECT_MARTS
    # Each of them is an asset of the code location.
    marts = {key.path[-1] for key in graph.get_all_asset_keys() if key.path[-1] in CONTRACT_MARTS | PROJECT_MARTS}
    assert marts == CONTRACT_MARTS | PROJECT_MARTS
    daily = defs.resolve_job_def("daily_job")
    assert daily.executor_def.name == "in_process"  # one process per run: GX imported once


def test_loading_the_code_location_does_not_import_great_expectations() -> None:
    import subprocess
    import sys

    probe = "import sys, alatau_pipeline.definitions; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"


def test_a_partition_file_that_carries_its_partition_column_fails_schema(lake: DataLake) -> None:
    # Written behind the storage module's back: contracts section 4 forbids it (pandas cannot read the mart).
    path = lake.store.partition_file("marts", "customs_items", "date", DAY)
    Path(path).parent.mkdir(parents=True)
    items_frame().write_parquet(path)

    found = validate_mart(lake.store, CUSTOMS_ITEMS, [DAY])

    failed = [o for o in found.outcomes if not o.success]
    assert [(o.check, o.expectation, o.examples) for o in failed] == [
        ("schema", "expect_partition_column_only_in_path(date)", [DAY]),
        ("schema", "expect_table_schema_to_match(declared columns and types)", []),
    ]


def test_threshold_overrides_must_name_a_monitor_and_one_of_its_thresholds() -> None:
    from alatau_pipeline.core.checks import with_thresholds

    changed = with_thresholds(CUSTOMS_ITEMS, {"quarantine_share": {"factor": 5, "window": 14}})
    share = next(m for m in changed.monitors if m.name == "quarantine_share")
    assert (share.factor, share.window) == (5.0, 14)
    with pytest.raises(ValueError, match="no monitor"):
        with_thresholds(CUSTOMS_ITEMS, {"row_count": {"max_ratio": 2}})
    with pytest.raises(ValueError, match="'max_ratio' is not a threshold"):
        with_thresholds(CUSTOMS_ITEMS, {"quarantine_share": {"max_ratio": 2}})


def _broken_items() -> pl.DataFrame:
    """A day of customs_items breaking most kinds of expectation of the suite, several rows each."""
    frame = items_frame(n=9)
    for mutate in (
        set_value("crossing_code", "MOON_ROAD", row=1), set_value("crossing_code", "SUN_ROAD", row=4),
        set_value("hs6", "84713X", row=2), set_value("net_kg", 5_000.0, row=3), set_value("gross_kg", -1.0, row=5),
        set_value("origin_country", None, row=6), set_value("item_no", 0, row=7), set_value("hs2", "85", row=0),
    ):
        frame = mutate(frame)
    return pl.concat([frame, frame.tail(1)])  # and a duplicated grain (the clean last row)


@pytest.mark.parametrize("broken", [False, True], ids=["clean", "broken"])
def test_memoizing_gx_rebuilds_changes_no_result(monkeypatch: pytest.MonkeyPatch, broken: bool) -> None:
    """The bridge's memoization of GX internals (validation._memoize_gx_rebuilds) is on, and validating with
    it finds exactly what GX's own code finds: same outcomes (counts, examples, partitions) and the same
    GX results, on a clean and on a broken partition."""
    import contextlib

    from great_expectations.core.id_dict import IDDict
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    from alatau_pipeline.core.checks import _validate_frame

    validation.warm_up()
    assert getattr(Expectation.__dict__["configuration"].fget, "_memo", False)
    assert getattr(ExpectationConfiguration.to_domain_obj, "_memo", False)
    assert getattr(IDDict.to_id, "_memo", False)
    frame = _broken_items() if broken else items_frame(n=8)

    memoized = _validate_frame(CUSTOMS_ITEMS, frame)
    monkeypatch.setattr(validation, "_gx_call", contextlib.nullcontext)
    plain = _validate_frame(CUSTOMS_ITEMS, frame)

    assert [dataclasses.asdict(o) for o in memoized[0]] == [dataclasses.asdict(o) for o in plain[0]]
    assert memoized[1] == plain[1]
    failed = {o.expectation: (o.unexpected_count, o.examples) for o in memoized[0] if not o.success}
    if not broken:
        assert failed == {}
    else:
        assert failed["expect_column_values_to_be_in_set(crossing_code)"] == (2, ["MOON_ROAD", "SUN_ROAD"])
        assert failed["expect_column_values_to_match_regex(hs6)"] == (1, ["84713X"])
        assert failed["expect_column_pair_values_a_to_be_greater_than_b(gross_kg, net_kg)"][0] == 2  # rows 3, 5
        assert failed["expect_column_values_to_be_between(gross_kg)"] == (1, [-1.0])
        assert failed["expect_column_values_to_not_be_null(origin_country)"][0] == 1
        assert failed["expect_column_values_to_be_between(item_no)"] == (1, [0])
        assert failed["expect_column_pair_values_to_be_equal(hs2, _tnved_hs2)"][0] == 1
        assert failed["expect_compound_columns_to_be_unique(date, declaration_id, item_no)"][0] == 2


def test_memoized_gx_objects_are_rebuilt_when_changed_and_only_remembered_inside_a_call() -> None:
    import great_expectations.expectations as gxe

    validation.warm_up()
    expectation = gxe.ExpectColumnValuesToBeInSet(column="a", value_set=["x"])
    with validation._gx_call():
        first = expectation.configuration
        assert expectation.configuration is first
        expectation.column = "b"  # a reassigned field: built again
        assert expectation.configuration.kwargs["column"] == "b"
        config = expectation.configuration
        domain = config.to_domain_obj()
        assert config.to_domain_obj() is domain
        config.kwargs["value_set"] = ["y"]  # a changed kwarg: built again
        assert config.to_domain_obj().value_set == ["y"]
    assert expectation.configuration is not expectation.configuration  # outside a call: GX's own property


def test_not_null_judged_in_polars_reports_what_gx_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plain not-null expectations are judged in Polars (validation._not_null_in_polars), with exactly the
    outcome GX gives (counts, examples, partitions of the first unexpected rows): nulls in string, float,
    integer, boolean and timestamp columns, a NaN in a float column, more than EXAMPLES of them, a clean
    column, a range of partitions."""
    import json

    at = dt.datetime(2026, 11, 2, 5, tzinfo=dt.UTC)
    frame = pl.DataFrame({
        "date": [f"2026-11-0{d}" for d in (1, 1, 2, 2, 3, 3, 4, 4)],
        "s": ["a", None, "b", None, None, None, None, "c"],
        "x": [1.0, float("nan"), None, 2.0, None, None, None, 3.0],
        "i": [1, None, 2, 3, 4, 5, 6, 7],
        "b": [True, None, False, True, True, True, True, False],
        "t": [at, at, None, at, at, at, at, at],
        "clean": ["v"] * 8,
    })
    expectations = [*not_null("s", "x", "i", "b", "t", "clean"), in_set("clean", ["v"])]

    polars = run_expectations(frame, expectations, "nulls", "date")
    monkeypatch.setattr(validation, "_judged_in_polars", lambda expectation, frame: False)
    gx = run_expectations(frame, expectations, "nulls", "date")

    def plain(result: validation.BridgeResult) -> str:
        return json.dumps([dataclasses.asdict(o) for o in result.outcomes])  # NaN as NaN, comparable

    assert plain(polars) == plain(gx)
    assert polars.gx_result["success"] is gx.gx_result["success"] is False
    assert len(polars.gx_result["results"]) == len(gx.gx_result["results"]) == 7
    by_column = {o.expectation: o for o in polars.outcomes}
    s = by_column["expect_column_values_to_not_be_null(s)"]
    assert (s.unexpected_count, s.element_count) == (5, 8)
    assert s.partitions == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    assert by_column["expect_column_values_to_not_be_null(x)"].unexpected_count == 5  # the NaN included
    assert by_column["expect_column_values_to_not_be_null(clean)"].success


def test_counts_from_footers_equal_counts_from_a_scan(lake: DataLake) -> None:
    """partition_aggregates counts rows (pl.len(), no group, no filter) from the Parquet footers: the same
    frame as the scan it replaces, with an empty and a missing partition, with and without fill_empty."""
    from alatau_pipeline.core.partition_stats import partition_aggregates

    days = ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]
    frame = pl.concat([items_frame(days[0], n=3), items_frame(days[1], n=5)])
    lake.store.write_partitions("marts", "customs_items", "date", frame, days[:3])  # 11-03 empty, 11-04 absent
    where = (lake.store, "marts", "customs_items", "date", days)
    for fill_empty in (0.0, None):
        footers = partition_aggregates(*where, pl.len(), fill_empty=fill_empty)
        scanned = partition_aggregates(*where, pl.len() + 0, fill_empty=fill_empty)  # not a plain count: scanned
        assert footers.equals(scanned), (footers, scanned)
    assert footers.rows() == [("2026-11-01", 3.0), ("2026-11-02", 5.0)]


def test_monitors_sharing_one_read_judge_as_each_alone(lake: DataLake) -> None:
    """evaluate_all reads crossing_throughput_daily's span once for its three trailing monitors (groups,
    filters): every outcome is the one each monitor finds alone, including a flagged partition."""
    from alatau_pipeline.core.monitors import evaluate_all
    from alatau_pipeline.crossings.expectations import CROSSING_THROUGHPUT_DAILY
    from tests.validation.test_domain_suites import throughput_frame

    days = [(dt.date(2026, 10, 1) + dt.timedelta(days=i)).isoformat() for i in range(35)]
    frames = [throughput_frame(d) for d in days]
    frames[-1] = frames[-1].with_columns(pl.col("tonnes") * 10)  # the last day: ten times the usual tonnes
    lake.store.write_partitions("marts", CROSSING_THROUGHPUT_DAILY.mart, "date", pl.concat(frames), days)

    for keys in (days[-1:], days[-10:]):
        together = evaluate_all(CROSSING_THROUGHPUT_DAILY.monitors, lake.store, CROSSING_THROUGHPUT_DAILY, keys)
        alone = [evaluate(m, lake.store, CROSSING_THROUGHPUT_DAILY, keys) for m in CROSSING_THROUGHPUT_DAILY.monitors]
        assert [dataclasses.asdict(o) for o in together] == [dataclasses.asdict(o) for o in alone]
    assert not together[0].passed and together[0].metadata["flagged"] > 0
