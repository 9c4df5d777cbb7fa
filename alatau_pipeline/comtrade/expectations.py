"""Expectation suites of the Comtrade marts (contracts section 4), validated as asset checks.

Picked up by ``alatau_pipeline.validation`` through ``SUITES``; declaring a suite costs no GX import.
Monthly marts: the Dagster key ``YYYY-MM-01`` is the path value ``period=YYYY-MM``; monitors compare a
month with the trailing 12.
"""

from __future__ import annotations

import polars as pl

from alatau_pipeline.comtrade.parse import FLOWS, GRAIN, MIRROR_GRAIN, MIRROR_SCHEMA, TRADE_FLOWS_SCHEMA
from alatau_pipeline.core.partitions import MONTHLY_PARTITIONS, month_key_to_period
from alatau_pipeline.core.suites import (
    MartSuite,
    TrailingMonitor,
    at_most,
    between,
    equal,
    in_set,
    matches,
    non_negative,
)

# The two reporters of the corridor (contracts 3.4): Kazakhstan 398 and China 156.
ISO_BY_CODE = {398: "KAZ", 156: "CHN"}
REPORTER_ISO = tuple(ISO_BY_CODE.values())
# Every HS6 code in both directions of both reporters: ~5,600 HS6 codes × 2 reporters × 2 flows.
MAX_FLOW_ROWS = 2 * 2 * 6_000
COVERAGES = ("both", "exporter_only", "importer_only")
_MONTHLY = {"partitions_def": MONTHLY_PARTITIONS, "partition_column": "period", "partition_value": month_key_to_period}


def _files_schema(schema: dict[str, pl.DataType]) -> dict[str, pl.DataType]:
    return {name: dtype for name, dtype in schema.items() if name != "period"}


TRADE_FLOWS_MONTHLY = MartSuite(
    mart="trade_flows_monthly",
    **_MONTHLY,
    schema=_files_schema(TRADE_FLOWS_SCHEMA),
    grain=GRAIN,
    # Comtrade leaves values a reporter did not publish empty; the primary value is always there.
    required=frozenset({"primary_value_usd"}),
    expectations=[
        in_set("reporter_iso", REPORTER_ISO),
        in_set("partner_iso", REPORTER_ISO),
        in_set("flow_code", FLOWS),
        matches("hs6", r"\d{6}"),
        in_set("reporter_code", ISO_BY_CODE),
        in_set("partner_code", ISO_BY_CODE),
        *non_negative("primary_value_usd", "cif_usd", "fob_usd", "net_kg", "qty", "gross_kg"),
        at_most("net_kg", "gross_kg"),
    ],
    rows_per_partition=(0, MAX_FLOW_ROWS),
    monitors=[
        TrailingMonitor(
            "row_count_vs_trailing_12m", pl.len(), "flows of the month against the trailing 12 months' median",
            window=12, min_history=6,
        ),
        TrailingMonitor(
            "value_vs_trailing_12m", pl.col("primary_value_usd").sum(),
            "value of the month per reporter and flow against the trailing 12 months' median",
            by=("reporter_iso", "flow_code"), window=12, min_history=6,
        ),
    ],
)

export, import_cif, import_fob = pl.col("export_fob_usd"), pl.col("import_cif_usd"), pl.col("import_fob_est_usd")

MIRROR_TRADE_MONTHLY = MartSuite(
    mart="mirror_trade_monthly",
    **_MONTHLY,
    schema=_files_schema(MIRROR_SCHEMA),
    grain=MIRROR_GRAIN,
    # One side of a flow may be unreported (coverage says which); the gap and coverage always exist.
    required=frozenset({"gap_usd", "coverage"}),
    derived={
        "_coverage_of_values": pl.when(export.is_not_null() & import_cif.is_not_null())
        .then(pl.lit("both"))
        .when(export.is_not_null())
        .then(pl.lit("exporter_only"))
        .otherwise(pl.lit("importer_only")),
        # Relative errors of the derived columns against their definitions (contracts section 4).
        "_gap_error": ((pl.col("gap_usd") - (export.fill_null(0.0) - import_fob.fill_null(0.0))).abs()
                       / (export.fill_null(0.0).abs() + import_fob.fill_null(0.0).abs() + 1.0)),
        "_log_ratio_error": (pl.col("log_ratio") - (export / import_fob).log()).abs(),
        "_exporter_is_importer": (pl.col("exporter_iso") == pl.col("importer_iso")),
    },
    expectations=[
        in_set("exporter_iso", REPORTER_ISO),
        in_set("importer_iso", REPORTER_ISO),
        in_set("_exporter_is_importer", [False]),
        matches("hs6", r"\d{6}"),
        in_set("coverage", COVERAGES),
        *non_negative("export_fob_usd", "import_cif_usd", "import_fob_est_usd"),
        at_most("import_fob_est_usd", "import_cif_usd"),
        equal("coverage", "_coverage_of_values", check="consistency"),
        between("_gap_error", None, 1e-9, check="consistency"),
        between("_log_ratio_error", None, 1e-9, check="consistency"),
    ],
    rows_per_partition=(0, MAX_FLOW_ROWS),
    monitors=[
        TrailingMonitor(
            "row_count_vs_trailing_12m", pl.len(), "mirror rows of the month against the trailing 12 months' median",
            window=12, min_history=6,
        ),
        TrailingMonitor(
            "gap_vs_trailing_12m", pl.col("gap_usd").abs().sum() + 1.0,
            "absolute mirror gap of the month per exporter against the trailing 12 months' median",
            by=("exporter_iso",), window=12, min_history=6,
        ),
    ],
)

SUITES = (TRADE_FLOWS_MONTHLY, MIRROR_TRADE_MONTHLY)
