"""Comtrade assets: raw answers (``comtrade_raw``) → ``trade_flows_monthly`` → ``mirror_trade_monthly``.

All three are monthly-partitioned (Dagster key ``YYYY-MM-01``, mart column ``period`` = ``YYYY-MM``) with a
single-run backfill policy. Only ``comtrade_raw`` talks to Comtrade (live API or the demo source) and it
runs in the ``comtrade`` pool, so Comtrade calls of different runs never overlap; the marts are computed
from the stored answers alone.
"""

import polars as pl
from dagster import (
    AssetExecutionContext,
    Config,
    DagsterExecutionInterruptedError,
    DagsterRunStatus,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from alatau_pipeline.comtrade import hs
from alatau_pipeline.comtrade.changes import ChangeReport, write_changed_partitions
from alatau_pipeline.comtrade.ingest import (
    RAW,
    REPORTERS,
    CallLedger,
    cached_hs_reference,
    ensure_hs_reference,
    pull_month,
    read_month,
)
from alatau_pipeline.comtrade.parse import (
    DESCRIPTIONS,
    GRAIN,
    MIRROR_GRAIN,
    ComtradeFormatError,
    largest_gaps,
    mirror_trade,
    records_frame,
    trade_flows,
)
from alatau_pipeline.comtrade.resources import (
    ComtradeBudgetExhausted,
    ComtradeClient,
    ComtradeError,
    ComtradeKeyRefused,
)
from alatau_pipeline.core.metadata import preview_markdown, row_count, table_metadata
from alatau_pipeline.core.partitions import MONTHLY_PARTITIONS, SINGLE_RUN, month_key_to_period, partition_keys
from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.core.storage import MARTS_ZONE
from alatau_pipeline.ops.retries import LIVE_INGESTION_RETRY

COMTRADE_POOL = "comtrade"

_COMMON = {
    "partitions_def": MONTHLY_PARTITIONS,
    "backfill_policy": SINGLE_RUN,
    "group_name": "comtrade",
}


class MirrorConfig(Config):
    cif_fob_margin: float = Field(
        default=0.05, ge=0.0, lt=1.0,
        description="CIF/FOB margin: import_fob_est_usd = import_cif_usd / (1 + cif_fob_margin)",
    )


def _periods(context: AssetExecutionContext) -> list[str]:
    return [month_key_to_period(key) for key in partition_keys(context)]


def _run_is_cancelled(context: AssetExecutionContext) -> bool:
    run = context.instance.get_run_by_id(context.run_id)
    return run is not None and run.status in (DagsterRunStatus.CANCELING, DagsterRunStatus.CANCELED)


@asset(
    **_COMMON,
    pool=COMTRADE_POOL,
    # Transient API faults (after the client's own HTTP retries) retry the step with backoff and jitter;
    # a refused key or an exhausted budget raises Failure(allow_retries=False) and stops at once.
    retry_policy=LIVE_INGESTION_RETRY,
    kinds={"json"},
    description=(
        "UN Comtrade answers (HS6, flows M and X) of Kazakhstan (398) and China (156), each with the other as "
        "partner, stored as received under raw/comtrade/period=YYYY-MM/reporter=R/ (answers cut at maxRecords "
        "are split by HS chapter, then further). Live API or the demo source, per ALATAU_SOURCE."
    ),
)
def comtrade_raw(context: AssetExecutionContext, lake: DataLake, comtrade: ComtradeClient) -> MaterializeResult:
    if context.retry_number > 0 and _run_is_cancelled(context):
        # A retry of a step whose run was cancelled meanwhile (an interrupt outside the pull below, or
        # during the backoff): do not pull again.
        raise Failure(description="comtrade_raw not retried: the run was cancelled", allow_retries=False)
    store = lake.store
    periods = _periods(context)
    ledger = CallLedger(store, comtrade.daily_call_budget) if comtrade.source == "live" else None
    failures: dict[str, str] = {}
    transient_failure = False
    per_month: dict[str, dict[str, int]] = {}
    answers = cut = 0
    try:
        hs_codes = ensure_hs_reference(comtrade, store, warn=context.log.warning)
        for period in periods:
            for reporter, partner in REPORTERS:
                try:
                    report = pull_month(
                        comtrade, store, reporter, partner, period, lambda: hs_codes, ledger, log=context.log.info
                    )
                except (ComtradeKeyRefused, ComtradeBudgetExhausted):
                    raise  # nothing later can succeed either
                except (ComtradeError, ComtradeFormatError) as exc:
                    failures[f"{period} reporter {reporter}"] = str(exc)
                    # Only faults that may pass (HTTP 429/5xx, timeouts that outlasted the client's own
                    # retries) retry the step; an answer the API will give again does not.
                    transient_failure |= isinstance(exc, ComtradeError) and exc.retryable
                    context.log.error(f"{period} reporter {reporter} not pulled: {exc}")
                    continue
                per_month.setdefault(period, {})[str(reporter)] = report.records
                answers += len(report.answers)
                cut += len(report.cut_answers)
            context.log.info(f"comtrade_raw: {period} pulled ({len(per_month)}/{len(periods)} months)")
    except (ComtradeKeyRefused, ComtradeBudgetExhausted) as exc:
        raise Failure(description=str(exc), allow_retries=False) from exc
    except DagsterExecutionInterruptedError as exc:
        # Dagster retries an interrupted step that has a RetryPolicy (meant for workers that are preempted),
        # and with the in-process executor the retry runs on in the same worker: a cancelled pull would go
        # on calling Comtrade, and writing, after the user cancelled. A cancel stops the step for good;
        # any other interrupt keeps Dagster's behaviour. What was pulled stays stored, published only by
        # the manifests written before it.
        # (The Failure lets the run go on with steps that do not depend on this one; comtrade_job has none.)
        if _run_is_cancelled(context):
            raise Failure(description="comtrade_raw interrupted: the run was cancelled", allow_retries=False) from exc
        raise

    if failures:
        raise Failure(
            description=(
                f"{len(failures)} reporter-month(s) not pulled; their previous answers stay in force: "
                + "; ".join(f"{k}: {v}" for k, v in sorted(failures.items()))
            ),
            metadata={"failed": MetadataValue.json(failures)},
            # An answer that is not the documented JSON was stored for inspection, and an HTTP 4xx is what
            # the API will answer again: only faults that may pass retry the step.
            allow_retries=transient_failure,
        )
    return MaterializeResult(
        metadata={
            "source": comtrade.source,
            "months": len(periods),
            "answers_used": answers,
            "answers_cut_and_split": cut,
            "http_requests": comtrade.calls_made,
            "records_per_month": MetadataValue.json(per_month),
            **row_count(sum(sum(v.values()) for v in per_month.values()), len(periods)),
            "location": MetadataValue.path(store.url(*RAW)),
        }
    )


@asset(
    **_COMMON,
    deps=[comtrade_raw],
    kinds={"polars", "parquet"},
    description=(
        "Comtrade totals (motCode 0, customsCode C00, partner2Code 0) per reporter, partner, flow and HS6, from "
        "the stored answers; with HS6, chapter and section names. Grain: reporter_iso, partner_iso, flow_code, "
        "hs6. A partition is rewritten only when its content changed."
    ),
)
def trade_flows_monthly(context: AssetExecutionContext, lake: DataLake) -> MaterializeResult:
    store = lake.store
    periods = _periods(context)
    records: list[dict] = []
    missing = []
    for period in periods:
        for reporter, _partner in REPORTERS:
            month = read_month(store, period, reporter)
            if month is None:
                missing.append(f"{period}/reporter={reporter}")
            else:
                records.extend(month)
    if missing:
        raise Failure(description=f"no stored Comtrade answers for {', '.join(missing)}: materialize comtrade_raw")
    frame = records_frame(records)
    flows = hs.attach_names(trade_flows(frame), cached_hs_reference(store))
    changes = write_changed_partitions(store, MARTS_ZONE, "trade_flows_monthly", "period", flows, periods, GRAIN)
    metadata = _mart_metadata(flows, changes, store.url(MARTS_ZONE, "trade_flows_monthly"))
    metadata["records_read"] = frame.height
    metadata["breakdown_rows_dropped"] = frame.height - flows.height
    metadata["totals_by_reporter_flow_usd"] = MetadataValue.json(
        {
            f"{r}:{f}": round(v, 2)
            for r, f, v in flows.group_by("reporter_iso", "flow_code")
            .agg(pl.col("primary_value_usd").sum())
            .sort("reporter_iso", "flow_code")
            .iter_rows()
        }
    )
    return MaterializeResult(metadata=metadata)


@asset(
    **_COMMON,
    deps=[trade_flows_monthly],
    kinds={"polars", "parquet"},
    description=(
        "Mirror trade: each exporter's reported exports (FOB) beside the importer's reported imports (CIF, "
        "brought to FOB with cif_fob_margin), per period and HS6, with the gap and log ratio. Grain: "
        "exporter_iso, importer_iso, hs6."
    ),
)
def mirror_trade_monthly(context: AssetExecutionContext, config: MirrorConfig, lake: DataLake) -> MaterializeResult:
    store = lake.store
    periods = _periods(context)
    flows = store.read_partitions(MARTS_ZONE, "trade_flows_monthly", "period", periods, missing_ok=False)
    mirror = hs.attach_names(mirror_trade(flows, config.cif_fob_margin), cached_hs_reference(store))
    changes = write_changed_partitions(
        store, MARTS_ZONE, "mirror_trade_monthly", "period", mirror, periods, MIRROR_GRAIN
    )
    metadata = _mart_metadata(mirror, changes, store.url(MARTS_ZONE, "mirror_trade_monthly"))
    latest = periods[-1]
    gaps = largest_gaps(mirror.filter(pl.col("period") == latest))
    metadata["cif_fob_margin"] = config.cif_fob_margin
    metadata["largest_gaps_period"] = latest
    metadata["largest_gaps"] = MetadataValue.md(preview_markdown(gaps, rows=10))
    metadata["coverage_rows"] = MetadataValue.json(
        dict(mirror.group_by("coverage").len().sort("coverage").iter_rows())
    )
    metadata["totals_usd"] = MetadataValue.json(
        {
            f"{e}->{i}": {"export_fob_usd": round(x or 0.0, 2), "import_fob_est_usd": round(m or 0.0, 2)}
            for e, i, x, m in mirror.group_by("exporter_iso", "importer_iso")
            .agg(pl.col("export_fob_usd").sum(), pl.col("import_fob_est_usd").sum())
            .sort("exporter_iso", "importer_iso")
            .iter_rows()
        }
    )
    return MaterializeResult(metadata=metadata)


def _mart_metadata(df: pl.DataFrame, changes: ChangeReport, location: str) -> dict:
    metadata = table_metadata(df.drop("period"), changes.writes, location, DESCRIPTIONS)
    metadata["partitions_rewritten"] = MetadataValue.json(changes.rewritten)
    metadata["partitions_unchanged"] = MetadataValue.json(changes.unchanged)
    metadata["content_hashes"] = MetadataValue.json(changes.hashes)
    metadata["change_policy"] = MetadataValue.md(
        "a partition whose content hash equals the stored one is not rewritten (listed as unchanged)"
    )
    return metadata
