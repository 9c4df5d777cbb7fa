"""Demo crossing reports: one day's operator reports for every crossing of the reference.

Consistent with the demo customs data: each crossing/direction moves more tonnes than customs declares
there (transit, e.g. China–Europe container trains and Russian oil, is not declared in Kazakhstan), so
the base volume is at least the expected declared net tonnes divided by a declared share, and each day's
report at least that day's declared tonnes / 0.9 (outage days excepted: the customs demo knows no
outages). On top: weekly
and yearly rhythm, growth, the Chinese New Year dip on the roads, outages (a crossing reporting zero for
a few days), occasional missing reports, late corrections (``corrections.csv`` in the same date folder
with a later ``reported_at``) and a few faulty rows for the quarantine.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache

import numpy as np
import polars as pl

from alatau_pipeline.crossings.contract import COLUMNS, DIRECTIONS_BY_MODE
from alatau_pipeline.demo import customs as demo_customs
from alatau_pipeline.demo.calendar import WEEKDAY_FACTOR, day_rng, growth_factor, holiday_factor
from alatau_pipeline.reference import crossings

# Realistic 2024 tonnes/day per crossing and direction (DESIGN: 32 Mt rail in 2024, ~1,200 vehicles/day
# at Nur Zholy), raised where the demo customs data would otherwise declare more than crosses.
BASE_TONNES_2024: dict[tuple[str, str], float] = {
    ("DOSTYK_RAIL", "KZ_TO_CN"): 30_000, ("DOSTYK_RAIL", "CN_TO_KZ"): 22_000,
    ("ALTYNKOL_RAIL", "KZ_TO_CN"): 22_000, ("ALTYNKOL_RAIL", "CN_TO_KZ"): 18_000,
    ("NUR_ZHOLY_ROAD", "KZ_TO_CN"): 7_000, ("NUR_ZHOLY_ROAD", "CN_TO_KZ"): 11_000,
    ("DOSTYK_ROAD", "KZ_TO_CN"): 2_000, ("DOSTYK_ROAD", "CN_TO_KZ"): 1_500,
    ("BAKHTY_ROAD", "KZ_TO_CN"): 2_500, ("BAKHTY_ROAD", "CN_TO_KZ"): 800,
    ("MAIKAPCHAGAI_ROAD", "KZ_TO_CN"): 1_300, ("MAIKAPCHAGAI_ROAD", "CN_TO_KZ"): 400,
    ("KALZHAT_ROAD", "KZ_TO_CN"): 700, ("KALZHAT_ROAD", "CN_TO_KZ"): 300,
    ("ALASHANKOU_PIPELINE", "KZ_TO_CN"): 45_000,
}
# At most this share of what crosses is declared to Kazakh customs (the rest is transit).
MAX_DECLARED_SHARE = {"rail": 0.55, "road": 0.5, "pipeline": 0.85}
# On any single day at most this share: small crossings see few, heavy-tailed declarations, so a day's
# declared tonnes can jump far above their mean; the report of that day is raised to stay above them.
MAX_DAY_DECLARED_SHARE = 0.9
RAIL_WEEKDAY = np.array([1.02, 1.03, 1.02, 1.01, 1.0, 0.97, 0.95])  # rail runs every day
OUTAGES_PER_YEAR = {"rail": 0.7, "road": 1.5, "pipeline": 0.3}
MISSING_REPORT_RATE = 0.015
CORRECTION_RATE = 0.03
FAULT_RATE = 0.005
_CUSTOMS_DIRECTION = {"CN_TO_KZ": "IM", "KZ_TO_CN": "EK"}


@cache
def expected_declared_tonnes() -> dict[tuple[str, str], float]:
    """Mean daily declared net tonnes per crossing and direction in the demo customs data (2024 level)."""
    products = demo_customs.PRODUCTS
    weights = np.array([p.weight * (0.62 if p.direction == "IM" else 0.38) for p in products])
    weights = weights / weights.sum()
    mean_gross = math.exp(0.6**2 / 2)  # the customs demo draws gross weight lognormal(0, 0.6) × median
    out: dict[tuple[str, str], float] = {}
    for product, share in zip(products, weights, strict=True):
        total = sum(s for _, s in product.crossings)
        for code, s in product.crossings:
            tonnes = demo_customs.BASE_ITEMS_PER_DAY * share * s / total * product.median_kg * mean_gross * 0.925
            key = (code, product.direction)
            out[key] = out.get(key, 0.0) + tonnes / 1000
    return out


@cache
def base_tonnes() -> dict[tuple[str, str], float]:
    modes = dict(zip(crossings()["crossing_code"], crossings()["mode"], strict=True))
    declared = expected_declared_tonnes()
    return {
        (code, direction): float(max(
            tonnes, declared.get((code, _CUSTOMS_DIRECTION[direction]), 0.0) / MAX_DECLARED_SHARE[modes[code]]
        ))
        for (code, direction), tonnes in BASE_TONNES_2024.items()
    }


@cache
def outage_days(seed: int, code: str, mode: str, year: int) -> frozenset[dt.date]:
    """Days a crossing is closed in a year: a few closures of 1–5 days (repairs, weather, border regime)."""
    rng = np.random.default_rng([seed, int.from_bytes(code.encode()[:8], "little"), year])
    days: set[dt.date] = set()
    for _ in range(int(rng.poisson(OUTAGES_PER_YEAR[mode]))):
        start = dt.date(year, 1, 1) + dt.timedelta(days=int(rng.integers(0, 360)))
        days.update(start + dt.timedelta(days=i) for i in range(int(rng.integers(1, 6))))
    return frozenset(days)


def declared_tonnes_of_day(day: dt.date, seed: int) -> dict[tuple[str, str], float]:
    """Net tonnes in the day's demo customs file per crossing and crossing direction (every row, faulty ones
    too, so this is an upper bound of what customs_items will hold for the day)."""
    rows = demo_customs.generate_day(day, seed).files["declarations.csv.gz"]
    totals = (
        rows.with_columns(pl.col("net_kg").cast(pl.Float64, strict=False).fill_null(0.0))
        .group_by("crossing_code", "direction")
        .agg((pl.col("net_kg").sum() / 1000).alias("tonnes"))
    )
    to_crossing = {customs: crossing for crossing, customs in _CUSTOMS_DIRECTION.items()}
    return {
        (code, to_crossing[direction]): tonnes
        for code, direction, tonnes in totals.iter_rows()
        if direction in to_crossing
    }


def _tonnes(day: dt.date, code: str, mode: str, direction: str, rng: np.random.Generator) -> float:
    weekday = WEEKDAY_FACTOR if mode == "road" else RAIL_WEEKDAY if mode == "rail" else np.ones(7)
    season_amplitude = 0.02 if mode == "pipeline" else 0.08
    # Harvest and ore season: the corridor is busiest in autumn.
    yearly = 1 + season_amplitude * math.sin(2 * math.pi * (day.timetuple().tm_yday - 180) / 365.25)
    holiday = holiday_factor(day) if mode == "road" else (0.9 if holiday_factor(day) < 0.5 else 1.0)
    if mode == "pipeline":
        holiday = 1.0
    level = base_tonnes()[(code, direction)] * growth_factor(day) * weekday[day.weekday()] * yearly * holiday
    return float(level * rng.lognormal(0.0, 0.05))


def _counts(mode: str, direction: str, tonnes: float, rng: np.random.Generator) -> dict[str, str]:
    """Trains, wagons, trucks and TEU that go with the tonnes (empty where they do not apply)."""
    out = {"trains": "", "wagons": "", "trucks": "", "teu": ""}
    if mode == "rail":
        per_train = 3_800 if direction == "KZ_TO_CN" else 1_500  # bulk out, containers in
        trains = round(tonnes / per_train)
        out |= {"trains": str(trains), "wagons": str(int(trains * rng.uniform(52, 58)))}
        container_share = 0.1 if direction == "KZ_TO_CN" else 0.8
        out["teu"] = f"{tonnes * container_share / 14:.1f}"
    elif mode == "road":
        out["trucks"] = str(round(tonnes / (20 if direction == "KZ_TO_CN" else 18)))
        out["teu"] = f"{tonnes * (0.2 if direction == 'KZ_TO_CN' else 0.5) / 12:.1f}"
    return out


def generate_day(day: dt.date, seed: int = 20261125) -> dict[str, pl.DataFrame]:
    """The landing files of one day: ``reports.csv`` and, on some days, ``corrections.csv``."""
    rng = day_rng(seed, "crossing", day)
    reported_at = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(7, 30)).replace(
        tzinfo=dt.timezone(dt.timedelta(hours=5))
    )
    rows: list[dict[str, str]] = []
    corrections: list[dict[str, str]] = []
    declared = declared_tonnes_of_day(day, seed)
    for code, mode, opened in crossings().select("crossing_code", "mode", "opened_on").iter_rows():
        if opened > day:
            continue
        closed = day in outage_days(seed, code, mode, day.year)
        for direction in DIRECTIONS_BY_MODE[mode]:
            tonnes = 0.0 if closed else _tonnes(day, code, mode, direction, rng)
            if not closed:
                tonnes = max(tonnes, declared.get((code, direction), 0.0) / MAX_DAY_DECLARED_SHARE)
            if rng.random() < MISSING_REPORT_RATE:
                continue
            row = {"report_date": day.isoformat(), "crossing_code": code, "direction": direction,
                   **_counts(mode, direction, tonnes, rng), "tonnes": f"{tonnes:.1f}",
                   "reported_at": reported_at.isoformat()}
            rows.append(row)
            if not closed and rng.random() < CORRECTION_RATE:
                revised = tonnes * rng.uniform(0.9, 1.1)
                later = reported_at + dt.timedelta(days=int(rng.integers(1, 4)), hours=2)
                corrections.append(row | _counts(mode, direction, revised, rng)
                                   | {"tonnes": f"{revised:.1f}", "reported_at": later.isoformat()})
    rows += _faulty_rows(rng, rows)
    files = {"reports.csv": pl.DataFrame(rows, schema=dict.fromkeys(COLUMNS, pl.String))}
    if corrections:
        files["corrections.csv"] = pl.DataFrame(corrections, schema=dict.fromkeys(COLUMNS, pl.String))
    return files


def _faulty_rows(rng: np.random.Generator, rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Now and then a row the contract rejects: what operators' spreadsheets really produce."""
    faults = (
        {"tonnes": "-5"}, {"crossing_code": "KHORGOS"}, {"direction": "IN"},
        {"report_date": "2018-01-01"}, {"tonnes": "1 200,5"},
    )
    out = []
    for row in rows:
        if rng.random() < FAULT_RATE * len(faults):
            # An extra, wrong copy: the valid report stays, so a fault never looks like a missing report.
            out.append(row | faults[int(rng.integers(0, len(faults)))] | {"reported_at": row["reported_at"]})
    return out
