"""Declaring a mart's expectation suite: plain data a domain writes in one file beside its mart.

A :class:`MartSuite` says what a mart must look like (schema, grain, codes, signs, ordering, partition
consistency, plausible row counts) and which statistical monitors watch it. It names Great Expectations
expectation classes as strings, so declaring a suite costs nothing at import; the bridge
(:mod:`alatau_pipeline.core.validation`) turns them into GX objects only when a check runs, and
:func:`alatau_pipeline.core.checks.validation_checks` turns a suite into Dagster asset checks.

Each expectation belongs to a *check* (``grain``, ``codes``, ``amounts``…): every check becomes one
blocking Dagster asset check of the mart, so the UI shows which family of rules a partition broke.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import polars as pl
from dagster import PartitionsDefinition

from alatau_pipeline.core.storage import MARTS_ZONE

# Blocking checks every suite has, whatever it declares.
SCHEMA_CHECK = "schema"
GRAIN_CHECK = "grain"
ROW_COUNT_CHECK = "row_count"


@dataclass(frozen=True)
class Expect:
    """One Great Expectations expectation: its class name in ``great_expectations.expectations`` and
    keyword arguments, filed under a blocking ``check``."""

    check: str
    gx_type: str  # e.g. "ExpectColumnValuesToBeInSet"
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def columns(self) -> list[str]:
        """Every column this expectation reads (so a suite can be checked against its schema)."""
        names = [self.kwargs[k] for k in ("column", "column_A", "column_B") if k in self.kwargs]
        for key in ("column_list", "column_set"):
            names += list(self.kwargs.get(key, ()))
        return names

    def label(self) -> str:
        """Human name: ``expect_column_values_to_be_in_set(crossing_code)``."""
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in self.gx_type).lstrip("_")
        return f"{snake}({', '.join(self.columns())})"


# ---- constructors for the common cases ---------------------------------------------------------------
def not_null(*columns: str, check: str = SCHEMA_CHECK) -> list[Expect]:
    return [Expect(check, "ExpectColumnValuesToNotBeNull", {"column": c}) for c in columns]


def in_set(column: str, values: Iterable[Any], check: str = "codes") -> Expect:
    return Expect(check, "ExpectColumnValuesToBeInSet", {"column": column, "value_set": sorted(values)})


def matches(column: str, regex: str, check: str = "codes") -> Expect:
    """Full match of ``regex`` (anchored here, so a suite cannot forget the anchors)."""
    return Expect(check, "ExpectColumnValuesToMatchRegex", {"column": column, "regex": f"^(?:{regex})$"})


def at_least(minimum: float, *columns: str, check: str = "amounts") -> list[Expect]:
    return [Expect(check, "ExpectColumnValuesToBeBetween", {"column": c, "min_value": minimum}) for c in columns]


def non_negative(*columns: str, check: str = "amounts") -> list[Expect]:
    return at_least(0, *columns, check=check)


def between(column: str, minimum: float | None, maximum: float | None, check: str = "amounts") -> Expect:
    kwargs = {"column": column, "min_value": minimum, "max_value": maximum}
    return Expect(check, "ExpectColumnValuesToBeBetween", kwargs)


def at_most(smaller: str, larger: str, check: str = "amounts") -> Expect:
    """``smaller ≤ larger`` row by row (rows where either is null are not judged)."""
    return Expect(
        check,
        "ExpectColumnPairValuesAToBeGreaterThanB",
        {"column_A": larger, "column_B": smaller, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
    )


def ordered(*columns: str, check: str = "intervals") -> list[Expect]:
    """``columns[0] ≤ columns[1] ≤ …`` row by row, e.g. lo_95 ≤ lo_80 ≤ yhat ≤ hi_80 ≤ hi_95."""
    return [at_most(a, b, check=check) for a, b in pairwise(columns)]


def equal(column_a: str, column_b: str, check: str = "partition") -> Expect:
    return Expect(
        check,
        "ExpectColumnPairValuesToBeEqual",
        {"column_A": column_a, "column_B": column_b, "ignore_row_if": "either_value_is_missing"},
    )


# ---- statistical monitors (warn, never block) --------------------------------------------------------
@dataclass(frozen=True)
class TrailingMonitor:
    """A per-partition value (optionally per group) against its median over the trailing partitions.

    Warns when value / median leaves [1 / max_ratio, max_ratio]; a partition with fewer than
    ``min_history`` earlier partitions holding a value passes with a note.
    """

    name: str
    value: pl.Expr  # an aggregation over one partition's (filtered) rows, e.g. pl.len()
    description: str
    by: tuple[str, ...] = ()
    where: pl.Expr | None = None
    window: int = 28
    min_history: int = 14
    max_ratio: float = 3.0


@dataclass(frozen=True)
class QuarantineShareMonitor:
    """Share of a partition's rows that went to quarantine, against its trailing median.

    share = quarantined / (quarantined + kept), ``kept`` counted in ``kept_zone/kept_dataset`` (a staging
    dataset, or for customs the ``customs_items`` mart: rows dropped as duplicates, superseded or cancelled
    count in neither). Warns when
    share > max(median × factor, median + min_excess).
    """

    name: str
    source: str  # quarantine/<source>/
    kept_zone: str
    kept_dataset: str
    description: str = "share of quarantined rows against its trailing median"
    window: int = 28
    min_history: int = 14
    factor: float = 3.0
    min_excess: float = 0.02


Monitor = TrailingMonitor | QuarantineShareMonitor


@dataclass(frozen=True)
class MartSuite:
    """Everything validated about one mart. Grain and schema checks are derived from the declaration."""

    mart: str
    partitions_def: PartitionsDefinition
    partition_column: str
    schema: Mapping[str, pl.DataType]  # columns in the files (the partition column lives in the path)
    grain: tuple[str, ...]
    expectations: Sequence[Expect] = ()
    # Helper columns computed in Polars before validation (name → expression), e.g. the Almaty date of a
    # timestamp to compare with the partition; their names should start with "_".
    derived: Mapping[str, pl.Expr] = field(default_factory=dict)
    rows_per_partition: tuple[int, int | None] = (0, None)
    # A mart whose range runs write only some partitions (throughput_forecast writes a few origins of a
    # range): an absent partition of the run is then noted, not failed.
    missing_partitions_ok: bool = False
    monitors: Sequence[Monitor] = ()
    nullable: frozenset[str] = frozenset()  # schema columns allowed to hold nulls
    # Columns that must never be null; None: every schema column not in ``nullable``. Suites of marts whose
    # schema another domain owns name them, so a column added there later is not required by accident.
    required: frozenset[str] | None = None
    zone: str = MARTS_ZONE
    # Dagster partition key → the value in the mart's path (monthly marts: "2026-10-01" → "2026-10").
    partition_value: Callable[[str], str] = str

    def __post_init__(self) -> None:
        # A suite that names a column the mart does not have is a bug in the suite: refuse it at import.
        known = {*self.schema, self.partition_column, *self.derived}
        unknown = sorted({c for e in self.all_expectations() for c in e.columns()} - known)
        unknown += sorted(set(self.grain) - known)
        unknown += sorted(set(self.required or ()) - set(self.schema))
        if unknown:
            raise ValueError(f"suite of {self.mart} references column(s) not in its schema: {unknown}")

    def all_expectations(self) -> list[Expect]:
        """Declared expectations plus the ones every mart gets: grain not null and unique, required
        columns not null."""
        grain = [self.partition_column, *self.grain]
        derived: list[Expect] = [
            *not_null(*self.grain, check=GRAIN_CHECK),
            Expect(GRAIN_CHECK, "ExpectCompoundColumnsToBeUnique", {"column_list": grain}),
            *not_null(*[c for c in self.schema if self._required(c) and c not in self.grain]),
        ]
        return [*derived, *self.expectations]

    def _required(self, column: str) -> bool:
        return column in self.required if self.required is not None else column not in self.nullable

    def blocking_checks(self) -> list[str]:
        """Names of the blocking checks, in a stable order: schema, grain, declared ones, row_count."""
        names = [SCHEMA_CHECK, GRAIN_CHECK]
        for e in self.expectations:
            if e.check not in names:
                names.append(e.check)
        return [*names, ROW_COUNT_CHECK]
