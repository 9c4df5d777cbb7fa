"""The contract's column rules (``customs.contract.COLUMN_RULES``) restated for engines other than Polars.

DuckDB and pandas parse some text more leniently than Polars' strict-free casts (DuckDB casts "1.0" to
an integer, both accept a timestamp without an offset), so the peers first check the text's shape with
these patterns; then every engine accepts and rejects the same values.
"""

from __future__ import annotations

from alatau_pipeline.core.rules import ColumnRule

INT_TEXT = r"[+-]?\d+"
# ISO 8601 / RFC 3339 with a mandatory offset, as Polars' "%+" demands.
TIMESTAMP_TEXT = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})"


def shape_pattern(rule: ColumnRule) -> str | None:
    """A full-match pattern the text must have before it is parsed (None: any text, or the rule's own)."""
    if rule.kind == "int":
        return INT_TEXT
    if rule.kind == "timestamp":
        return TIMESTAMP_TEXT
    return rule.pattern


def number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
