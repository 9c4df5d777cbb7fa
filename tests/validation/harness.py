"""Running a mart's real validation checks against crafted partitions, with a downstream probe asset.

A stand-in asset with the mart's key writes the given frame through the storage module (as the real
mart asset would), the mart's real checks validate it, and a probe asset downstream records whether it
ran: a blocking failure must keep it from running. (No ``from __future__ import annotations``: Dagster
inspects the ``context`` hints.)
"""


from collections.abc import Callable, Sequence

import polars as pl
from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    ExecuteInProcessResult,
    MaterializeResult,
    asset,
    materialize,
)

from alatau_pipeline.core.checks import validation_checks
from alatau_pipeline.core.partitions import SINGLE_RUN
from alatau_pipeline.core.resources import DataLake
from alatau_pipeline.core.suites import MartSuite
from tests.conftest import range_tags

PROBE_ZONE = "probe"


def mart_stand_in(suite: MartSuite, frame: pl.DataFrame, skip: Sequence[str] = ()):
    """An asset keyed like the mart that writes ``frame`` (with its partition column) for the run's keys."""

    @asset(name=suite.mart, partitions_def=suite.partitions_def, backfill_policy=SINGLE_RUN)
    def stand_in(context: AssetExecutionContext, lake: DataLake) -> MaterializeResult:
        values = [suite.partition_value(k) for k in context.partition_keys if k not in skip]
        rows = frame.filter(pl.col(suite.partition_column).is_in(values))
        lake.store.write_partitions(suite.zone, suite.mart, suite.partition_column, rows, values)
        return MaterializeResult()

    return stand_in


def probe(suite: MartSuite):
    """A downstream asset that leaves a file behind for every partition it ran for."""

    @asset(name=f"{suite.mart}_probe", deps=[suite.mart], partitions_def=suite.partitions_def,
           backfill_policy=SINGLE_RUN)
    def downstream(context: AssetExecutionContext, lake: DataLake) -> None:
        for key in context.partition_keys:
            lake.store.write_bytes(b"ran", PROBE_ZONE, suite.mart, key)

    return downstream


def run_checks(
    lake: DataLake,
    suite: MartSuite,
    frame: pl.DataFrame,
    keys: Sequence[str],
    skip: Sequence[str] = (),
    thresholds: dict | None = None,
) -> ExecuteInProcessResult:
    """Materialize stand-in → checks → probe over ``keys`` (one partition, or a range as one run)."""
    assets = [mart_stand_in(suite, frame, skip), probe(suite), validation_checks(suite)]
    run_config = {"ops": {f"{suite.mart}_validation": {"config": {"thresholds": thresholds}}}} if thresholds else None
    if len(keys) == 1:
        return materialize(assets, resources={"lake": lake}, partition_key=keys[0], raise_on_error=False,
                           run_config=run_config)
    return materialize(assets, resources={"lake": lake}, tags=range_tags(keys[0], keys[-1]), raise_on_error=False,
                       run_config=run_config)


def evaluations(result: ExecuteInProcessResult, mart: str) -> dict[str, AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations() if e.asset_key == AssetKey(mart)}


def probe_ran(lake: DataLake, suite: MartSuite, key: str) -> bool:
    return lake.store.exists(PROBE_ZONE, suite.mart, key)


def set_value(column: str, value: object, row: int = 0) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """A mutation that sets one cell (keeping the column's type)."""

    def mutate(df: pl.DataFrame) -> pl.DataFrame:
        return df.with_columns(
            pl.when(pl.int_range(pl.len()) == row)
            .then(pl.lit(value, dtype=df.schema[column]))
            .otherwise(pl.col(column))
            .alias(column)
        )

    return mutate


def duplicate_first(df: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([df, df.head(1)])


def assert_blocked(
    result: ExecuteInProcessResult,
    lake: DataLake,
    suite: MartSuite,
    keys: Sequence[str],
    check: str,
    expectation: str,
    example: object = None,
) -> None:
    """The check failed with ERROR severity, naming the expectation (count and example in its metadata),
    and nothing downstream ran."""
    evaluation = evaluations(result, suite.mart)[check]
    assert not evaluation.passed, evaluation.description
    assert evaluation.severity == AssetCheckSeverity.ERROR
    assert expectation in (evaluation.description or ""), evaluation.description
    assert expectation in evaluation.metadata, sorted(evaluation.metadata)
    summary = evaluation.metadata[expectation].value
    assert "unexpected" in summary
    if example is not None:
        assert repr(example) in summary or str(example) in summary, summary
    assert not result.success
    assert not any(probe_ran(lake, suite, key) for key in keys)
