"""Row rules judge cleaned values: padded and blank values give exactly what cleaning everything first gives.

``apply_rules`` cleans only the columns whose rules could accept a padded value and re-judges the rows that
break a rule; these tests hold it to the plain definition (clean every value, then judge) on real contract
rows with whitespace, blanks and bad values sprinkled over every column.
"""

from __future__ import annotations

import datetime as dt
import random

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from alatau_pipeline.core.rules import ColumnRule, any_broken, apply_rules, clean_values
from alatau_pipeline.crossings import contract as crossings_contract
from alatau_pipeline.customs import contract as customs_contract
from alatau_pipeline.demo import crossings as demo_crossings
from alatau_pipeline.demo import customs as demo_customs

# Every character Polars' ``str.strip_chars()`` strips (Rust's ``char::is_whitespace``), and two runs.
WHITESPACE = (
    "\t\n\x0b\x0c\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
PADDING = (*WHITESPACE, "  ", "\n ")
# A value each contract pattern accepts (the padding guard below pads it every way Polars strips).
PATTERN_SAMPLES = {r"\d{5,8}/\d{6}/\d{7}": "55207/010325/0001395", r"\d{2}": "40", r"\d{10}": "7318159000"}
CONTRACTS = {
    "customs": (customs_contract.COLUMN_RULES, customs_contract.CROSS_RULES),
    "crossings": (crossings_contract.COLUMN_RULES, crossings_contract.CROSS_RULES),
}


def _landing_rows(domain: str) -> pl.DataFrame:
    """Demo landing rows (already carrying the generator's own faults) as the reader returns them: two days
    of customs declarations, two months of crossing reports (a few dozen a day)."""
    frames = []
    days = 2 if domain == "customs" else 60
    for day in (dt.date(2025, 6, 3) + dt.timedelta(days=n) for n in range(days)):
        files = (
            demo_customs.generate_day(day).files if domain == "customs" else demo_crossings.generate_day(day)
        )
        for name, rows in files.items():
            frames.append(
                rows.with_columns(
                    pl.lit(day.isoformat()).alias("date"),
                    pl.lit(name).alias("_source_file"),
                    (pl.int_range(pl.len(), dtype=pl.Int64) + 2).alias("_line"),
                )
            )
    return pl.concat(frames, how="diagonal").with_row_index("_row")


def _messed_up(rows: pl.DataFrame, columns: tuple[ColumnRule, ...], seed: int) -> pl.DataFrame:
    """Every column gets padded values (which clean to valid ones), blanks, "" and whitespace-only values."""
    rng = random.Random(seed)
    data = {name: rows[name].to_list() for name in rows.columns}
    for index in range(rows.height):
        for column in rng.sample(columns, k=rng.choice((0, 0, 1, 2, 3))):
            value = data[column.name][index]
            data[column.name][index] = rng.choice(
                [
                    f"{rng.choice(PADDING)}{value}",
                    f"{value}{rng.choice(PADDING)}",
                    f"{rng.choice(PADDING)}{value}{rng.choice(PADDING)}",
                    "",
                    rng.choice(PADDING),
                    None,
                    f"{value} x",
                ]
            ) if value is not None else rng.choice(["", " ", None])
    return pl.DataFrame(data, schema=rows.schema)


@pytest.mark.parametrize("domain", sorted(CONTRACTS))
@pytest.mark.parametrize("seed", [1, 2])
def test_padded_and_blank_values_are_judged_as_if_everything_were_cleaned_first(domain, seed):
    columns, cross_rules = CONTRACTS[domain]
    rows = _messed_up(_landing_rows(domain), columns, seed)

    good, bad = apply_rules(rows, columns, cross_rules)
    expected_good, expected_bad = apply_rules(clean_values(rows, [c.name for c in columns]), columns, cross_rules)

    # The messing up made rows of every kind: valid only once cleaned, broken either way.
    assert 0 < expected_bad.height < rows.height
    padded_but_valid = rows.filter(
        pl.col("_row").is_in(expected_good["_row"].implode())
        & pl.any_horizontal(pl.col(c.name).str.strip_chars() != pl.col(c.name) for c in columns)
    )
    assert padded_but_valid.height > rows.height // 20
    assert_frame_equal(good, expected_good)  # the same rows, typed alike, in landing order
    assert_frame_equal(bad, expected_bad)  # the same rows, cleaned text, the same reasons


@pytest.mark.parametrize(
    "column", [c for columns, _ in CONTRACTS.values() for c in columns if c.judges_padding], ids=lambda c: c.name
)
def test_a_column_trusted_to_reject_padding_rejects_it_as_it_stands(column):
    """What ``judges_padding`` promises, for each column that relies on it, checked against Polars' parsing
    (an upgrade that made its number parsing skip whitespace would fail here)."""
    valid = (
        sorted(column.allowed)[0]
        if column.allowed
        else PATTERN_SAMPLES[column.pattern]
        if column.pattern
        else "12.5"
        if column.kind == "decimal"
        else "7"
    )
    assert not _broken(column, valid)
    for padded in ["", *(f"{p}{valid}" for p in PADDING), *(f"{valid}{p}" for p in PADDING)]:
        assert _broken(column, padded), f"{column.name}: {padded!r} passes its rules uncleaned"


@pytest.mark.parametrize(
    ("pattern", "rejects"),
    [
        (r"\d{5,8}/\d{6}/\d{7}", True),
        (r"\d{10}", True),
        (r"(?:AB|CD)-[0-9A-F]{4}", True),
        (r"\w+|\S{2}", True),
        (r".+", False),  # any character, whitespace too
        (r"\d*", False),  # matches the empty value
        (r"[A-Z ]{2}", False),
        (r"[^,]+", False),
        (r"\D+", False),
        (r"a\sb", False),
        (r"[\u0000-\uffff]+", False),
        (r"\p{L}+", False),  # syntax Python's parser does not know: judged conservatively
    ],
)
def test_a_pattern_is_trusted_to_reject_padding_only_when_it_cannot_match_whitespace(pattern, rejects):
    assert ColumnRule("p", pattern=pattern).judges_padding is rejects


def test_dates_times_and_patterns_are_cleaned_before_they_are_judged():
    """chrono skips leading whitespace, and free text or a pattern that can match whitespace may match it:
    those columns are never trusted to reject padding, so a padded value in them is stored cleaned."""
    assert not ColumnRule("t", "timestamp").judges_padding
    assert not ColumnRule("d", "date").judges_padding
    assert not ColumnRule("p", pattern=r".+").judges_padding
    assert not ColumnRule("s").judges_padding
    assert not ColumnRule("a", allowed=frozenset({"A", " B"})).judges_padding
    columns = (ColumnRule("t", "timestamp"), ColumnRule("p", pattern=r".+"), ColumnRule("n", "int"))
    rows = pl.DataFrame({"t": [" 2025-01-01T00:00:00Z"], "p": [" x "], "n": ["5 "]})
    good, bad = apply_rules(rows, columns)
    assert bad.height == 0
    assert good.rows() == [(dt.datetime(2025, 1, 1, tzinfo=dt.UTC), "x", 5)]


def _broken(column: ColumnRule, value: str) -> bool:
    frame = pl.DataFrame({column.name: [value]})
    return frame.select(any_broken(column.violations())).item()
