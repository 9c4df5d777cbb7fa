"""Do two engines' outputs agree? The marts must be equal row for row; the quarantine must hold the same
rows with the same reasons (lineage columns aside: the peers do not number source lines)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from alatau_pipeline.customs.contract import COLUMNS, CUSTOMS_DAILY_SCHEMA, CUSTOMS_ITEMS_SCHEMA, SOURCE

OUTPUTS: dict[str, tuple[dict[str, pl.DataType], list[str]]] = {
    "marts/customs_items": (CUSTOMS_ITEMS_SCHEMA, ["date", "declaration_id", "item_no"]),
    "marts/customs_daily": (CUSTOMS_DAILY_SCHEMA, ["date", "direction", "crossing_code", "hs2"]),
    f"quarantine/{SOURCE}": (
        {c: pl.String() for c in COLUMNS} | {"_reason": pl.String()},
        ["date", *COLUMNS, "_reason"],
    ),
}


def read_output(root: str, dataset: str) -> pl.DataFrame:
    """One output dataset as a frame in a canonical column order and row order."""
    schema, order = OUTPUTS[dataset]
    files = sorted(str(p) for p in Path(root, dataset).glob("date=*/*.parquet"))
    if not files:
        return pl.DataFrame(schema={"date": pl.String(), **schema})
    frame = pl.concat(
        [
            pl.read_parquet(f).with_columns(pl.lit(Path(f).parent.name.removeprefix("date=")).alias("date"))
            for f in files
        ],
        how="diagonal_relaxed",
    )
    return frame.select("date", *schema).cast(schema).sort(order, nulls_last=True)


def differences(root_a: str, root_b: str) -> list[str]:
    """Human-readable differences between two engines' outputs; empty when they agree."""
    problems = []
    for dataset in OUTPUTS:
        a, b = read_output(root_a, dataset), read_output(root_b, dataset)
        try:
            # Sums of floats in a different order differ in the last bits.
            assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9, abs_tol=1e-6)
        except AssertionError as exc:
            problems.append(f"{dataset}: {str(exc).splitlines()[0]} ({a.height} vs {b.height} rows)")
    return problems
