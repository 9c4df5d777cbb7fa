"""Contract row rules as Polars expressions: parse string columns into types and say why a row is bad.

A rule is a pair (reason, expression true where the row breaks it). All rules run in one vectorized pass;
a row's ``_reason`` lists every rule it breaks, joined by ``"; "``, and is null for a good row.

Values are judged cleaned: surrounding whitespace stripped, a blank or whitespace-only value missing
(:func:`clean_values`). Landing rows arrive as the files' text, and :func:`apply_rules` cleans them.
"""

from __future__ import annotations

import functools
import re
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

    @property
    def judges_padding(self) -> bool:
        """True when a value with surrounding whitespace, or an empty one, always breaks this column's rules.

        Polars' number parsing rejects whitespace, the allowed values are clean, and a pattern built only of
        characters that are not whitespace (``\\d{10}``, but not ``.+``) cannot match padding: such a value
        fails as it stands. chrono's date and time parsing skips leading whitespace, and free text or
        another pattern may match it, so those columns are cleaned before they are judged (see
        :func:`apply_rules`).
        """
        if self.kind in ("int", "decimal"):
            return True
        if self.kind != "string":
            return False
        allowed_clean = self.allowed is not None and all(value and value == value.strip() for value in self.allowed)
        return allowed_clean or (self.pattern is not None and _pattern_rejects_padding(self.pattern))

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


@functools.cache
def _pattern_rejects_padding(pattern: str) -> bool:
    """True when everything ``pattern`` fully matches is non-empty and free of whitespace.

    Decided from the pattern's syntax, conservatively: every part must match only characters that are not
    whitespace (literals, ``\\d``, ``\\w``, ``\\S``, classes of those, groups, alternatives and repeats of
    them). Anything else (``.``, negated classes, ``\\s``, syntax Python's parser does not know) says
    False, and the column is cleaned before it is judged, which is always correct, only slower.
    """
    try:
        from re import _parser  # the standard library's own regex parser (Python 3.11+)

        return re.fullmatch(pattern, "") is None and _only_non_whitespace(_parser.parse(pattern))
    except (ImportError, re.error, AttributeError, TypeError, ValueError):
        return False


# Python's str.isspace() holds for every character Rust's char::is_whitespace() does (what Polars strips).
_WHITESPACE = frozenset(code for code in range(0x3001) if chr(code).isspace())
_NON_WHITESPACE_CLASSES = frozenset({"CATEGORY_DIGIT", "CATEGORY_WORD", "CATEGORY_NOT_SPACE"})


def _only_non_whitespace(items: Iterable[tuple[object, object]]) -> bool:
    for op, argument in items:
        name = str(op)
        if name == "LITERAL":
            ok = argument not in _WHITESPACE
        elif name == "IN":
            ok = all(_class_item_non_whitespace(item) for item in argument)  # type: ignore[attr-defined]
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            ok = _only_non_whitespace(argument[2])  # type: ignore[index]
        elif name == "SUBPATTERN":
            ok = _only_non_whitespace(argument[3])  # type: ignore[index]
        elif name == "ATOMIC_GROUP":
            ok = _only_non_whitespace(argument)  # type: ignore[arg-type]
        elif name == "BRANCH":
            ok = all(_only_non_whitespace(branch) for branch in argument[1])  # type: ignore[index]
        else:
            ok = name == "AT"  # anchors match no character; anything else may match whitespace
        if not ok:
            return False
    return True


def _class_item_non_whitespace(item: tuple[object, object]) -> bool:
    op, argument = item
    name = str(op)
    if name == "LITERAL":
        return argument not in _WHITESPACE
    if name == "RANGE":
        low, high = argument  # type: ignore[misc]
        return not any(low <= code <= high for code in _WHITESPACE)
    if name == "CATEGORY":
        return str(argument) in _NON_WHITESPACE_CLASSES
    return False  # NEGATE and anything unknown


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


def cleaned(value: pl.Expr) -> pl.Expr:
    """The value stripped of surrounding whitespace; null when nothing is left (or it was null)."""
    length, stripped = value.str.len_bytes(), value.str.strip_chars()
    # Nearly every value has no surrounding whitespace: keeping those as they are is cheaper than
    # ``strip_chars().replace("", None)`` over every value (a hash lookup each).
    return (
        pl.when(length == stripped.str.len_bytes())
        .then(pl.when(length > 0).then(value))  # a quoted empty field ("") reads as ""
        .otherwise(pl.when(stripped != "").then(stripped))
        .name.keep()
    )


def clean_values(rows: pl.DataFrame, names: Iterable[str]) -> pl.DataFrame:
    """``rows`` with the ``names`` columns cleaned (:func:`cleaned`)."""
    return rows.with_columns(cleaned(pl.col(name)) for name in names)


def apply_rules(
    rows: pl.DataFrame,
    columns: Sequence[ColumnRule],
    cross_rules: Sequence[tuple[str, pl.Expr]] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split string rows into (typed good rows, quarantined rows as cleaned strings with ``_reason``).

    The values are judged cleaned (:func:`clean_values`). ``cross_rules`` are expressions over the typed
    columns (e.g. net_kg ≤ gross_kg); they are evaluated only where the values involved parsed. The good
    rows keep their order, and so do the quarantined ones.

    Cleaning every value of every row costs as much as parsing the CSV. So only the columns whose rules
    could accept a padded value are cleaned up front; in the others (:attr:`ColumnRule.judges_padding`)
    a padded or empty value breaks a rule as it stands, and cleaning it cannot change a row that breaks
    none. The rows that break a rule (a few percent) are then cleaned and judged again, which finds the
    ones whose only fault was whitespace. The outcome is the same as cleaning everything first.
    """
    padded_ok = [column.name for column in columns if not column.judges_padding]
    rows = clean_values(rows, padded_ok)
    good, suspects, suspect_mask = _judge(rows, columns, cross_rules)
    if not suspects.height:
        return good, suspects
    as_read = suspects.drop(REASON)
    rows_again = clean_values(as_read, [c.name for c in columns if c.judges_padding])
    if rows_again.equals(as_read):
        return good, suspects  # no padding to clean: judging them again would say the same
    good_again, bad, bad_again = _judge(rows_again, columns, cross_rules)
    if good_again.height:
        # Put the rows that only needed cleaning back where they were among the good rows.
        position = pl.concat([(~suspect_mask).arg_true(), suspect_mask.arg_true().filter(~bad_again)])
        good = pl.concat([good, good_again]).sort(position)
    return good, bad


def _judge(
    rows: pl.DataFrame, columns: Sequence[ColumnRule], cross_rules: Sequence[tuple[str, pl.Expr]]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.Series]:
    """(typed good rows, bad rows as strings with ``_reason``, which rows are bad) of ``rows`` as they are."""
    # Every column is parsed once. Each rule's verdict is a boolean column of its own: Polars evaluates
    # the expressions of one select in parallel, and the bad rows' reasons are then read off the verdicts
    # of those rows alone (judging the bad rows again, re-parsing every column, cost a sixth of the rules).
    parsed_name = {column.name: f"__parsed_{column.name}" for column in columns}
    # Parsed by a lazy query: its common-subexpression elimination casts a decimal column once, where an
    # eager select casts it twice (the parse, null unless finite, names the cast twice): ~0.06 CPU s a
    # year of customs rows. The in-memory engine keeps each column in one chunk, as the rules expect.
    # (The cross rules stay eager: their windows over ``date`` run several times slower in a lazy query.)
    parsed = (
        rows.lazy()
        .with_columns(column.typed().alias(parsed_name[column.name]) for column in columns)
        .collect(engine="in-memory")
    )
    typed = parsed.select(pl.col(parsed_name[c]).alias(c) if c in parsed_name else pl.col(c) for c in rows.columns)
    column_rules = [rule for column in columns for rule in column.violations(pl.col(parsed_name[column.name]))]
    reasons = [reason for reason, _ in column_rules] + [reason for reason, _ in cross_rules]
    verdict_name = [f"__rule_{i}" for i in range(len(reasons))]
    verdicts = pl.concat(
        [
            parsed.select(broken.fill_null(False).alias(verdict_name[i]) for i, (_, broken) in enumerate(column_rules)),
            typed.select(
                broken.fill_null(False).alias(verdict_name[len(column_rules) + i])
                for i, (_, broken) in enumerate(cross_rules)
            ),
        ],
        how="horizontal",
    )
    bad_mask = verdicts.select(pl.any_horizontal(pl.all())).to_series()
    good = typed.filter(~bad_mask)
    broken_rules = verdicts.filter(bad_mask)
    reason = broken_rules.select(
        reason_expr((text, pl.col(name)) for name, text in zip(verdict_name, reasons, strict=True))
    ).to_series()
    return good, rows.filter(bad_mask).with_columns(reason), bad_mask
