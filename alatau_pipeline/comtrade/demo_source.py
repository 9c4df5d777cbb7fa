"""The synthetic Comtrade source of demo mode: answers requests in the API's own JSON shape.

It stands where the HTTP API stands (the client calls it instead of the network), so demo answers go
through the same storage, splitting and parser as live ones. Values follow the demo customs generator
(`alatau_pipeline.demo.customs`): Kazakhstan's reported trade with China is the expected monthly sum of
the demo declarations per HS6 code, and China's reports mirror it the way the published figures do:
China's exports to Kazakhstan run 25–35 % above Kazakhstan's imports from China, China's imports from
Kazakhstan sit close to Kazakhstan's exports. A few codes are reported by one side only, and every total
comes with breakdown rows (by mode of transport, customs procedure and second partner) that must not be
counted again. Deterministic: the same seed and month always give the same answer.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from collections.abc import Mapping
from functools import cache
from typing import Any

import numpy as np
import polars as pl

from alatau_pipeline.comtrade import hs
from alatau_pipeline.demo.calendar import WEEKDAY_FACTOR, day_rng, growth_factor, holiday_factor
from alatau_pipeline.demo.customs import BASE_ITEMS_PER_DAY, generate_day

KAZAKHSTAN, CHINA = 398, 156
ISO3 = {KAZAKHSTAN: "KAZ", CHINA: "CHN"}

# Texts of the demo's HS6 codes as Comtrade's HS.json words them (shortened).
HS6_NAMES = {
    "270900": "Petroleum oils and oils obtained from bituminous minerals; crude",
    "271121": "Natural gas; in gaseous state",
    "260300": "Copper ores and concentrates",
    "260800": "Zinc ores and concentrates",
    "740311": "Copper; refined, cathodes and sections of cathodes",
    "720241": "Ferro-alloys; ferro-chromium, containing by weight more than 4% of carbon",
    "720221": "Ferro-alloys; ferro-silicon, containing by weight more than 55% of silicon",
    "790111": "Zinc; unwrought, not alloyed, containing by weight 99.99% or more of zinc",
    "284410": "Natural uranium and its compounds",
    "100199": "Wheat and meslin; other than durum wheat, other than seed",
    "120400": "Linseed; whether or not broken",
    "120600": "Sunflower seeds; whether or not broken",
    "410110": "Hides and skins; raw, of bovine animals, whole",
    "020230": "Meat; of bovine animals, boneless cuts, frozen",
    "071340": "Vegetables, leguminous; lentils, shelled, dried",
    "847130": "Automatic data processing machines; portable, weighing not more than 10kg",
    "842952": "Mechanical shovels, excavators and shovel loaders; with a 360 degree revolving superstructure",
    "841810": "Refrigerators and freezers; combined, fitted with separate external doors",
    "850760": "Electric accumulators; lithium-ion",
    "851762": "Machines for the reception, conversion and transmission or regeneration of voice, images or data",
    "854143": "Photovoltaic cells assembled in modules or made up into panels",
    "870380": "Vehicles; with only electric motor for propulsion",
    "870323": "Vehicles; spark-ignition engine, cylinder capacity over 1500cc but not over 3000cc",
    "870421": "Vehicles; for the transport of goods, compression-ignition engine, g.v.w. not exceeding 5 tonnes",
    "390120": "Polymers of ethylene; polyethylene having a specific gravity of 0.94 or more, in primary forms",
    "392690": "Plastics; other articles n.e.c.",
    "611020": "Jerseys, pullovers, cardigans and similar articles; of cotton, knitted or crocheted",
    "620343": "Trousers and shorts; men's or boys', of synthetic fibres (not knitted or crocheted)",
    "640299": "Footwear; outer soles and uppers of rubber or plastics, n.e.c.",
    "630790": "Textiles; made up articles n.e.c.",
    "730890": "Iron or steel; structures and parts of structures n.e.c.",
    "731815": "Screws and bolts; threaded, of iron or steel",
    "940360": "Furniture; wooden, n.e.c.",
    "950300": "Tricycles, scooters, pedal cars and similar wheeled toys; dolls; other toys; models",
    # Codes only one side reports (transit, attribution by origin, small consignments).
    "852872": "Reception apparatus for television; colour",
    "871200": "Bicycles and other cycles; not motorised",
    "300490": "Medicaments; packaged for retail sale, n.e.c.",
    "250700": "Kaolin and other kaolinic clays",
    "271600": "Electrical energy",
}

# (reporter that alone reports it, flow, hs6, share of the reporter's flow total)
ONE_SIDED = (
    (CHINA, "X", "852872", 0.02),
    (CHINA, "X", "871200", 0.012),
    (KAZAKHSTAN, "M", "300490", 0.015),
    (KAZAKHSTAN, "X", "250700", 0.004),
    (CHINA, "M", "271600", 0.006),
)

DEMO_SEED = 20261125  # the customs demo's default seed (demo.seed.DEFAULT_SEED)
# A mid-week day without holidays, sampled large enough that every product's mean is stable.
_PROFILE_DAY = dt.date(2025, 6, 4)
_PROFILE_ITEMS = 30_000


def answer(params: Mapping[str, str], seed: int) -> bytes:
    """The body the API would answer for ``params`` (reporterCode, partnerCode, period, cmdCode, flowCode,
    maxRecords), capped at ``maxRecords`` records like the API (a capped answer looks cut)."""
    reporter, partner = int(params["reporterCode"]), int(params["partnerCode"])
    period = str(params["period"])
    flows = set(str(params.get("flowCode", "M,X")).split(","))
    cmd = str(params.get("cmdCode", "AG6"))
    wanted = None if cmd == "AG6" else set(cmd.split(","))
    records = [
        r
        for r in month_records(period, seed)
        if r["reporterCode"] == reporter
        and r["partnerCode"] == partner
        and r["flowCode"] in flows
        and (wanted is None or r["cmdCode"] in wanted)
    ]
    cap = int(params.get("maxRecords", 100_000))
    records = records[:cap]
    return json.dumps(
        {"elapsedTime": "0.01 secs", "count": len(records), "data": records, "error": ""}, ensure_ascii=False
    ).encode("utf-8")


def hs_reference() -> bytes:
    """The demo's HS.json: the shipped chapters and the demo's HS6 codes, in Comtrade's shape."""
    codes = pl.DataFrame(
        list(HS6_NAMES.items()), schema={"hs6": pl.String, "hs6_name": pl.String}, orient="row"
    ).sort("hs6")
    return hs.reference_json(codes)


@cache
def customs_item_profile(seed: int = DEMO_SEED) -> dict[str, tuple[str, float, float, float]]:
    """Per HS6 of the demo customs generator: (direction, share of items, mean USD and mean net kg per item).

    Measured on one large synthetic day of the generator itself rather than restated from its parameters,
    so the Comtrade demo follows the customs demo whenever its products, prices or mix change.
    """
    rows = generate_day(_PROFILE_DAY, seed, items_per_day=_PROFILE_ITEMS).files["declarations.csv.gz"]
    valid = rows.select(
        pl.col("tnved").str.slice(0, 6).alias("hs6"),
        "direction",
        pl.col("stat_value_usd").cast(pl.Float64, strict=False),
        pl.col("net_kg").cast(pl.Float64, strict=False),
    ).filter(pl.col("direction").is_in(["IM", "EK"]), pl.col("hs6").str.len_chars() == 6,
             pl.col("stat_value_usd") >= 0, pl.col("net_kg") >= 0)
    profile = valid.group_by("hs6", "direction").agg(
        (pl.len() / valid.height).alias("share"), pl.col("stat_value_usd").mean(), pl.col("net_kg").mean()
    )
    return {hs6: (d, share, usd, kg) for hs6, d, share, usd, kg in profile.iter_rows()}


@cache
def customs_month(year: int, month: int, seed: int = DEMO_SEED) -> dict[str, tuple[str, float, float]]:
    """Expected demo customs totals of one month per HS6: (direction, stat_value_usd, net_kg)."""
    days = [dt.date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]
    # The generator's expected goods items per day (generate_day): base × weekday × holidays × growth.
    items = sum(
        BASE_ITEMS_PER_DAY * WEEKDAY_FACTOR[d.weekday()] * holiday_factor(d) * growth_factor(d) for d in days
    )
    return {
        hs6: (direction, items * share * usd, items * share * kg)
        for hs6, (direction, share, usd, kg) in sorted(customs_item_profile(seed).items())
    }


@cache
def _month_records(period: str, seed: int) -> tuple[dict[str, Any], ...]:
    year, month = int(period[:4]), int(period[4:6])
    rng = day_rng(seed, "comtrade", dt.date(year, month, 1))
    customs = customs_month(year, month, seed)
    totals: list[tuple[int, int, str, str, float, float]] = []  # reporter, partner, flow, hs6, value, net_kg

    # Kazakhstan's own reports: its customs data, with the noise of a statistical compilation.
    kz_imports = {c: (v, n) for c, (d, v, n) in customs.items() if d == "IM"}
    kz_exports = {c: (v, n) for c, (d, v, n) in customs.items() if d == "EK"}
    for flow, side in (("M", kz_imports), ("X", kz_exports)):
        for code, (value, net) in side.items():
            noise = rng.lognormal(0.0, 0.05)
            totals.append((KAZAKHSTAN, CHINA, flow, code, value * noise, net * noise))
    kz_m_total = sum(v for r, _, f, _, v, _ in totals if r == KAZAKHSTAN and f == "M")
    kz_x_total = sum(v for r, _, f, _, v, _ in totals if r == KAZAKHSTAN and f == "X")

    # China's exports to Kazakhstan: 25–35 % above Kazakhstan's imports in total, unevenly by code.
    factor = rng.uniform(1.285, 1.335)  # over the shared codes; KZ-only imports dilute it
    kz_m = {code: (v, n) for r, _, f, code, v, n in totals if r == KAZAKHSTAN and f == "M"}
    cn_only_x = {code: share for who, flow, code, share in ONE_SIDED if who == CHINA and flow == "X"}
    raw_weights = {code: v * rng.lognormal(0.0, 0.15) for code, (v, _) in kz_m.items()}
    shared_target = kz_m_total * (factor - sum(cn_only_x.values()))
    scale = shared_target / sum(raw_weights.values())
    for code, weight in raw_weights.items():
        value = weight * scale
        totals.append((CHINA, KAZAKHSTAN, "X", code, value, kz_m[code][1] * value / kz_m[code][0]))
    # China's imports from Kazakhstan: close to Kazakhstan's exports, CIF a little above FOB.
    for code, (value, net) in kz_exports.items():
        ratio = rng.uniform(0.97, 1.12)
        totals.append((CHINA, KAZAKHSTAN, "M", code, value * ratio, net * rng.uniform(0.97, 1.03)))

    for who, flow, code, share in ONE_SIDED:
        # Goods moving China → Kazakhstan scale with Kazakhstan's imports, the other way with its exports.
        base = kz_m_total if (who, flow) in ((CHINA, "X"), (KAZAKHSTAN, "M")) else kz_x_total
        value = base * share * rng.lognormal(0.0, 0.1)
        totals.append((who, KAZAKHSTAN if who == CHINA else CHINA, flow, code, value, value / 3.0))

    records: list[dict[str, Any]] = []
    for reporter, partner, flow, code, value, net in sorted(totals, key=lambda t: (t[0], t[2], t[3])):
        value, net = round(value, 2), round(net, 1)
        records.append(_record(period, reporter, partner, flow, code, value, net))
        records.extend(_breakdown(rng, period, reporter, partner, flow, code, value, net))
    return tuple(records)


def month_records(period: str, seed: int) -> tuple[dict[str, Any], ...]:
    """Every record (totals and breakdown rows) both reporters publish for ``period`` (``YYYYMM``)."""
    return _month_records(period, seed)


def _breakdown(
    rng: np.random.Generator, period: str, reporter: int, partner: int, flow: str, code: str, value: float,
    net: float,
) -> list[dict[str, Any]]:
    """Rows that restate (parts of) a total: by mode of transport, by customs procedure, by second partner."""
    rail = rng.uniform(0.4, 0.8)
    rows = [
        _record(period, reporter, partner, flow, code, round(value * rail, 2), round(net * rail, 1), mot=3100),
        _record(period, reporter, partner, flow, code, round(value * (1 - rail), 2), round(net * (1 - rail), 1),
                mot=3200),
    ]
    if reporter == KAZAKHSTAN:
        rows.append(_record(period, reporter, partner, flow, code, value, net, customs="C01"))
    else:
        rows.append(_record(period, reporter, partner, flow, code, value, net, partner2=partner))
    return rows


def _record(
    period: str, reporter: int, partner: int, flow: str, code: str, value: float, net: float, *,
    mot: int = 0, customs: str = "C00", partner2: int = 0,
) -> dict[str, Any]:
    """One record with the standard Comtrade fields (descriptions are null, as without includeDesc)."""
    is_export = flow == "X"
    return {
        "typeCode": "C", "freqCode": "M", "refPeriodId": int(period + "01"),
        "refYear": int(period[:4]), "refMonth": int(period[4:]), "period": period,
        "reporterCode": reporter, "reporterISO": ISO3[reporter], "reporterDesc": None,
        "flowCode": flow, "flowDesc": None,
        "partnerCode": partner, "partnerISO": ISO3[partner], "partnerDesc": None,
        "partner2Code": partner2, "partner2ISO": ISO3.get(partner2, "W00"), "partner2Desc": None,
        "classificationCode": "H6", "classificationSearchCode": "HS", "isOriginalClassification": True,
        "cmdCode": code, "cmdDesc": None, "aggrLevel": 6, "isLeaf": True,
        "customsCode": customs, "customsDesc": None, "mosCode": "0", "motCode": mot, "motDesc": None,
        "qtyUnitCode": 8, "qtyUnitAbbr": "kg", "qty": net, "isQtyEstimated": False,
        "altQtyUnitCode": None, "altQtyUnitAbbr": None, "altQty": None, "isAltQtyEstimated": False,
        "netWgt": net, "isNetWgtEstimated": False, "grossWgt": round(net * 1.04, 1), "isGrossWgtEstimated": False,
        "cifvalue": None if is_export else value, "fobvalue": value if is_export else None,
        "primaryValue": value, "legacyEstimationFlag": 0, "isReported": True, "isAggregate": False,
    }
