"""Statistical monitors of a mart: a partition against its own trailing history. They warn, never block.

Computed in Polars from per-partition aggregates (Parquet footers and projected columns), so judging a
day against its 28 predecessors reads a few columns, not 29 partitions. A partition (or group) with too
little history passes with a note instead of warning on noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from dagster import PartitionsDefinition

from alatau_pipeline.core.partition_stats import KEY, VALUE, partition_aggregates, read_columns
from alatau_pipeline.core.quarantine import QUARANTINE_ZONE
from alatau_pipeline.core.storage import PartitionedParquetStore
from alatau_pipeline.core.suites import MartSuite, Monitor, QuarantineShareMonitor, TrailingMonitor

EXAMPLES = 5


@dataclass
class MonitorOutcome:
    name: str
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)


# Every key of a partitioning, by its id: listing ~3,000 daily keys costs more than judging a day.
_KEYS: dict[int, tuple[PartitionsDefinition, dict[str, int], list[str]]] = {}


def _positions(partitions_def: PartitionsDefinition, key: str) -> tuple[dict[str, int], list[str]]:
    cached = _KEYS.get(id(partitions_def))
    if cached is None or cached[0] is not partitions_def or key not in cached[1]:
        every = list(partitions_def.get_partition_keys())  # refreshed when a newer key is asked for
        cached = (partitions_def, {k: i for i, k in enumerate(every)}, every)
        _KEYS[id(partitions_def)] = cached
    return cached[1], cached[2]


def history_keys(partitions_def: PartitionsDefinition, keys: Sequence[str], window: int) -> list[str]:
    """The ``window`` partition keys before the first of ``keys``, then ``keys`` themselves."""
    if not keys:
        return []
    index, every = _positions(partitions_def, keys[0])
    position = index.get(keys[0], 0)
    return [*every[max(0, position - window) : position], *keys]


def _span(suite: MartSuite, keys: Sequence[str], window: int) -> tuple[list[str], list[str]]:
    """(history + run partitions, run partitions), as the values in the mart's paths."""
    span = history_keys(suite.partitions_def, keys, window)
    return [suite.partition_value(k) for k in span], [suite.partition_value(k) for k in keys]


def evaluate(
    monitor: Monitor,
    store: PartitionedParquetStore,
    suite: MartSuite,
    keys: Sequence[str],
    source: pl.DataFrame | None = None,
) -> MonitorOutcome:
    """One monitor over the run's ``keys``; ``source``: the mart's rows of its span, already read."""
    if isinstance(monitor, TrailingMonitor):
        return _trailing(monitor, store, suite, keys, source)
    return _quarantine_share(monitor, store, suite, keys)


def evaluate_all(
    monitors: Sequence[Monitor], store: PartitionedParquetStore, suite: MartSuite, keys: Sequence[str]
) -> list[MonitorOutcome]:
    """Every monitor of a suite; trailing monitors of the same window that read the mart's rows (an aggregate
    other than a plain count, a group or a filter) share one read of their span instead of one each."""
    readers = [m for m in monitors if isinstance(m, TrailingMonitor) and _reads_rows(m)]
    shared: dict[int, pl.DataFrame | None] = {}
    for window in {m.window for m in readers}:
        same = [m for m in readers if m.window == window]
        if len(same) < 2:
            continue
        columns = sorted({name for m in same for name in _columns(m)})
        span, _ = _span(suite, keys, window)
        shared[window] = read_columns(store, suite.zone, suite.mart, suite.partition_column, span, columns)
    reading = {id(m) for m in readers}
    return [evaluate(m, store, suite, keys, shared.get(m.window) if id(m) in reading else None) for m in monitors]


def _reads_rows(m: TrailingMonitor) -> bool:
    return bool(m.by) or m.where is not None or not m.value.meta.eq(pl.len())


def _columns(m: TrailingMonitor) -> list[str]:
    where = m.where.meta.root_names() if m.where is not None else []
    return [*m.value.meta.root_names(), *where, *m.by]


def _trailing(
    m: TrailingMonitor,
    store: PartitionedParquetStore,
    suite: MartSuite,
    keys: Sequence[str],
    source: pl.DataFrame | None = None,
) -> MonitorOutcome:
    span, keys = _span(suite, keys, m.window)
    values = partition_aggregates(
        store, suite.zone, suite.mart, suite.partition_column, span, m.value,
        by=m.by, where=m.where, fill_empty=None if m.by else 0.0, source=source,
    )
    stats = _with_history(values, span, m.by, m.window)
    judged = stats.filter(pl.col(KEY).is_in(list(keys)) & pl.col(VALUE).is_not_null())
    enough = pl.col("history") >= m.min_history
    ratio = pl.col(VALUE) / pl.col("median")
    flagged = judged.filter(enough).with_columns(ratio.alias("ratio")).filter(
        (pl.col("ratio") > m.max_ratio) | (pl.col("ratio") < 1 / m.max_ratio)
    )
    short = judged.filter(~enough)
    rule = f"value / trailing {m.window}-partition median outside [1/{m.max_ratio:g}, {m.max_ratio:g}]"
    return _outcome(m.name, m.description, rule, judged, flagged, short, m.min_history, m.by)


def _quarantine_share(
    m: QuarantineShareMonitor, store: PartitionedParquetStore, suite: MartSuite, keys: Sequence[str]
) -> MonitorOutcome:
    span, keys = _span(suite, keys, m.window)
    column = suite.partition_column
    quarantined = partition_aggregates(store, QUARANTINE_ZONE, m.source, column, span, pl.len(), fill_empty=0.0)
    kept = partition_aggregates(store, m.kept_zone, m.kept_dataset, column, span, pl.len(), fill_empty=0.0)
    share = (
        quarantined.join(kept, on=KEY, suffix="_kept")
        .select(KEY, (pl.col(VALUE) / (pl.col(VALUE) + pl.col(f"{VALUE}_kept"))).alias(VALUE))
        .filter(pl.col(VALUE).is_not_nan())
    )
    stats = _with_history(share, span, (), m.window)
    judged = stats.filter(pl.col(KEY).is_in(list(keys)) & pl.col(VALUE).is_not_null())
    enough = pl.col("history") >= m.min_history
    limit = pl.max_horizontal(pl.col("median") * m.factor, pl.col("median") + m.min_excess)
    flagged = judged.filter(enough).with_columns(limit.alias("limit")).filter(pl.col(VALUE) > pl.col("limit"))
    rule = f"share > max(trailing {m.window}-partition median × {m.factor:g}, median + {m.min_excess:g})"
    return _outcome(m.name, m.description, rule, judged, flagged, short=judged.filter(~enough),
                    min_history=m.min_history, by=())


def _with_history(values: pl.DataFrame, span: Sequence[str], by: Sequence[str], window: int) -> pl.DataFrame:
    """Each (key, group) with its trailing median and how many of the previous ``window`` keys had a value.

    Every key of the span is present (missing partitions as nulls), so the window counts partitions, not
    rows that happen to exist.
    """
    axis = pl.DataFrame({KEY: list(span)}, schema={KEY: pl.String}).with_row_index("_order")
    if by:
        groups = values.select(*by).unique()
        axis = axis.join(groups, how="cross")
    full = axis.join(values, on=[KEY, *by], how="left").sort(*by, "_order")
    previous = pl.col(VALUE).shift(1)
    median = previous.rolling_median(window_size=window, min_samples=1)
    history = pl.col(VALUE).is_not_null().cast(pl.Int64).shift(1).rolling_sum(window_size=window, min_samples=1)
    if by:
        median, history = median.over(by), history.over(by)
    return full.with_columns(median.alias("median"), history.fill_null(0).alias("history")).drop("_order")


def _outcome(
    name: str,
    description: str,
    rule: str,
    judged: pl.DataFrame,
    flagged: pl.DataFrame,
    short: pl.DataFrame,
    min_history: int,
    by: Sequence[str],
) -> MonitorOutcome:
    examples = [
        {k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items() if k != "history"}
        for row in flagged.head(EXAMPLES).to_dicts()
    ]
    metadata: dict[str, Any] = {
        "rule": rule,
        "judged": judged.height - short.height,
        "flagged": flagged.height,
        "too_little_history": short.height,
    }
    if examples:
        metadata["examples"] = examples
    if short.height:
        metadata["note"] = (
            f"{short.height} partition(s){' / group(s)' if by else ''} had fewer than {min_history} earlier "
            "partitions with a value: passed without judging"
        )
    text = f"{description}: {flagged.height} partition(s) flagged ({rule})"
    if short.height and not flagged.height:
        text += f"; {metadata['note']}"
    return MonitorOutcome(name=name, passed=flagged.is_empty(), description=text, metadata=metadata)
