"""Parsing stored Comtrade answers and computing the two marts (contracts 3.4 and 4), in Polars.

- :func:`parse_answer` checks an answer is the documented ``{"count", "data", "error"}`` JSON; anything
  else (HTML error page, truncated body, an ``error`` message) raises, so a bad answer can never pass for
  an empty month.
- :func:`trade_flows` keeps only totals (``motCode`` 0, ``customsCode`` C00, ``partner2Code`` 0), so a
  flow restated by mode of transport, procedure or second partner is counted once.
- :func:`mirror_trade` sets each exporter's reported exports beside the importer's reported imports.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import polars as pl

FLOWS = ("M", "X")

# The fields the marts are built from, typed; other fields of a record are kept in the raw answer only.
RECORD_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.String(),
    "reporterCode": pl.Int64(),
    "reporterISO": pl.String(),
    "flowCode": pl.String(),
    "partnerCode": pl.Int64(),
    "partnerISO": pl.String(),
    "partner2Code": pl.Int64(),
    "cmdCode": pl.String(),
    "customsCode": pl.String(),
    "motCode": pl.Int64(),
    "qtyUnitAbbr": pl.String(),
    "qty": pl.Float64(),
    "netWgt": pl.Float64(),
    "grossWgt": pl.Float64(),
    "cifvalue": pl.Float64(),
    "fobvalue": pl.Float64(),
    "primaryValue": pl.Float64(),
    "isReported": pl.Boolean(),
}
REQUIRED_FIELDS = ("period", "reporterCode", "flowCode", "partnerCode", "partner2Code", "cmdCode",
                   "customsCode", "motCode", "primaryValue")

GRAIN = ("reporter_iso", "partner_iso", "flow_code", "hs6")
TRADE_FLOWS_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.String(),
    "reporter_iso": pl.String(),
    "partner_iso": pl.String(),
    "flow_code": pl.String(),
    "hs6": pl.String(),
    "primary_value_usd": pl.Float64(),
    "cif_usd": pl.Float64(),
    "fob_usd": pl.Float64(),
    "net_kg": pl.Float64(),
    "qty": pl.Float64(),
    "qty_unit": pl.String(),
    "gross_kg": pl.Float64(),
    "reporter_code": pl.Int64(),
    "partner_code": pl.Int64(),
    "is_reported": pl.Boolean(),
}
MIRROR_GRAIN = ("exporter_iso", "importer_iso", "hs6")
MIRROR_SCHEMA: dict[str, pl.DataType] = {
    "period": pl.String(),
    "exporter_iso": pl.String(),
    "importer_iso": pl.String(),
    "hs6": pl.String(),
    "export_fob_usd": pl.Float64(),
    "import_cif_usd": pl.Float64(),
    "import_fob_est_usd": pl.Float64(),
    "gap_usd": pl.Float64(),
    "log_ratio": pl.Float64(),
    "coverage": pl.String(),
}
HS_NAME_COLUMNS = ("hs4", "hs2", "hs6_name", "hs2_name", "hs_section", "hs_section_name")

DESCRIPTIONS = {
    "period": "reference month YYYY-MM (partition column)",
    "reporter_iso": "reporting country (Comtrade reporterISO)",
    "partner_iso": "partner country (Comtrade partnerISO)",
    "flow_code": "M imports, X exports, as the reporter reports them",
    "hs6": "HS subheading (6 digits)",
    "primary_value_usd": "Comtrade primaryValue (CIF for imports, FOB for exports), US dollars",
    "cif_usd": "Comtrade cifvalue, US dollars",
    "fob_usd": "Comtrade fobvalue, US dollars",
    "net_kg": "net weight, kg",
    "qty": "quantity in qty_unit",
    "qty_unit": "unit of qty (Comtrade qtyUnitAbbr)",
    "gross_kg": "gross weight, kg",
    "exporter_iso": "country whose reported exports are compared",
    "importer_iso": "country whose reported imports are compared",
    "export_fob_usd": "exporter's reported X: fobvalue, else primaryValue",
    "import_cif_usd": "importer's reported M: cifvalue, else primaryValue",
    "import_fob_est_usd": "import_cif_usd / (1 + cif_fob_margin)",
    "gap_usd": "export_fob_usd − import_fob_est_usd (a side that did not report counts as 0)",
    "log_ratio": "ln(export_fob_usd / import_fob_est_usd) where both > 0",
    "coverage": "both, exporter_only or importer_only: who reported the flow",
    "hs6_name": "HS6 text (Comtrade HS reference)",
    "hs2_name": "HS chapter name",
    "hs_section": "HS section (roman numeral)",
    "hs_section_name": "HS section name",
}


class ComtradeFormatError(Exception):
    """An answer that is not the documented Comtrade JSON; the message names the stored raw file."""


def parse_answer(body: bytes, where: str) -> list[dict[str, Any]]:
    """The records of one answer, or :class:`ComtradeFormatError` if it is not the documented JSON."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        preview = body[:80].decode("utf-8", "replace")
        raise ComtradeFormatError(
            f"{where}: answer is not JSON ({exc}; {len(body)} bytes, starts {preview!r}): truncated or not "
            "the Comtrade API"
        ) from exc
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise ComtradeFormatError(f"{where}: answer is JSON but has no 'data' list: not the documented shape")
    if document.get("error"):
        raise ComtradeFormatError(f"{where}: Comtrade reported an error: {str(document['error'])[:300]}")
    data = document["data"]
    count = document.get("count")
    if count is not None and count != len(data):
        raise ComtradeFormatError(f"{where}: 'count' is {count} but {len(data)} records arrived (incomplete)")
    for index, record in enumerate(data):
        missing = [f for f in REQUIRED_FIELDS if not isinstance(record, dict) or f not in record]
        if missing:
            raise ComtradeFormatError(f"{where}: record {index} lacks {', '.join(missing)}")
    return data


def records_frame(records: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """Records as a typed frame of the fields the marts use (absent optional fields become null)."""
    if not records:
        return pl.DataFrame(schema=RECORD_SCHEMA)
    rows = [{name: record.get(name) for name in RECORD_SCHEMA} for record in records]
    # Codes arrive as numbers or strings depending on the field and API version: read as text, then cast.
    frame = pl.DataFrame(rows, schema={name: pl.String for name in RECORD_SCHEMA}, strict=False)
    return frame.with_columns(
        pl.col(name).cast(dtype, strict=True) if dtype != pl.Boolean() else _boolean(name)
        for name, dtype in RECORD_SCHEMA.items()
    )


def _boolean(name: str) -> pl.Expr:
    return pl.col(name).str.to_lowercase().is_in(["true", "1"]).alias(name)


def trade_flows(records: pl.DataFrame) -> pl.DataFrame:
    """``trade_flows_monthly`` rows (without HS names) from records of any number of answers and months.

    Totals only; the same total delivered by two answers counts once; two different totals of one grain
    mean the answers contradict each other, which is an error rather than a silent pick.
    """
    totals = records.filter(
        (pl.col("motCode") == 0)
        & (pl.col("customsCode") == "C00")
        & (pl.col("partner2Code") == 0)
        & pl.col("flowCode").is_in(FLOWS)
    )
    flows = totals.select(
        (pl.col("period").str.slice(0, 4) + "-" + pl.col("period").str.slice(4, 2)).alias("period"),
        pl.col("reporterISO").alias("reporter_iso"),
        pl.col("partnerISO").alias("partner_iso"),
        pl.col("flowCode").alias("flow_code"),
        pl.col("cmdCode").alias("hs6"),
        pl.col("primaryValue").alias("primary_value_usd"),
        pl.col("cifvalue").alias("cif_usd"),
        pl.col("fobvalue").alias("fob_usd"),
        pl.col("netWgt").alias("net_kg"),
        pl.col("qty"),
        pl.col("qtyUnitAbbr").alias("qty_unit"),
        pl.col("grossWgt").alias("gross_kg"),
        pl.col("reporterCode").alias("reporter_code"),
        pl.col("partnerCode").alias("partner_code"),
        pl.col("isReported").alias("is_reported"),
    ).unique(maintain_order=True)
    conflicts = flows.filter(pl.len().over("period", *GRAIN) > 1)
    if conflicts.height:
        sample = conflicts.select("period", *GRAIN).unique().head(5).rows()
        raise ComtradeFormatError(f"answers disagree on the totals of {conflicts.height} rows, e.g. {sample}")
    return flows.cast(TRADE_FLOWS_SCHEMA).sort("period", *GRAIN)  # type: ignore[arg-type]


def mirror_trade(flows: pl.DataFrame, cif_fob_margin: float) -> pl.DataFrame:
    """``mirror_trade_monthly`` rows: the exporter's X beside the importer's M, per period and HS6."""
    if not 0 <= cif_fob_margin < 1:
        raise ValueError(f"cif_fob_margin must be in [0, 1), got {cif_fob_margin}")
    keys = ["period", *MIRROR_GRAIN]
    exports = flows.filter(pl.col("flow_code") == "X").select(
        "period",
        pl.col("reporter_iso").alias("exporter_iso"),
        pl.col("partner_iso").alias("importer_iso"),
        "hs6",
        pl.coalesce("fob_usd", "primary_value_usd").alias("export_fob_usd"),
    )
    imports = flows.filter(pl.col("flow_code") == "M").select(
        "period",
        pl.col("partner_iso").alias("exporter_iso"),
        pl.col("reporter_iso").alias("importer_iso"),
        "hs6",
        pl.coalesce("cif_usd", "primary_value_usd").alias("import_cif_usd"),
    )
    joined = exports.join(imports, on=keys, how="full", coalesce=True)
    fob_est = pl.col("import_cif_usd") / (1 + cif_fob_margin)
    both_positive = (pl.col("export_fob_usd") > 0) & (pl.col("import_fob_est_usd") > 0)
    return (
        joined.with_columns(fob_est.alias("import_fob_est_usd"))
        .with_columns(
            (pl.col("export_fob_usd").fill_null(0.0) - pl.col("import_fob_est_usd").fill_null(0.0)).alias("gap_usd"),
            pl.when(both_positive)
            .then((pl.col("export_fob_usd") / pl.col("import_fob_est_usd")).log())
            .alias("log_ratio"),
            pl.when(pl.col("export_fob_usd").is_not_null() & pl.col("import_cif_usd").is_not_null())
            .then(pl.lit("both"))
            .when(pl.col("export_fob_usd").is_not_null())
            .then(pl.lit("exporter_only"))
            .otherwise(pl.lit("importer_only"))
            .alias("coverage"),
        )
        .select(list(MIRROR_SCHEMA))
        .cast(MIRROR_SCHEMA)  # type: ignore[arg-type]
        .sort(keys)
    )


def largest_gaps(mirror: pl.DataFrame, n: int = 10) -> pl.DataFrame:
    """The ``n`` rows with the largest absolute gap (the month's biggest disagreements)."""
    columns = [c for c in ("period", "exporter_iso", "importer_iso", "hs6", "hs6_name", "export_fob_usd",
                           "import_fob_est_usd", "gap_usd", "coverage") if c in mirror.columns]
    return mirror.sort(pl.col("gap_usd").abs(), descending=True).head(n).select(columns)
