"""Pure transforms of the customs chain, checked on small frames against their plain definitions."""

from __future__ import annotations

import polars as pl
import pytest

from alatau_pipeline.customs import transform

KEY = ["date", "declaration_id", "version", "item_no"]


def _rows(seed: int, n: int = 2_000) -> pl.DataFrame:
    """Rows whose keys repeat often (few distinct values per column), in a shuffled order."""
    return pl.DataFrame(
        {
            "date": pl.Series(["2025-03-01", "2025-03-02"]).sample(n, with_replacement=True, seed=seed),
            "declaration_id": pl.Series([f"55207/010325/{i:07d}" for i in range(40)]).sample(
                n, with_replacement=True, seed=seed + 1
            ),
            "version": pl.Series([1, 2]).sample(n, with_replacement=True, seed=seed + 2),
            "item_no": pl.Series(range(1, 30)).sample(n, with_replacement=True, seed=seed + 3),
            "value": pl.Series(range(n)),
        }
    )


def _plainly_repeated(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.with_row_index("_row").filter(pl.struct(KEY).is_duplicated())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rows_whose_key_repeats_are_those_a_whole_key_comparison_finds(seed):
    rows = _rows(seed)
    found = transform.rows_whose_key_repeats(rows, KEY)
    expected = _plainly_repeated(rows)
    assert 0 < expected.height < rows.height  # some keys repeat, some do not
    assert found.equals(expected)


def test_rows_whose_key_repeats_stays_exact_when_every_hash_collides(monkeypatch):
    # Every row's combined hash is made the same: all rows become candidates, and only the exact test
    # on them can tell the repeated keys from the rest.
    monkeypatch.setattr(pl.Expr, "hash", lambda self, *args, **kwargs: self.is_not_null().cast(pl.UInt64))
    rows = _rows(7, n=300)
    found = transform.rows_whose_key_repeats(rows, KEY)
    assert found.equals(_plainly_repeated(rows))
    assert found.height < rows.height
