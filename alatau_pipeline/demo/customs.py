"""Demo customs declarations: realistic landing files for one day, with amendments and faults.

Each day gets ``declarations.csv.gz`` (the day's export, with a few percent of faulty rows of several
kinds) and, on most days, ``corrections.csv`` (later versions: amendments and cancellations, plus
re-delivered rows). Volumes follow the corridor: the HS chapters that dominate each direction, the weekly
rhythm, growth, and the Chinese New Year and Golden Week dips.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from alatau_pipeline.customs.contract import COLUMNS
from alatau_pipeline.demo.calendar import WEEKDAY_FACTOR, day_rng, growth_factor, holiday_factor


@dataclass(frozen=True)
class Product:
    hs6: str
    direction: str  # IM or EK
    weight: float  # share of the direction's items
    usd_per_kg: float
    median_kg: float  # median gross weight of one goods item
    crossings: tuple[tuple[str, float], ...]  # (crossing_code, share)


_RAIL = (("DOSTYK_RAIL", 0.55), ("ALTYNKOL_RAIL", 0.45))
_ROAD_IM = (("NUR_ZHOLY_ROAD", 0.55), ("ALTYNKOL_RAIL", 0.2), ("DOSTYK_RAIL", 0.1), ("DOSTYK_ROAD", 0.06),
            ("BAKHTY_ROAD", 0.05), ("MAIKAPCHAGAI_ROAD", 0.02), ("KALZHAT_ROAD", 0.02))
_ROAD_EK = (("NUR_ZHOLY_ROAD", 0.5), ("BAKHTY_ROAD", 0.2), ("DOSTYK_ROAD", 0.15), ("MAIKAPCHAGAI_ROAD", 0.1),
            ("KALZHAT_ROAD", 0.05))

PRODUCTS: tuple[Product, ...] = (
    # Kazakhstan → China: energy, ores, metals, grain and oilseeds.
    Product("270900", "EK", 0.05, 0.55, 500_000, (("ALASHANKOU_PIPELINE", 1.0),)),
    Product("271121", "EK", 0.04, 0.25, 400_000, (("ALASHANKOU_PIPELINE", 1.0),)),
    Product("260300", "EK", 0.09, 1.9, 60_000, _RAIL),
    Product("260800", "EK", 0.04, 1.1, 60_000, _RAIL),
    Product("740311", "EK", 0.08, 8.6, 25_000, _RAIL),
    Product("720241", "EK", 0.10, 1.5, 40_000, _RAIL),
    Product("720221", "EK", 0.05, 1.3, 40_000, _RAIL),
    Product("790111", "EK", 0.04, 2.7, 25_000, _RAIL),
    Product("284410", "EK", 0.01, 120.0, 5_000, _RAIL),
    Product("100199", "EK", 0.12, 0.24, 60_000, _RAIL),
    Product("120400", "EK", 0.08, 0.55, 60_000, _RAIL),
    Product("120600", "EK", 0.08, 0.50, 25_000, _ROAD_EK),
    Product("410110", "EK", 0.04, 1.2, 18_000, _ROAD_EK),
    Product("020230", "EK", 0.04, 5.5, 18_000, _ROAD_EK),
    Product("071340", "EK", 0.14, 0.6, 22_000, _ROAD_EK),
    # China → Kazakhstan: machinery and electronics, vehicles, plastics, apparel and footwear, steel.
    Product("847130", "IM", 0.08, 60.0, 450, _ROAD_IM),
    Product("842952", "IM", 0.05, 9.0, 11_000, _ROAD_IM),
    Product("841810", "IM", 0.04, 4.5, 2_000, _ROAD_IM),
    Product("850760", "IM", 0.06, 18.0, 1_500, _ROAD_IM),
    Product("851762", "IM", 0.07, 70.0, 300, _ROAD_IM),
    Product("854143", "IM", 0.04, 25.0, 2_500, _ROAD_IM),
    Product("870380", "IM", 0.07, 9.5, 6_000, _ROAD_IM),
    Product("870323", "IM", 0.04, 8.0, 6_000, _ROAD_IM),
    Product("870421", "IM", 0.04, 6.0, 7_500, _ROAD_IM),
    Product("390120", "IM", 0.05, 1.3, 10_000, _ROAD_IM),
    Product("392690", "IM", 0.05, 4.0, 1_500, _ROAD_IM),
    Product("611020", "IM", 0.06, 22.0, 1_000, _ROAD_IM),
    Product("620343", "IM", 0.05, 24.0, 1_000, _ROAD_IM),
    Product("640299", "IM", 0.06, 12.0, 1_500, _ROAD_IM),
    Product("630790", "IM", 0.04, 8.0, 1_250, _ROAD_IM),
    Product("730890", "IM", 0.06, 2.2, 10_000, _ROAD_IM),
    Product("731815", "IM", 0.04, 3.0, 4_000, _ROAD_IM),
    Product("940360", "IM", 0.04, 4.0, 2_500, _ROAD_IM),
    Product("950300", "IM", 0.04, 10.0, 1_000, _ROAD_IM),
)

TRANSPORT_MODE = {"rail": "20", "road": "30", "pipeline": "71"}
CROSSING_MODE = {
    "DOSTYK_RAIL": "rail", "ALTYNKOL_RAIL": "rail", "NUR_ZHOLY_ROAD": "road", "DOSTYK_ROAD": "road",
    "BAKHTY_ROAD": "road", "MAIKAPCHAGAI_ROAD": "road", "KALZHAT_ROAD": "road", "ALASHANKOU_PIPELINE": "pipeline",
}
CUSTOMS_OFFICES = {  # customs office code at each crossing (5–8 digits)
    "DOSTYK_RAIL": "55210", "ALTYNKOL_RAIL": "55208", "NUR_ZHOLY_ROAD": "55207", "DOSTYK_ROAD": "55211",
    "BAKHTY_ROAD": "63212", "MAIKAPCHAGAI_ROAD": "63214", "KALZHAT_ROAD": "55205", "ALASHANKOU_PIPELINE": "55220",
}
IMPORT_ORIGINS = (("CN", 0.9), ("JP", 0.02), ("KR", 0.03), ("DE", 0.02), ("VN", 0.02), ("US", 0.01))
KZT_PER_USD = 470.0
BASE_ITEMS_PER_DAY = 2400


@dataclass(frozen=True)
class CustomsDay:
    """The landing files of one day: file name → rows (strings, in contract column order)."""

    files: dict[str, pl.DataFrame]


def generate_day(day: dt.date, seed: int = 20261125, items_per_day: int = BASE_ITEMS_PER_DAY) -> CustomsDay:
    # A copy of the remembered day's mapping (its frames are immutable), so a caller cannot change it.
    return CustomsDay(files=dict(_generate_day(day, seed, items_per_day).files))


@lru_cache(maxsize=2)
def _generate_day(day: dt.date, seed: int, items_per_day: int) -> CustomsDay:
    """One day, remembered: seeding the demo generates each day's customs files, then the crossings'
    reports of that day, which are sized on the same files (``demo.crossings.declared_tonnes_of_day``);
    generating them once saves ~15 ms a day, ~11 s of the two-year demo."""
    rng = day_rng(seed, "customs", day)
    expected = items_per_day * WEEKDAY_FACTOR[day.weekday()] * holiday_factor(day) * growth_factor(day)
    n_items = max(int(rng.poisson(expected)), 1)
    items = _items(rng, day, n_items)
    main = _with_faults(rng, day, items)
    corrections = _corrections(rng, items)
    files = {"declarations.csv.gz": main}
    if corrections.height:
        files["corrections.csv"] = corrections
    return CustomsDay(files=files)


def _items(rng: np.random.Generator, day: dt.date, n_items: int) -> pl.DataFrame:
    """Valid version-1 items, grouped into declarations of 1–8 items of one product line."""
    # Declarations first: each has one product, crossing and time; its items share them.
    sizes = np.minimum(rng.geometric(0.45, size=n_items), 8)
    sizes = sizes[np.cumsum(sizes) <= n_items]
    if sizes.size == 0:
        sizes = np.array([1])
    n_decl = sizes.size
    weights = np.array([p.weight for p in PRODUCTS])
    direction_share = np.where(np.array([p.direction for p in PRODUCTS]) == "IM", 0.8, 0.2)
    product_p = weights * direction_share
    product_idx = rng.choice(len(PRODUCTS), size=n_decl, p=product_p / product_p.sum())

    crossing = np.empty(n_decl, dtype=object)
    for i, product in enumerate(PRODUCTS):
        mask = product_idx == i
        if mask.any():
            codes = [c for c, _ in product.crossings]
            shares = np.array([s for _, s in product.crossings])
            crossing[mask] = rng.choice(codes, size=int(mask.sum()), p=shares / shares.sum())

    # Almaty working hours, a few registrations around midnight to exercise the day boundary.
    seconds = np.clip(rng.normal(13.5 * 3600, 3.5 * 3600, n_decl), 60, 86_340).astype(np.int64)
    local_midnight = dt.datetime.combine(day, dt.time()).replace(tzinfo=dt.timezone(dt.timedelta(hours=5)))
    registered = [local_midnight + dt.timedelta(seconds=int(s)) for s in seconds]
    # Most offices report in Almaty time; some systems send UTC ("Z"), which is the same instant.
    utc_style = rng.random(n_decl) < 0.1
    registered_text = [
        (r.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if u else r.isoformat())
        for r, u in zip(registered, utc_style, strict=True)
    ]
    ddmmyy = day.strftime("%d%m%y")
    serial = rng.permutation(np.arange(1, n_decl * 3 + 1))[:n_decl]
    declaration_id = [f"{CUSTOMS_OFFICES[c]}/{ddmmyy}/{s:07d}" for c, s in zip(crossing, serial, strict=True)]

    decl = pl.DataFrame(
        {
            "declaration_id": declaration_id,
            "_product": product_idx,
            "crossing_code": crossing.astype(str),
            "registered_at": registered_text,
            "_size": sizes,
        }
    )
    items = decl.select(pl.all().repeat_by("_size").explode()).with_columns(
        (pl.int_range(pl.len()).over("declaration_id") + 1).alias("item_no")
    )
    n = items.height
    product = [PRODUCTS[i] for i in items["_product"].to_list()]
    direction = np.array([p.direction for p in product])
    is_import = direction == "IM"
    median = np.array([p.median_kg for p in product])
    gross = np.round(median * rng.lognormal(0.0, 0.6, n), 1)
    net = np.round(gross * rng.uniform(0.86, 0.99, n), 1)
    price = np.array([p.usd_per_kg for p in product]) * rng.lognormal(0.0, 0.25, n)
    usd = np.round(net * price, 2)
    kzt = np.round(usd * KZT_PER_USD * rng.uniform(0.99, 1.01, n), 2)
    mode = np.array([CROSSING_MODE[c] for c in items["crossing_code"].to_list()])
    containerised = (mode != "pipeline") & (is_import | (rng.random(n) < 0.3))
    teu = np.where(containerised, np.maximum(np.round(gross / 12_000 * 2) / 2, 0.5), np.nan)

    origin_codes = [c for c, _ in IMPORT_ORIGINS]
    origin_p = np.array([s for _, s in IMPORT_ORIGINS])
    origin = np.where(is_import, rng.choice(origin_codes, size=n, p=origin_p / origin_p.sum()), "KZ")
    procedure = np.where(
        is_import,
        rng.choice(["40", "53", "78", "51"], size=n, p=[0.86, 0.05, 0.06, 0.03]),
        rng.choice(["10", "31"], size=n, p=[0.93, 0.07]),
    )
    suffix = rng.choice(["0000", "0009", "1000", "9000", "0001"], size=n)

    return items.select(
        "declaration_id",
        pl.lit("1").alias("version"),
        pl.col("item_no").cast(pl.String),
        "registered_at",
        pl.lit("released").alias("status"),
        pl.Series("direction", direction),
        pl.Series("procedure", procedure),
        pl.Series("tnved", [p.hs6 + s for p, s in zip(product, suffix, strict=True)]),
        pl.Series("origin_country", origin),
        pl.lit("CN").alias("partner_country"),
        "crossing_code",
        pl.Series("transport_mode", [TRANSPORT_MODE[m] for m in mode]),
        pl.Series("gross_kg", gross).cast(pl.String),
        pl.Series("net_kg", net).cast(pl.String),
        pl.Series("stat_value_usd", usd).cast(pl.String),
        pl.Series("customs_value_kzt", kzt).cast(pl.String),
        pl.Series("containers_teu", teu).fill_nan(None).cast(pl.String),
    )


# Faults the customs export really produces, each turning a valid row into one the contract rejects.
_FAULTS: tuple[tuple[str, pl.Expr], ...] = (
    ("tnved", pl.col("tnved").str.slice(0, 9)),  # a leading zero lost in a spreadsheet
    ("origin_country", pl.lit("XX")),
    ("gross_kg", pl.lit("-120.5")),
    ("net_kg", (pl.col("gross_kg").cast(pl.Float64) * 1.5).round(1).cast(pl.String)),  # net above gross
    ("registered_at", pl.lit("2018-01-01T10:00:00+05:00")),  # another day's declaration
    ("crossing_code", pl.lit("KHORGOS")),
    ("direction", pl.lit("IN")),
    ("stat_value_usd", pl.lit("12,5")),
    ("item_no", pl.lit("0")),
    ("declaration_id", pl.lit("55207-17/11/25-1")),
)


def _with_faults(rng: np.random.Generator, day: dt.date, items: pl.DataFrame) -> pl.DataFrame:
    """About 2 % faulty rows of several kinds, plus a conflicting re-delivery now and then."""
    n = items.height
    fault = np.where(rng.random(n) < 0.02, rng.integers(0, len(_FAULTS), n), -1)
    faulted = items.with_columns(pl.Series("_fault", fault))
    for index, (column, value) in enumerate(_FAULTS):
        faulted = faulted.with_columns(
            pl.when(pl.col("_fault") == index).then(value).otherwise(pl.col(column)).alias(column)
        )
    faulted = faulted.drop("_fault")
    if n > 50 and rng.random() < 0.5:
        # The same (declaration, version, item) sent twice with different weights: both must be rejected.
        row = faulted.filter(pl.lit(fault) < 0).sample(1, seed=int(rng.integers(1 << 31)))
        twin = row.with_columns((pl.col("gross_kg").cast(pl.Float64) + 100).cast(pl.String).alias("gross_kg"))
        faulted = pl.concat([faulted, twin])
    return faulted


def _corrections(rng: np.random.Generator, items: pl.DataFrame) -> pl.DataFrame:
    """Later versions of ~3 % of declarations (amended values, a dropped item) and ~1 % cancellations,
    plus a handful of rows of the day's file delivered again unchanged."""
    declarations = items.get_column("declaration_id").unique(maintain_order=True)
    pick = rng.random(declarations.len())
    amended_ids = declarations.filter(pl.Series(pick < 0.03))
    cancelled_ids = declarations.filter(pl.Series((pick >= 0.03) & (pick < 0.04)))

    amended = items.filter(pl.col("declaration_id").is_in(amended_ids.implode()))
    factor = rng.uniform(0.8, 1.2, amended.height)
    amended = amended.with_columns(
        pl.lit("2").alias("version"),
        (pl.col("stat_value_usd").cast(pl.Float64) * factor).round(2).cast(pl.String).alias("stat_value_usd"),
    )
    # A correction sometimes removes the last item of a multi-item declaration.
    last_item = pl.col("item_no").cast(pl.Int64) == pl.col("item_no").cast(pl.Int64).max().over("declaration_id")
    several = pl.len().over("declaration_id") > 1
    amended = amended.filter(~(last_item & several & (pl.col("declaration_id").hash(7) % 3 == 0)))

    cancelled = items.filter(pl.col("declaration_id").is_in(cancelled_ids.implode())).with_columns(
        pl.lit("2").alias("version"), pl.lit("cancelled").alias("status")
    )
    redelivered = items.sample(min(5, items.height), seed=int(rng.integers(1 << 31)))
    return pl.concat([amended, cancelled, redelivered]).select(COLUMNS)
