"""Mirror trade against values worked by hand, the parser's refusals, the HS dimension, the revision window,
and the demo source materialized through the real assets."""

from __future__ import annotations

import datetime as dt
import json
import math

import pandas as pd
import polars as pl
import pytest
from dagster import materialize

from alatau_pipeline.comtrade import demo_source, hs
from alatau_pipeline.comtrade.assets import comtrade_raw, mirror_trade_monthly, trade_flows_monthly
from alatau_pipeline.comtrade.ingest import cmd_code_chunks
from alatau_pipeline.comtrade.parse import (
    ComtradeFormatError,
    mirror_trade,
    parse_answer,
    records_frame,
    trade_flows,
)
from alatau_pipeline.comtrade.resources import ComtradeClient, retry_after_seconds
from alatau_pipeline.comtrade.revisions import demo_month_range, revision_window_tags, trailing_months
from alatau_pipeline.demo.customs import generate_day
from alatau_pipeline.demo.run import DEMO_JOBS
from tests.comtrade.fake_api import record
from tests.conftest import range_tags

KZ, CN = 398, 156


def flows_frame(rows: list[tuple]) -> pl.DataFrame:
    """trade_flows rows: (period, reporter, partner, flow, hs6, primary, cif, fob)."""
    return pl.DataFrame(
        rows,
        schema={"period": pl.String, "reporter_iso": pl.String, "partner_iso": pl.String, "flow_code": pl.String,
                "hs6": pl.String, "primary_value_usd": pl.Float64, "cif_usd": pl.Float64, "fob_usd": pl.Float64},
        orient="row",
    )


def test_mirror_worked_by_hand():
    flows = flows_frame([
        # China → Kazakhstan, HS 850760: China's X 1,320 FOB; Kazakhstan's M 1,100 CIF.
        ("2025-03", "CHN", "KAZ", "X", "850760", 1320.0, None, 1320.0),
        ("2025-03", "KAZ", "CHN", "M", "850760", 1100.0, 1100.0, None),
        # Exporter only: China reports 90 of bicycles, Kazakhstan nothing.
        ("2025-03", "CHN", "KAZ", "X", "871200", 90.0, None, 90.0),
        # Importer only: Kazakhstan reports 220 CIF of medicaments, China nothing.
        ("2025-03", "KAZ", "CHN", "M", "300490", 220.0, 220.0, None),
        # Kazakhstan → China, copper: fobvalue missing → primaryValue 500; China's cifvalue missing → 550.
        ("2025-03", "KAZ", "CHN", "X", "740311", 500.0, None, None),
        ("2025-03", "CHN", "KAZ", "M", "740311", 550.0, None, None),
        # Zero export value: no log ratio.
        ("2025-03", "KAZ", "CHN", "X", "260300", 0.0, None, 0.0),
        ("2025-03", "CHN", "KAZ", "M", "260300", 11.0, 11.0, None),
    ])
    mirror = mirror_trade(flows, cif_fob_margin=0.10)
    rows = {r["hs6"]: r for r in mirror.iter_rows(named=True)}
    assert set(mirror.columns) >= {"period", "exporter_iso", "importer_iso", "hs6", "export_fob_usd", "import_cif_usd",
                                   "import_fob_est_usd", "gap_usd", "log_ratio", "coverage"}
    battery = rows["850760"]
    assert (battery["exporter_iso"], battery["importer_iso"], battery["coverage"]) == ("CHN", "KAZ", "both")
    assert battery["import_fob_est_usd"] == pytest.approx(1000.0)  # 1100 / 1.10
    assert battery["gap_usd"] == pytest.approx(320.0)
    assert battery["log_ratio"] == pytest.approx(math.log(1.32))
    bikes = rows["871200"]
    assert (bikes["coverage"], bikes["export_fob_usd"], bikes["import_cif_usd"]) == ("exporter_only", 90.0, None)
    assert bikes["gap_usd"] == pytest.approx(90.0) and bikes["log_ratio"] is None
    medicine = rows["300490"]
    assert (medicine["coverage"], medicine["exporter_iso"], medicine["importer_iso"]) == ("importer_only", "CHN", "KAZ")
    assert medicine["export_fob_usd"] is None
    assert medicine["import_fob_est_usd"] == pytest.approx(200.0)
    assert medicine["gap_usd"] == pytest.approx(-200.0) and medicine["log_ratio"] is None
    copper = rows["740311"]
    assert (copper["exporter_iso"], copper["importer_iso"]) == ("KAZ", "CHN")
    assert copper["export_fob_usd"] == 500.0 and copper["import_cif_usd"] == 550.0
    assert copper["gap_usd"] == pytest.approx(0.0) and copper["log_ratio"] == pytest.approx(0.0)
    assert rows["260300"]["log_ratio"] is None and rows["260300"]["gap_usd"] == pytest.approx(-10.0)
    assert mirror.height == 5


def test_mirror_rejects_a_margin_outside_0_to_1():
    with pytest.raises(ValueError, match="cif_fob_margin"):
        mirror_trade(flows_frame([]), cif_fob_margin=1.5)


def test_trade_flows_keep_totals_only_and_refuse_contradicting_totals():
    p = "202503"
    records = [
        record(p, KZ, CN, "M", "850760", cif=1000.0, primary=1000.0),
        record(p, KZ, CN, "M", "850760", cif=700.0, primary=700.0, mot=3100),
        record(p, KZ, CN, "M", "850760", cif=1000.0, primary=1000.0, customs="C01"),
        record(p, KZ, CN, "M", "850760", cif=1000.0, primary=1000.0, partner2=CN),
        record(p, KZ, CN, "M", "850760", cif=1000.0, primary=1000.0),  # the same total in a second answer
        record(p, KZ, CN, "RX", "850760", fob=5.0, primary=5.0),  # re-exports are not M or X
    ]
    flows = trade_flows(records_frame(records))
    assert flows.select("period", "reporter_iso", "flow_code", "hs6", "primary_value_usd").rows() == [
        ("2025-03", "KAZ", "M", "850760", 1000.0)
    ]
    contradicting = [*records, record(p, KZ, CN, "M", "850760", cif=990.0, primary=990.0)]
    with pytest.raises(ComtradeFormatError, match="disagree"):
        trade_flows(records_frame(contradicting))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>Service Unavailable</html>", "is not JSON"),
        (b'{"count": 2, "data": [{"period": "2025', "is not JSON"),
        (b'{"results": []}', "no 'data' list"),
        (b'{"count": 0, "data": [], "error": "Invalid cmdCode"}', "Invalid cmdCode"),
        (b'{"count": 5, "data": []}', "'count' is 5"),
        (b'{"count": 1, "data": [{"period": "202503"}]}', "lacks"),
    ],
)
def test_an_answer_that_is_not_the_documented_json_is_an_error(body, message):
    with pytest.raises(ComtradeFormatError, match=message):
        parse_answer(body, where="raw/comtrade/x.json")


def test_an_empty_but_valid_answer_is_an_empty_month():
    assert parse_answer(b'{"elapsedTime": "0", "count": 0, "data": [], "error": ""}', where="x") == []


def test_hs_dimension_names_chapters_and_sections():
    chapters = hs.chapters()
    assert chapters.height == 97  # 01–97 without the reserved 77, plus 99
    named = dict(chapters.select("hs2", "hs_section").iter_rows())
    assert (named["01"], named["27"], named["85"], named["97"], named["99"]) == ("I", "V", "XVI", "XXI", None)
    reference = hs.parse_reference(demo_source.hs_reference())
    dimension = hs.dimension(reference).filter(pl.col("hs6") == "270900").row(0, named=True)
    assert dimension["hs2_name"].startswith("Mineral fuels")
    assert dimension["hs6_name"].startswith("Petroleum oils")
    with pytest.raises(hs.HsReferenceError):
        hs.parse_reference(b"<html>")


def test_cmd_code_lists_fit_a_url():
    codes = [f"{i:06d}" for i in range(100000, 101000)]
    chunks = list(cmd_code_chunks(codes))
    assert sum(len(c) for c in chunks) == 1000 and len(chunks) > 1
    assert all(len(",".join(c)) * 3 < 12_000 and len(",".join(c).replace(",", "%2C")) <= 3_400 for c in chunks)


def test_trailing_revision_window():
    assert trailing_months(3, dt.date(2026, 1, 15)) == ["2025-10-01", "2025-11-01", "2025-12-01"]
    assert len(trailing_months(today=dt.date(2026, 11, 25))) == 12
    assert trailing_months(12, dt.date(2017, 4, 1)) == ["2017-01-01", "2017-02-01", "2017-03-01"]
    assert revision_window_tags(12, dt.date(2026, 11, 25)) == {
        "dagster/asset_partition_range_start": "2025-11-01",
        "dagster/asset_partition_range_end": "2026-10-01",
    }


def test_demo_runs_comtrade_over_the_whole_months_of_the_range():
    keys_for = next(run.keys_for for run in DEMO_JOBS if run.job == "comtrade_job")
    assert keys_for(dt.date(2024, 11, 25), dt.date(2026, 11, 24)) == ("2024-11-01", "2026-10-01")
    assert keys_for(dt.date(2024, 11, 1), dt.date(2026, 10, 31)) == ("2024-11-01", "2026-10-01")
    assert demo_month_range(dt.date(2025, 1, 1), dt.date(2025, 1, 31)) == ("2025-01-01", "2025-01-01")


def test_retry_after_forms():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("0.25") == 0.25
    assert retry_after_seconds("Wed, 25 Nov 2026 18:00:10 GMT", now=1795629600.0) == pytest.approx(10.0)
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_demo_source_through_the_real_assets(data_dir, lake):
    result = materialize(
        [comtrade_raw, trade_flows_monthly, mirror_trade_monthly],
        resources={"lake": lake, "comtrade": ComtradeClient(source="demo")},
        tags=range_tags("2025-01-01", "2025-02-01"),
    )
    assert result.success
    raw = json.loads(next((data_dir / "raw/comtrade/period=2025-01/reporter=156").rglob("all.json")).read_bytes())
    assert raw["count"] == len(raw["data"]) > 0
    breakdown = [r for r in raw["data"] if (r["motCode"], r["customsCode"], r["partner2Code"]) != (0, "C00", 0)]
    assert breakdown  # breakdown rows are in the answer...

    flows = pl.read_parquet(data_dir / "marts/trade_flows_monthly/**/*.parquet", hive_partitioning=True)
    totals = dict(
        flows.group_by("period", "reporter_iso", "flow_code")
        .agg(pl.col("primary_value_usd").sum())
        .select(pl.concat_str("period", "reporter_iso", "flow_code", separator=":"), "primary_value_usd")
        .iter_rows()
    )
    for period in ("2025-01", "2025-02"):
        # ...but not in the mart: China's exports to Kazakhstan run 25–35 % above Kazakhstan's imports.
        assert 1.25 <= totals[f"{period}:CHN:X"] / totals[f"{period}:KAZ:M"] <= 1.35
    # Kazakhstan's reports agree with the demo customs declarations of the month (as the landing files have them).
    customs = pl.concat(
        generate_day(dt.date(2025, 1, d)).files["declarations.csv.gz"] for d in range(1, 32)
    ).with_columns(pl.col("stat_value_usd").cast(pl.Float64, strict=False))
    for direction, flow in (("IM", "M"), ("EK", "X")):
        declared = customs.filter(pl.col("direction") == direction)["stat_value_usd"].sum()
        assert 0.85 <= totals[f"2025-01:KAZ:{flow}"] / declared <= 1.15, (flow, totals, declared)
    assert flows.filter(pl.col("hs6_name").is_null()).is_empty()
    dimension = pl.read_parquet(data_dir / "raw/comtrade/reference/hs_classification.parquet")
    assert flows.join(dimension, on="hs6", how="anti").is_empty()  # every mart code is in the dimension
    assert dimension.filter(pl.col("hs6") == "850760")["hs_section"].to_list() == ["XVI"]

    mirror = pl.read_parquet(data_dir / "marts/mirror_trade_monthly/**/*.parquet", hive_partitioning=True)
    assert set(mirror["coverage"].unique().to_list()) == {"both", "exporter_only", "importer_only"}
    # The partition column lives in the directory name only, so pandas reads the folder as one table.
    assert "period" not in pl.read_parquet_schema(data_dir / "marts/mirror_trade_monthly/period=2025-01/part-0.parquet")
    assert pd.read_parquet(data_dir / "marts/mirror_trade_monthly").shape[0] == mirror.height
    events = {e.asset_key.path[-1]: e for e in result.get_asset_materialization_events()}
    gaps = events["mirror_trade_monthly"].materialization.metadata["largest_gaps"].value
    assert gaps.count("\n") == 11  # header, rule and ten rows
    assert events["mirror_trade_monthly"].materialization.metadata["cif_fob_margin"].value == 0.05


def test_cif_fob_margin_is_dagster_config(data_dir, lake):
    result = materialize(
        [comtrade_raw, trade_flows_monthly, mirror_trade_monthly],
        resources={"lake": lake, "comtrade": ComtradeClient(source="demo")},
        partition_key="2024-06-01",
        run_config={"ops": {"mirror_trade_monthly": {"config": {"cif_fob_margin": 0.10}}}},
    )
    assert result.success
    mirror = pl.read_parquet(data_dir / "marts/mirror_trade_monthly/period=2024-06/part-0.parquet")
    both = mirror.filter(pl.col("coverage") == "both")
    assert (both["import_fob_est_usd"] - both["import_cif_usd"] / 1.10).abs().max() < 1e-6


def test_comtrade_calls_run_in_one_pool_and_the_job_is_registered():
    from alatau_pipeline.definitions import defs

    assert comtrade_raw.op.pool == "comtrade"
    job = defs.resolve_job_def("comtrade_job")
    assert {n.name for n in job.graph.node_defs} >= {"comtrade_raw", "trade_flows_monthly", "mirror_trade_monthly"}
    assert job.partitions_def is not None and job.partitions_def.get_first_partition_key() == "2017-01-01"


def test_daily_call_budget_holds_across_ledgers(data_dir):
    from alatau_pipeline.comtrade.ingest import CallLedger
    from alatau_pipeline.comtrade.resources import ComtradeBudgetExhausted
    from alatau_pipeline.core.storage import PartitionedParquetStore

    store = PartitionedParquetStore(data_dir)
    day = dt.date(2026, 11, 25)
    CallLedger(store, budget=2, today=lambda: day).take()
    ledger = CallLedger(store, budget=2, today=lambda: day)  # a later run sees the same day's count
    ledger.take()
    with pytest.raises(ComtradeBudgetExhausted, match="daily budget of 2"):
        ledger.take()
    CallLedger(store, budget=2, today=lambda: day + dt.timedelta(days=1)).take()  # a new day, a new budget
