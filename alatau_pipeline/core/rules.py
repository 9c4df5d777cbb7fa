"""Contract row rules as Polars expressions: parse string columns into types and say why a row is bad.

A rule is a pair (reason, expression true where the row breaks it). All rules run in one vectorized pass;
a row's ``_reason`` lists every rule it breaks, joined by ``"; "``, and is null for a good row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import polars as pl

Kind = Literal["string", "int", "decimal", "timestamp", "date"]

REASON = "_reason"


@dataclass(frozen=True)
class ColumnRule:
    """How one landing column is typed and what values the contract allows."""

    name: str
    kind: Kind = "string"
    required: bool = True
    pattern: str | None = None  # full-match regular expression on the text
    allowed: frozenset[str] | None = None
    minimum: float | None = None

    def typed(self) -> pl.Expr:
        raw = pl.col(self.name)
        match self.kind:
            case "string":
                expr = raw
            case "int":
                expr = raw.cast(pl.Int64, strict=False)
            case "decimal":
                as_float = raw.cast(pl.Float64, strict=False)
                expr = pl.when(as_float.is_finite()).then(as_float)
            case "timestamp":
                # "%+" is ISO 8601 / RFC 3339 with a mandatory offset; a timestamp without one is invalid.
                expr = raw.str.to_datetime("%+", time_zone="UTC", strict=False, time_unit="us")
            case "date":
                expr = raw.str.to_date("%Y-%m-%d", strict=False)
        return expr.alias(self.name)

    def violations(self, typed: pl.Expr | None = None) -> list[tuple[str, pl.Expr]]:
        """(reason, broken) pairs; ``typed`` is the already parsed column, when the caller has it."""
        raw = pl.col(self.name)
        typed = self.typed() if typed is None else typed
        rules: list[tuple[str, pl.Expr]] = []
        if self.required:
            rules.append((f"missing_{self.name}", raw.is_null()))
        invalid = raw.is_not_null() & typed.is_null()
        if self.pattern is not None:
            invalid = invalid | (raw.is_not_null() & ~raw.str.contains(f"^(?:{self.pattern})$"))
        if self.allowed is not None:
            invalid = invalid | (raw.is_not_null() & ~raw.is_in(sorted(self.allowed)))
        rules.append((f"invalid_{self.name}", invalid))
        if self.minimum is not None:
            rules.append((f"{self.name}_below_{_num(self.minimum)}", typed.is_not_null() & (typed < self.minimum)))
        return rules


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def reason_expr(rules: Iterable[tuple[str, pl.Expr]]) -> pl.Expr:
    """``_reason``: every broken rule's name joined by "; ", or null when the row keeps all of them."""
    parts = [pl.when(broken.fill_null(False)).then(pl.lit(reason)) for reason, broken in rules]
    joined = pl.concat_str(parts, separator="; ", ignore_nulls=True)
    return pl.when(joined != "").then(joined).alias(REASON)


def any_broken(rules: Sequence[tuple[str, pl.Expr]]) -> pl.Expr:
    """True where the row breaks at least one of ``rules`` (a rule that evaluates to null is kept)."""
    if not rules:
        return pl.lit(False)
    return pl.any_horizontal([broken.fill_null(False) for _, broken in rules])


def apply_rules(
    rows: pl.DataFrame,
    columns: Sequence[ColumnRule],
    cross_rules: Sequence[tuple[str, pl.Expr]] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split string rows into (typed good rows, quarantined rows as strings with ``_reason``).

    ``cross_rules`` are expressions over the typed columns (e.g. net_kg ≤ gross_kg); they are evaluated
    only where the values involved parsed.
    """
    column_rules = [rule for column in columns for rule in column.violations()]
    # Every column is parsed once, and judged by its own expression: Polars runs the expressions of one
    # select in parallel, while a single expression over all columns would run on one core.
    parsed_name = {column.name: f"__parsed_{column.name}" for column in columns}
    parsed = rows.with_columns(column.typed().alias(parsed_name[column.name]) for column in columns)
    verdicts = parsed.select(
        any_broken(column.violations(pl.col(parsed_name[column.name]))).alias(column.name) for column in columns
    )
    typed = parsed.select(
        pl.col(parsed_name[c]).alias(c) if c in parsed_name else pl.col(c) for c in rows.columns
    )
    bad_mask = pl.concat([verdicts, typed.select(any_broken(cross_rules).alias("__cross"))], how="horizontal").select(
        pl.any_horizontal(pl.all())
    ).to_series()
    good = typed.filter(~bad_mask)
    bad_typed = typed.filter(bad_mask)
    bad = rows.filter(bad_mask)
    column_reason = bad.select(reason_expr(column_rules)).to_series().alias("_column_reason")
    cross_reason = (
        bad_typed.select(reason_expr(cross_rules)).to_series()
        if cross_rules
        else pl.Series(dtype=pl.String).extend_constant(None, bad.height)
    ).alias("_cross_reason")
    reason = (
        pl.DataFrame([column_reason, cross_reason])
        .select(pl.concat_str(["_column_reason", "_cross_reason"], separator="; ", ignore_nulls=True).alias(REASON))
        .select(pl.when(pl.col(REASON) != "").then(pl.col(REASON)).alias(REASON))
        .to_series()
    )
    return good, bad.with_columns(reason)
