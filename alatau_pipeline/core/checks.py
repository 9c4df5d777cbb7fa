"""From a :class:`MartSuite` to Dagster asset checks, and the validation run behind them.

Each mart gets one check op (a ``multi_asset_check``) with one *blocking* check per family of structural
expectations (schema, grain, codes, amounts…, row_count) and one *warning* check per statistical monitor.
The op reads the run's partitions of the mart from storage (one key, or a backfill's whole range) and
validates them with one GX call per batch of up to ``max_rows`` rows, so a range costs a handful of GX
calls, not one per day. A blocking check that fails stops every asset downstream of the mart in the run.

No ``from __future__ import annotations`` here: Dagster inspects the check function's ``context`` hint.
"""

import dataclasses
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    Config,
    MetadataValue,
    multi_asset_check,
)
from pydantic import Field

from alatau_pipeline.core import monitors as monitor_eval
from alatau_pipeline.core.batching import bounded_batches
from alatau_pipeline.core.partition_stats import existing_files, file_schema, row_counts
from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.core.storage import PartitionedParquetStore
from alatau_pipeline.core.suites import ROW_COUNT_CHECK, SCHEMA_CHECK, MartSuite
from alatau_pipeline.core.validation import EXAMPLES, ExpectationOutcome, run_expectations
from alatau_pipeline.core.validation_reports import write_reports

THRESHOLD_FIELDS = ("window", "min_history", "max_ratio", "factor", "min_excess")

# Rows handed to GX in one call: a month of customs items, bounded memory for a years-long backfill.
DEFAULT_MAX_ROWS = 500_000


@dataclass
class MartValidation:
    """Everything one validation of a mart over a set of partitions found."""

    suite: MartSuite
    keys: list[str]
    outcomes: list[ExpectationOutcome]
    monitors: list[monitor_eval.MonitorOutcome]
    rows: int
    gx_results: list[dict[str, Any]] = field(default_factory=list)
    report_json: str = ""
    report_html: str = ""

    def by_check(self) -> dict[str, list[ExpectationOutcome]]:
        grouped: dict[str, list[ExpectationOutcome]] = {name: [] for name in self.suite.blocking_checks()}
        for outcome in self.outcomes:
            grouped.setdefault(outcome.check, []).append(outcome)
        return grouped


def validate_mart(
    store: PartitionedParquetStore, suite: MartSuite, keys: Sequence[str], max_rows: int = DEFAULT_MAX_ROWS
) -> MartValidation:
    """Validate the stored partitions ``keys`` (Dagster keys) of ``suite.mart``; write the reports."""
    findings = monitor_eval.evaluate_all(suite.monitors, store, suite, keys)
    keys = [suite.partition_value(k) for k in keys]
    counts = row_counts(store, suite.zone, suite.mart, suite.partition_column, keys)
    files = existing_files(store, suite.zone, suite.mart, suite.partition_column, keys)
    schema_findings, unusable = schema_outcomes(store, suite, files)
    outcomes = [*schema_findings, *row_count_outcomes(suite, counts)]

    expectation_outcomes: list[list[ExpectationOutcome]] = []
    gx_results: list[dict[str, Any]] = []
    present = {k: c for k, c in counts.items() if c is not None}
    # Bounded by rows only: a range of small partitions is validated in as few GX calls as possible.
    for batch in bounded_batches(list(present), present.__getitem__, max_rows, max_keys=len(present)):
        frame = store.read_partitions(suite.zone, suite.mart, suite.partition_column, batch)
        batch_outcomes, gx_result = _validate_frame(suite, frame.drop(unusable, strict=False))
        expectation_outcomes.append(batch_outcomes)
        if gx_result:
            gx_results.append(gx_result)
    outcomes += merge_batches(expectation_outcomes) if expectation_outcomes else [
        ExpectationOutcome(e.check, e.label(), success=True, note="no partition to validate")
        for e in suite.all_expectations()
    ]
    rows = sum(present.values())
    json_url, html_url = write_reports(store, suite.mart, keys, outcomes, findings, gx_results, rows)
    return MartValidation(suite, keys, outcomes, findings, rows, gx_results, json_url, html_url)


def _validate_frame(suite: MartSuite, frame: pl.DataFrame) -> tuple[list[ExpectationOutcome], dict[str, Any]]:
    """Derived columns in Polars, then every expectation whose columns the data has in one GX call.

    An expectation on a column the data lacks, or holds with the wrong type, is reported failed (the
    schema check says why) rather than handed to GX, where it would only raise.
    """
    derivable = {
        name: expr for name, expr in suite.derived.items() if set(expr.meta.root_names()) <= set(frame.columns)
    }
    frame = frame.with_columns(**derivable) if derivable else frame
    expectations = suite.all_expectations()
    runnable = [e for e in expectations if set(e.columns()) <= set(frame.columns)]
    result = run_expectations(frame, runnable, f"{suite.mart}_suite", suite.partition_column) if runnable else None
    found = iter(result.outcomes if result else [])
    outcomes = [
        next(found)
        if e in runnable
        else ExpectationOutcome(
            e.check, e.label(), success=False, element_count=frame.height,
            note=f"not judged, column(s) absent or mistyped: {sorted(set(e.columns()) - set(frame.columns))}",
        )
        for e in expectations
    ]
    return outcomes, (result.gx_result if result else {})


def merge_batches(batches: Sequence[Sequence[ExpectationOutcome]]) -> list[ExpectationOutcome]:
    """Outcomes of the same expectations over several batches, as if validated in one."""
    merged: list[ExpectationOutcome] = []
    for same in zip(*batches, strict=True):
        examples: list[Any] = []
        for outcome in same:
            examples += [e for e in outcome.examples if e not in examples]
        notes = sorted({o.note for o in same if o.note})
        partitions = sorted({p for o in same for p in o.partitions})
        observed = [o.observed for o in same if not o.success and o.observed is not None]
        merged.append(
            ExpectationOutcome(
                check=same[0].check,
                expectation=same[0].expectation,
                success=all(o.success for o in same),
                element_count=sum(o.element_count for o in same),
                unexpected_count=sum(o.unexpected_count for o in same),
                examples=examples[:EXAMPLES],
                partitions=partitions[:EXAMPLES],
                observed=observed[0] if observed else same[-1].observed,
                note="; ".join(notes),
            )
        )
    return merged


def schema_outcomes(
    store: PartitionedParquetStore, suite: MartSuite, files: dict[str, str]
) -> tuple[list[ExpectationOutcome], set[str]]:
    """Each file's columns and types against the declared schema (read from Parquet footers); also the
    columns that some file lacks or holds with the wrong type, which no other expectation can judge.

    Checked per file, because reading a range relaxes types to a common supertype and would hide a
    partition written with the wrong type.
    """
    bad: dict[str, list[str]] = defaultdict(list)  # expectation label → partition keys that break it
    unusable: set[str] = set()
    extra: set[str] = set()
    for key, file in files.items():
        schema = file_schema(store, file)
        for column, dtype in suite.schema.items():
            if column not in schema:
                bad[f"expect_column_to_exist({column})"].append(key)
                unusable.add(column)
            elif schema[column] != dtype:
                unusable.add(column)
                bad[f"expect_column_type({column} is {dtype}, found {schema[column]})"].append(key)
        if suite.partition_column in schema:
            bad[f"expect_partition_column_only_in_path({suite.partition_column})"].append(key)
        extra |= set(schema) - set(suite.schema) - {suite.partition_column}
    outcomes = [
        ExpectationOutcome(SCHEMA_CHECK, label, success=False, element_count=len(files),
                           unexpected_count=len(keys), examples=keys[:EXAMPLES], note="examples are partitions")
        for label, keys in bad.items()
    ]
    outcomes.append(
        ExpectationOutcome(
            SCHEMA_CHECK, "expect_table_schema_to_match(declared columns and types)", success=not bad,
            element_count=len(files), unexpected_count=len({k for keys in bad.values() for k in keys}),
            note=f"extra columns (allowed): {sorted(extra)}" if extra else "",
        )
    )
    return outcomes, unusable


def row_count_outcomes(suite: MartSuite, counts: dict[str, int | None]) -> list[ExpectationOutcome]:
    """Every partition of the run exists and holds a plausible number of rows."""
    missing = [k for k, c in counts.items() if c is None]
    low, high = suite.rows_per_partition
    implausible = [
        f"{k}: {c}" for k, c in counts.items() if c is not None and (c < low or (high is not None and c > high))
    ]
    return [
        ExpectationOutcome(ROW_COUNT_CHECK, "expect_partition_file_to_exist",
                           success=not missing or suite.missing_partitions_ok,
                           element_count=len(counts), unexpected_count=len(missing), examples=missing[:EXAMPLES],
                           note=f"{len(missing)} partition(s) of the run not written (allowed for this mart)"
                           if missing and suite.missing_partitions_ok else ""),
        ExpectationOutcome(ROW_COUNT_CHECK, f"expect_partition_row_count_to_be_between({low}, {high})",
                           success=not implausible, element_count=len(counts) - len(missing),
                           unexpected_count=len(implausible), examples=implausible[:EXAMPLES]),
    ]


def check_results(validation: MartValidation) -> Iterator[AssetCheckResult]:
    """One AssetCheckResult per blocking check (ERROR) and per monitor (WARN)."""
    suite = validation.suite
    common = {
        "partitions": len(validation.keys),
        "partition_range": " … ".join(dict.fromkeys([validation.keys[0], validation.keys[-1]]))
        if validation.keys else "",
        "rows_validated": validation.rows,
        "report_json": MetadataValue.path(validation.report_json),
        "report_html": MetadataValue.path(validation.report_html),
    }
    for check, outcomes in validation.by_check().items():
        failed = [o for o in outcomes if not o.success]
        metadata: dict[str, Any] = {**common, "expectations": len(outcomes), "failed": len(failed)}
        for outcome in failed:
            metadata[outcome.expectation] = outcome.summary().split(": ", 1)[1]
        if failed:
            metadata["failed_expectations"] = MetadataValue.md(_failure_table(failed))
        description = (
            "; ".join(o.summary() for o in failed)
            if failed
            else f"{len(outcomes)} expectation(s) passed over {validation.rows} rows"
        )
        yield AssetCheckResult(
            asset_key=suite.mart, check_name=check, passed=not failed, severity=AssetCheckSeverity.ERROR,
            description=description[:2000], metadata=metadata,
        )
    for finding in validation.monitors:
        yield AssetCheckResult(
            asset_key=suite.mart, check_name=finding.name, passed=finding.passed,
            severity=AssetCheckSeverity.WARN, description=finding.description,
            metadata={**common, **{k: _meta(v) for k, v in finding.metadata.items()}},
        )


def _failure_table(failed: Sequence[ExpectationOutcome]) -> str:
    lines = ["| expectation | unexpected | of | examples |", "| --- | --- | --- | --- |"]
    for o in failed:
        examples = ", ".join(str(e) for e in o.examples[:EXAMPLES]).replace("|", "\\|")
        lines.append(f"| {o.expectation} | {o.unexpected_count} | {o.element_count} | {examples} {o.note} |")
    return "\n".join(lines)


def _meta(value: Any) -> Any:
    return MetadataValue.json(value) if isinstance(value, (list, dict)) else value


class ValidationConfig(Config):
    """Run configuration of a mart's validation op (``ops: {<mart>_validation: {config: ...}}``)."""

    thresholds: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Monitor name → thresholds to override for this run, e.g. "
        "{'row_count_vs_trailing_28d': {'max_ratio': 4, 'min_history': 7}}",
    )


def with_thresholds(suite: MartSuite, thresholds: Mapping[str, Mapping[str, float]]) -> MartSuite:
    """The suite with some monitors' thresholds (window, min_history, max_ratio, factor, min_excess) replaced."""
    unknown = sorted(set(thresholds) - {m.name for m in suite.monitors})
    if unknown:
        raise ValueError(f"{suite.mart} has no monitor(s) {unknown}: {[m.name for m in suite.monitors]}")
    monitors = []
    for monitor in suite.monitors:
        changes = dict(thresholds.get(monitor.name, {}))
        for name, value in changes.items():
            if name not in THRESHOLD_FIELDS or not hasattr(monitor, name):
                raise ValueError(f"{monitor.name}: {name!r} is not a threshold of this monitor")
            changes[name] = type(getattr(monitor, name))(value)
        monitors.append(dataclasses.replace(monitor, **changes))
    return dataclasses.replace(suite, monitors=monitors)


def validation_checks(suite: MartSuite, max_rows: int = DEFAULT_MAX_ROWS) -> AssetChecksDefinition:
    """The Dagster asset checks of one mart: blocking structural checks plus warning monitors."""
    specs = [
        AssetCheckSpec(
            name, asset=suite.mart, blocking=True, partitions_def=suite.partitions_def,
            description=f"Great Expectations: {name} expectations of {suite.mart} (blocking)",
        )
        for name in suite.blocking_checks()
    ] + [
        AssetCheckSpec(
            m.name, asset=suite.mart, blocking=False, partitions_def=suite.partitions_def, description=m.description
        )
        for m in suite.monitors
    ]

    @multi_asset_check(
        specs=specs,
        name=f"{suite.mart}_validation",
        description=f"Validates the run's partitions of {suite.mart}; reports in reports/validation/{suite.mart}/",
    )
    def _validate(
        context: AssetCheckExecutionContext, config: ValidationConfig, lake: DataLake
    ) -> Iterator[AssetCheckResult]:
        keys = list(context.partition_keys)
        validation = validate_mart(lake.store, with_thresholds(suite, config.thresholds), keys, max_rows=max_rows)
        failed = [o.expectation for o in validation.outcomes if not o.success]
        context.log.info(
            f"{suite.mart}: {len(keys)} partition(s), {validation.rows} rows, {len(failed)} failed expectation(s); "
            f"report {validation.report_html}"
        )
        yield from check_results(validation)

    return _validate
