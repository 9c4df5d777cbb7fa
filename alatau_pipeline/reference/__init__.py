"""Reference data shipped with the package: the border crossings (contracts 3.3) and ISO country codes."""

from __future__ import annotations

from functools import cache
from importlib import resources

import polars as pl

CROSSINGS_SCHEMA = {
    "crossing_code": pl.String,
    "name": pl.String,
    "kz_point": pl.String,
    "cn_point": pl.String,
    "mode": pl.String,
    "lat": pl.Float64,
    "lon": pl.Float64,
    "design_tonnes_per_day": pl.Float64,
    "design_trains_per_day": pl.Int64,
    "design_trucks_per_day": pl.Int64,
    "opened_on": pl.Date,
    "capacity_basis": pl.String,
}

# Customs `direction` as the direction of travel across the border (contracts 3.3).
CUSTOMS_TO_CROSSING_DIRECTION = {"IM": "CN_TO_KZ", "EK": "KZ_TO_CN"}


@cache
def crossings() -> pl.DataFrame:
    """The crossings reference: one row per crossing point with location and design capacity."""
    text = resources.files(__package__).joinpath("crossings.csv").read_bytes()
    return pl.read_csv(text, schema=CROSSINGS_SCHEMA)


@cache
def crossing_codes() -> frozenset[str]:
    return frozenset(crossings().get_column("crossing_code").to_list())
